"""Job-end messages (``training-events``) become the ``job_finished`` event of the run's training
sub-orchestration, which then re-checks the job's status (shared.compute.events)."""

from __future__ import annotations

import logging

import azure.durable_functions as df
import azure.functions as func

from orchestrations import names
from shared.compute.events import QUEUE
from shared.errors import ValidationError

bp = df.Blueprint()
log = logging.getLogger("mlops.training_events")


@bp.queue_trigger(arg_name="msg", queue_name=QUEUE, connection="AzureWebJobsStorage")
@bp.durable_client_input(client_name="client")
async def job_finished(msg: func.QueueMessage, client: df.DurableOrchestrationClient) -> None:
    """Wake the job's training sub-orchestration; a message for an ended or unknown one is dropped."""
    from shared.compute.events import parse_event

    try:
        event = parse_event(msg.get_body())
    except ValidationError as exc:  # retrying cannot fix it
        log.warning("training event %s dropped: %s", msg.id, exc.message)
        return
    status = await client.get_status(event.instance)
    if status is None or status.runtime_status not in (
        df.OrchestrationRuntimeStatus.Running,
        df.OrchestrationRuntimeStatus.Pending,
        df.OrchestrationRuntimeStatus.ContinuedAsNew,
    ):
        # Ended already (the poll timer found the end first) or not one of ours: nothing to wake.
        log.info("training event for %s dropped: the instance is not running", event.instance)
        return
    # Storage errors propagate: the host retries the message, then poisons it (host.json queues).
    await client.raise_event(
        event.instance, names.JOB_FINISHED_EVENT, {"job": event.job, "state": event.state}
    )
    log.info("raised %s on %s (job %s %s)", names.JOB_FINISHED_EVENT, event.instance, event.job, event.state)

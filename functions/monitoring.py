"""Monitoring triggers: drift monitor and scheduled-retraining timers, retrain queue, drift API."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from functions import deps
from functions.http_util import handle_errors, json_response
from functions.starter import start_pipeline
from shared.steps import monitoring, retrain, schedules

bp = df.Blueprint()
log = logging.getLogger("mlops.monitoring")
RETRAIN_QUEUE = "retrain-requests"


@bp.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False)
def drift_monitor(timer: func.TimerRequest) -> None:
    """Check every deployed model whose monitoring schedule is due (all of them on a manual run)."""
    manual = not timer.schedule_status  # the admin API runs a timer without schedule status
    storage = deps.storage()
    for spec, since, until, window in schedules.drift_windows(storage, datetime.now(UTC), manual):
        try:
            result = monitoring.run_drift_check(storage, spec, spec.name, since, until, window)
            log.info("drift %s %s: %s (retrain: %s)", spec.name, window, result["status"], result["retrain"])
        except Exception:  # one model's failure must not stop the checks of the others
            log.exception("drift check of %s for %s failed", spec.name, window)


@bp.queue_trigger(arg_name="msg", queue_name=RETRAIN_QUEUE, connection="AzureWebJobsStorage")
@bp.durable_client_input(client_name="client")
async def retrain_on_request(msg: func.QueueMessage, client: df.DurableOrchestrationClient) -> None:
    """Start the pipeline for a drift retrain request; duplicates and cooldowns start nothing."""
    request = monitoring.parse_retrain_request(msg.get_body().decode("utf-8"))  # malformed -> poison
    instance_id = monitoring.retrain_instance_id(request.model, request.window)
    storage = deps.storage()
    plan = retrain.plan_drift_retrain(storage, request.model, request.window, instance_id)
    status = await client.get_status(instance_id)
    if not plan["start"] or (status and status.runtime_status is not None):
        log.info("retrain %s not started: %s", instance_id, plan.get("reason", "instance exists"))
        return
    spec = plan["spec"]
    await start_pipeline(client, storage, spec, instance_id, "drift")


@bp.queue_trigger(arg_name="msg", queue_name=f"{RETRAIN_QUEUE}-poison", connection="AzureWebJobsStorage")
def report_poison_retrain(msg: func.QueueMessage) -> None:
    """Record why a retrain request ended in the poison queue: the audit entry keeps its body."""
    body = msg.get_body().decode("utf-8", errors="replace")
    try:
        monitoring.parse_retrain_request(body)
        reason = "the request was valid but starting its run failed 5 times; see the app's logs"
    except Exception as exc:
        reason = f"malformed request: {exc}"
    schedules.audit(
        deps.storage(),
        "queue:retrain-requests",
        "poison",
        reason,
        {"message_id": msg.id, "dequeue_count": msg.dequeue_count, "body": body[:4000]},
    )


@bp.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def scheduled_retraining(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Start every pipeline whose retraining schedule is due; skip (and record) while one runs."""
    storage = deps.storage()
    for decision in schedules.scheduled_retrains(storage, datetime.now(UTC)):
        if decision["skipped"]:
            continue
        spec, instance_id = decision["spec"], decision["instance_id"]
        await start_pipeline(client, storage, spec, instance_id, "schedule")


@bp.route(route="drift/{model}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def get_drift(req: func.HttpRequest) -> func.HttpResponse:
    """Latest drift check of a model and its history (newest first)."""
    history = monitoring.latest_drift(
        deps.storage(), req.route_params["model"], int(req.params.get("top", "20"))
    )
    return json_response(
        {"model": req.route_params["model"], "latest": history[0] if history else None, "history": history}
    )

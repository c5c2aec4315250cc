"""Ending run rows whose orchestration ended without them: on read, and on a timer for the rest."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import azure.durable_functions as df
import azure.functions as func

from functions import deps
from shared.contracts import RunStatus, is_terminal

if TYPE_CHECKING:
    from shared.storage.records import RunRecord

bp = df.Blueprint()
log = logging.getLogger("mlops.reconcile")

#: Statuses whose row may outlive its instance.
OPEN = (RunStatus.RUNNING.value, RunStatus.AWAITING_APPROVAL.value)


async def reconcile_runs(
    client: df.DurableOrchestrationClient, records: Iterable[RunRecord]
) -> list[RunRecord]:
    """The records, with every open one whose instance ended ended from the Durable runtime status."""
    out: list[RunRecord] = []
    for record in records:
        if record.status in OPEN:
            record = await _reconcile(client, record)
        out.append(record)
    return out


async def _reconcile(client: df.DurableOrchestrationClient, record: RunRecord) -> RunRecord:
    try:
        status = await client.get_status(record.run_id, show_input=True)
    except Exception as exc:  # the run is still shown; the next read or the timer tries again
        log.warning("no runtime status for run %s: %s", record.run_id, exc)
        return record
    runtime = getattr(status.runtime_status, "value", None) if status is not None else None
    if runtime is None:
        return record
    from shared.steps import reconcile

    spec_json = _spec_of(status.input_)
    ended = reconcile.end_from_runtime(
        deps.storage(), deps.settings(), record, runtime, status.output, spec_json
    )
    if ended.status == RunStatus.CANCELLED.value and not is_terminal(record.status):
        await _terminate_training(client, record.run_id)
    return ended


def _spec_of(started_with: Any) -> dict[str, Any] | None:
    """The spec the instance was started with (the SDK client sends inputs JSON-encoded once more)."""
    if isinstance(started_with, str):
        try:
            started_with = json.loads(started_with)
        except ValueError:
            return None
    spec = started_with.get("spec") if isinstance(started_with, dict) else None
    return spec if isinstance(spec, dict) else None


async def _terminate_training(client: df.DurableOrchestrationClient, run_id: str) -> None:
    # The training sub-orchestration outlives a terminated parent; end it too.
    try:
        await client.terminate(f"{run_id}-train", "the run was terminated")
    except Exception as exc:  # not started, or already ended
        log.info("training instance of %s not terminated: %s", run_id, exc)


@bp.timer_trigger(schedule="0 */5 * * * *", arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def reconcile_open_runs(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Every 5 minutes: end the rows of runs whose instance was terminated or crashed."""
    await reconcile_open_runs_now(client)


async def reconcile_open_runs_now(client: df.DurableOrchestrationClient) -> None:
    """End every open run row whose instance ended (also before schedules decide a run is active)."""
    query = deps.storage().runs.query
    open_runs = [r for status in OPEN for r in query(filter="status eq @s", parameters={"s": status})]
    await reconcile_runs(client, open_runs)

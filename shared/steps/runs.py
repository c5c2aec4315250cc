"""Run bookkeeping: the `runs` row that every step updates (ETag-guarded, concurrent-safe).

One recording model for steps: ``begin_step`` marks a step Running, ``end_step`` / ``fail_step``
close it with its seconds and detail. ``step`` is the context manager built from the three, and
``recorded`` is the one wrapper every activity goes through: it records the step and turns a
permanent error into a typed :class:`StepFailure` (a transient one propagates, so Durable retries
the activity).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from shared.contracts import (
    Contract,
    RunOutcome,
    RunStatus,
    StepFailure,
    StepReply,
    is_terminal,
)
from shared.errors import DataRejectedError, GateRejectedError, NotFoundError, PermanentError
from shared.storage.factory import Storage
from shared.storage.records import RunRecord

#: Statuses no run leaves again (kept for callers that test membership).
TERMINAL = frozenset(s.value for s in RunStatus if is_terminal(s.value)) | {"Terminated"}
#: Longest reason or step detail message kept on a run row.
MAX_MESSAGE = 2000


def _now() -> datetime:
    return datetime.now(UTC)


def create_pending(storage: Storage, pipeline: str, run_id: str, trigger: str = "http") -> RunRecord:
    """The run row in status Pending, written before the orchestration starts (so GET works at once)."""
    record = RunRecord(pipeline=pipeline, run_id=run_id, status="Pending", trigger=trigger, started_at=_now())
    storage.runs.upsert(record)
    return record


def start_run(storage: Storage, pipeline: str, run_id: str, trigger: str = "http") -> RunRecord:
    """Move the run row to Running (creating it when a caller skipped create_pending)."""
    default = RunRecord(
        pipeline=pipeline, run_id=run_id, status="Pending", trigger=trigger, started_at=_now()
    )

    def running(existing: RunRecord) -> RunRecord:
        if existing.status != "Pending":
            return existing  # an activity re-run must not undo later progress
        return existing.model_copy(update={"status": RunStatus.RUNNING.value})

    record, _ = storage.runs.create_or_update(pipeline, run_id, default, running)
    return record


# ---- steps ---------------------------------------------------------------------------------------


def _set_step(record: RunRecord, name: str, **fields: Any) -> RunRecord:
    steps = [dict(s) for s in record.steps]
    for step in steps:
        if step["name"] == name:
            step.update(fields)
            break
    else:
        steps.append({"name": name, **fields})
    return record.model_copy(update={"steps": steps})


def _close_step(storage: Storage, pipeline: str, run_id: str, name: str, status: str, detail: Any) -> float:
    finished = _now()
    took: dict[str, float] = {"seconds": 0.0}

    def close(r: RunRecord) -> RunRecord:
        started = next((s.get("started_at") for s in r.steps if s["name"] == name), None)
        seconds = (finished - datetime.fromisoformat(started)).total_seconds() if started else 0.0
        took["seconds"] = round(seconds, 3)
        r = _set_step(
            r, name, status=status, finished_at=finished.isoformat(), seconds=took["seconds"], detail=detail
        )
        if status != "Succeeded":
            return r
        return r.model_copy(update={"step_timings": {**r.step_timings, name: took["seconds"]}})

    storage.runs.update(pipeline, run_id, close)
    return took["seconds"]


def begin_step(storage: Storage, pipeline: str, run_id: str, name: str, *, restart: bool = True) -> None:
    """Mark a step Running from now (``restart=False`` keeps an earlier start: a step spanning activities)."""
    started = _now().isoformat()

    def begin(r: RunRecord) -> RunRecord:
        current = next((s for s in r.steps if s["name"] == name), None)
        if not restart and current is not None and current.get("started_at"):
            return r
        return _set_step(r, name, status="Running", started_at=started, finished_at=None)

    storage.runs.update(pipeline, run_id, begin)


def end_step(storage: Storage, pipeline: str, run_id: str, name: str, detail: dict[str, Any]) -> float:
    """Close a step as Succeeded; its seconds run from its recorded start to now."""
    return _close_step(storage, pipeline, run_id, name, "Succeeded", detail)


def fail_step(storage: Storage, pipeline: str, run_id: str, name: str, message: str) -> float:
    """Close a step as Failed with the error that ended it."""
    return _close_step(storage, pipeline, run_id, name, "Failed", message[:MAX_MESSAGE])


@contextlib.contextmanager
def step(storage: Storage, pipeline: str, run_id: str, name: str) -> Iterator[dict[str, Any]]:
    """Record a step's start, end, duration and outcome; the yielded dict becomes its detail."""
    begin_step(storage, pipeline, run_id, name)
    detail: dict[str, Any] = {}
    try:
        yield detail
    except Exception as exc:
        fail_step(storage, pipeline, run_id, name, f"{type(exc).__name__}: {exc}")
        raise
    end_step(storage, pipeline, run_id, name, detail)


def failure_of(step_name: str, exc: PermanentError) -> StepFailure:
    """The typed failure of a permanent error (rejections keep their own run status)."""
    status = RunStatus.FAILED
    if isinstance(exc, DataRejectedError):
        status = RunStatus.DATA_REJECTED
    elif isinstance(exc, GateRejectedError):
        status = RunStatus.GATE_REJECTED
    return StepFailure(
        step=step_name,
        error=type(exc).__name__,
        message=exc.message[:MAX_MESSAGE],
        field=exc.field,
        status=status,
    )


def recorded(
    storage: Storage,
    pipeline: str,
    run_id: str,
    name: str | None,
    body: Callable[[dict[str, Any]], Contract],
) -> StepReply:
    """Run one activity's body as step ``name`` (None: not recorded); permanent errors become a failure."""
    try:
        if name is None:
            value = body({})
        else:
            with step(storage, pipeline, run_id, name) as detail:
                value = body(detail)
    except PermanentError as exc:
        return StepReply(failure=failure_of(name or "step", exc))
    return StepReply(value=value.to_payload())


# ---- run fields and the end ------------------------------------------------------------------------


def update_run(storage: Storage, pipeline: str, run_id: str, **fields: Any) -> RunRecord:
    """Set fields of a run (merging ``details``)."""

    def apply(r: RunRecord) -> RunRecord:
        update = dict(fields)
        if "details" in update:
            update["details"] = {**r.details, **update["details"]}
        return r.model_copy(update=update)

    record, _ = storage.runs.update(pipeline, run_id, apply)
    return record


def finish_run(storage: Storage, pipeline: str, run_id: str, outcome: RunOutcome) -> RunRecord:
    """End the run row with its terminal status and reason (a run already ended keeps its end)."""
    finished = _now()
    details = {**outcome.details, "reason": outcome.reason}
    if outcome.step:
        details["failed_step" if outcome.status == RunStatus.FAILED else "decided_by"] = outcome.step

    def end(r: RunRecord) -> RunRecord:
        if is_terminal(r.status):
            return r  # first end wins: a reconcile and the orchestrator may race
        r = _close_open_steps(r, outcome, finished)
        return r.model_copy(
            update={
                "status": outcome.status.value,
                "finished_at": finished,
                "details": {**r.details, **details},
                "reason": outcome.reason[:MAX_MESSAGE],
                "error": outcome.reason[:MAX_MESSAGE] if outcome.status == RunStatus.FAILED else None,
            }
        )

    record, _ = storage.runs.update(pipeline, run_id, end)
    return record


def _close_open_steps(record: RunRecord, outcome: RunOutcome, finished: datetime) -> RunRecord:
    """Steps still Running when the run ends did not finish: say so on the timeline."""
    status = "Cancelled" if outcome.status == RunStatus.CANCELLED else "Failed"
    for step_record in record.steps:
        if step_record.get("status") == "Running":
            started = step_record.get("started_at")
            seconds = (finished - datetime.fromisoformat(started)).total_seconds() if started else 0.0
            record = _set_step(
                record,
                step_record["name"],
                status=status,
                finished_at=finished.isoformat(),
                seconds=round(seconds, 3),
                detail=outcome.reason[:MAX_MESSAGE],
            )
    return record


def find_run(storage: Storage, run_id: str) -> RunRecord:
    """The run with this id in any pipeline; NotFoundError when there is none."""
    for record in storage.runs.query(filter="RowKey eq @id", parameters={"id": run_id}):
        return record
    raise NotFoundError(f"run {run_id!r} not found", field="run_id")


def list_runs(storage: Storage, pipeline: str | None = None, top: int = 50) -> list[RunRecord]:
    """Runs, newest first (optionally of one pipeline)."""
    records = list(storage.runs.query(pk=pipeline) if pipeline else storage.runs.query())
    records.sort(key=lambda r: r.started_at or datetime.min.replace(tzinfo=UTC), reverse=True)
    return records[:top]

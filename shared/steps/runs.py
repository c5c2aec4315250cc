"""Run bookkeeping: the `runs` row that every step updates (ETag-guarded, concurrent-safe)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from shared.errors import NotFoundError
from shared.storage.factory import Storage
from shared.storage.records import RunRecord

TERMINAL = {"Succeeded", "Failed", "DataRejected", "GateRejected", "ApprovalRejected", "Terminated"}


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
        return existing.model_copy(update={"status": "Running"})

    record, _ = storage.runs.create_or_update(pipeline, run_id, default, running)
    return record


def _set_step(record: RunRecord, name: str, **fields: Any) -> RunRecord:
    steps = [dict(s) for s in record.steps]
    for step in steps:
        if step["name"] == name:
            step.update(fields)
            break
    else:
        steps.append({"name": name, **fields})
    return record.model_copy(update={"steps": steps})


@contextlib.contextmanager
def step(storage: Storage, pipeline: str, run_id: str, name: str) -> Iterator[dict[str, Any]]:
    """Record a step's start, end, duration and outcome; the yielded dict becomes its detail."""
    started = _now()
    t0 = time.perf_counter()
    storage.runs.update(
        pipeline, run_id, lambda r: _set_step(r, name, status="Running", started_at=started.isoformat())
    )
    detail: dict[str, Any] = {}
    try:
        yield detail
    except Exception as exc:
        seconds = round(time.perf_counter() - t0, 3)
        message = f"{type(exc).__name__}: {exc}"
        storage.runs.update(
            pipeline,
            run_id,
            lambda r: _set_step(
                r,
                name,
                status="Failed",
                finished_at=_now().isoformat(),
                seconds=seconds,
                detail=message[:2000],
            ),
        )
        raise
    seconds = round(time.perf_counter() - t0, 3)

    def done(r: RunRecord) -> RunRecord:
        r = _set_step(
            r, name, status="Succeeded", finished_at=_now().isoformat(), seconds=seconds, detail=detail
        )
        timings = {**r.step_timings, name: seconds}
        return r.model_copy(update={"step_timings": timings})

    storage.runs.update(pipeline, run_id, done)


def begin_step(storage: Storage, pipeline: str, run_id: str, name: str) -> None:
    """Mark a step that spans several activities as running (kept as is when already started)."""

    def begin(r: RunRecord) -> RunRecord:
        if any(s["name"] == name and s.get("started_at") for s in r.steps):
            return r
        return _set_step(r, name, status="Running", started_at=_now().isoformat())

    storage.runs.update(pipeline, run_id, begin)


def end_step(storage: Storage, pipeline: str, run_id: str, name: str, detail: dict[str, Any]) -> float:
    """Finish a step begun by ``begin_step``; its seconds run from its recorded start to now."""
    finished = _now()
    seconds: dict[str, float] = {}

    def end(r: RunRecord) -> RunRecord:
        started = next((s.get("started_at") for s in r.steps if s["name"] == name), None)
        took = (finished - datetime.fromisoformat(started)).total_seconds() if started else 0.0
        seconds["value"] = round(took, 3)
        r = _set_step(
            r,
            name,
            status="Succeeded",
            finished_at=finished.isoformat(),
            seconds=seconds["value"],
            detail=detail,
        )
        return r.model_copy(update={"step_timings": {**r.step_timings, name: seconds["value"]}})

    storage.runs.update(pipeline, run_id, end)
    return seconds["value"]


def update_run(storage: Storage, pipeline: str, run_id: str, **fields: Any) -> RunRecord:
    """Set fields of a run (merging ``details``)."""

    def apply(r: RunRecord) -> RunRecord:
        if "details" in fields:
            fields["details"] = {**r.details, **fields["details"]}
        return r.model_copy(update=fields)

    record, _ = storage.runs.update(pipeline, run_id, apply)
    return record


def finish_run(
    storage: Storage, pipeline: str, run_id: str, status: str, details: dict[str, Any]
) -> RunRecord:
    """Mark the run finished with its final status and the details that explain it."""
    error = details.get("error")
    return update_run(
        storage,
        pipeline,
        run_id,
        status=status,
        finished_at=_now(),
        details=details,
        error=str(error) if error else None,
    )


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

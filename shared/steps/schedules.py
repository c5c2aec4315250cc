"""Per-spec schedules on top of one app timer: due-ness with persisted last-check times.

Azure timers are declared at deploy time, so one timer ticks often and asks, per pipeline or
model, whether the spec's own NCRONTAB schedule had an occurrence since the last time it ran.
State lives in `reports/schedule-state/<kind>/<name>.json`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from shared.ncrontab import CronSchedule
from shared.pipeline.spec import PipelineSpec, load_spec
from shared.steps import audit as audit_log
from shared.steps.monitoring import drift_window
from shared.storage.factory import Storage

STATE_CONTAINER = "reports"
ACTIVE = ("Pending", "Running")


def _state_name(kind: str, name: str) -> str:
    return f"schedule-state/{kind}/{name}.json"


def last_run(storage: Storage, kind: str, name: str) -> datetime | None:
    """When ``name`` last ran under schedule ``kind`` (None: never)."""
    blob = _state_name(kind, name)
    if not storage.blobs.exists(STATE_CONTAINER, blob):
        return None
    return datetime.fromisoformat(json.loads(storage.blobs.get_bytes(STATE_CONTAINER, blob))["last"])


def mark_run(storage: Storage, kind: str, name: str, at: datetime) -> None:
    """Remember that ``name`` ran at ``at``."""
    data = json.dumps({"last": at.isoformat()}).encode()
    storage.blobs.put_bytes(STATE_CONTAINER, _state_name(kind, name), data, content_type="application/json")


def due_occurrence(storage: Storage, kind: str, name: str, expression: str, now: datetime) -> datetime | None:
    """The schedule's latest occurrence in (last run, now], or None. First sight only starts the clock."""
    last = last_run(storage, kind, name)
    if last is None:
        mark_run(storage, kind, name, now)
        return None
    schedule = CronSchedule.parse(expression)
    occurrence = schedule.next_after(last)
    if occurrence > now:
        return None
    while True:  # several missed occurrences collapse into the latest one, like a past-due timer
        following = schedule.next_after(occurrence)
        if following > now:
            return occurrence
        occurrence = following


def latest_specs(storage: Storage) -> dict[str, PipelineSpec]:
    """The most recently registered spec of every pipeline."""
    newest: dict[str, tuple[datetime, dict[str, Any]]] = {}
    floor = datetime.min.replace(tzinfo=UTC)
    for record in storage.pipelines.query():
        at = record.registered_at or floor
        if record.pipeline not in newest or at >= newest[record.pipeline][0]:
            newest[record.pipeline] = (at, record.spec)
    return {name: load_spec(spec) for name, (_, spec) in newest.items()}


def active_runs(storage: Storage, pipeline: str) -> list[str]:
    """Run ids of the pipeline that are still going."""
    return [r.run_id for r in storage.runs.query(pk=pipeline) if r.status in ACTIVE]


def audit(storage: Storage, entity: str, action: str, reason: str, data: dict[str, Any]) -> None:
    """Append an audit entry by the scheduler."""
    audit_log.record(storage, entity, action, reason, data, actor="scheduler")


def scheduled_retrains(storage: Storage, now: datetime) -> list[dict[str, Any]]:
    """Pipelines whose retraining schedule is due: a start request each, or a recorded skip."""
    decisions: list[dict[str, Any]] = []
    for name, spec in sorted(latest_specs(storage).items()):
        if not spec.schedule:
            continue
        occurrence = due_occurrence(storage, "retrain", name, spec.schedule, now)
        if occurrence is None:
            continue
        mark_run(storage, "retrain", name, now)
        going = active_runs(storage, name)
        if going:
            reason = f"tick {occurrence.isoformat()} skipped: run {going[0]} is still going"
            audit(
                storage,
                f"pipeline:{name}",
                "schedule_skipped",
                reason,
                {"occurrence": occurrence.isoformat()},
            )
            decisions.append({"pipeline": name, "skipped": True, "reason": reason})
            continue
        instance_id = f"{name}-sched-{occurrence:%Y%m%dT%H%M%S}"
        decisions.append({"pipeline": name, "skipped": False, "instance_id": instance_id, "spec": spec})
    return decisions


def drift_windows(
    storage: Storage, now: datetime, manual: bool
) -> list[tuple[PipelineSpec, datetime, datetime, str]]:
    """(spec, since, until, window id) of every deployed model whose drift check is due.

    Scheduled checks cover the last full hour, so a window id (and the retrain request it may
    send) is the same however often the check re-runs. A manual run (the admin API) checks every
    deployed model over the current hour so far, so traffic just sent is included.
    """
    out: list[tuple[PipelineSpec, datetime, datetime, str]] = []
    for name, spec in sorted(latest_specs(storage).items()):
        if storage.aliases.try_get(name, spec.deployment.alias) is None:
            continue
        if not manual and due_occurrence(storage, "drift", name, spec.monitoring.schedule, now) is None:
            continue
        mark_run(storage, "drift", name, now)
        if manual:
            since = now.replace(minute=0, second=0, microsecond=0)
            out.append((spec, since, now, f"{since:%Y-%m-%dT%H}-to-{now:%H%M%S}"))
        else:
            out.append((spec, *drift_window(now)))
    return out

"""Per-spec schedules on top of one app timer: due-ness with persisted last-check times.

Azure timers are declared at deploy time, so one timer ticks often and asks, per pipeline or
model, whether the spec's own NCRONTAB schedule had an occurrence since the last time it ran.
State lives in `reports/schedule-state/<kind>/<name>.json`.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.ncrontab import CronSchedule
from shared.pipeline.spec import PipelineSpec
from shared.steps import audit
from shared.steps.current_spec import current_specs
from shared.storage.factory import Storage

STATE_CONTAINER = "reports"
ACTIVE = ("Pending", "Running", "AwaitingApproval")


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


def previous_occurrence(schedule: CronSchedule, occurrence: datetime) -> datetime:
    """The schedule's occurrence before ``occurrence`` (found by stepping back, then forward)."""
    back = timedelta(hours=1)
    start = occurrence - back
    while schedule.next_after(start) >= occurrence:  # nothing in (start, occurrence): look further back
        back *= 2
        start = occurrence - back
    previous = schedule.next_after(start)
    while (following := schedule.next_after(previous)) < occurrence:
        previous = following
    return previous


def period_hours(expression: str, occurrence: datetime) -> int:
    """Whole hours since the schedule's previous occurrence (at least 1: logs are kept per hour)."""
    schedule = CronSchedule.parse(expression)
    gap = occurrence - previous_occurrence(schedule, occurrence)
    return max(1, math.ceil(gap / timedelta(hours=1)))


def schedule_window(expression: str, occurrence: datetime) -> tuple[datetime, datetime, str]:
    """(since, until, window id): the whole hours of one schedule period ending at ``occurrence``.

    A 6-hourly check looks at 6 hours, a daily one at 24; anything more frequent than hourly looks
    at the last full hour, so its re-runs within the hour share one window id (and one request).
    """
    hours = period_hours(expression, occurrence)
    until = occurrence.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    since = until - timedelta(hours=hours)
    return since, until, f"{since:%Y-%m-%dT%H}" + ("" if hours == 1 else f"-{hours}h")


def active_runs(storage: Storage, pipeline: str) -> list[str]:
    """Run ids of the pipeline that are still going."""
    return [r.run_id for r in storage.runs.query(pk=pipeline) if r.status in ACTIVE]


def scheduled_retrains(storage: Storage, now: datetime) -> list[dict[str, Any]]:
    """Pipelines whose retraining schedule is due: a start request each, or a recorded skip."""
    decisions: list[dict[str, Any]] = []
    for name, spec in current_specs(storage).items():
        if not spec.schedule:
            continue
        occurrence = due_occurrence(storage, "retrain", name, spec.schedule, now)
        if occurrence is None:
            continue
        mark_run(storage, "retrain", name, now)
        going = active_runs(storage, name)
        if going:
            reason = f"tick {occurrence.isoformat()} skipped: run {going[0]} is still going"
            data = {"occurrence": occurrence.isoformat()}
            audit.record(storage, f"pipeline:{name}", "schedule_skipped", reason, data, actor="scheduler")
            decisions.append({"pipeline": name, "skipped": True, "reason": reason})
            continue
        instance_id = f"{name}-sched-{occurrence:%Y%m%dT%H%M%S}"
        decisions.append({"pipeline": name, "skipped": False, "instance_id": instance_id, "spec": spec})
    return decisions


def drift_windows(
    storage: Storage, now: datetime, manual: bool
) -> list[tuple[PipelineSpec, datetime, datetime, str]]:
    """(spec, since, until, window id) of every deployed model whose drift check is due.

    Scheduled checks cover the schedule's period before the due occurrence (``schedule_window``),
    so a window id (and the retrain request it may send) is the same however often the check
    re-runs. A manual run (the admin API) checks every deployed model over one period up to now,
    so traffic just sent is included.
    """
    out: list[tuple[PipelineSpec, datetime, datetime, str]] = []
    for name, spec in current_specs(storage).items():
        if storage.aliases.try_get(name, spec.deployment.alias) is None:
            continue
        expression = spec.monitoring.schedule
        occurrence = None if manual else due_occurrence(storage, "drift", name, expression, now)
        if not manual and occurrence is None:
            continue
        mark_run(storage, "drift", name, now)
        if occurrence is None:
            hours = period_hours(expression, CronSchedule.parse(expression).next_after(now))
            since = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
            out.append((spec, since, now, f"{since:%Y-%m-%dT%H}-to-{now:%H%M%S}"))
        else:
            out.append((spec, *schedule_window(expression, occurrence)))
    return out

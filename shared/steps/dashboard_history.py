"""Durable history for the dashboard: one instance's events folded into timeline spans, paged.

The management API returns an instance's whole history (10,000+ events for a long run), so the
dashboard never hands it to the browser: the app loads it once through its own Durable client,
folds it here into spans (activity calls with their scheduled -> completed times, retries,
sub-orchestrations, durable timers, raised events, training-job states) and serves pages of spans
and of events. Ended instances never change, so their folded view is cached per process.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

T = TypeVar("T")

#: Events per history page and spans per timeline page, unless the caller asks for fewer.
DEFAULT_PAGE = 200
MAX_PAGE = 1000
#: An event's input/output shown on demand is cut here (a model's metrics fit; a dataset would not).
MAX_DETAIL_CHARS = 64_000
#: Intervals of the whole-history overview (spans started per interval, by kind).
DENSITY_BUCKETS = 120
#: Runtime statuses after which a history never changes (safe to cache).
ENDED = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
#: Which activity's results are training-job polls (their ``state`` becomes the job's lane).
JOB_STATUS_ACTIVITY = "get_training_job_status"

_COMPLETIONS = {
    "TaskCompleted": ("activity", "Succeeded"),
    "TaskFailed": ("activity", "Failed"),
    "SubOrchestrationInstanceCompleted": ("sub-orchestration", "Succeeded"),
    "SubOrchestrationInstanceFailed": ("sub-orchestration", "Failed"),
}


def _ms(text: Any) -> int | None:
    """Epoch milliseconds of an ISO timestamp (None when absent or unreadable)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@dataclass
class FoldedHistory:
    """One instance's history as spans and slim events (no inputs/outputs), with its bounds."""

    instance_id: str
    runtime_status: str | None
    last_updated: str | None
    events: list[dict[str, Any]] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)
    start_ms: int | None = None
    end_ms: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    density: dict[str, list[int]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Everything but the pages: status, bounds, totals and per-type counts."""
        return {
            "instance_id": self.instance_id,
            "runtime_status": self.runtime_status,
            "last_updated": self.last_updated,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "total_events": len(self.events),
            "total_spans": len(self.spans),
            "event_counts": self.counts,
            "density": self.density,
        }


def _slim(index: int, event: dict[str, Any]) -> dict[str, Any]:
    """An event without its payloads (those are fetched one at a time, on demand)."""
    out: dict[str, Any] = {"index": index, "type": event.get("EventType"), "at": event.get("Timestamp")}
    for source, target in (("FunctionName", "name"), ("Name", "name"), ("ScheduledTime", "scheduled")):
        if event.get(source) is not None:
            out[target] = event[source]
    if event.get("FireAt") is not None:
        out["fire_at"] = event["FireAt"]
    if event.get("OrchestrationStatus") is not None:
        out["status"] = event["OrchestrationStatus"]
    if event.get("Reason") is not None:
        out["reason"] = str(event["Reason"])[:500]
    return out


def fold(
    instance_id: str, runtime_status: str | None, last_updated: str | None, history: list[dict[str, Any]]
) -> FoldedHistory:
    """Spans and slim events from a management-API history (scheduling folded into completions)."""
    folded = FoldedHistory(instance_id, runtime_status, last_updated)
    attempts: dict[str, int] = {}
    failed_before: dict[str, bool] = {}
    timers: dict[str, list[int]] = {}  # FireAt -> created times waiting for their TimerFired
    times: list[int] = []
    for index, event in enumerate(history):
        kind = str(event.get("EventType"))
        folded.counts[kind] = folded.counts.get(kind, 0) + 1
        folded.events.append(_slim(index, event))
        at = _ms(event.get("Timestamp"))
        if at is not None:
            times.append(at)
        if kind in _COMPLETIONS:
            span_kind, status = _COMPLETIONS[kind]
            name = str(event.get("FunctionName") or "?")
            attempts[name] = attempts.get(name, 0) + 1
            start = _ms(event.get("ScheduledTime")) or at
            span = {
                "kind": span_kind,
                "name": name,
                "start": start,
                "end": at,
                "status": status,
                "attempt": attempts[name],
                "event": index,
            }
            if failed_before.get(name):
                span["retry"] = True  # an attempt after a failure of the same call
            if status == "Failed":
                span["reason"] = str(event.get("Reason") or "")[:500]
            failed_before[name] = status == "Failed"
            folded.spans.append(span)
        elif kind == "TimerCreated":
            timers.setdefault(str(event.get("FireAt")), []).append(at or 0)
        elif kind == "TimerFired":
            pending = timers.get(str(event.get("FireAt")), [])
            start = pending.pop(0) if pending else at
            folded.spans.append(
                {
                    "kind": "timer",
                    "name": "durable timer",
                    "start": start,
                    "end": at,
                    "status": "Fired",
                    "event": index,
                    "fire_at": event.get("FireAt"),
                }
            )
        elif kind in ("EventRaised", "ExecutionTerminated", "ExecutionSuspended", "ExecutionResumed"):
            label = str(event.get("Name") or kind)
            folded.spans.append(
                {"kind": "event", "name": label, "start": at, "end": at, "status": kind, "event": index}
            )
    # Timers that never fired: still waiting, or (the instance ended first, e.g. an event won the
    # race against a timeout) never to fire, so they end with the instance.
    ended = runtime_status in ENDED and bool(times)
    for fire_at, waiting in timers.items():
        for created in waiting:
            folded.spans.append(
                {
                    "kind": "timer",
                    "name": "durable timer",
                    "start": created,
                    "end": max(times) if ended else None,
                    "status": "Not fired" if ended else "Waiting",
                    "fire_at": fire_at,
                }
            )
    if times:
        folded.start_ms, folded.end_ms = min(times), max(times)
        folded.density = density(folded.spans, folded.start_ms, folded.end_ms)
    return folded


def density(spans: list[dict[str, Any]], start: int, end: int) -> dict[str, list[int]]:
    """Spans started per interval of [start, end], by kind, plus the failed ones: the whole history
    at a glance while the rows themselves arrive a page at a time."""
    width = max(end - start, 1)
    out: dict[str, list[int]] = {}
    for span in spans:
        at = span.get("start")
        if at is None:
            continue
        i = min(DENSITY_BUCKETS - 1, max(0, (at - start) * DENSITY_BUCKETS // width))
        out.setdefault(span["kind"], [0] * DENSITY_BUCKETS)[i] += 1
        if span.get("status") == "Failed":
            out.setdefault("failed", [0] * DENSITY_BUCKETS)[i] += 1
    return out


def job_states(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Training-job state segments from a training instance's history *with outputs*.

    Each poll's result carries the job's state; consecutive equal states merge into one segment
    that lasts until the next different state was seen (the last one until its own poll).
    """
    polls: list[tuple[int, str, str]] = []
    for event in history:
        if event.get("EventType") != "TaskCompleted" or event.get("FunctionName") != JOB_STATUS_ACTIVITY:
            continue
        result = event.get("Result")
        if isinstance(result, str):
            try:
                result = json.loads(result)
            except ValueError:
                continue
        value = result.get("value") if isinstance(result, dict) else None
        at = _ms(event.get("Timestamp"))
        if isinstance(value, dict) and at is not None:
            polls.append((at, str(value.get("state", "?")), str(value.get("error") or "")[:500]))
    segments: list[dict[str, Any]] = []
    for at, state, error in polls:
        if segments and segments[-1]["name"] == state:
            segments[-1]["end"] = at
            segments[-1]["polls"] += 1
            continue
        if segments:
            segments[-1]["end"] = at
        segment = {"kind": "job", "name": state, "start": at, "end": at, "status": state, "polls": 1}
        if error:
            segment["reason"] = error
        segments.append(segment)
    return segments


def page(items: list[T], offset: int, limit: int) -> dict[str, Any]:
    """``{items, offset, total, next_offset}`` for one slice (next_offset None at the end)."""
    chunk = items[offset : offset + limit]
    end = offset + len(chunk)
    return {
        "items": chunk,
        "offset": offset,
        "total": len(items),
        "next_offset": end if end < len(items) else None,
    }


def filter_events(events: list[dict[str, Any]], types: str | None) -> list[dict[str, Any]]:
    """Events of the comma-separated ``types`` (all when empty)."""
    if not types:
        return events
    wanted = {t.strip() for t in types.split(",") if t.strip()}
    return [e for e in events if e.get("type") in wanted]


def event_detail(history: list[dict[str, Any]], index: int) -> dict[str, Any] | None:
    """One event with its input/result, cut at MAX_DETAIL_CHARS (None when the index is out of range)."""
    if not 0 <= index < len(history):
        return None
    event = history[index]
    text = json.dumps(event, default=str)
    if len(text) <= MAX_DETAIL_CHARS:
        return {"index": index, "event": event, "truncated": False}
    return {"index": index, "event": None, "text": text[:MAX_DETAIL_CHARS], "truncated": True}


class HistoryCache:
    """Folded histories of ended instances (they never change), least recently used first out."""

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._items: OrderedDict[str, FoldedHistory] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, instance_id: str) -> FoldedHistory | None:
        """The cached fold of an ended instance, if any."""
        with self._lock:
            folded = self._items.get(instance_id)
            if folded is not None:
                self._items.move_to_end(instance_id)
            return folded

    def put(self, folded: FoldedHistory) -> None:
        """Keep a fold when its instance has ended (a running one is read afresh each time)."""
        if folded.runtime_status not in ENDED:
            return
        with self._lock:
            self._items[folded.instance_id] = folded
            self._items.move_to_end(folded.instance_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

"""History events: constructors, episode (SDK) form and History-table row form."""

from __future__ import annotations

import json
from datetime import datetime
from enum import IntEnum
from typing import Any

from devhost.durable.names import escape_key, iso, parse_time, row_key

Event = dict[str, Any]


class EventType(IntEnum):
    """DTFx history event types (the integer the SDK sees)."""

    ExecutionStarted = 0
    ExecutionCompleted = 1
    ExecutionFailed = 2
    ExecutionTerminated = 3
    TaskScheduled = 4
    TaskCompleted = 5
    TaskFailed = 6
    SubOrchestrationInstanceCreated = 7
    SubOrchestrationInstanceCompleted = 8
    SubOrchestrationInstanceFailed = 9
    TimerCreated = 10
    TimerFired = 11
    OrchestratorStarted = 12
    OrchestratorCompleted = 13
    EventSent = 14
    EventRaised = 15
    ContinueAsNew = 16
    GenericEvent = 17
    HistoryState = 18
    ExecutionSuspended = 19
    ExecutionResumed = 20


#: events recording what an episode scheduled, by EventId = the SDK's sequence number (EventSent: entity
#: operations; their answers arrive as EventRaised named by the request id, not by this number)
SCHEDULING = frozenset(
    {
        EventType.TaskScheduled,
        EventType.TimerCreated,
        EventType.SubOrchestrationInstanceCreated,
        EventType.EventSent,
    }
)
#: completion event type -> the field naming the scheduling event it completes
COMPLETION_KEY = {
    EventType.TaskCompleted: "TaskScheduledId",
    EventType.TaskFailed: "TaskScheduledId",
    EventType.SubOrchestrationInstanceCompleted: "TaskScheduledId",
    EventType.SubOrchestrationInstanceFailed: "TaskScheduledId",
    EventType.TimerFired: "TimerId",
}
#: the scheduling event type each completion type answers
COMPLETES = {
    EventType.TaskCompleted: EventType.TaskScheduled,
    EventType.TaskFailed: EventType.TaskScheduled,
    EventType.SubOrchestrationInstanceCompleted: EventType.SubOrchestrationInstanceCreated,
    EventType.SubOrchestrationInstanceFailed: EventType.SubOrchestrationInstanceCreated,
    EventType.TimerFired: EventType.TimerCreated,
}
_TIME_FIELDS = ("FireAt", "ScheduledStartTime")
_JSON_FIELDS = ("ParentInstance", "OrchestrationInstance")
#: string fields that may be large and spill to blobs
LARGE_FIELDS = ("Input", "Result", "Details", "Reason")


def new_event(kind: EventType, when: datetime, event_id: int = -1, **fields: Any) -> Event:
    """A history event in the SDK's PascalCase shape (IsPlayed is set when an episode is built)."""
    event: Event = {"EventType": int(kind), "EventId": event_id, "Timestamp": iso(when)}
    event.update({k: v for k, v in fields.items() if v is not None})
    return event


def kind_of(event: Event) -> EventType:
    """The event's type."""
    return EventType(int(event["EventType"]))


def completion_target(event: Event) -> int | None:
    """The scheduling EventId a completion event answers, else None."""
    key = COMPLETION_KEY.get(kind_of(event))
    return None if key is None else int(event[key])


def to_row(event: Event, instance_id: str, execution_id: str, sequence: int) -> dict[str, Any]:
    """History-table entity of one event (large values are spilled by the store)."""
    row: dict[str, Any] = {
        "PartitionKey": escape_key(instance_id),
        "RowKey": row_key(sequence),
        "EventType": kind_of(event).name,
        "EventId": int(event.get("EventId", -1)),
        "IsPlayed": bool(event.get("IsPlayed", False)),
        "_Timestamp": parse_time(event["Timestamp"]),
        "ExecutionId": execution_id,
    }
    for key, value in event.items():
        if key in ("EventType", "EventId", "IsPlayed", "Timestamp") or value is None:
            continue
        if key in _TIME_FIELDS:
            row[key] = parse_time(value)
        elif key in _JSON_FIELDS:
            row[key] = json.dumps(value)
        else:
            row[key] = value
    return row


def from_row(row: dict[str, Any]) -> Event:
    """Event dict from a History-table entity (blob-spilled values must be resolved first)."""
    event: Event = {
        "EventType": int(EventType[str(row["EventType"])]),
        "EventId": int(row.get("EventId", -1)),
        "Timestamp": iso(row["_Timestamp"]),
    }
    skip = {"PartitionKey", "RowKey", "EventType", "EventId", "IsPlayed", "_Timestamp", "ExecutionId"}
    for key, value in row.items():
        if key in skip or key.endswith("BlobName") or key.startswith("odata") or value is None:
            continue
        if key in _TIME_FIELDS and isinstance(value, datetime):
            event[key] = iso(value)
        elif key in _JSON_FIELDS and isinstance(value, str):
            event[key] = json.loads(value)
        elif isinstance(value, (str, int, float, bool)):
            event[key] = value
    return event


def episode_form(event: Event, played: bool) -> Event:
    """Copy of the event as handed to the SDK, with IsPlayed."""
    out = dict(event)
    out["IsPlayed"] = played
    if out["EventType"] == EventType.ExecutionStarted:
        # the SDK reads ExecutionStarted.Version (context.version); rows omit null columns
        out.setdefault("Version", None)
    return out

"""The management API's JSON views of an instance and its history."""

from __future__ import annotations

from typing import Any

from devhost.durable.events import Event, EventType, kind_of
from devhost.durable.names import iso_seconds, parse_time
from devhost.durable.state import InstanceState, load_json

_HIDDEN = {
    EventType.OrchestratorStarted,
    EventType.OrchestratorCompleted,
    EventType.TaskScheduled,
    EventType.SubOrchestrationInstanceCreated,
}


def status_json(
    state: InstanceState,
    *,
    show_input: bool = True,
    show_history: bool = False,
    show_history_output: bool = False,
) -> dict[str, Any]:
    """``{name, instanceId, runtimeStatus, input, customStatus, output, createdTime, lastUpdatedTime}``."""
    body: dict[str, Any] = {
        "name": state.name,
        "instanceId": state.instance_id,
        "runtimeStatus": state.status,
        "input": load_json(state.input_text) if show_input else None,
        "customStatus": load_json(state.custom_status_text),
        "output": load_json(state.output_text),
        "createdTime": iso_seconds(state.created),
        "lastUpdatedTime": iso_seconds(state.updated),
    }
    if show_history:
        body["historyEvents"] = history_view(state.history, show_history_output)
    return body


def history_view(history: list[Event], with_output: bool) -> list[dict[str, Any]]:
    """History as the extension prints it: scheduling folded into completions, framing events hidden."""
    scheduled = {
        int(e["EventId"]): e
        for e in history
        if kind_of(e)
        in (EventType.TaskScheduled, EventType.SubOrchestrationInstanceCreated, EventType.TimerCreated)
    }
    out: list[dict[str, Any]] = []
    for event in history:
        kind = kind_of(event)
        if kind in _HIDDEN:
            continue
        item: dict[str, Any] = {"EventType": kind.name, "Timestamp": _ts(event["Timestamp"])}
        if kind == EventType.ExecutionStarted:
            item["FunctionName"] = event.get("Name")
            if with_output:
                item["Input"] = load_json(event.get("Input"))
        elif kind in (
            EventType.TaskCompleted,
            EventType.TaskFailed,
            EventType.SubOrchestrationInstanceCompleted,
            EventType.SubOrchestrationInstanceFailed,
        ):
            origin = scheduled.get(int(event.get("TaskScheduledId", -1)), {})
            item["FunctionName"] = origin.get("Name")
            item["ScheduledTime"] = _ts(origin["Timestamp"]) if origin else None
            if kind in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed):
                item["Reason"] = event.get("Reason")
                item["Details"] = event.get("Details")
            elif with_output:
                item["Result"] = load_json(event.get("Result"))
        elif kind in (EventType.TimerCreated, EventType.TimerFired):
            item["FireAt"] = _ts(str(event.get("FireAt", event["Timestamp"])))
        elif kind in (EventType.EventRaised, EventType.EventSent):
            item["Name"] = event.get("Name")
            if kind == EventType.EventSent:
                item["InstanceId"] = event.get("InstanceId")  # the entity an operation went to
            if with_output:
                item["Input"] = load_json(event.get("Input"))
        elif kind == EventType.ExecutionCompleted:
            item["OrchestrationStatus"] = event.get("OrchestrationStatus")
            if with_output:
                item["Result"] = load_json(event.get("Result"))
        elif kind in (
            EventType.ExecutionTerminated,
            EventType.ExecutionSuspended,
            EventType.ExecutionResumed,
        ):
            item["Reason"] = event.get("Input", event.get("Reason"))
        out.append(item)
    return out


def _ts(text: str) -> str:
    return parse_time(text).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

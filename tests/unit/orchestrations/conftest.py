"""Replay harness: drive an orchestrator generator through built histories, as the host would.

Each episode builds the history JSON the Durable extension sends (OrchestratorStarted,
ExecutionStarted, TaskScheduled/TaskCompleted/TaskFailed, TimerCreated/TimerFired, EventRaised,
SubOrchestrationInstanceCreated/Completed/Failed), runs the SDK's own ``Orchestrator.handle`` on
it, reads the new actions, answers them from the test's scripted responses, and replays again
until the orchestrator is done. Every action is kept, so tests assert the exact sequence.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.durable_functions.models import DurableOrchestrationContext
from azure.durable_functions.orchestrator import Orchestrator

# History event types (DURABLE-HOST.md)
EXECUTION_STARTED, TASK_SCHEDULED, TASK_COMPLETED, TASK_FAILED = 0, 4, 5, 6
SUB_CREATED, SUB_COMPLETED, SUB_FAILED = 7, 8, 9
TIMER_CREATED, TIMER_FIRED, ORCHESTRATOR_STARTED, ORCHESTRATOR_COMPLETED, EVENT_RAISED = 10, 11, 12, 13, 15
# Action types
CALL_ACTIVITY, CALL_ACTIVITY_RETRY, CALL_SUB, CALL_SUB_RETRY, CONTINUE_AS_NEW, CREATE_TIMER, WAIT_EVENT = (
    range(7)
)
WHEN_ANY, WHEN_ALL = 11, 12


class Transient(Exception):
    """A scripted activity failure: every attempt fails, so the retries run out."""


@dataclass
class Call:
    """One scheduled piece of work, as the orchestrator asked for it."""

    kind: str  # activity, sub, timer, event, continue
    name: str
    input: Any = None
    fire_at: datetime | None = None


Responder = Callable[[Any], Any]


@dataclass
class Replay:
    """A scripted host for one orchestrator instance."""

    orchestrator: Callable[[Any], Generator[Any, Any, Any]]
    input: Any
    activities: dict[str, Responder] = field(default_factory=dict)
    subs: dict[str, Responder] = field(default_factory=dict)
    events: list[tuple[str, Any]] = field(default_factory=list)
    instance_id: str = "iris-20260101000000-abcd"
    now: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    calls: list[Call] = field(default_factory=list)
    statuses: list[Any] = field(default_factory=list)
    max_episodes: int = 200

    def __post_init__(self) -> None:
        self._history: list[dict[str, Any]] = []
        self._next_id = 0
        self._seen = 0
        self._timers: dict[int, datetime] = {}
        self._episode(
            self._event(EXECUTION_STARTED, Name="orchestrator", Version="", Input=json.dumps(self.input))
        )

    # -- building history -------------------------------------------------------------------

    def _event(self, event_type: int, event_id: int = -1, **fields: Any) -> dict[str, Any]:
        stamp = self.now.isoformat().replace("+00:00", "Z")
        return {"EventType": event_type, "EventId": event_id, "IsPlayed": False, "Timestamp": stamp, **fields}

    def _episode(self, *events: dict[str, Any]) -> None:
        for old in self._history:
            old["IsPlayed"] = True
        self._history.append(self._event(ORCHESTRATOR_STARTED))
        self._history.extend(events)

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    # -- running --------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        body = {
            "history": self._history,
            "input": json.dumps(self.input),
            "instanceId": self.instance_id,
            "isReplaying": len(self._history) > 2,
            "parentInstanceId": None,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
        }
        context = DurableOrchestrationContext.from_json(json.dumps(body))
        try:
            return dict(json.loads(Orchestrator(self.orchestrator).handle(context)))
        except Exception as exc:  # the SDK's out-of-proc error format
            text = str(exc)
            marker = "$OutOfProcData$:"
            if marker not in text:
                raise
            return dict(json.loads(text.split(marker, 1)[1]))

    def run(self) -> Any:
        """Replay until the orchestrator finishes; its output (AssertionError if it never does)."""
        for _ in range(self.max_episodes):
            state = self._state()
            self.statuses.append(state.get("customStatus"))
            actions = _flatten(state.get("actions", []))
            new, self._seen = actions[self._seen :], len(actions)
            events: list[dict[str, Any]] = []
            for action in new:
                events.extend(self._answer(action))
            if state.get("error"):
                raise AssertionError(f"orchestrator failed: {state['error']}")
            if state.get("isDone"):
                return state.get("output")
            if not events:
                events = self._idle()
            self._history.append(self._event(ORCHESTRATOR_COMPLETED))
            self._episode(*events)
        raise AssertionError("the orchestrator did not finish")

    def _answer(self, action: dict[str, Any]) -> list[dict[str, Any]]:
        kind = action["actionType"]
        if kind in (CALL_ACTIVITY, CALL_ACTIVITY_RETRY):
            name, data = action["functionName"], json.loads(action["input"])
            self.calls.append(Call("activity", name, data))
            attempts = action.get("retryOptions", {}).get("maxNumberOfAttempts", 1)
            return self._activity(name, data, attempts)
        if kind in (CALL_SUB, CALL_SUB_RETRY):
            name, data = action["functionName"], json.loads(action["input"])
            self.calls.append(Call("sub", name, data))
            sid = self._id()
            created = self._event(SUB_CREATED, sid, Name=name, InstanceId=action.get("instanceId"))
            try:
                result = self.subs[name](data)
            except Exception as exc:
                return [created, self._event(SUB_FAILED, TaskScheduledId=sid, Reason=str(exc), Details="")]
            return [created, self._event(SUB_COMPLETED, TaskScheduledId=sid, Result=json.dumps(result))]
        if kind == CREATE_TIMER:
            fire_at = datetime.fromisoformat(action["fireAt"].replace("Z", "+00:00"))
            self.calls.append(Call("timer", "timer", fire_at=fire_at))
            tid = self._id()
            self._timers[tid] = fire_at
            return [self._event(TIMER_CREATED, tid, FireAt=action["fireAt"])]
        if kind == WAIT_EVENT:
            self.calls.append(Call("event", action["externalEventName"]))
            return []
        if kind == CONTINUE_AS_NEW:
            self.calls.append(Call("continue", "continue_as_new", json.loads(action["input"])))
            return []
        raise AssertionError(f"unexpected action {action}")

    def _activity(self, name: str, data: Any, attempts: int) -> list[dict[str, Any]]:
        responder = self.activities.get(name, lambda _: {"value": {}})
        events: list[dict[str, Any]] = []
        for attempt in range(attempts):
            tid = self._id()
            events.append(self._event(TASK_SCHEDULED, tid, Name=name))
            try:
                result = responder(data)
            except Transient as exc:
                reason = f"Activity function '{name}' failed: {exc}"
                events.append(
                    self._event(TASK_FAILED, TaskScheduledId=tid, Reason=reason, Details="Traceback...")
                )
                if attempts > 1:  # retry timer (and, after the last attempt, the extra one)
                    timer = self._id()
                    events.append(self._event(TIMER_CREATED, timer, FireAt=self.now.isoformat()))
                    events.append(self._event(TIMER_FIRED, TimerId=timer, FireAt=self.now.isoformat()))
                if attempt == attempts - 1:
                    self.calls[-1].input = {**data, "_failed_attempts": attempts}
                continue
            events.append(self._event(TASK_COMPLETED, TaskScheduledId=tid, Result=json.dumps(result)))
            return events
        return events

    def _idle(self) -> list[dict[str, Any]]:
        """Nothing answered: raise the next scripted event, else fire the earliest timer."""
        if self.events:
            name, data = self.events.pop(0)
            return [self._event(EVENT_RAISED, Name=name, Input=json.dumps(data))]
        if self._timers:
            tid = min(self._timers, key=lambda t: self._timers[t])
            fire_at = self._timers.pop(tid)
            self.now = max(self.now, fire_at)
            return [self._event(TIMER_FIRED, TimerId=tid, FireAt=fire_at.isoformat().replace("+00:00", "Z"))]
        raise AssertionError("the orchestrator waits for nothing the test can give")

    # -- reading --------------------------------------------------------------------------

    def activity_names(self) -> list[str]:
        """Activities in the order they were scheduled."""
        return [c.name for c in self.calls if c.kind in ("activity", "sub")]

    def inputs(self, name: str) -> list[Any]:
        """Every input the orchestrator sent to ``name``."""
        return [c.input for c in self.calls if c.name == name]


def _flatten(actions: list[Any]) -> list[dict[str, Any]]:
    flat: list[dict[str, Any]] = []
    for item in actions:
        if isinstance(item, list):
            flat.extend(_flatten(item))
        elif item.get("actionType") in (WHEN_ANY, WHEN_ALL):
            flat.extend(_flatten(item["compoundActions"]))
        else:
            flat.append(item)
    return flat


@pytest.fixture
def later() -> Callable[[float], datetime]:
    """A time ``hours`` after the harness's start."""
    return lambda hours: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=hours)


@pytest.fixture
def replay() -> type[Replay]:
    """The harness class (conftest helpers are not importable under --import-mode=importlib)."""
    return Replay


@pytest.fixture
def transient() -> type[Transient]:
    """The scripted transient failure."""
    return Transient

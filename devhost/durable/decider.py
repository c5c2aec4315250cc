"""Turn delivered messages plus an episode's result into history events and outgoing messages."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from devhost.durable.activities import exception_json
from devhost.durable.entities import entity_request
from devhost.durable.episode import Allocation, EpisodeResult, allocations_from_actions
from devhost.durable.events import COMPLETES, Event, EventType, completion_target, kind_of, new_event
from devhost.durable.names import HubNames, parse_time
from devhost.durable.state import InstanceState, dump_json
from devhost.durable.store import QueuedMessage
from devhost.durable.versioning import VersionPolicy

NONDETERMINISM = "Non-Deterministic workflow detected: A previous execution of this orchestration scheduled"
CODE_CHANGED = "Was a change made to the orchestrator code after this instance had already started running?"
_CONTROL = {EventType.ExecutionTerminated, EventType.ExecutionSuspended, EventType.ExecutionResumed}
_WANT = {
    "activity": EventType.TaskScheduled,
    "suborch": EventType.SubOrchestrationInstanceCreated,
    "timer": EventType.TimerCreated,
    "retry_timer": EventType.TimerCreated,
    "entity_call": EventType.EventSent,
    "entity_signal": EventType.EventSent,
}


@dataclass
class Outgoing:
    """A message to send durably before the history checkpoint, then dispatch in memory."""

    queue: str
    body: dict[str, Any]
    delay: float = 0.0
    #: False for activity work items: TaskScheduled without a completion in history is the durable record
    durable: bool = True


@dataclass
class Step:
    """Everything one dispatch of an instance decides."""

    instance_id: str
    state: InstanceState | None
    now: datetime
    consumed: list[QueuedMessage] = field(default_factory=list)
    deferred: list[QueuedMessage] = field(default_factory=list)
    dropped: list[QueuedMessage] = field(default_factory=list)
    frame: list[Event] = field(default_factory=list)
    run_code: bool = False
    outgoing: list[Outgoing] = field(default_factory=list)
    start_seq: int = 0
    new_execution: bool = False
    continue_as_new: tuple[str, str | None] | None = None
    changed: bool = False


def event_message(instance_id: str, execution_id: str | None, event: Event, **extra: Any) -> dict[str, Any]:
    """Body of a control-queue message carrying one history event."""
    body: dict[str, Any] = {
        "kind": "event",
        "instanceId": instance_id,
        "executionId": execution_id,
        "event": event,
    }
    body.update(extra)
    return body


def execution_started(
    name: str,
    instance_id: str,
    execution_id: str,
    stored_input: str | None,
    when: datetime,
    parent: dict[str, Any] | None = None,
    version: str | None = None,
) -> Event:
    """ExecutionStarted of a new execution (``Version`` null when unversioned, as the extension sends)."""
    event = new_event(
        EventType.ExecutionStarted,
        when,
        Name=name,
        Input=stored_input,
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        ParentInstance=parent,
    )
    event["Version"] = version or None
    return event


class Decider:
    """Pure decisions about one instance; the engine does the I/O."""

    def __init__(self, names: HubNames, versions: VersionPolicy | None = None) -> None:
        self.names = names
        self.versions = versions or VersionPolicy()

    # ---- before the episode ------------------------------------------------------------
    def prepare(
        self, instance_id: str, state: InstanceState | None, msgs: list[QueuedMessage], now: datetime
    ) -> Step:
        """Classify delivered messages and start the episode frame."""
        step = Step(instance_id, state, now)
        starts = [m for m in msgs if kind_of(m.body["event"]) == EventType.ExecutionStarted]
        controls = [m for m in msgs if kind_of(m.body["event"]) in _CONTROL]
        others = [m for m in msgs if m not in starts and m not in controls]
        for m in starts:
            self._apply_start(step, m)
        state = step.state
        if state is None or not (state.started or step.new_execution):
            if state is not None and not state.terminal:
                step.deferred.extend(controls + others)  # wait for the ExecutionStarted
            else:
                step.dropped.extend(controls + others)
            return step
        if state.terminal and not step.new_execution:
            step.dropped.extend(controls + others)
            return step
        if not step.frame:
            step.frame.append(new_event(EventType.OrchestratorStarted, now))
        step.start_seq = len(state.history)
        for index, m in enumerate(controls):
            if self._apply_control(step, m):
                step.dropped.extend(controls[index + 1 :] + others)
                return step
        taken: set[int] = set()
        for m in others:
            event = m.body["event"]
            kind = kind_of(event)
            if m.body.get("executionId") and m.body["executionId"] != state.execution_id:
                step.dropped.append(m)
            elif state.suspended:
                step.deferred.append(m)
            elif kind == EventType.EventRaised:
                step.frame.append(event)
                step.consumed.append(m)
                step.run_code = True
            elif kind in COMPLETES:
                target = completion_target(event)
                assert target is not None
                scheduled = state.scheduled.get(target)
                if target in state.done_ids or target in taken:
                    step.dropped.append(m)  # duplicate delivery (at-least-once)
                elif scheduled is None:
                    step.deferred.append(m)  # its scheduling checkpoint is not written yet
                elif kind_of(scheduled) != COMPLETES[kind]:
                    step.dropped.append(m)
                else:
                    taken.add(target)
                    step.frame.append(event)
                    step.consumed.append(m)
                    step.run_code = True
            else:
                step.dropped.append(m)
        return step

    def _apply_start(self, step: Step, m: QueuedMessage) -> None:
        event = m.body["event"]
        execution_id = str(event["OrchestrationInstance"]["ExecutionId"])
        state = step.state
        if state is None:
            fresh = True
        elif state.execution_id == execution_id:
            fresh = not state.started  # a redelivered start of a started execution is a duplicate
        else:
            fresh = state.terminal  # a new execution replaces a finished one
        if step.new_execution or not fresh:
            step.dropped.append(m)
            return
        if state is None or state.execution_id != execution_id:
            state = InstanceState(step.instance_id, str(event["Name"]), execution_id, created=step.now)
            step.state = state
        state.name = str(event["Name"])
        state.input_text = event.get("Input")
        state.version = str(event.get("Version") or "")
        state.generation = int(m.body.get("generation", state.generation))
        state.status = "Running"
        state.output_text = None
        state.custom_status_text = None
        state.completed = None
        state.reset_history([])
        state.parent = event.get("ParentInstance")
        step.new_execution = True
        step.start_seq = 0
        step.frame = [new_event(EventType.OrchestratorStarted, step.now), event]
        step.consumed.append(m)
        step.run_code = True
        step.changed = True

    def _apply_control(self, step: Step, m: QueuedMessage) -> bool:
        """Apply terminate/suspend/resume; True when the instance was terminated."""
        state = step.state
        assert state is not None
        event = m.body["event"]
        kind = kind_of(event)
        if kind == EventType.ExecutionTerminated:
            step.frame.append(event)
            step.consumed.append(m)
            state.status = "Terminated"
            state.output_text = dump_json(event.get("Input"))
            state.completed = step.now
            step.run_code = False
            step.changed = True
            self._notify_parent(step, ok=False, text=f"Orchestration terminated: {event.get('Input')}")
            return True
        if kind == EventType.ExecutionSuspended and state.status == "Running":
            state.status = "Suspended"
        elif kind == EventType.ExecutionResumed and state.status == "Suspended":
            state.status = "Running"
            step.run_code = True
        else:
            step.dropped.append(m)
            return False
        step.frame.append(event)
        step.consumed.append(m)
        step.changed = True
        return False

    # ---- after the episode -------------------------------------------------------------
    def finish(self, step: Step, result: EpisodeResult | None) -> None:
        """Append scheduling/completion events, outgoing messages and the closing event."""
        state = step.state
        assert state is not None
        if result is not None:
            state.custom_status_text = (
                None if result.custom_status is None else dump_json(result.custom_status)
            )
            if result.error is not None:
                self._fail(step, result.error)
            else:
                self._apply_result(step, result)
        if step.continue_as_new is None:
            step.frame.append(new_event(EventType.OrchestratorCompleted, step.now))
        state.updated = step.now
        step.changed = True

    def _apply_result(self, step: Step, result: EpisodeResult) -> None:
        state = step.state
        assert state is not None
        allocations = result.allocations
        if allocations is None:
            allocations = allocations_from_actions(result.actions)
        problem = self._nondeterminism(state, allocations, result)
        if problem:
            self._fail(step, problem)
            return
        for alloc in allocations:
            if alloc.kind == "unsupported":
                self._fail(step, f"devhost does not support {alloc.name} in orchestrations yet.")
                return
        if result.continued_as_new:
            self._continue_as_new(step, result.continue_as_new_input)
            return
        for alloc in sorted(allocations, key=lambda a: a.seq):
            if alloc.seq not in state.scheduled:
                self._schedule(step, alloc)
        if result.done:
            output = dump_json(result.output)
            step.frame.append(
                new_event(
                    EventType.ExecutionCompleted, step.now, OrchestrationStatus="Completed", Result=output
                )
            )
            state.status = "Completed"
            state.output_text = output
            state.completed = step.now
            self._notify_parent(step, ok=True, text=output)

    def _nondeterminism(
        self, state: InstanceState, allocations: list[Allocation], result: EpisodeResult
    ) -> str | None:
        allocated = set()
        for alloc in allocations:
            allocated.add(alloc.seq)
            recorded = state.scheduled.get(alloc.seq)
            if recorded is None or alloc.kind == "unsupported":
                continue
            same_kind = kind_of(recorded) == _WANT[alloc.kind]
            target = recorded.get("InstanceId") if kind_of(recorded) == EventType.EventSent else None
            same_name = (
                alloc.instance_id == target
                if target is not None
                else alloc.name is None or recorded.get("Name") == alloc.name
            )
            if not (same_kind and same_name):
                return (
                    f"{NONDETERMINISM} {_describe(recorded)} with sequence ID {alloc.seq}, but the current "
                    f"replay execution instead scheduled {alloc.describe()}. {CODE_CHANGED}"
                )
        if not result.done:
            missing = sorted(set(state.scheduled) - allocated)
            if missing:
                recorded = state.scheduled[missing[0]]
                return (
                    f"{NONDETERMINISM} {_describe(recorded)} with sequence ID {missing[0]}, but the current "
                    f"replay execution hasn't (yet?) scheduled this task. {CODE_CHANGED}"
                )
        return None

    def _schedule(self, step: Step, alloc: Allocation) -> None:
        state = step.state
        assert state is not None
        own_queue = self.names.control_queue_for(state.instance_id)
        if alloc.kind == "activity":
            step.frame.append(
                new_event(
                    EventType.TaskScheduled,
                    step.now,
                    alloc.seq,
                    Name=alloc.name,
                    Input=alloc.input,
                    Version="",
                )
            )
            step.outgoing.append(
                Outgoing(
                    self.names.workitems_queue,
                    {
                        "kind": "work",
                        "instanceId": state.instance_id,
                        "executionId": state.execution_id,
                        "taskId": alloc.seq,
                        "name": alloc.name,
                        "input": alloc.input,
                    },
                    durable=False,
                )
            )
        elif alloc.kind in ("timer", "retry_timer"):
            fire_at = parse_time(alloc.fire_at) if alloc.fire_at else step.now + retry_delay(alloc)
            fire_text = new_event(EventType.TimerCreated, fire_at)["Timestamp"]
            step.frame.append(new_event(EventType.TimerCreated, step.now, alloc.seq, FireAt=fire_text))
            fired = new_event(EventType.TimerFired, fire_at, TimerId=alloc.seq, FireAt=fire_text)
            delay = max(0.0, (fire_at - step.now).total_seconds())
            step.outgoing.append(
                Outgoing(own_queue, event_message(state.instance_id, state.execution_id, fired), delay)
            )
        elif alloc.kind in ("entity_call", "entity_signal"):
            self._send_entity_request(step, alloc)
        elif alloc.kind == "suborch":
            child = alloc.instance_id or f"{state.execution_id}:{alloc.seq}"
            version = self.versions.version_for_new(alloc.version)
            step.frame.append(
                new_event(
                    EventType.SubOrchestrationInstanceCreated,
                    step.now,
                    alloc.seq,
                    Name=alloc.name,
                    InstanceId=child,
                    Input=alloc.input,
                    Version=version,
                )
            )
            child_exec = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{state.execution_id}/{alloc.seq}/{child}"))
            parent = {
                "Name": state.name,
                "Version": state.version or None,
                "TaskScheduledId": alloc.seq,
                "OrchestrationInstance": {"InstanceId": state.instance_id, "ExecutionId": state.execution_id},
            }
            stored = None if alloc.input is None else dump_json(alloc.input)
            start = execution_started(str(alloc.name), child, child_exec, stored, step.now, parent, version)
            step.outgoing.append(
                Outgoing(self.names.control_queue_for(child), event_message(child, child_exec, start))
            )

    def _send_entity_request(self, step: Step, alloc: Allocation) -> None:
        """EventSent in history and the request on the entity's control queue (sent before the checkpoint)."""
        state = step.state
        assert state is not None
        entity_id = str(alloc.instance_id)
        request = entity_request(
            # deterministic: a checkpoint re-run after a crash sends the same id and the entity drops it
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"{state.execution_id}/{alloc.seq}")),
            str(alloc.name),
            # the action's input is JSON text; the extension stores it as a string token
            None if alloc.input is None else json.dumps(alloc.input),
            signal=alloc.kind == "entity_signal",
            parent=(state.instance_id, state.execution_id),
            when=step.now,
        )
        step.frame.append(
            new_event(
                EventType.EventSent,
                step.now,
                alloc.seq,
                InstanceId=entity_id,
                Name="op",
                Input=json.dumps(request),
            )
        )
        step.outgoing.append(
            Outgoing(
                self.names.control_queue_for(entity_id),
                {"kind": "entity", "instanceId": entity_id, "request": request},
            )
        )

    def _continue_as_new(self, step: Step, input_text: str | None) -> None:
        state = step.state
        assert state is not None
        new_exec = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{state.execution_id}:continue-as-new"))
        stored = None if input_text is None else dump_json(input_text)
        start = execution_started(
            state.name, state.instance_id, new_exec, stored, step.now, state.parent, state.version
        )
        step.outgoing.append(
            Outgoing(
                self.names.control_queue_for(state.instance_id),
                event_message(state.instance_id, new_exec, start, generation=state.generation + 1),
            )
        )
        step.continue_as_new = (new_exec, stored)

    def _fail(self, step: Step, error: str) -> None:
        state = step.state
        assert state is not None
        text = f"Orchestrator function '{state.name}' failed: {error}"
        step.frame.append(
            new_event(
                EventType.ExecutionCompleted, step.now, OrchestrationStatus="Failed", Result=dump_json(text)
            )
        )
        state.status = "Failed"
        state.output_text = dump_json(text)
        state.completed = step.now
        self._notify_parent(step, ok=False, text=text, details=error)

    def _notify_parent(self, step: Step, *, ok: bool, text: str, details: str | None = None) -> None:
        state = step.state
        assert state is not None
        parent = state.parent
        if not parent:
            return
        link = parent["OrchestrationInstance"]
        if ok:
            event = new_event(
                EventType.SubOrchestrationInstanceCompleted,
                step.now,
                TaskScheduledId=int(parent["TaskScheduledId"]),
                Result=text,
            )
        else:
            event = new_event(
                EventType.SubOrchestrationInstanceFailed,
                step.now,
                TaskScheduledId=int(parent["TaskScheduledId"]),
                Reason=text,
                Details=json.dumps(exception_json(details or text)),
            )
        step.outgoing.append(
            Outgoing(
                self.names.control_queue_for(link["InstanceId"]),
                event_message(link["InstanceId"], link["ExecutionId"], event),
            )
        )


def retry_delay(alloc: Allocation) -> timedelta:
    """Back-off before retry attempt k+1: first * backoff^(k-1), capped; none after the last attempt."""
    options = alloc.retry or {}
    attempts = int(options.get("maxNumberOfAttempts", 1))
    if alloc.attempt >= attempts:
        return timedelta(0)
    first = float(options.get("firstRetryIntervalInMilliseconds", 1000))
    backoff = float(options.get("backoffCoefficient", 1.0) or 1.0)
    delay = first * backoff ** max(0, alloc.attempt - 1)
    cap = options.get("maxRetryIntervalInMilliseconds")
    if cap:
        delay = min(delay, float(cap))
    return timedelta(milliseconds=delay)


def _describe(event: Event) -> str:
    kind = kind_of(event)
    if kind == EventType.TaskScheduled:
        return f"an activity task named '{event.get('Name')}'"
    if kind == EventType.SubOrchestrationInstanceCreated:
        return f"a sub-orchestration named '{event.get('Name')}'"
    if kind == EventType.EventSent:
        return f"an entity operation on '{event.get('InstanceId')}'"
    return "a durable timer"

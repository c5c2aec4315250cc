"""Run one orchestrator episode through the SDK's own replay code and read what it decided."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from azure.durable_functions.models.actions.NoOpAction import NoOpAction
from azure.durable_functions.models.actions.SignalEntityAction import SignalEntityAction
from azure.durable_functions.models.DurableOrchestrationContext import DurableOrchestrationContext
from azure.durable_functions.orchestrator import Orchestrator

from devhost.durable.registry import OrchestratorFunction

OUT_OF_PROC_MARKER = "$OutOfProcData$:"
RETRY_TIMER_MARK = "-WithRetry timer"
ACTIVITY_TYPES = {0, 1}
SUBORCH_TYPES = {2, 3}
TIMER_TYPE = 5
CONTINUE_AS_NEW_TYPE = 4
CALL_ENTITY_TYPE = 7
SIGNAL_ENTITY_TYPE = 9
UNSUPPORTED_TYPES = {8: "call_http"}


@dataclass
class Allocation:
    """A sequence number the SDK handed out, and what it stands for."""

    seq: int
    kind: str  # activity | suborch | timer | retry_timer | entity_call | entity_signal | unsupported
    name: str | None = None
    input: str | None = None
    fire_at: str | None = None
    instance_id: str | None = None
    retry: dict[str, Any] | None = None
    attempt: int = 0
    version: str | None = None

    def describe(self) -> str:
        """Human wording used in nondeterminism messages."""
        if self.kind == "activity":
            return f"an activity task named '{self.name}'"
        if self.kind == "suborch":
            return f"a sub-orchestration named '{self.name}'"
        if self.kind in ("timer", "retry_timer"):
            return "a durable timer"
        if self.kind in ("entity_call", "entity_signal"):
            return f"an entity operation '{self.name}' on '{self.instance_id}'"
        return f"an unsupported action '{self.name}'"


@dataclass
class EpisodeResult:
    """What one episode produced."""

    done: bool
    output: Any = None
    error: str | None = None
    custom_status: Any = None
    actions: list[dict[str, Any]] = field(default_factory=list)
    allocations: list[Allocation] | None = None
    continue_as_new_input: str | None = None
    continued_as_new: bool = False


def build_payload(
    history: list[dict[str, Any]],
    input_token: Any,
    instance_id: str,
    parent_instance_id: str | None,
) -> dict[str, Any]:
    """The orchestration trigger's JSON (V2 replay schema)."""
    return {
        "history": history,
        "input": input_token,
        "instanceId": instance_id,
        "isReplaying": len(history) > 2,
        "parentInstanceId": parent_instance_id,
        "upperSchemaVersion": 1,
        "upperSchemaVersionNew": 2,
    }


def run_episode(orchestrator: OrchestratorFunction, payload: dict[str, Any]) -> EpisodeResult:
    """Run the SDK replay over the payload; never raises for orchestrator errors."""
    allocations: list[Allocation] | None = None
    try:
        if orchestrator.generator is not None:
            allocations = []
            text = _run_tracked(orchestrator, payload, allocations)
        else:  # a handle we cannot look inside: plain protocol, ids derived from actions
            text = orchestrator.handle(json.dumps(payload))
        state = json.loads(text) if isinstance(text, str) else dict(text)
        error = None
    except Exception as exc:
        message = str(exc)
        if OUT_OF_PROC_MARKER in message:
            state = json.loads(message.split(OUT_OF_PROC_MARKER, 1)[1])
            error = state.get("error") or message.split("\n\n" + OUT_OF_PROC_MARKER, 1)[0]
        else:
            state = {"isDone": False, "actions": []}
            error = message or type(exc).__name__
    actions = flatten_actions(state.get("actions") or [])
    result = EpisodeResult(
        done=bool(state.get("isDone")),
        output=state.get("output"),
        error=error,
        custom_status=state.get("customStatus"),
        actions=actions,
        allocations=allocations,
    )
    for action in actions:
        if action.get("actionType") == CONTINUE_AS_NEW_TYPE:
            result.continued_as_new = True
            result.continue_as_new_input = action.get("input")
    return result


def _run_tracked(orchestrator: OrchestratorFunction, payload: dict[str, Any], out: list[Allocation]) -> str:
    """What ``Orchestrator.create(fn)``'s handle does, recording every sequence number handed out."""
    ctx = DurableOrchestrationContext(**payload)
    ctx._input_expected_type = getattr(orchestrator.handle, "_df_input_type", None)
    original = ctx._add_to_open_tasks
    seen: set[int] = set()

    def recording(task: Any) -> None:
        before = ctx._sequence_number
        original(task)
        for seq in range(before, ctx._sequence_number):
            if seq in seen:
                continue
            seen.add(seq)
            allocated = ctx.open_tasks.get(seq)
            out.append(classify(seq, allocated))

    original_signal = ctx._record_fire_and_forget_action

    def recording_signal(action: Any) -> None:
        # signal_entity takes a sequence number without an open task (fire and forget)
        seq = ctx._sequence_number
        original_signal(action)
        # continue_as_new takes a number the same way; only entity signals are scheduled work
        if ctx._sequence_number > seq and seq not in seen and isinstance(action, SignalEntityAction):
            seen.add(seq)
            out.append(_from_action(seq, action))

    ctx._add_to_open_tasks = recording
    ctx._record_fire_and_forget_action = recording_signal
    generator = orchestrator.generator
    assert generator is not None
    return str(Orchestrator(generator).handle(ctx))


def classify(seq: int, task: Any) -> Allocation:
    """Turn an SDK task that just got a sequence number into an Allocation."""
    action = getattr(task, "action_repr", None)
    if isinstance(action, list):
        action = action[0] if action else None
    if isinstance(action, NoOpAction):
        parent = task.parent
        original = parent.actions
        retry = parent.retry_options.to_json()
        if action.metadata == RETRY_TIMER_MARK:
            return Allocation(seq, "retry_timer", retry=retry, attempt=int(parent.num_attempts))
        base = _from_action(seq, original)
        base.retry = retry
        return base
    if action is None:
        return Allocation(seq, "unsupported", name="unknown task")
    return _from_action(seq, action)


def _from_action(seq: int, action: Any) -> Allocation:
    data = action.to_json()
    return from_action_json(seq, data)


def from_action_json(seq: int, data: dict[str, Any]) -> Allocation:
    """Allocation of a serialized action."""
    kind = int(data.get("actionType", -1))
    if kind in ACTIVITY_TYPES:
        return Allocation(
            seq,
            "activity",
            name=data.get("functionName"),
            input=data.get("input"),
            retry=data.get("retryOptions"),
        )
    if kind in SUBORCH_TYPES:
        return Allocation(
            seq,
            "suborch",
            name=data.get("functionName"),
            input=data.get("input"),
            instance_id=data.get("instanceId"),
            retry=data.get("retryOptions"),
            version=data.get("version"),
        )
    if kind == TIMER_TYPE:
        return Allocation(seq, "timer", fire_at=data.get("fireAt"))
    if kind in (CALL_ENTITY_TYPE, SIGNAL_ENTITY_TYPE):
        return Allocation(
            seq,
            "entity_call" if kind == CALL_ENTITY_TYPE else "entity_signal",
            name=data.get("operation"),
            input=data.get("input"),
            instance_id=data.get("instanceId"),
        )
    return Allocation(seq, "unsupported", name=UNSUPPORTED_TYPES.get(kind, f"actionType {kind}"))


def flatten_actions(actions: list[Any]) -> list[dict[str, Any]]:
    """Atomic actions in order, depth-first through WhenAll/WhenAny compound actions."""
    out: list[dict[str, Any]] = []

    def walk(item: Any) -> None:
        if isinstance(item, list):
            for child in item:
                walk(child)
        elif isinstance(item, dict):
            if "compoundActions" in item:
                for child in item["compoundActions"]:
                    walk(child)
            else:
                out.append(item)

    walk(actions)
    return out


def allocations_from_actions(actions: list[dict[str, Any]]) -> list[Allocation]:
    """Sequence numbers as the SDK assigns them when no retries are involved (fallback path)."""
    out: list[Allocation] = []
    seq = 0
    for action in actions:
        kind = int(action.get("actionType", -1))
        if kind == 6:  # external-event waits take no number
            continue
        if kind == CONTINUE_AS_NEW_TYPE:
            seq += 1
            continue
        out.append(from_action_json(seq, action))
        seq += 1
    return out

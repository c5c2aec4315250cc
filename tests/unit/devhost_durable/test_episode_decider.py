"""Episodes through the SDK's replay and the decisions drawn from them (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from devhost.durable.decider import Decider, event_message, execution_started, retry_delay
from devhost.durable.episode import (
    Allocation,
    allocations_from_actions,
    build_payload,
    flatten_actions,
    run_episode,
)
from devhost.durable.events import EventType, episode_form, new_event
from devhost.durable.names import HubNames
from devhost.durable.registry import FunctionRegistry
from devhost.durable.state import InstanceState
from devhost.durable.store import QueuedMessage

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NAMES = HubNames("UnitHub")


def _msg(instance_id: str, execution_id: str | None, event: dict[str, Any]) -> QueuedMessage:
    return QueuedMessage("q", event_message(instance_id, execution_id, event), "", "")


def _episode(registry: FunctionRegistry, name: str, events: list[dict[str, Any]], input_: Any = None) -> Any:
    history = [episode_form(e, False) for e in events]
    return run_episode(registry.orchestrators[name], build_payload(history, input_, "inst", None))


def _start(name: str) -> list[dict[str, Any]]:
    return [
        new_event(EventType.OrchestratorStarted, NOW),
        execution_started(name, "inst", "exec", None, NOW),
    ]


def test_first_episode_allocates_sequence_zero(registry: FunctionRegistry) -> None:
    result = _episode(registry, "hello_chain", _start("hello_chain"))
    assert result.error is None and not result.done
    assert [(a.seq, a.kind, a.name, a.input) for a in result.allocations] == [
        (0, "activity", "say_hello", '"Tokyo"')
    ]
    assert result.actions[0]["functionName"] == "say_hello"


def test_replay_reallocates_and_completes(registry: FunctionRegistry) -> None:
    events = _start("hello_chain")
    for seq, city in enumerate(("Tokyo", "Seattle", "London")):
        events.append(new_event(EventType.TaskScheduled, NOW, seq, Name="say_hello"))
        events.append(new_event(EventType.TaskCompleted, NOW, TaskScheduledId=seq, Result=f'"Hello {city}!"'))
    result = _episode(registry, "hello_chain", events)
    assert result.done and result.output == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert [a.seq for a in result.allocations] == [0, 1, 2]
    assert result.custom_status == {"done": 3}


def test_retry_failure_allocates_a_retry_timer(registry: FunctionRegistry) -> None:
    events = _start("retrying")
    events.append(new_event(EventType.TaskScheduled, NOW, 0, Name="flaky"))
    events.append(new_event(EventType.TaskFailed, NOW, TaskScheduledId=0, Reason="r", Details="d"))
    result = _episode(registry, "retrying", events, '{"key": "k"}')
    kinds = [(a.seq, a.kind) for a in result.allocations]
    assert kinds == [(0, "activity"), (1, "retry_timer")]
    assert result.allocations[1].attempt == 1 and result.allocations[1].retry == {
        "firstRetryIntervalInMilliseconds": 100,
        "maxNumberOfAttempts": 3,
    }
    events.append(new_event(EventType.TimerFired, NOW, TimerId=1))
    rescheduled = _episode(registry, "retrying", events, '{"key": "k"}').allocations[-1]
    assert (rescheduled.seq, rescheduled.kind, rescheduled.name) == (2, "activity", "flaky")


def test_orchestrator_exception_is_parsed_from_out_of_proc_data(registry: FunctionRegistry) -> None:
    events = _start("always_failing")
    events.append(new_event(EventType.TaskScheduled, NOW, 0, Name="always_fails"))
    events.append(new_event(EventType.TaskFailed, NOW, TaskScheduledId=0, Reason="bad", Details="tb"))
    events.append(new_event(EventType.TimerFired, NOW, TimerId=1))
    events.append(new_event(EventType.TaskFailed, NOW, TaskScheduledId=2, Reason="bad", Details="tb"))
    events.append(new_event(EventType.TimerFired, NOW, TimerId=3))
    result = _episode(registry, "always_failing", events)
    assert result.error == "bad \n tb"


def test_flatten_and_fallback_numbering() -> None:
    actions = [
        [
            {"actionType": 0, "functionName": "a", "input": "1"},
            {
                "actionType": 11,
                "compoundActions": [
                    {"actionType": 6, "externalEventName": "E"},
                    {"actionType": 5, "fireAt": "x"},
                ],
            },
        ]
    ]
    flat = flatten_actions(actions)
    assert [a["actionType"] for a in flat] == [0, 6, 5]
    assert [(a.seq, a.kind) for a in allocations_from_actions(flat)] == [(0, "activity"), (1, "timer")]


def test_retry_delay_back_off() -> None:
    options = {"firstRetryIntervalInMilliseconds": 100, "maxNumberOfAttempts": 4, "backoffCoefficient": 2}
    delays = [retry_delay(Allocation(0, "retry_timer", retry=options, attempt=k)) for k in (1, 2, 3, 4)]
    assert delays == [
        timedelta(milliseconds=100),
        timedelta(milliseconds=200),
        timedelta(milliseconds=400),
        timedelta(0),
    ]
    capped = dict(options, maxRetryIntervalInMilliseconds=150)
    assert retry_delay(Allocation(0, "retry_timer", retry=capped, attempt=3)) == timedelta(milliseconds=150)


def _running_state() -> InstanceState:
    state = InstanceState("inst", "hello_chain", "exec", status="Running")
    state.reset_history(
        [
            *_start("hello_chain"),
            new_event(EventType.TaskScheduled, NOW, 0, Name="say_hello"),
            new_event(EventType.OrchestratorCompleted, NOW),
        ]
    )
    return state


def test_prepare_drops_duplicates_and_defers_unscheduled_completions() -> None:
    decider = Decider(NAMES)
    state = _running_state()
    state.index([new_event(EventType.TaskCompleted, NOW, TaskScheduledId=0, Result="1")])
    dup = _msg("inst", "exec", new_event(EventType.TaskCompleted, NOW, TaskScheduledId=0, Result="1"))
    early = _msg("inst", "exec", new_event(EventType.TaskCompleted, NOW, TaskScheduledId=5, Result="1"))
    stale = _msg("inst", "old", new_event(EventType.TaskCompleted, NOW, TaskScheduledId=0, Result="1"))
    step = decider.prepare("inst", state, [dup, early, stale], NOW)
    assert step.dropped == [dup, stale] and step.deferred == [early] and not step.run_code


def test_suspended_instance_buffers_events() -> None:
    decider = Decider(NAMES)
    state = _running_state()
    state.status = "Suspended"
    raised = _msg("inst", None, new_event(EventType.EventRaised, NOW, Name="E", Input="1"))
    step = decider.prepare("inst", state, [raised], NOW)
    assert step.deferred == [raised]
    resume = _msg("inst", None, new_event(EventType.ExecutionResumed, NOW, Reason="go"))
    step = decider.prepare("inst", state, [raised, resume], NOW)
    assert step.consumed == [resume, raised] and step.run_code and state.status == "Running"


def test_nondeterminism_names_expected_and_actual(registry: FunctionRegistry) -> None:
    decider = Decider(NAMES)
    state = _running_state()
    completion = _msg(
        "inst", "exec", new_event(EventType.TaskCompleted, NOW, TaskScheduledId=0, Result='"x"')
    )
    step = decider.prepare("inst", state, [completion], NOW)
    from devhost.durable.episode import EpisodeResult

    result = EpisodeResult(
        done=False, allocations=[Allocation(0, "timer", fire_at="2024-05-01T12:00:00.000000Z")]
    )
    decider.finish(step, result)
    assert state.status == "Failed"
    assert "scheduled an activity task named 'say_hello' with sequence ID 0" in str(state.output_text)
    assert "instead scheduled a durable timer" in str(state.output_text)


def test_sub_orchestration_default_id_and_parent_notification(registry: FunctionRegistry) -> None:
    decider = Decider(NAMES)
    state = _running_state()
    completion = _msg(
        "inst", "exec", new_event(EventType.TaskCompleted, NOW, TaskScheduledId=0, Result='"x"')
    )
    step = decider.prepare("inst", state, [completion], NOW)
    from devhost.durable.episode import EpisodeResult

    allocations = [
        Allocation(0, "activity", name="say_hello"),
        Allocation(1, "suborch", name="child_echo", input="1"),
    ]
    decider.finish(step, EpisodeResult(done=False, allocations=allocations))
    created = [e for e in step.frame if e["EventType"] == EventType.SubOrchestrationInstanceCreated]
    assert created[0]["InstanceId"] == "exec:1"
    start = step.outgoing[0].body["event"]
    assert start["ParentInstance"]["TaskScheduledId"] == 1 and start["Input"] == '"1"'

    child = InstanceState("exec:1", "child_echo", "cexec")
    child_step = decider.prepare("exec:1", None, [QueuedMessage("q", step.outgoing[0].body, "", "")], NOW)
    assert child_step.run_code
    decider.finish(child_step, EpisodeResult(done=True, output={"ok": 1}))
    notify = child_step.outgoing[-1].body
    assert notify["instanceId"] == "inst" and notify["event"]["Result"] == '{"ok":1}'
    del child


def test_continue_as_new_sends_a_new_execution(registry: FunctionRegistry) -> None:
    decider = Decider(NAMES)
    state = _running_state()
    completion = _msg(
        "inst", "exec", new_event(EventType.TaskCompleted, NOW, TaskScheduledId=0, Result='"x"')
    )
    step = decider.prepare("inst", state, [completion], NOW)
    from devhost.durable.episode import EpisodeResult

    result = EpisodeResult(
        done=True,
        allocations=[Allocation(0, "activity", name="say_hello")],
        continued_as_new=True,
        continue_as_new_input='{"n": 1}',
    )
    decider.finish(step, result)
    assert step.continue_as_new is not None
    body = step.outgoing[0].body
    assert body["generation"] == 1 and body["event"]["Input"] == '"{\\"n\\": 1}"'


def test_redelivered_start_of_a_finished_execution_is_a_duplicate() -> None:
    decider = Decider(NAMES)
    state = _running_state()
    state.status = "Completed"
    again = _msg("inst", "exec", execution_started("hello_chain", "inst", "exec", None, NOW))
    assert decider.prepare("inst", state, [again], NOW).dropped == [again]
    replacement = _msg("inst", "new", execution_started("hello_chain", "inst", "new", None, NOW))
    step = decider.prepare("inst", state, [replacement], NOW)
    assert step.consumed == [replacement] and step.state is not None and step.state.execution_id == "new"


def test_hub_name_from_an_app_setting() -> None:
    from devhost.durable.names import hub_names_from_host_json

    host_json = {"extensions": {"durableTask": {"hubName": "%MY_HUB%"}}}
    assert hub_names_from_host_json(host_json, {"MY_HUB": "FromSetting"}).hub == "FromSetting"
    assert hub_names_from_host_json(host_json, {}).hub == "TestHubName"

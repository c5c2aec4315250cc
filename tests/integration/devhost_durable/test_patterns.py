"""The Durable patterns of the test app, driven through the management API of an in-process runtime."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

pytestmark = pytest.mark.integration


def test_chain_runs_three_steps_with_custom_status_and_history(harness: Any) -> None:
    instance_id = harness.start_orchestration("hello_chain")
    body = harness.wait(instance_id)
    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert body["customStatus"] == {"done": 3}
    detail = harness.status(instance_id, showHistory="true", showHistoryOutput="true").json()
    kinds = [e["EventType"] for e in detail["historyEvents"]]
    assert kinds == [
        "ExecutionStarted",
        "TaskCompleted",
        "TaskCompleted",
        "TaskCompleted",
        "ExecutionCompleted",
    ]
    assert detail["historyEvents"][1]["FunctionName"] == "say_hello"
    assert detail["historyEvents"][1]["Result"] == "Hello Tokyo!"


def test_fan_out_fan_in_of_1000_activities(harness: Any) -> None:
    instance_id = harness.start_orchestration("fan_out_fan_in", 1000)
    body = harness.wait(instance_id, timeout=120)
    assert body["runtimeStatus"] == "Completed", body
    assert body["output"] == sum(range(1000))


def test_human_interaction_approved(harness: Any) -> None:
    instance_id = harness.start_orchestration("approval", {"timeout": 60})
    harness.wait(instance_id, ("Running",), custom="waiting")
    response = harness.http.post(
        f"/runtime/webhooks/durabletask/instances/{instance_id}/raiseEvent/Approval", json={"by": "alice"}
    )
    assert response.status_code == 202
    body = harness.wait(instance_id)
    assert body["output"] == {"approved": True, "data": {"by": "alice"}}


def test_human_interaction_times_out(harness: Any) -> None:
    instance_id = harness.start_orchestration("approval", {"timeout": 0.5})
    body = harness.wait(instance_id)
    assert body["output"] == {"approved": False}
    history = harness.status(instance_id, showHistory="true").json()["historyEvents"]
    assert [e["EventType"] for e in history].count("TimerFired") == 1


def test_retry_options_retry_until_success(harness: Any) -> None:
    instance_id = harness.start_orchestration("retrying", {"key": instance_id_token(), "fail_times": 2})
    body = harness.wait(instance_id)
    assert body["runtimeStatus"] == "Completed", body
    assert body["output"] == "ok after 3 attempts"
    kinds = [e["EventType"] for e in harness.status(instance_id, showHistory="true").json()["historyEvents"]]
    assert kinds.count("TaskFailed") == 2
    assert kinds.count("TimerFired") == 2


def test_always_failing_activity_fails_the_instance_with_azure_text(harness: Any) -> None:
    instance_id = harness.start_orchestration("always_failing")
    body = harness.wait(instance_id)
    assert body["runtimeStatus"] == "Failed"
    assert body["output"].startswith(
        "Orchestrator function 'always_failing' failed: "
        "Activity function 'always_fails' failed:  ValueError: boom \n {"
    )


def test_activity_failure_reaches_user_code_with_reason_and_traceback(harness: Any) -> None:
    instance_id = harness.start_orchestration("catches_failure")
    body = harness.wait(instance_id)
    assert body["runtimeStatus"] == "Completed"
    reason, details = body["output"].split(" \n ", 1)
    assert reason == "Activity function 'always_fails' failed:  ValueError: boom"
    cause = json.loads(details)  # the serialized exception, as the extension writes TaskFailed.Details
    assert cause["Message"] == " ValueError: boom"
    rpc_message = cause["InnerException"]["Message"]
    assert rpc_message.startswith("Result: Failure\nException: ValueError: boom\nStack: ")
    assert "always_fails" in rpc_message  # the traceback names the activity


def test_sub_orchestrations_with_default_and_explicit_ids(harness: Any) -> None:
    instance_id = harness.start_orchestration("parent")
    body = harness.wait(instance_id)
    assert body["runtimeStatus"] == "Completed", body
    assert body["output"]["chain"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert body["output"]["echo"] == {"input": {"n": 2}, "parent": instance_id}
    assert body["output"]["named"] == {"input": {"n": 3}, "parent": instance_id}
    named = harness.status(f"{instance_id}-named").json()
    assert named["runtimeStatus"] == "Completed"
    state = harness.call(harness.runtime.engine.get_state(instance_id, with_history=True))
    created = [e for e in state.history if e["EventType"] == 7]
    assert [e["InstanceId"] for e in created[:2]] == [f"{state.execution_id}:0", f"{state.execution_id}:1"]


def test_failing_sub_orchestration_surfaces_in_parent(harness: Any) -> None:
    instance_id = harness.start_orchestration("failing_parent")
    body = harness.wait(instance_id)
    reason, details = body["output"].rsplit(" \n ", 1)
    assert reason.startswith("Orchestrator function 'always_failing' failed: Activity function")
    assert json.loads(details)["$type"].startswith("System.Exception,")


def test_eternal_monitor_continues_as_new(harness: Any) -> None:
    instance_id = harness.start_orchestration("monitor", {"count": 0, "max": 3})
    body = harness.wait(instance_id)
    assert body["runtimeStatus"] == "Completed", body
    assert body["output"] == 3
    assert body["customStatus"] == {"count": 2}
    row = harness.call(harness.runtime.engine.store.get_instance(instance_id))
    assert row["Generation"] == 2


def test_event_raised_before_the_wait_is_buffered(harness: Any) -> None:
    instance_id = harness.start_orchestration("early_event")
    response = harness.http.post(
        f"/runtime/webhooks/durabletask/instances/{instance_id}/raiseEvent/Go", json=7
    )
    assert response.status_code == 202
    body = harness.wait(instance_id)
    assert body["output"] == 7


def test_async_activity(harness: Any) -> None:
    body = harness.wait(harness.start_orchestration("uses_async", [1, 2]))
    assert body["output"] == {"echo": [1, 2]}


def test_terminate(harness: Any) -> None:
    instance_id = harness.start_orchestration("waits")
    harness.wait(instance_id, ("Running",), custom="waiting")
    response = harness.http.post(
        f"/runtime/webhooks/durabletask/instances/{instance_id}/terminate", params={"reason": "enough"}
    )
    assert response.status_code == 202
    body = harness.wait(instance_id, ("Terminated",))
    assert body["output"] == "enough"
    again = harness.http.post(f"/runtime/webhooks/durabletask/instances/{instance_id}/terminate")
    assert again.status_code == 410


def test_suspend_buffers_events_until_resume(harness: Any) -> None:
    instance_id = harness.start_orchestration("waits")
    harness.wait(instance_id, ("Running",), custom="waiting")
    root = f"/runtime/webhooks/durabletask/instances/{instance_id}"
    assert harness.http.post(f"{root}/suspend", params={"reason": "pause"}).status_code == 202
    harness.wait(instance_id, ("Suspended",))
    assert harness.http.post(f"{root}/raiseEvent/Finish", json="value").status_code == 202
    time.sleep(0.5)
    assert harness.status(instance_id).json()["runtimeStatus"] == "Suspended"
    assert harness.http.post(f"{root}/resume", params={"reason": "go"}).status_code == 202
    body = harness.wait(instance_id)
    assert body["output"] == "value"


def test_nondeterminism_is_detected_and_named(harness: Any) -> None:
    app = harness.app
    instance_id = harness.start_orchestration("nondet")
    deadline = time.time() + 30
    while time.time() < deadline:
        state = harness.call(harness.runtime.engine.get_state(instance_id))
        if state and any(e["EventType"] == 5 for e in state.history):
            break
        time.sleep(0.05)
    app.CODE_VERSION["nondet"] = 2
    try:
        harness.http.post(
            f"/runtime/webhooks/durabletask/instances/{instance_id}/raiseEvent/Continue", json=1
        )
        body = harness.wait(instance_id)
    finally:
        app.CODE_VERSION["nondet"] = 1
    assert body["runtimeStatus"] == "Failed"
    assert "Non-Deterministic workflow detected" in body["output"]
    assert "'say_hello'" in body["output"] and "'noop'" in body["output"]


def instance_id_token() -> str:
    """A unique key for per-test activity state."""
    import uuid

    return uuid.uuid4().hex


def test_cpu_bound_activities_do_not_stall_other_orchestrations(harness: Any) -> None:
    burners = [harness.start_orchestration("burner", 4) for _ in range(2)]
    time.sleep(0.3)
    began = time.time()
    body = harness.wait(harness.start_orchestration("hello_chain"), timeout=30)
    took = time.time() - began
    assert body["runtimeStatus"] == "Completed"
    assert took < 3, f"chain took {took:.1f}s while CPU-bound activities ran"
    assert harness.status(burners[0]).json()["runtimeStatus"] == "Running"
    for instance_id in burners:
        assert harness.wait(instance_id)["runtimeStatus"] == "Completed"


def test_sub_orchestration_with_retry(harness: Any) -> None:
    instance_id = harness.start_orchestration(
        "retrying_parent", {"key": instance_id_token(), "fail_times": 1}
    )
    body = harness.wait(instance_id)
    assert body["runtimeStatus"] == "Completed", body
    assert body["output"] == "ok after 2 attempts"
    history = harness.status(instance_id, showHistory="true").json()["historyEvents"]
    kinds = [e["EventType"] for e in history]
    assert kinds.count("SubOrchestrationInstanceFailed") == 1
    assert kinds.count("SubOrchestrationInstanceCompleted") == 1

"""The real DurableOrchestrationClient over rpcBaseUrl, the management API's edges, and the input quirk."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.integration
ROOT = "/runtime/webhooks/durabletask"


def test_http_starter_with_client_binding_returns_check_status_payload(harness: Any) -> None:
    response = harness.invoke_http("http_start", "POST", {"functionName": "hello_chain"})
    assert response.status_code == 202
    payload = json.loads(response.get_body())
    assert set(payload) >= {
        "id",
        "statusQueryGetUri",
        "sendEventPostUri",
        "terminatePostUri",
        "purgeHistoryDeleteUri",
        "restartPostUri",
        "suspendPostUri",
        "resumePostUri",
    }
    assert payload["statusQueryGetUri"].startswith(f"{harness.base_url}{ROOT}/instances/{payload['id']}?")
    assert response.headers["Location"] == payload["statusQueryGetUri"]
    body = harness.wait(payload["id"])
    assert body["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    status_url = payload["statusQueryGetUri"].replace(harness.base_url, "")
    assert harness.http.get(status_url).status_code == 200


def test_wait_for_completion_returns_the_output(harness: Any) -> None:
    response = harness.invoke_http("http_run", "POST", {"functionName": "hello_chain"})
    assert response.status_code == 200
    assert json.loads(response.get_body()) == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


def test_client_get_status_with_history(harness: Any) -> None:
    instance_id = harness.start_orchestration("hello_chain")
    harness.wait(instance_id)
    response = harness.invoke_http("http_manage", "GET", {"instanceId": instance_id, "op": "status"})
    body = json.loads(response.get_body())
    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert (
        harness.invoke_http("http_manage", "GET", {"instanceId": "nope", "op": "status"}).status_code == 404
    )


def test_client_raise_event_terminate_suspend_resume_purge(harness: Any) -> None:
    waiting = harness.start_orchestration("waits")
    harness.wait(waiting, ("Running",), custom="waiting")
    harness.invoke_http("http_manage", "POST", {"instanceId": waiting, "op": "suspend"})
    harness.wait(waiting, ("Suspended",))
    harness.invoke_http("http_manage", "POST", {"instanceId": waiting, "op": "resume"})
    harness.wait(waiting, ("Running",))
    harness.invoke_http("http_manage", "POST", {"instanceId": waiting, "op": "event-Finish"}, body=5)
    assert harness.wait(waiting)["runtimeStatus"] == "Completed"
    purge = harness.invoke_http("http_manage", "DELETE", {"instanceId": waiting, "op": "purge"})
    assert json.loads(purge.get_body()) == {"deleted": 1}
    assert harness.status(waiting).status_code == 404

    doomed = harness.start_orchestration("waits")
    harness.wait(doomed, ("Running",), custom="waiting")
    harness.invoke_http("http_manage", "POST", {"instanceId": doomed, "op": "terminate"})
    assert harness.wait(doomed, ("Terminated",))["output"] == "stopped by test"


def test_input_as_user_code_sees_it_on_both_paths(harness: Any) -> None:
    """Client path (double-encoded body) and plain JSON bodies both give a dict to get_input()."""
    via_client = json.loads(
        harness.invoke_http("http_run", "POST", {"functionName": "echo_input"}, body={"a": 1}).get_body()
    )
    assert via_client == {"value": {"a": 1}, "type": "dict"}
    plain = harness.wait(harness.start_orchestration("echo_input", {"a": 1}, raw=True))
    assert plain["output"] == {"value": {"a": 1}, "type": "dict"}
    assert plain["input"] == {"a": 1}
    client_started = harness.start_orchestration("echo_input", {"a": 1})
    assert harness.wait(client_started)["input"] == '{"a": 1}'  # stored as a JSON string, like Azure


def test_plain_json_scalar_body_fails_get_input_like_azure(harness: Any) -> None:
    """A raw (non-string) scalar reaches get_input() undecoded and json.loads rejects it - faithful."""
    body = harness.wait(harness.start_orchestration("echo_input", 5, raw=True))
    assert body["runtimeStatus"] == "Failed"
    assert "must be str, bytes or bytearray, not int" in body["output"]


def test_event_data_as_user_code_sees_it_on_both_paths(harness: Any) -> None:
    """HTTP API bodies arrive decoded; the SDK client's raise_event double-encodes (data arrives as text)."""
    plain = harness.start_orchestration("echo_event")
    harness.http.post(f"{ROOT}/instances/{plain}/raiseEvent/Data", json={"a": 1})
    assert harness.wait(plain)["output"] == {"value": {"a": 1}, "type": "dict"}
    via_client = harness.start_orchestration("echo_event")
    harness.wait(via_client, ("Running",))
    harness.invoke_http("http_manage", "POST", {"instanceId": via_client, "op": "event-Data"}, body={"a": 1})
    assert harness.wait(via_client)["output"] == {"value": '{"a": 1}', "type": "str"}


def test_status_codes_and_headers(harness: Any) -> None:
    assert harness.status("does-not-exist").status_code == 404
    instance_id = harness.start_orchestration("waits")
    running = harness.status(instance_id)
    assert running.status_code == 202
    assert "Location" in running.headers
    body = running.json()
    assert set(body) >= {
        "name",
        "instanceId",
        "runtimeStatus",
        "input",
        "customStatus",
        "output",
        "createdTime",
        "lastUpdatedTime",
    }
    harness.http.post(f"{ROOT}/instances/{instance_id}/raiseEvent/Finish", json=1)
    harness.wait(instance_id)
    assert harness.status(instance_id).status_code == 200
    assert harness.http.post(f"{ROOT}/instances/{instance_id}/raiseEvent/Finish", json=1).status_code == 410
    assert harness.http.post(f"{ROOT}/instances/nope/raiseEvent/Finish", json=1).status_code == 404
    assert harness.http.post(f"{ROOT}/orchestrators/not_a_function").status_code == 400


def test_start_with_explicit_id_conflicts_while_running_and_replaces_when_done(harness: Any) -> None:
    instance_id = f"fixed-{time.time_ns()}"
    assert harness.start_orchestration("waits", instance_id=instance_id) == instance_id
    response = harness.http.post(f"{ROOT}/orchestrators/waits/{instance_id}")
    assert response.status_code == 409
    harness.http.post(f"{ROOT}/instances/{instance_id}/terminate", params={"reason": "x"})
    harness.wait(instance_id, ("Terminated",))
    harness.start_orchestration("hello_chain", instance_id=instance_id)
    assert harness.wait(instance_id)["output"][0] == "Hello Tokyo!"


def test_list_instances_with_filters_and_continuation(harness: Any) -> None:
    for _ in range(3):
        harness.wait(harness.start_orchestration("child_echo", 1))
    first = harness.http.get(f"{ROOT}/instances", params={"runtimeStatus": "Completed", "top": "2"})
    assert first.status_code == 200
    assert len(first.json()) == 2
    token = first.headers.get("x-ms-continuation-token")
    assert token
    second = harness.http.get(
        f"{ROOT}/instances",
        params={"runtimeStatus": "Completed", "top": "2"},
        headers={"x-ms-continuation-token": token},
    )
    assert second.status_code == 200 and second.json()
    ids = {i["instanceId"] for i in first.json()} & {i["instanceId"] for i in second.json()}
    assert not ids
    running = harness.http.get(f"{ROOT}/instances", params={"runtimeStatus": "Failed,Terminated"}).json()
    assert all(i["runtimeStatus"] in ("Failed", "Terminated") for i in running)


def test_bad_query_values_are_400s_naming_the_parameter(harness: Any) -> None:
    for params in ({"top": "abc"}, {"top": "-1"}, {"createdTimeFrom": "last week"}, {"showInput": "perhaps"}):
        response = harness.http.get(f"{ROOT}/instances", params=params)
        name = next(iter(params))
        assert response.status_code == 400, (params, response.text)
        assert f"'{name}'" in response.json()["Message"]
    status = harness.http.get(f"{ROOT}/instances/whatever", params={"showHistory": "sometimes"})
    assert status.status_code == 400 and "'showHistory'" in status.json()["Message"]


def test_unknown_runtime_status_is_ignored_not_a_filter_matching_nothing(harness: Any) -> None:
    done = harness.start_orchestration("child_echo", 7)
    harness.wait(done)
    unknown = harness.http.get(f"{ROOT}/instances", params={"runtimeStatus": "Bogus"}).json()
    assert done in {i["instanceId"] for i in unknown}
    mixed = harness.http.get(f"{ROOT}/instances", params={"runtimeStatus": "completed,Bogus"}).json()
    assert done in {i["instanceId"] for i in mixed}
    assert all(i["runtimeStatus"] == "Completed" for i in mixed)


def test_purge_by_filter_needs_created_time_from(harness: Any) -> None:
    done = harness.start_orchestration("child_echo", 8)
    harness.wait(done)
    refused = harness.http.delete(f"{ROOT}/instances", params={"runtimeStatus": "Completed"})
    assert refused.status_code == 400 and "'createdTimeFrom'" in refused.json()["Message"]
    assert harness.status(done).status_code == 200  # nothing was purged
    created = harness.status(done).json()["createdTime"]
    purged = harness.http.delete(
        f"{ROOT}/instances", params={"createdTimeFrom": created, "runtimeStatus": "Completed"}
    )
    assert purged.status_code == 200 and purged.json()["instancesDeleted"] >= 1
    assert harness.status(done).status_code == 404


def test_purge_and_restart(harness: Any) -> None:
    instance_id = harness.start_orchestration("child_echo", {"x": 1})
    harness.wait(instance_id)
    restarted = harness.http.post(f"{ROOT}/instances/{instance_id}/restart")
    assert restarted.status_code == 202
    new_id = restarted.json()
    assert new_id != instance_id
    assert harness.wait(new_id)["output"]["input"] == {"x": 1}
    deleted = harness.http.delete(f"{ROOT}/instances/{instance_id}")
    assert deleted.json() == {"instancesDeleted": 1}
    assert harness.http.delete(f"{ROOT}/instances/{instance_id}").status_code == 404


def test_task_hub_layout_in_azure_storage(harness: Any) -> None:
    instance_id = harness.start_orchestration("hello_chain")
    harness.wait(instance_id)
    store = harness.runtime.engine.store
    rows = harness.call(_rows(store.history, instance_id))
    assert [r["RowKey"] for r in rows] == [f"{i:016X}" for i in range(len(rows))]
    assert rows[0]["EventType"] == "OrchestratorStarted" and rows[1]["EventType"] == "ExecutionStarted"
    scheduled = [r for r in rows if r["EventType"] == "TaskScheduled"]
    assert [r["EventId"] for r in scheduled] == [0, 1, 2] and scheduled[0]["Name"] == "say_hello"
    assert {r["ExecutionId"] for r in rows} == {rows[1]["ExecutionId"]}
    row = harness.call(store.get_instance(instance_id))
    assert row["RuntimeStatus"] == "Completed" and row["Name"] == "hello_chain" and row["RowKey"] == ""
    for column in ("CreatedTime", "LastUpdatedTime", "CompletedTime", "ExecutionId", "Generation", "Output"):
        assert column in row
    hub = harness.hub.lower()
    names = harness.runtime.names
    assert names.control_queues[0] == f"{hub}-control-00" and names.workitems_queue == f"{hub}-workitems"


def test_large_payloads_spill_to_blobs(harness: Any) -> None:
    big = "x" * 100_000
    instance_id = harness.start_orchestration("child_echo", big)
    body = harness.wait(instance_id)
    assert body["output"]["input"] == big
    rows = harness.call(_rows(harness.runtime.engine.store.history, instance_id))
    assert any("InputBlobName" in r for r in rows)


async def _rows(table: Any, instance_id: str) -> list[dict[str, Any]]:
    return sorted(
        [r async for r in table.query_entities(f"PartitionKey eq '{instance_id}'")], key=lambda r: r["RowKey"]
    )


def test_show_input_false_and_purge_by_created_time(harness: Any) -> None:
    from datetime import UTC, datetime, timedelta

    before = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    instance_id = harness.start_orchestration("child_echo", {"secret": 1})
    harness.wait(instance_id)
    assert harness.status(instance_id, showInput="false").json()["input"] is None
    listed = harness.http.get(f"{ROOT}/instances", params={"createdTimeFrom": before}).json()
    assert instance_id in {i["instanceId"] for i in listed}
    purged = harness.http.delete(
        f"{ROOT}/instances", params={"createdTimeFrom": before, "runtimeStatus": "Completed"}
    )
    assert purged.status_code == 200 and purged.json()["instancesDeleted"] >= 1
    assert harness.status(instance_id).status_code == 404


def test_sdk_client_rpc_routes_directly(harness: Any) -> None:
    """get_status_all/by, purge_instance_history_by, restart and rewind through DurableOrchestrationClient."""
    from datetime import UTC, datetime, timedelta

    from azure.durable_functions import DurableOrchestrationClient, OrchestrationRuntimeStatus

    async def scenario() -> dict[str, Any]:
        client = DurableOrchestrationClient(harness.client_binding())
        since = datetime.now(UTC) - timedelta(seconds=1)
        first = await client.start_new("child_echo", None, {"k": 1})
        await asyncio.sleep(0)
        out: dict[str, Any] = {"first": first}
        for _ in range(200):
            status = await client.get_status(first, show_input=True)
            if status.runtime_status == OrchestrationRuntimeStatus.Completed:
                break
            await asyncio.sleep(0.05)
        out["status"] = status
        out["all"] = await client.get_status_all()
        out["by"] = await client.get_status_by(
            created_time_from=since, runtime_status=[OrchestrationRuntimeStatus.Completed]
        )
        out["restarted"] = await client.restart(first)
        try:
            await client.rewind(first, "why")
        except Exception as exc:
            out["rewind"] = str(exc)
        for _ in range(200):
            if (
                await client.get_status(out["restarted"])
            ).runtime_status == OrchestrationRuntimeStatus.Completed:
                break
            await asyncio.sleep(0.05)
        out["purged"] = await client.purge_instance_history_by(
            created_time_from=since, runtime_status=[OrchestrationRuntimeStatus.Completed]
        )
        out["missing"] = await client.get_status("no-such-instance")
        return out

    import asyncio

    result = harness.call(scenario())
    assert result["status"].output == {"input": {"k": 1}, "parent": None}
    assert result["status"].input_ == '{"k": 1}'
    assert result["first"] in {s.instance_id for s in result["all"]}
    assert result["first"] in {s.instance_id for s in result["by"]}
    assert result["restarted"] != result["first"]
    assert "rewind" in result["rewind"]
    assert result["purged"].instances_deleted >= 2
    assert not result["missing"]


def test_create_and_wait_route_answers_with_the_output_or_202(harness: Any) -> None:
    route = f"{ROOT}/orchestrators/hello_chain"
    done = harness.http.post(route, params={"timeout": "30", "pollingInterval": "1"})
    assert done.status_code == 200, done.text
    assert done.json() == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    waiting = harness.http.post(f"{ROOT}/orchestrators/waits", params={"timeout": "1"})
    assert waiting.status_code == 202 and "statusQueryGetUri" in waiting.json()
    bad = harness.http.post(route, params={"timeout": "soon"})
    assert bad.status_code == 400 and "'timeout'" in bad.json()["Message"]


def test_instance_id_prefix_filters_before_top(harness: Any) -> None:
    prefix = f"pfx-{uuid.uuid4().hex[:8]}-"
    for n in range(2):
        harness.wait(harness.start_orchestration("child_echo", n, instance_id=f"{prefix}{n}"))
    harness.wait(harness.start_orchestration("child_echo", 9))  # others exist around them
    page = harness.http.get(f"{ROOT}/instances", params={"instanceIdPrefix": prefix, "top": "1"})
    assert page.status_code == 200 and [i["instanceId"] for i in page.json()] == [f"{prefix}0"]
    token = page.headers["x-ms-continuation-token"]
    rest = harness.http.get(
        f"{ROOT}/instances",
        params={"instanceIdPrefix": prefix, "top": "5"},
        headers={"x-ms-continuation-token": token},
    )
    assert [i["instanceId"] for i in rest.json()] == [f"{prefix}1"]

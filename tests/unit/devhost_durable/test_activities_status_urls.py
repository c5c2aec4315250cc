"""Activity input/output codec, status views and client binding URLs (no I/O)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from azure.durable_functions.models.DurableOrchestrationBindings import DurableOrchestrationBindings
from azure.durable_functions.models.DurableOrchestrationClient import DurableOrchestrationClient

from devhost.durable.activities import decode_input, encode_output, failure, run_sync
from devhost.durable.events import EventType, new_event
from devhost.durable.http_api import _body_json_text
from devhost.durable.registry import ActivityFunction, FunctionRegistry
from devhost.durable.state import InstanceState
from devhost.durable.status import history_view, status_json
from devhost.durable.urls import UrlBuilder

NOW = datetime(2024, 5, 1, tzinfo=UTC)


def test_activity_codec_matches_the_worker() -> None:
    assert decode_input('{"a": 1}') == {"a": 1}
    assert decode_input("not json") == "not json"
    assert decode_input(None) is None
    assert encode_output({"a": [1]}) == '{"a": [1]}'
    assert encode_output(None) == "null"


def test_activity_failure_wording() -> None:
    try:
        raise ValueError("boom")
    except ValueError as exc:
        outcome = failure("act", exc)
    # the extension's shape: the friendly message between "Exception:" and "Stack:" of the RpcException
    assert outcome.reason == "Activity function 'act' failed:  ValueError: boom"
    assert outcome.details is not None
    details = json.loads(outcome.details)
    assert details["$type"].startswith("System.Exception,")
    assert details["Message"] == " ValueError: boom"
    inner = details["InnerException"]
    assert inner["$type"].startswith("Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException,")
    assert inner["Message"].startswith("Result: Failure\nException: ValueError: boom\nStack: ")
    assert "raise ValueError" in inner["Message"]


def test_activity_failure_parses_as_code_written_for_azure_does() -> None:
    """The workaround from azure-functions-durable-extension#2990, applied to what the SDK raises."""
    try:
        raise ValueError("boom")
    except ValueError as exc:
        outcome = failure("act", exc)
    raised = Exception(f"{outcome.reason} \n {outcome.details}")  # TaskOrchestrationExecutor's wording
    escaped_json = raised.args[0].split("\n")[1]
    assert json.loads(escaped_json)["Message"].split(":", 1)[1].lstrip() == "boom"


def test_run_sync_with_registry(registry: FunctionRegistry) -> None:
    activity = registry.lookup_activity("SAY_HELLO")
    assert activity is not None
    assert run_sync(activity, "say_hello", '"Bob"').result == '"Hello Bob!"'
    broken = ActivityFunction("x", lambda v: {1, 2}, "v", False)
    outcome = run_sync(broken, "x", "1")
    assert not outcome.ok and "Activity function 'x' failed" in str(outcome.reason)


def test_status_json_and_history_view() -> None:
    state = InstanceState(
        "i",
        "orch",
        "e",
        status="Completed",
        input_text='"{\\"a\\": 1}"',
        output_text="[1]",
        custom_status_text='{"s": 1}',
        created=NOW,
        updated=NOW,
    )
    body = status_json(state)
    assert body == {
        "name": "orch",
        "instanceId": "i",
        "runtimeStatus": "Completed",
        "input": '{"a": 1}',
        "customStatus": {"s": 1},
        "output": [1],
        "createdTime": "2024-05-01T00:00:00Z",
        "lastUpdatedTime": "2024-05-01T00:00:00Z",
    }
    history = [
        new_event(EventType.OrchestratorStarted, NOW),
        new_event(EventType.ExecutionStarted, NOW, Name="orch"),
        new_event(EventType.TaskScheduled, NOW, 0, Name="act"),
        new_event(EventType.TaskCompleted, NOW, TaskScheduledId=0, Result='"r"'),
        new_event(EventType.ExecutionCompleted, NOW, OrchestrationStatus="Completed", Result="[1]"),
        new_event(EventType.OrchestratorCompleted, NOW),
    ]
    view = history_view(history, with_output=True)
    assert [v["EventType"] for v in view] == ["ExecutionStarted", "TaskCompleted", "ExecutionCompleted"]
    assert view[1]["FunctionName"] == "act" and view[1]["Result"] == "r"
    assert "Result" not in history_view(history, with_output=False)[1]


def test_client_binding_is_accepted_by_the_sdk_client() -> None:
    urls = UrlBuilder("http://127.0.0.1:7071", "Hub", "key")
    binding = json.dumps(urls.binding())
    parsed = DurableOrchestrationBindings.from_json(binding)
    assert parsed.rpc_base_url == "http://127.0.0.1:7071/_durable_rpc/"
    client = DurableOrchestrationClient(binding)
    payload = client.create_http_management_payload("abc")
    assert payload["id"] == "abc"
    assert payload["statusQueryGetUri"] == (
        "http://127.0.0.1:7071/runtime/webhooks/durabletask/instances/abc?taskHub=Hub&connection=Storage&code=key"
    )
    assert payload["sendEventPostUri"].endswith(
        "/instances/abc/raiseEvent/{eventName}?taskHub=Hub&connection=Storage&code=key"
    )


def test_request_bodies_are_normalised_like_the_extension() -> None:
    assert _body_json_text(b"") == (True, None)
    assert _body_json_text(b'{ "a" : 1 }') == (True, '{"a":1}')
    assert _body_json_text(b'"{\\"a\\": 1}"') == (True, '"{\\"a\\": 1}"')
    assert _body_json_text(b"{nope") == (False, None)


def test_runtime_reads_concurrency_and_hub_from_host_json(registry: FunctionRegistry) -> None:
    from pathlib import Path

    from devhost.durable import DurableRuntime

    host_json = {
        "extensions": {
            "durableTask": {
                "hubName": "Unit-Hub",
                "maxConcurrentActivityFunctions": 3,
                "maxConcurrentOrchestratorFunctions": 2,
            }
        }
    }
    conn = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;" + ";".join(
        f"{s}Endpoint=http://127.0.0.1:1/devstoreaccount1" for s in ("Blob", "Queue", "Table")
    )
    runtime = DurableRuntime(
        [],
        connection_string=conn,
        host_json=host_json,
        base_url="http://h:1/",
        system_key="k",
        app_dir=Path("."),
    )
    assert runtime.engine.max_activities == 3 and runtime.engine.max_orchestrators == 2
    assert runtime.names.hub == "UnitHub"
    binding = json.loads(runtime.client_binding_value())
    assert binding["rpcBaseUrl"] == "http://h:1/_durable_rpc/" and binding["taskHubName"] == "UnitHub"
    assert runtime.handles("/runtime/webhooks/durabletask/instances") and runtime.handles("/_durable_rpc/x")
    assert not runtime.handles("/api/x")

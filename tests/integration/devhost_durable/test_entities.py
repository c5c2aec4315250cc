"""Durable entities: the counter entity driven by a client and by an orchestration, kept in the task hub."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.integration
ROOT = "/runtime/webhooks/durabletask"


def _read(h: Any, key: str) -> dict[str, Any]:
    """read_entity_state through the app's client binding (the SDK's RPC call)."""
    return dict(json.loads(h.invoke_http("http_entity", "GET", {"key": key, "op": "read"}).get_body()))


def _wait_state(h: Any, key: str, expected: Any, timeout: float = 30) -> dict[str, Any]:
    deadline = time.time() + timeout
    seen: dict[str, Any] = {}
    while time.time() < deadline:
        seen = _read(h, key)
        if seen == {"exists": True, "state": expected}:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"counter {key} never held {expected}: {seen}")


def _signal(h: Any, key: str, op: str, value: Any = None) -> None:
    response = h.invoke_http("http_entity", "POST", {"key": key, "op": op}, body=value)
    assert response.status_code == 202


def test_unknown_entity_reads_as_not_existing(harness: Any) -> None:
    assert _read(harness, uuid.uuid4().hex) == {"exists": False, "state": None}


def test_client_signals_are_applied_in_order_and_read_back(harness: Any) -> None:
    key = uuid.uuid4().hex
    _signal(harness, key, "add", 3)
    _signal(harness, key, "add", 4)
    _wait_state(harness, key, 7)
    _signal(harness, key, "reset")
    _wait_state(harness, key, 0)


def test_orchestration_signals_and_calls_the_entity(harness: Any) -> None:
    key = uuid.uuid4().hex
    body = harness.wait(harness.start_orchestration("counter_orchestration", key))
    assert body["runtimeStatus"] == "Completed", body
    assert body["output"] == {
        "after_signal": 5,
        "total": 15,
        "failure": "counter cannot fail politely",
    }
    assert _read(harness, key) == {"exists": True, "state": 15}
    history = harness.status(body["instanceId"], showHistory="true").json()["historyEvents"]
    assert [e["EventType"] for e in history].count("EventRaised") == 4  # one answer per call_entity
    sent = [e for e in history if e["EventType"] == "EventSent"]
    assert len(sent) == 5 and {e["InstanceId"] for e in sent} == {f"@counter@{key}"}  # 1 signal + 4 calls


def test_management_api_reads_lists_and_purges_entities(harness: Any) -> None:
    key = uuid.uuid4().hex
    _signal(harness, key, "add", 2)
    _wait_state(harness, key, 2)
    read = harness.http.get(f"{ROOT}/entities/counter/{key}")
    assert (read.status_code, read.json()) == (200, 2)
    assert harness.http.get(f"{ROOT}/entities/Counter/{uuid.uuid4().hex}").status_code == 404
    listed = harness.http.get(f"{ROOT}/entities/counter", params={"fetchState": "true"}).json()
    assert {"name": "counter", "key": key} in [e["entityId"] for e in listed]
    assert next(e for e in listed if e["entityId"]["key"] == key)["state"] == 2
    instances = [i["instanceId"] for i in harness.http.get(f"{ROOT}/instances").json()]
    assert f"@counter@{key}" in instances
    purged = harness.http.delete(f"{ROOT}/instances/@counter@{key}")
    assert (purged.status_code, purged.json()) == (200, {"instancesDeleted": 1})
    assert _read(harness, key) == {"exists": False, "state": None}
    assert harness.http.get(f"{ROOT}/entities/counter/{key}").status_code == 404


def test_entity_routes_refuse_what_is_not_there_by_name(harness: Any) -> None:
    unknown = harness.http.get(f"{ROOT}/entities/nosuchentity/k")
    assert unknown.status_code == 400 and "'nosuchentity'" in unknown.json()["Message"]
    no_op = harness.http.post(f"{ROOT}/entities/counter/k", json=1)
    assert no_op.status_code == 400 and "'op'" in no_op.json()["Message"]
    bad_top = harness.http.get(f"{ROOT}/entities/counter", params={"top": "abc"})
    assert bad_top.status_code == 400 and "'top'" in bad_top.json()["Message"]
    terminate = harness.http.post(f"{ROOT}/instances/@counter@k/terminate")
    assert terminate.status_code in (400, 404)


def test_call_to_an_entity_without_a_function_fails_naming_it(harness: Any) -> None:
    body = harness.wait(harness.start_orchestration("calls_missing_entity"))
    assert body["output"] == (
        "The function 'nosuchentity' doesn't exist, is disabled, or is not an entity function."
    )
    assert harness.http.get(f"{ROOT}/instances/@nosuchentity@k").status_code == 404  # nothing stored


def test_entity_state_survives_a_restart(make_harness: Callable[..., Any]) -> None:
    # driven over the management API as the SDK client calls it (body = json.dumps(value))
    first = make_harness()
    key = uuid.uuid4().hex
    route = f"{ROOT}/entities/counter/{key}"
    assert first.http.post(route, params={"op": "add"}, content=json.dumps(json.dumps(40))).status_code == 202
    deadline = time.time() + 30
    while first.http.get(route).status_code != 200 and time.time() < deadline:
        time.sleep(0.05)
    first.stop()
    second = make_harness(hub=first.hub)
    read = second.http.get(route)
    assert (read.status_code, read.json()) == (200, 40)
    body = second.wait(second.start_orchestration("counter_orchestration", key))
    assert body["output"]["total"] == 55, body

"""``python -m devhost`` serving the durable test app over HTTP, including kill -9 crash recovery."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e


def _poll_uri(devhost: Any, uri: str, timeout: float = 90) -> httpx.Response:
    deadline = time.time() + timeout
    while time.time() < deadline:
        response = httpx.get(uri, timeout=30)
        if response.status_code == 200:
            return response
        assert response.status_code == 202, response.text
        time.sleep(0.1)
    raise AssertionError(f"{uri} never completed")


def test_patterns_over_http(devhost: Any) -> None:
    devhost.start()
    chain = devhost.start_via_app("hello_chain")
    assert _poll_uri(devhost, chain["statusQueryGetUri"]).json()["output"] == [
        "Hello Tokyo!",
        "Hello Seattle!",
        "Hello London!",
    ]

    fan = devhost.start_via_app("fan_out_fan_in", 1000)
    assert _poll_uri(devhost, fan["statusQueryGetUri"], 120).json()["output"] == sum(range(1000))

    approved = devhost.start_via_app("approval", {"timeout": 60})
    devhost.wait(approved["id"], ("Running",), custom="waiting")
    send = approved["sendEventPostUri"].replace("{eventName}", "Approval")
    assert httpx.post(send, json={"ok": 1}).status_code == 202
    assert _poll_uri(devhost, approved["statusQueryGetUri"]).json()["output"] == {
        "approved": True,
        "data": {"ok": 1},
    }
    timed_out = devhost.start_via_app("approval", {"timeout": 0.5})
    assert _poll_uri(devhost, timed_out["statusQueryGetUri"]).json()["output"] == {"approved": False}

    retry = devhost.start_via_app("retrying", {"key": uuid.uuid4().hex, "fail_times": 2})
    assert _poll_uri(devhost, retry["statusQueryGetUri"]).json()["output"] == "ok after 3 attempts"

    failing = devhost.start_via_app("always_failing")
    body = _poll_uri(devhost, failing["statusQueryGetUri"]).json()
    assert body["runtimeStatus"] == "Failed"
    assert body["output"].startswith(
        "Orchestrator function 'always_failing' failed: Activity function "
        "'always_fails' failed:  ValueError: boom \n {"
    )

    parent = devhost.start_via_app("parent")
    assert _poll_uri(devhost, parent["statusQueryGetUri"]).json()["output"]["echo"]["parent"] == parent["id"]

    monitor = devhost.start_via_app("monitor", {"count": 0, "max": 3})
    assert _poll_uri(devhost, monitor["statusQueryGetUri"]).json()["output"] == 3

    waiting = devhost.start_via_app("waits")
    devhost.wait(waiting["id"], ("Running",), custom="waiting")
    assert httpx.post(waiting["suspendPostUri"].replace("{text}", "x")).status_code == 202
    devhost.wait(waiting["id"], ("Suspended",))
    assert httpx.post(waiting["resumePostUri"].replace("{text}", "x")).status_code == 202
    assert httpx.post(waiting["terminatePostUri"].replace("{text}", "bye")).status_code == 202
    assert devhost.wait(waiting["id"], ("Terminated",))["output"] == "bye"
    assert httpx.delete(waiting["purgeHistoryDeleteUri"]).json() == {"instancesDeleted": 1}

    run = devhost.http.post("/api/run/echo_input", json={"a": [1, 2]})
    assert run.status_code == 200 and run.json() == {"value": {"a": [1, 2]}, "type": "dict"}


def test_management_api_requires_a_key(devhost: Any) -> None:
    devhost.start()
    bare = httpx.get(f"{devhost.url}/runtime/webhooks/durabletask/instances/x")
    assert bare.status_code == 401
    assert devhost.status("x").status_code == 404


def test_kill9_during_an_activity(devhost: Any) -> None:
    devhost.start()
    key = uuid.uuid4().hex
    started = devhost.start_via_app("durable_steps", {"key": key, "sleep": 4, "timer": 0.1})
    _wait_for_effect(devhost, key, "start:one")
    devhost.kill9()
    devhost.start()
    body = devhost.wait(started["id"])
    assert body["runtimeStatus"] == "Completed" and body["output"] == "finished"
    effects = devhost.effects(key)
    assert effects.count("start:one") == 2  # interrupted once, re-run once
    assert effects.count("end:one") == 1
    assert effects.count("start:two") == 1 and effects.count("end:two") == 1


def test_kill9_during_a_timer_wait(devhost: Any) -> None:
    devhost.start()
    key = uuid.uuid4().hex
    started = devhost.start_via_app("durable_steps", {"key": key, "sleep": 0, "timer": 4})
    devhost.wait(started["id"], ("Running",), custom="timer")
    devhost.kill9()
    devhost.start()
    body = devhost.wait(started["id"])
    assert body["output"] == "finished"
    effects = devhost.effects(key)
    assert effects.count("start:one") == 1 and effects.count("end:one") == 1
    assert effects.count("start:two") == 1


def test_kill9_between_activity_end_and_checkpoint(devhost: Any) -> None:
    devhost.start(DEVHOST_DURABLE_CRASH_AT="activity_end:record_effect")
    key = uuid.uuid4().hex
    started = devhost.start_via_app("durable_steps", {"key": key, "sleep": 0, "timer": 0.1})
    assert devhost.wait_exit() == -9
    assert devhost.effects(key).count("end:one") == 1
    devhost.start()
    body = devhost.wait(started["id"])
    assert body["output"] == "finished"
    effects = devhost.effects(key)
    assert effects.count("end:one") == 2  # the result was lost with the process: re-run exactly once
    assert effects.count("end:two") == 1


def test_kill9_right_after_a_checkpoint_loses_no_event(devhost: Any) -> None:
    devhost.start(DEVHOST_DURABLE_CRASH_AT="history_written")
    key = uuid.uuid4().hex
    started = devhost.start_via_app("early_event", None)
    assert devhost.wait_exit() == -9
    devhost.start()
    assert (
        devhost.http.post(
            f"/runtime/webhooks/durabletask/instances/{started['id']}/raiseEvent/Go", json="go"
        ).status_code
        == 202
    )
    body = devhost.wait(started["id"])
    assert body["output"] == "go"
    assert 1 <= len([e for e in devhost.effects(started["id"]) if e.startswith("end")]) <= 2
    del key


def _wait_for_effect(devhost: Any, key: str, what: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if what in devhost.effects(key):
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} never recorded")


def test_kill9_during_a_fan_out_reruns_each_activity_at_most_once(devhost: Any) -> None:
    devhost.start()
    key = uuid.uuid4().hex
    started = devhost.start_via_app("fan_effects", {"key": key, "n": 20, "sleep": 1.5})
    deadline = time.time() + 30
    while time.time() < deadline and len([e for e in devhost.effects(key) if e.startswith("end")]) < 5:
        time.sleep(0.1)
    devhost.kill9()
    devhost.start()
    assert devhost.wait(started["id"], timeout=120)["output"] == 20
    effects = devhost.effects(key)
    for step in range(20):
        starts = effects.count(f"start:{step}")
        ends = effects.count(f"end:{step}")
        assert 1 <= ends <= 2 and starts <= 2, (step, starts, ends)

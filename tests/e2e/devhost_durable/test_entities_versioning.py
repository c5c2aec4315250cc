"""``python -m devhost``: a versioned orchestration and an entity counter, state kept across a restart."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def _counter(devhost: Any, key: str) -> Any:
    response = devhost.http.get(f"/api/entities/{key}/read")
    assert response.status_code == 200, response.text
    return response.json()


def _wait_counter(devhost: Any, key: str, value: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    seen = None
    while time.time() < deadline:
        seen = _counter(devhost, key)
        if seen == {"exists": True, "state": value}:
            return
        time.sleep(0.1)
    raise AssertionError(f"counter {key} never held {value}: {seen}")


def test_versioned_orchestration_and_entity_counter_survive_a_restart(devhost: Any) -> None:
    host_json_path = devhost.app_dir / "host.json"
    host_json = json.loads(host_json_path.read_text())
    host_json["extensions"]["durableTask"]["defaultVersion"] = "2.0"
    host_json_path.write_text(json.dumps(host_json))
    devhost.start()

    current = devhost.wait(devhost.start_via_app("versioned")["id"])
    assert current["output"] == {"version": "2.0", "step": "Hello v2 path!"}
    pinned = devhost.http.post("/api/orchestrators/versioned", params={"version": "1.0"})
    assert pinned.status_code == 202, pinned.text
    assert devhost.wait(pinned.json()["id"])["output"] == {"version": "1.0", "step": "Hello v1 path!"}

    key = uuid.uuid4().hex
    assert _counter(devhost, key) == {"exists": False, "state": None}
    for value in (3, 4):
        assert devhost.http.post(f"/api/entities/{key}/add", json=value).status_code == 202
    _wait_counter(devhost, key, 7)
    body = devhost.wait(devhost.start_via_app("counter_orchestration", key)["id"])
    assert body["output"] == {"after_signal": 12, "total": 22, "failure": "counter cannot fail politely"}

    devhost.kill9()
    devhost.start()
    assert _counter(devhost, key) == {"exists": True, "state": 22}
    assert devhost.http.post(f"/api/entities/{key}/add", json=1).status_code == 202
    _wait_counter(devhost, key, 23)


def test_kill9_after_an_entity_write_applies_each_operation_once(devhost: Any) -> None:
    devhost.start(DEVHOST_DURABLE_CRASH_AT="entity_written:counter")
    key = uuid.uuid4().hex
    started = devhost.start_via_app("counter_orchestration", key)
    assert devhost.wait_exit() == -9  # state written, answers not sent, requests still queued
    devhost.start()
    body = devhost.wait(started["id"])
    # the redelivered "add 5" is recognised and not applied again; "get" is answered from the record
    assert body["output"] == {"after_signal": 5, "total": 15, "failure": "counter cannot fail politely"}
    assert _counter(devhost, key) == {"exists": True, "state": 15}


def test_unknown_version_strategy_stops_devhost_naming_the_setting(devhost: Any) -> None:
    host_json_path = devhost.app_dir / "host.json"
    host_json = json.loads(host_json_path.read_text())
    host_json["extensions"]["durableTask"]["versionFailureStrategy"] = "Retry"
    host_json_path.write_text(json.dumps(host_json))
    expected = "versionFailureStrategy is 'Retry'; expected one of Reject, Fail"
    with pytest.raises(RuntimeError, match=expected) as err:
        devhost.start()
    assert "Traceback" not in str(err.value)  # one line naming the setting, nothing half-started

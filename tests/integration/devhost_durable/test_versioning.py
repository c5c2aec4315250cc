"""Orchestration versioning as the extension does it: the official sample's branch on context.version."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import azure.durable_functions as df
import pytest

Harness = Any  # tests/integration/devhost_durable/conftest.py's Harness

pytestmark = pytest.mark.integration
ROOT = "/runtime/webhooks/durabletask"


@pytest.fixture(scope="module")
def v2(make_harness: Callable[..., Harness]) -> Harness:
    """A worker whose host.json says defaultVersion 2.0 (default strategies: CurrentOrOlder, Reject)."""
    return make_harness(durable_settings={"defaultVersion": "2.0"})


def _start(h: Harness, name: str, version: str | None = None) -> str:
    params = {"version": version} if version else {}
    response = h.http.post(f"{ROOT}/orchestrators/{name}", params=params)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def test_new_instances_get_default_version_and_take_its_branch(v2: Harness) -> None:
    body = v2.wait(_start(v2, "versioned"))
    assert body["output"] == {"version": "2.0", "step": "Hello v2 path!"}


def test_version_on_the_start_route_selects_the_old_branch(v2: Harness) -> None:
    body = v2.wait(_start(v2, "versioned", "1.0"))
    assert body["output"] == {"version": "1.0", "step": "Hello v1 path!"}


def test_sdk_client_start_new_with_version(v2: Harness) -> None:
    client = df.DurableOrchestrationClient(v2.client_binding())
    instance_id = v2.sdk(client.start_new("versioned", None, None, version="1.0"))
    assert v2.wait(instance_id)["output"]["version"] == "1.0"


def test_sub_orchestrations_inherit_default_version_unless_given_one(v2: Harness) -> None:
    body = v2.wait(_start(v2, "versioned_parent", "1.5"))
    assert body["runtimeStatus"] == "Completed", body
    assert body["output"]["parent"] == "1.5"
    assert body["output"]["default"] == {"version": "2.0", "step": "Hello v2 path!"}
    assert body["output"]["pinned"] == {"version": "1.0", "step": "Hello v1 path!"}


def test_newer_instance_is_not_run_and_keeps_its_state(v2: Harness) -> None:
    newer = _start(v2, "versioned", "3.0")
    v2.wait(_start(v2, "versioned"))  # a compatible instance started after it runs to completion
    assert v2.status(newer).json()["runtimeStatus"] == "Pending"
    assert newer in v2.runtime.engine._rejected  # its messages stay queued for a newer worker


def test_unversioned_worker_gives_null_version(harness: Any) -> None:
    """Without defaultVersion, context.version is None (legacy instances), as on Azure."""
    body = harness.wait(harness.start_orchestration("versioned"))
    assert body["output"] == {"version": None, "step": "Hello v2 path!"}


def test_fail_strategy_fails_newer_instances(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(durable_settings={"defaultVersion": "2.0", "versionFailureStrategy": "Fail"})
    body = h.wait(_start(h, "versioned", "3.0"))
    assert body["runtimeStatus"] == "Failed"
    assert "'3.0' is greater than the worker version '2.0'" in body["output"]
    assert h.wait(_start(h, "versioned", "2.0"))["runtimeStatus"] == "Completed"
    h.stop()


def test_reject_leaves_an_instance_for_a_compatible_worker(make_harness: Callable[..., Harness]) -> None:
    newer = make_harness(durable_settings={"defaultVersion": "2.0"})
    instance_id = newer.start_orchestration("waits")
    newer.wait(instance_id, ("Running",), custom="waiting")
    newer.stop()

    older = make_harness(hub=newer.hub, durable_settings={"defaultVersion": "1.0"})
    raised = older.http.post(f"{ROOT}/instances/{instance_id}/raiseEvent/Finish", json=1)
    assert raised.status_code == 202
    deadline = time.time() + 30
    while instance_id not in older.runtime.engine._rejected and time.time() < deadline:
        time.sleep(0.05)
    assert instance_id in older.runtime.engine._rejected  # the event reached it and was not applied
    assert older.status(instance_id).json()["runtimeStatus"] == "Running"
    older.stop()

    again = make_harness(hub=newer.hub, durable_settings={"defaultVersion": "2.0"})
    assert again.wait(instance_id)["runtimeStatus"] == "Completed"
    again.stop()

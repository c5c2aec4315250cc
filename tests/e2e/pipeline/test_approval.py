"""Approval on devhost: the run waits visibly, only the approval API's decisions count, and every
decision (approve, reject, timeout) ends the run with who, when and why recorded."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from cli.client import ApiClient, ApiError
from cli.local import ROOT, LocalStack
from cli.main import app as cli_app
from shared.settings import load_settings
from shared.storage.factory import Storage

FUNCTION_KEY = secrets.token_urlsafe(24)
TERMINAL = {"Succeeded", "Failed", "DataRejected", "GateRejected", "ApprovalRejected", "Cancelled"}


@pytest.fixture(scope="module")
def stack(azurite_connection_string: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """devhost with a known function key next to its master key."""
    tmp = tmp_path_factory.mktemp("approval-e2e")
    local = LocalStack(
        connection_string=azurite_connection_string,
        work_dir=tmp / "work",
        log_path=tmp / "devhost.log",
        extra_env={"DEVHOST_FUNCTION_KEY": FUNCTION_KEY},
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()


def spec(name: str, timeout_hours: float = 1.0) -> dict[str, Any]:
    """The breast-cancer example with a small model and approval required."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "breast_cancer.yaml").read_text())
    data["name"] = name
    data["trainer"]["params"] = {"n_estimators": 20, "max_depth": 2}
    data["compute"] = {"kind": "local", "poll_seconds": 1}
    data["approval"] = {"required": True, "timeout_hours": timeout_hours}
    return data


def until(
    api: ApiClient, run_id: str, ok: Callable[[dict[str, Any]], bool], log: Path, timeout: float = 120
) -> Any:
    """Poll the run until ``ok`` holds for it."""
    deadline = time.monotonic() + timeout
    record: dict[str, Any] = {}
    while time.monotonic() < deadline:
        record = api.get(f"/api/runs/{run_id}")
        if ok(record):
            return record
        assert record["status"] not in TERMINAL, f"run ended early: {record}"
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} is {record.get('status')} after {timeout} s; log {log}")


def ended(api: ApiClient, run_id: str, log: Path, timeout: float = 60) -> Any:
    """Poll the run until it has a terminal status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record: dict[str, Any] = api.get(f"/api/runs/{run_id}")
        if record["status"] in TERMINAL:
            return record
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} did not end in {timeout} s; log {log}")


def waiting(api: ApiClient, name: str, log: Path, timeout_hours: float = 1.0) -> dict[str, Any]:
    """Start a run of ``name`` and wait until it shows AwaitingApproval."""
    run_id = api.post(f"/api/pipelines/{name}/runs", {"spec": spec(name, timeout_hours)})["run_id"]
    record: dict[str, Any] = until(api, run_id, lambda r: r["status"] == "AwaitingApproval", log)
    return record


def storage_of(stack: LocalStack) -> Storage:
    """The app's storage, read directly."""
    return Storage.from_settings(load_settings(environ={"AzureWebJobsStorage": str(stack.connection_string)}))


def post_approval(stack: LocalStack, run_id: str, body: Any, key: str | None = None) -> httpx.Response:
    """POST /api/runs/{id}/approval with the master key (or ``key``)."""
    return httpx.post(
        f"{stack.url}/api/runs/{run_id}/approval",
        json=body,
        headers={"x-functions-key": key or stack.master_key},
        timeout=30,
    )


def test_approved_run_shows_what_it_waits_on_then_deploys(
    api: ApiClient, stack: LocalStack, log_of: Path, unique: str
) -> None:
    name = f"ap-{unique}"
    record = waiting(api, name, log_of)
    run_id = record["run_id"]
    awaiting = record["details"]["awaiting_approval"]
    assert awaiting["metrics"]["auc"] > 0.9 and awaiting["timeout_hours"] == 1.0
    assert any(g["gate"] == "threshold:auc" for g in awaiting["gates"])
    assert record["model_version"] is None

    # A function key is not enough to approve (admin level).
    assert post_approval(stack, run_id, {"decision": "approve"}, key=FUNCTION_KEY).status_code == 401

    resp = post_approval(stack, run_id, {"decision": "approve", "comment": "looks good"})
    assert resp.status_code == 202, resp.text
    decision = resp.json()
    assert decision["decision"] == "approve" and decision["actor"].startswith("admin key (sha256 ")
    assert stack.master_key not in resp.text

    final = ended(api, run_id, log_of)
    assert final["status"] == "Succeeded", final
    assert final["model_version"] == "000001"
    assert final["details"]["approval"]["comment"] == "looks good"
    steps = [s["name"] for s in final["steps"]]
    assert steps == ["ingest", "validate", "submit", "train", "evaluate", "approval", "register", "deploy"]
    approval = final["steps"][5]
    assert approval["status"] == "Succeeded" and approval["detail"]["actor"] == decision["actor"]
    assert api.get(f"/api/models/{name}")["aliases"] == {"production": "000001"}
    audit = [e for e in storage_of(stack).audit.query(pk=f"run:{run_id}") if e.action == "approve"]
    assert len(audit) == 1 and audit[0].actor == decision["actor"] and audit[0].reason == "looks good"

    # The run no longer waits: a late decision is a conflict.
    late = post_approval(stack, run_id, {"decision": "reject", "comment": "too late"})
    assert late.status_code == 409 and "not waiting" in late.json()["message"]


def test_rejection_means_reject_and_registers_nothing(
    api: ApiClient, stack: LocalStack, log_of: Path, unique: str
) -> None:
    name = f"rj-{unique}"
    run_id = waiting(api, name, log_of)["run_id"]
    where = ["--url", stack.url, "--key", stack.master_key]
    no_comment = CliRunner().invoke(cli_app, ["reject", run_id, *where])
    assert no_comment.exit_code != 0, "a rejection needs a comment"
    done = CliRunner().invoke(cli_app, ["reject", run_id, "--comment", "drift in feature x", *where])
    assert done.exit_code == 0, done.output
    assert f"run {run_id}: reject recorded by admin key (sha256 " in " ".join(done.output.split())
    final = ended(api, run_id, log_of)
    assert final["status"] == "ApprovalRejected", final
    actor = final["details"]["approval"]["actor"]
    assert final["reason"] == f"rejected by {actor}: drift in feature x"
    assert final["model_version"] is None
    with pytest.raises(ApiError) as err:
        api.get(f"/api/models/{name}")
    assert err.value.status == 404


def test_malformed_decisions_are_400_naming_the_field_and_leave_the_run_waiting(
    api: ApiClient, stack: LocalStack, log_of: Path, unique: str
) -> None:
    name = f"bad-{unique}"
    run_id = waiting(api, name, log_of)["run_id"]
    cases: list[tuple[Any, str]] = [
        (False, "body"),
        ({"approved": "no"}, "decision"),
        ({"decision": "yes"}, "decision"),
        ({"decision": True}, "decision"),
        ({"decision": "approve", "comment": 5}, "comment"),
        ({"decision": "approve", "by": "me"}, "by"),
    ]
    for body, field in cases:
        resp = post_approval(stack, run_id, body)
        assert resp.status_code == 400, (body, resp.text)
        assert resp.json()["field"] == field, body
    assert api.get(f"/api/runs/{run_id}")["status"] == "AwaitingApproval"
    # Approving a run that does not wait, or does not exist.
    assert post_approval(stack, "no-such-run", {"decision": "approve"}).status_code == 404
    # Clean up: the run is rejected so it ends.
    assert post_approval(stack, run_id, {"decision": "reject", "comment": "cleanup"}).status_code == 202
    assert ended(api, run_id, log_of)["status"] == "ApprovalRejected"


def test_a_raised_event_without_a_recorded_decision_is_ignored_and_noted(
    api: ApiClient, stack: LocalStack, log_of: Path, unique: str
) -> None:
    name = f"fg-{unique}"
    run_id = waiting(api, name, log_of)["run_id"]
    mgmt = f"{stack.url}/runtime/webhooks/durabletask/instances/{run_id}/raiseEvent/approval"
    headers = {"x-functions-key": stack.master_key}
    for forged in ({"approved": True}, {"decision_id": "0" * 32}):
        assert httpx.post(mgmt, json=forged, headers=headers, timeout=30).status_code == 202
    record = until(api, run_id, lambda r: len(r["details"].get("ignored_approval_events", [])) == 2, log_of)
    assert record["status"] == "AwaitingApproval" and record["model_version"] is None
    whys = [n["why"] for n in record["details"]["ignored_approval_events"]]
    assert "no decision id" in whys[0] and "was recorded by the approval API" in whys[1]
    # The real decision still works afterwards.
    assert post_approval(stack, run_id, {"decision": "approve"}).status_code == 202
    assert ended(api, run_id, log_of)["status"] == "Succeeded"


def test_no_decision_in_time_ends_approval_rejected_timed_out(
    api: ApiClient, stack: LocalStack, log_of: Path, unique: str
) -> None:
    name = f"to-{unique}"
    hours = 0.001  # 3.6 s
    run_id = api.post(f"/api/pipelines/{name}/runs", {"spec": spec(name, hours)})["run_id"]
    final = ended(api, run_id, log_of, timeout=120)
    assert final["status"] == "ApprovalRejected" and final["reason"] == "timed out after 0.001 h", final
    assert final["details"]["awaiting_approval"]["timeout_hours"] == hours  # it did wait, visibly
    approval = next(s for s in final["steps"] if s["name"] == "approval")
    assert approval["status"] == "Failed" and approval["detail"] == "timed out after 0.001 h"
    audit = [e.action for e in storage_of(stack).audit.query(pk=f"run:{run_id}")]
    assert "approval-timeout" in audit
    assert post_approval(stack, run_id, {"decision": "approve"}).status_code == 409

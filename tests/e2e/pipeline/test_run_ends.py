"""Every run ends and says why, on devhost: failures only known at run time, rejected data, and a
terminated instance (whose training job is cancelled) each end the run row with a terminal status
and a reason; no run stays Running."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from cli.client import ApiClient
from cli.local import ROOT, LocalStack

TERMINAL = {"Succeeded", "Failed", "DataRejected", "GateRejected", "ApprovalRejected", "Cancelled"}


def spec(name: str, **changes: Any) -> dict[str, Any]:
    """The breast-cancer example under another name, with a small fast model."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "breast_cancer.yaml").read_text())
    data["name"] = name
    data["trainer"]["params"] = {"n_estimators": 20, "max_depth": 2}
    data["compute"] = {"kind": "local", "poll_seconds": 1}
    data.update(changes)
    return data


def until(api: ApiClient, run_id: str, what: str, ok: Any, log: Path, timeout: float = 120) -> dict[str, Any]:
    """Poll GET /api/runs/{id} until ``ok(record)``."""
    deadline = time.monotonic() + timeout
    record: dict[str, Any] = {}
    while time.monotonic() < deadline:
        record = api.get(f"/api/runs/{run_id}")
        if ok(record):
            return record
        time.sleep(0.3)
    raise AssertionError(f"run {run_id}: no {what} after {timeout} s (last {record}); log {log}")


def ended(api: ApiClient, run_id: str, log: Path, timeout: float = 120) -> dict[str, Any]:
    """The run once it has a terminal status."""
    return until(api, run_id, "end", lambda r: r["status"] in TERMINAL, log, timeout)


def test_training_crash_ends_failed_with_the_jobs_error(api: ApiClient, log_of: Path, unique: str) -> None:
    name = f"crash-{unique}"
    body = spec(name)
    body["trainer"]["params"] = {"n_estimators": 0}  # accepted at submission, refused by the estimator
    run_id = api.post(f"/api/pipelines/{name}/runs", {"spec": body})["run_id"]
    run = ended(api, run_id, log_of)
    assert run["status"] == "Failed", run
    assert run["reason"].startswith("train failed: training job "), run["reason"]
    assert "n_estimators" in run["reason"], run["reason"]
    assert run["error"] == run["reason"] and run["details"]["failed_step"] == "train"
    steps = {s["name"]: s["status"] for s in run["steps"]}
    assert steps["ingest"] == steps["validate"] == steps["submit"] == "Succeeded"
    assert steps["train"] == "Failed", "the timeline must not show the failed step still running"
    assert "Traceback" not in run["reason"]


def test_rejected_data_ends_data_rejected_with_the_reasons_and_counts(
    api: ApiClient, log_of: Path, unique: str
) -> None:
    name = f"rej-{unique}"
    body = spec(name)
    body["expectations"]["columns"]["mean radius"] = {"not_null": True, "min": 0, "max": 12}
    run_id = api.post(f"/api/pipelines/{name}/runs", {"spec": body})["run_id"]
    run = ended(api, run_id, log_of)
    assert run["status"] == "DataRejected", run
    validation = run["details"]["validation"]
    assert validation["reasons"] and run["reason"] == "; ".join(validation["reasons"]), run
    assert validation["rows_accepted"] + validation["rows_quarantined"] == validation["rows_read"] == 569
    assert run["model_version"] is None and run["finished_at"]


def test_terminated_run_ends_cancelled_and_its_training_job_is_cancelled(
    api: ApiClient, stack: LocalStack, log_of: Path, unique: str
) -> None:
    name = f"term-{unique}"
    body = spec(name)
    body["trainer"]["params"] = {"n_estimators": 20000, "max_depth": 6}  # minutes of training
    run_id = api.post(f"/api/pipelines/{name}/runs", {"spec": body})["run_id"]
    training = until(
        api,
        run_id,
        "training",
        lambda r: any(s["name"] == "train" and s["status"] == "Running" for s in r["steps"]),
        log_of,
    )
    assert training["status"] == "Running"
    resp = httpx.post(
        f"{stack.url}/runtime/webhooks/durabletask/instances/{run_id}/terminate",
        params={"reason": "operator stopped it"},
        headers={"x-functions-key": stack.master_key},
        timeout=30,
    )
    assert resp.status_code == 202, resp.text
    run = ended(api, run_id, log_of, timeout=60)
    assert run["status"] == "Cancelled", run
    assert run["reason"] == "instance terminated: operator stopped it"
    assert run["details"]["training_job"]["state"] == "cancelled", run["details"]
    assert {s["name"]: s["status"] for s in run["steps"]}["train"] == "Cancelled"
    # The list shows it ended too, and nothing of this pipeline is left Running.
    listed = api.get("/api/runs", pipeline=name)["runs"]
    assert [r["status"] for r in listed] == ["Cancelled"]
    child = httpx.get(
        f"{stack.url}/runtime/webhooks/durabletask/instances/{run_id}-train",
        headers={"x-functions-key": stack.master_key},
        timeout=30,
    ).json()
    assert child["runtimeStatus"] in ("Terminated", "Failed", "Completed"), child

"""kill -9 devhost while the training job runs: after a restart the run completes with exactly one
training job (launched once) and exactly one model version."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from cli.client import ApiClient
from cli.local import LocalStack
from shared.compute.base import job_name_for

from .test_pipeline_http import spec, wait_for


def _train_running(api: ApiClient, run_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run: dict[str, Any] = api.get(f"/api/runs/{run_id}")
        if any(s["name"] == "train" and s["status"] == "Running" for s in run["steps"]):
            return run
        assert run["status"] in ("Pending", "Running"), run
        time.sleep(0.2)
    raise AssertionError("training never started")


def test_kill_9_during_training_then_restart_gives_one_job_and_one_model(
    azurite_connection_string: str, tmp_path: Path, unique: str
) -> None:
    work = tmp_path / "work"
    stack = LocalStack(
        connection_string=azurite_connection_string, work_dir=work, log_path=tmp_path / "devhost.log"
    )
    stack.start()
    try:
        api = ApiClient(stack.url, stack.master_key)
        name = f"crash-{unique}"
        body = spec(name)
        body["trainer"]["params"] = {"n_estimators": 1500, "max_depth": 3}  # several seconds of training
        run_id = api.post(f"/api/pipelines/{name}/runs", {"spec": body})["run_id"]
        _train_running(api, run_id)
        job_dir = work / "jobs" / job_name_for(run_id)
        stack.kill_host()
        state = json.loads((job_dir / "state.json").read_text())
        assert state["state"] in ("queued", "running"), "the kill must land while the job runs"

        time.sleep(1.0)
        stack.start_host()
        api = ApiClient(stack.url, stack.master_key)
        run = wait_for(api, run_id, tmp_path / "devhost.log")
        assert run["status"] == "Succeeded", run

        versions = api.get(f"/api/models/{name}")["versions"]
        assert [v["run_id"] for v in versions] == [run_id], "exactly one model version"
        jobs = sorted(p.name for p in (work / "jobs").iterdir())
        assert jobs == [job_name_for(run_id)], "exactly one training job"
        launches = sorted(p.name for p in job_dir.glob("attempt-*.json"))
        assert launches == ["attempt-0001.json"], f"the job must not be launched again: {launches}"
        assert json.loads((job_dir / "state.json").read_text())["state"] == "succeeded"
    finally:
        stack.stop()

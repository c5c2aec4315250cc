"""A finished local job wakes its run at once: devhost serving the app, a real job child process,
the runner's message on ``training-events``, the queue trigger raising ``job_finished``.

The poll timer is set to 30 s, so the collect step can only start within a few seconds of the
job's end through the event path: the test reads both times from what was recorded (the runner's
final state file, the training sub-orchestration's Durable history).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.client import ApiClient
from cli.local import ROOT, LocalStack
from shared.compute.events import training_instance

POLL_SECONDS = 30
TERMINAL = {"Succeeded", "Failed", "DataRejected", "GateRejected", "ApprovalRejected"}


@pytest.fixture(scope="module")
def stack(azurite_connection_string: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """devhost as a subprocess on the session's Azurite, its jobs under a temp work folder."""
    tmp = tmp_path_factory.mktemp("job-event")
    local = LocalStack(
        connection_string=azurite_connection_string, work_dir=tmp / "work", log_path=tmp / "devhost.log"
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _wait(api: ApiClient, run_id: str, log: Path, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    record: dict[str, Any] = {}
    while time.monotonic() < deadline:
        record = api.get(f"/api/runs/{run_id}")
        if record.get("status") in TERMINAL:
            return record
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} still {record.get('status')} after {timeout} s; log {log}")


def test_collect_starts_promptly_after_the_job_ends(stack: LocalStack, unique: str) -> None:
    api = ApiClient(stack.url, stack.master_key)
    spec: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "breast_cancer.yaml").read_text())
    spec.update(
        name=f"job-event-{unique}",
        trainer={"kind": "sklearn", "model": "logistic_regression"},
        compute={"kind": "local", "poll_seconds": POLL_SECONDS},
        gates={"absolute": {"auc": {"min": 0.5}}},
    )
    assert stack.log_path is not None and stack.work_dir is not None
    run_id = api.post(f"/api/pipelines/{spec['name']}/runs", {"spec": spec, "trigger": "test"})["run_id"]
    record = _wait(api, run_id, stack.log_path)
    assert record["status"] == "Succeeded", record.get("error")

    job = record["details"]["training"]["attempts"][-1]["name"]
    state = json.loads((stack.work_dir / "jobs" / job / "state.json").read_text())
    assert state["state"] == "succeeded"
    job_ended = float(state["updated_at"])  # written after the outputs were uploaded
    history = api.get(
        f"/runtime/webhooks/durabletask/instances/{training_instance(run_id)}", showHistory="true"
    )["historyEvents"]
    collect = [
        _epoch(e["ScheduledTime"])
        for e in history
        if e["EventType"] == "TaskCompleted" and e.get("FunctionName") == "collect_training_output"
    ]
    assert len(collect) == 1
    waited = collect[0] - job_ended
    # Generous for a loaded machine, and far below the 30 s poll the timer alone would need.
    assert 0 <= waited < 8, f"collect began {waited:.2f} s after the job ended"
    late_timers = [
        e for e in history if e["EventType"] == "TimerFired" and _epoch(e["Timestamp"]) > job_ended
    ]
    assert not late_timers, "a poll timer woke the run after the job ended: the event was lost"
    assert [e for e in history if e["EventType"] == "EventRaised"], (
        "no job_finished event reached the instance"
    )

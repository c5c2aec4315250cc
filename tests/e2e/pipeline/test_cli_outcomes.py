"""`mlops run --follow` ends whatever happens, and prints why: rejected data, a crash, a terminated run."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from click.testing import Result
from typer.testing import CliRunner

from cli.client import ApiClient
from cli.local import LocalStack
from cli.main import app

from .test_cli import cli, user_spec
from .test_pipeline_http import spec

runner = CliRunner(env={"COLUMNS": "250"})


def _run_id(out: str) -> str:
    found = re.search(r"started run (\S+)", out)
    assert found is not None, out
    return found.group(1)


def test_follow_ends_on_data_rejected_with_reasons_and_counts(
    stack: LocalStack, tmp_path: Path, unique: str
) -> None:
    spec_file = user_spec(tmp_path, f"rej-{unique}", reject_threshold=0.001)
    out = cli(stack, "run", str(spec_file), "--follow", "--timeout", "300", code=2)
    assert "DataRejected" in out and "rejected because" in out
    assert re.search(r"rows read\s+.*569", out) and re.search(r"rows quarantined\s+.*5\b", out)
    runs = cli(stack, "runs", "--pipeline", f"rej-{unique}")
    assert _run_id(out) in runs and "DataRejected" in runs


def test_follow_ends_on_a_training_crash_and_status_names_the_failed_step(
    stack: LocalStack, tmp_path: Path, unique: str
) -> None:
    name = f"crash-{unique}"
    body = spec(name)
    body["trainer"]["params"] = {"n_estimators": 0}  # the trainer refuses it when the job starts
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(body))
    out = cli(stack, "run", str(spec_file), "--follow", "--timeout", "300", code=2)  # 3 if it never ended
    assert "Failed" in out and "reason" in out and "n_estimators" in out, out
    status = cli(stack, "status", _run_id(out))
    assert "Failed" in status and "train" in status and "n_estimators" in status


def _invoke_in_thread(args: list[str]) -> tuple[threading.Thread, dict[str, Result]]:
    box: dict[str, Result] = {}

    def target() -> None:
        box["result"] = runner.invoke(app, args, catch_exceptions=False)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


def _until(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_follow_ends_within_seconds_when_the_instance_is_terminated(
    stack: LocalStack, api: ApiClient, tmp_path: Path, unique: str
) -> None:
    name = f"term-{unique}"
    body = spec(name, approval={"required": True, "timeout_hours": 1})
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(body))
    thread, box = _invoke_in_thread(
        ["run", str(spec_file), "--follow", "--timeout", "400", "--url", stack.url, "--key", stack.master_key]
    )

    def waiting_run() -> str | None:
        assert thread.is_alive(), box["result"].output  # the follow must still be waiting
        for run in api.get("/api/runs", pipeline=name)["runs"]:
            steps = {s["name"]: s["status"] for s in run["steps"]}
            if steps.get("evaluate") == "Succeeded":
                return str(run["run_id"])
        return None

    run_id = _until(waiting_run, 300, "the run to wait for approval")
    api.post(f"/runtime/webhooks/durabletask/instances/{run_id}/terminate", reason="stopped by the operator")
    terminated = time.monotonic()
    thread.join(timeout=60)
    assert not thread.is_alive(), "mlops run --follow did not end after the instance was terminated"
    assert time.monotonic() - terminated < 20  # polls every second; slack for a loaded machine
    result = box["result"]
    assert result.exit_code == 2, result.output
    assert re.search(r"outcome\s+.*(Terminated|Cancelled)", result.output), result.output
    assert "stopped by the operator" in result.output

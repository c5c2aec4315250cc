"""The `mlops` CLI against a real devhost: run --follow, status, history, runs, models, score."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from typer.testing import CliRunner

from cli.client import ApiClient
from cli.local import LocalStack
from cli.main import app

from .test_pipeline_http import spec

runner = CliRunner(env={"COLUMNS": "250"})  # wide enough that Rich does not wrap ids


def _cli(stack: LocalStack, *args: str) -> str:
    result = runner.invoke(
        app, [*args, "--url", stack.url, "--key", stack.master_key], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_runs_follows_and_inspects_a_pipeline(stack: LocalStack, tmp_path: Path, unique: str) -> None:
    name = f"cli-{unique}"
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(spec(name)))
    out = _cli(stack, "run", str(spec_file), "--follow")
    run_id = re.search(r"started run (\S+)", out).group(1)  # type: ignore[union-attr]
    assert "Succeeded" in out and "deploy" in out and "gate threshold:auc" in out

    assert "Succeeded" in _cli(stack, "status", run_id)
    history = _cli(stack, "history", run_id)
    assert "ExecutionStarted" in history and "TaskCompleted" in history
    assert run_id in _cli(stack, "runs", "--pipeline", name)
    assert "000001" in _cli(stack, "models", name)

    rows = tmp_path / "rows.json"
    schema = ApiClient(stack.url, stack.master_key).get(f"/api/models/{name}")["versions"][0]["input_schema"]
    rows.write_text(json.dumps([{f: 1.0 for f in schema["features"]}]))
    scored = _cli(stack, "score", name, str(rows))
    assert '"predictions"' in scored and '"version": "000001"' in scored


def test_cli_reports_api_errors_with_a_non_zero_exit(stack: LocalStack) -> None:
    result = runner.invoke(app, ["status", "no-such-run", "--url", stack.url, "--key", stack.master_key])
    assert result.exit_code == 1 and "404" in result.output
    result = runner.invoke(app, ["runs", "--url", stack.url, "--key", "wrong"])
    assert result.exit_code == 1 and "401" in result.output


def test_cli_drift_and_costs(stack: LocalStack, api: ApiClient, unique: str) -> None:
    assert "no drift checks for never-checked" in _cli(stack, "drift", "never-checked")
    out = _cli(stack, "costs")
    assert "per model" in out and "total $" in out
    assert api.get("/api/costs", day="1999-01-01")["per_run"] == {}
    no_runs_that_day = _cli(stack, "costs", "--day", "1999-01-01")
    assert "-2026" not in no_runs_that_day and "total $" in no_runs_that_day  # no run ids listed

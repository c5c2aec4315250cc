"""The `mlops` CLI against a real devhost, as a user runs it with their own CSV and spec.

One module-wide run uploads a local CSV (path relative to the spec file), follows the run to its
end and is then inspected with status, history, runs, models, score, quarantine and costs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from cli.client import ApiClient, ApiError
from cli.local import LocalStack
from cli.main import app
from shared.data.bundled import bundled_csv_bytes

from .test_pipeline_http import spec

runner = CliRunner(env={"COLUMNS": "250"})  # wide enough that Rich does not wrap table cells
#: Rows of breast_cancer with "mean radius" > 25: quarantined by the spec below, under the threshold.
QUARANTINED = 5


def cli(stack: LocalStack, *args: str, code: int = 0, run: CliRunner = runner) -> str:
    """Invoke `mlops ARGS --url --key`; assert the exit code; the output."""
    result = run.invoke(app, [*args, "--url", stack.url, "--key", stack.master_key], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


@dataclass(frozen=True)
class CliRun:
    """The module's run: its id, pipeline name, spec folder and what `run --follow` printed."""

    run_id: str
    name: str
    folder: Path
    output: str


def user_spec(folder: Path, name: str, source: str = "./data/cells.csv", **changes: Any) -> Path:
    """A spec file with a local CSV source next to it, as a new user writes one."""
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "cells.csv").write_bytes(bundled_csv_bytes("breast_cancer"))
    body = spec(name, source=source, **changes)
    body["expectations"]["columns"]["mean radius"] = {"not_null": True, "min": 0, "max": 25}
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def cli_run(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    """`mlops run spec.yaml --follow` with a local CSV: uploaded, run to success."""
    folder = tmp_path_factory.mktemp("user-project")
    name = f"cli-{datetime.now(UTC):%H%M%S%f}"
    out = cli(stack, "run", str(user_spec(folder, name)), "--follow", "--timeout", "300")
    run_id = re.search(r"started run (\S+)", out).group(1)  # type: ignore[union-attr]
    return CliRun(run_id, name, folder, out)


def test_run_uploads_the_local_csv_and_follow_prints_the_outcome(cli_run: CliRun, api: ApiClient) -> None:
    out = cli_run.output
    uploaded = re.search(r"uploaded \S+cells\.csv as (blob:data/uploads/([0-9a-f]{64})/cells\.csv)", out)
    assert uploaded is not None, out
    assert uploaded.group(2) == hashlib.sha256(bundled_csv_bytes("breast_cancer")).hexdigest()
    assert "deploy" in out and "Succeeded" in out and "gate" in out and "threshold:auc" in out
    assert re.search(r"rows read\s+.*569", out) and re.search(rf"rows quarantined\s+.*{QUARANTINED}\b", out)
    record = api.get(f"/api/runs/{cli_run.run_id}")
    assert record["status"] == "Succeeded"


def test_the_same_file_is_uploaded_once(stack: LocalStack, cli_run: CliRun, api: ApiClient) -> None:
    data = (cli_run.folder / "data" / "cells.csv").read_bytes()
    again = api.upload("/api/data/uploads", data, name="cells.csv")
    assert again["created"] is False and again["source"] in cli_run.output


def test_status_shows_counts_steps_and_outcome(stack: LocalStack, cli_run: CliRun) -> None:
    out = cli(stack, "status", cli_run.run_id)
    for step in ("ingest", "validate", "train", "evaluate", "register", "deploy"):
        assert step in out
    assert re.search(r"rows read\s+.*569", out)
    assert re.search(rf"rows accepted\s+.*{569 - QUARANTINED}\b", out)
    assert re.search(rf"rows quarantined\s+.*{QUARANTINED}\b", out)
    history = cli(stack, "history", cli_run.run_id)
    assert "ExecutionStarted" in history and "TaskCompleted" in history


def test_runs_shows_whole_ids_and_the_reason_in_any_terminal(stack: LocalStack, cli_run: CliRun) -> None:
    for columns in ("60", "250"):
        out = cli(stack, "runs", "--pipeline", cli_run.name, run=CliRunner(env={"COLUMNS": columns}))
        assert cli_run.run_id in out and "Succeeded" in out, out


def test_models_and_score(stack: LocalStack, cli_run: CliRun, api: ApiClient, tmp_path: Path) -> None:
    assert "000001" in cli(stack, "models", cli_run.name)
    rows = tmp_path / "rows.json"
    schema = api.get(f"/api/models/{cli_run.name}")["versions"][0]["input_schema"]
    rows.write_text(json.dumps([{f: 1.0 for f in schema["features"]}]))
    scored = cli(stack, "score", cli_run.name, str(rows))
    assert '"predictions"' in scored and '"version": "000001"' in scored


def test_quarantine_lists_the_rows_with_reasons(
    stack: LocalStack, cli_run: CliRun, api: ApiClient, tmp_path: Path
) -> None:
    page = api.get(f"/api/runs/{cli_run.run_id}/quarantine", limit=2)
    assert page["total"] == QUARANTINED and len(page["rows"]) == 2 and page["next_offset"] == 2
    assert all(r["column"] == "mean radius" and r["reason"] for r in page["rows"])
    assert all(isinstance(r["row"], int) and float(r["value"]) > 25 for r in page["rows"])

    out = cli(stack, "quarantine", cli_run.run_id)
    assert f"{QUARANTINED} of 569 rows quarantined" in out and "mean radius" in out
    saved = tmp_path / "q.csv"
    cli(stack, "quarantine", cli_run.run_id, "-o", str(saved))
    lines = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert len(lines) == QUARANTINED and {ln["column"] for ln in lines} == {"mean radius"}

    with pytest.raises(ApiError) as too_many:
        api.get(f"/api/runs/{cli_run.run_id}/quarantine", limit=5000)
    assert too_many.value.status == 400 and "limit" in too_many.value.message
    with pytest.raises(ApiError) as unknown:
        api.get("/api/runs/no-such-run/quarantine")
    assert unknown.value.status == 404


def test_costs_by_day_list_the_run_only_on_its_day(
    stack: LocalStack, cli_run: CliRun, api: ApiClient
) -> None:
    today = datetime.now(UTC).date().isoformat()
    assert cli_run.run_id in api.get("/api/costs", day=today)["per_run"]
    assert cli_run.run_id in cli(stack, "costs", "--day", today)
    assert cli_run.run_id in cli(stack, "costs")
    other_day = cli(stack, "costs", "--day", "1999-01-01")
    assert cli_run.run_id not in other_day and "total $0.000000" in other_day


def test_cost_report_downloads_after_build(stack: LocalStack, cli_run: CliRun, tmp_path: Path) -> None:
    target = tmp_path / "costs.csv"
    out = cli(stack, "report", "costs", "--build", "--format", "csv", "-o", str(target))
    assert f"to {target}" in out
    assert target.read_text().startswith("day,item") and cli_run.run_id in target.read_text()
    html = tmp_path / "costs.html"
    cli(stack, "report", "costs", "-o", str(html))
    assert "<html" in html.read_text().lower()
    missing = cli(stack, "report", "costs", "--day", "1999-01-01", "-o", str(tmp_path / "x"), code=1)
    assert "HTTP 404" in missing and "no cost report for 1999-01-01" in missing


def test_cli_reports_api_errors_with_a_non_zero_exit(stack: LocalStack) -> None:
    result = runner.invoke(app, ["status", "no-such-run", "--url", stack.url, "--key", stack.master_key])
    assert result.exit_code == 1 and "404" in result.output
    result = runner.invoke(app, ["runs", "--url", stack.url, "--key", "wrong"])
    assert result.exit_code == 1 and "401" in result.output
    assert "MLOPS_KEY" in result.output and "mlops host" in result.output  # says where keys come from


def test_cli_drift(stack: LocalStack) -> None:
    assert "no drift checks for never-checked" in cli(stack, "drift", "never-checked")


def test_drift_report_downloads_through_the_api(
    stack: LocalStack, cli_run: CliRun, api: ApiClient, tmp_path: Path
) -> None:
    missing = cli(stack, "report", "drift", cli_run.name, "-o", str(tmp_path / "none.html"), code=1)
    assert "HTTP 404" in missing and "no drift checks yet" in missing
    admin = httpx.post(
        f"{stack.url}/admin/functions/drift_monitor",
        json={"input": ""},
        headers={"x-functions-key": stack.master_key},
    )
    assert admin.status_code == 202
    deadline = time.monotonic() + 60
    while not api.get(f"/api/drift/{cli_run.name}")["latest"]:
        assert time.monotonic() < deadline, "no drift check within 60 s"
        time.sleep(0.2)
    window = api.get(f"/api/drift/{cli_run.name}")["latest"]["window"]

    page = tmp_path / "drift.html"
    assert f"to {page}" in cli(stack, "report", "drift", cli_run.name, "-o", str(page))
    assert "<html" in page.read_text().lower()
    as_json = tmp_path / "drift.json"
    cli(stack, "report", "drift", cli_run.name, "--window", window, "--format", "json", "-o", str(as_json))
    assert isinstance(json.loads(as_json.read_text()), dict)
    bad = cli(stack, "report", "drift", cli_run.name, "--format", "csv", "-o", str(tmp_path / "x"), code=1)
    assert "HTTP 400" in bad and "format" in bad
    with pytest.raises(ApiError) as unknown_window:
        api.download(f"/api/reports/drift/{cli_run.name}", window="1999-01-01T00")
    assert unknown_window.value.status == 404

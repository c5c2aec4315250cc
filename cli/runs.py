"""`mlops run | status | history | runs`: start pipelines and follow them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from cli.client import ApiClient, ApiError
from cli.options import KeyOption, UrlOption, client

console = Console()
TERMINAL = {"Succeeded", "Failed", "DataRejected", "GateRejected", "ApprovalRejected", "Terminated"}


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command("run")(run)
    app.command("status")(status)
    app.command("history")(history)
    app.command("runs")(runs)


def run(
    spec: Path = typer.Argument(..., exists=True, dir_okay=False, help="Pipeline spec (YAML)."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Show progress until the run ends."),
    url: str = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """Start a pipeline run from a spec file."""
    body = yaml.safe_load(spec.read_text())
    name = body.get("name") if isinstance(body, dict) else None
    if not name:
        raise typer.BadParameter("the spec has no 'name'", param_hint="SPEC")
    api = client(url, key)
    try:
        started = api.post(f"/api/pipelines/{name}/runs", {"spec": body})
    except ApiError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    run_id = started["run_id"]
    console.print(f"started run [bold]{run_id}[/bold]")
    if follow:
        final = _follow(api, run_id)
        _summary(final)
        if final.get("status") != "Succeeded":
            raise typer.Exit(2)


def _follow(api: ApiClient, run_id: str, poll_s: float = 1.0) -> dict[str, Any]:
    seen: dict[str, str] = {}
    while True:
        record = api.get(f"/api/runs/{run_id}")
        for step in record.get("steps", []):
            state = step.get("status", "")
            if seen.get(step["name"]) != state:
                seen[step["name"]] = state
                secs = step.get("seconds")
                took = f" in {secs:.1f}s" if isinstance(secs, (int, float)) else ""
                console.print(f"  {step['name']:<12} {state}{took}")
        if record.get("status") in TERMINAL:
            return dict(record)
        time.sleep(poll_s)


def _summary(record: dict[str, Any]) -> None:
    table = Table(title=f"run {record.get('run_id')}: {record.get('status')}")
    table.add_column("what")
    table.add_column("value")
    for label, key in (("dataset version", "dataset_version"), ("model version", "model_version")):
        if record.get(key):
            table.add_row(label, str(record[key]))
    for gate in record.get("gates", []):
        table.add_row(f"gate {gate.get('gate')}", f"{gate.get('status')}: {gate.get('reason', '')}")
    for metric, value in (record.get("metrics") or {}).items():
        table.add_row(metric, f"{value:.4f}" if isinstance(value, float) else str(value))
    console.print(table)


def status(run_id: str, url: str = UrlOption, key: str | None = KeyOption) -> None:
    """Show one run: status, steps with timings, gate decisions."""
    try:
        record = client(url, key).get(f"/api/runs/{run_id}")
    except ApiError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    table = Table(title=f"run {run_id}: {record.get('status')}")
    for col in ("step", "status", "seconds"):
        table.add_column(col)
    for step in record.get("steps", []):
        table.add_row(step["name"], step.get("status", ""), str(step.get("seconds", "")))
    console.print(table)
    _summary(record)


def history(run_id: str, url: str = UrlOption, key: str | None = KeyOption) -> None:
    """Show the orchestration timeline from the Durable management API."""
    path = f"/runtime/webhooks/durabletask/instances/{run_id}"
    try:
        data = client(url, key).get(path, showHistory="true", showHistoryOutput="false")
    except ApiError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    table = Table(title=f"{data.get('name')} {run_id}: {data.get('runtimeStatus')}")
    for col in ("time", "event", "name"):
        table.add_column(col)
    for event in data.get("historyEvents") or []:
        table.add_row(
            str(event.get("Timestamp", "")),
            str(event.get("EventType", "")),
            str(event.get("FunctionName") or event.get("Name") or ""),
        )
    console.print(table)


def runs(
    pipeline: str | None = typer.Option(None, help="Only this pipeline."),
    top: int = typer.Option(20, help="How many."),
    url: str = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """List recent runs."""
    try:
        items = client(url, key).get("/api/runs", pipeline=pipeline, top=top)
    except ApiError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    table = Table(title="runs")
    for col in ("run id", "pipeline", "status", "started", "model"):
        table.add_column(col)
    for item in items.get("runs", []):
        table.add_row(
            item.get("run_id", ""),
            item.get("pipeline", ""),
            item.get("status", ""),
            str(item.get("started_at", "")),
            str(item.get("model_version") or ""),
        )
    console.print(table)

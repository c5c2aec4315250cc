"""`mlops run | status | history | runs`: start pipelines, follow them, say why they ended."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from cli.client import ApiClient, ApiError
from cli.follow import TERMINAL, FollowTimeout, follow, instance_status, reconcile
from cli.options import KeyOption, UrlOption, client, fail
from cli.show import StepPrinter, console, features_table, runs_table, steps_table, summary
from cli.specfile import SpecFileError, load_spec_file, local_source, upload_name, with_source
from shared.steps.uploads import MAX_UPLOAD_BYTES

#: Exit codes of `run --follow`: 0 succeeded, 2 ended otherwise, 3 still running after --timeout.
EXIT_NOT_SUCCEEDED = 2
EXIT_TIMEOUT = 3


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command("run")(run)
    app.command("status")(status)
    app.command("history")(history)
    app.command("runs")(runs)


def _upload_local_source(api: ApiClient, body: dict[str, Any], spec: Path) -> dict[str, Any]:
    found = local_source(body, spec.resolve().parent)
    if found is None:
        return body
    path, fmt = found
    if not path.is_file():
        console.print(f"[red]{spec}: source file not found: {path}[/red]")
        raise typer.Exit(1)
    if path.stat().st_size > MAX_UPLOAD_BYTES:
        console.print(
            f"[red]{path} is {path.stat().st_size} bytes, over the {MAX_UPLOAD_BYTES} byte upload limit: "
            "copy it into the data container and name it as source: blob:data/...[/red]"
        )
        raise typer.Exit(1)
    try:
        uploaded = api.upload("/api/data/uploads", path.read_bytes(), name=upload_name(path, fmt))
    except ApiError as exc:
        fail(exc)
    state = "uploaded" if uploaded.get("created") else "already uploaded"
    console.print(f"{state} {path} as {uploaded['source']}")
    return with_source(body, str(uploaded["source"]))


def run(
    spec: Path = typer.Argument(..., exists=True, dir_okay=False, help="Pipeline spec (YAML)."),
    follow_run: bool = typer.Option(False, "--follow", "-f", help="Show progress until the run ends."),
    timeout: float = typer.Option(
        3600.0, "--timeout", help="With --follow: stop waiting after this many seconds (the run goes on)."
    ),
    upload: bool = typer.Option(
        True, "--upload/--no-upload", help="Upload a local source file and submit it as a blob source."
    ),
    url: str | None = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """Start a pipeline run from a spec file (a local source file is uploaded first)."""
    try:
        body = load_spec_file(spec)
    except SpecFileError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    api = client(url, key)
    if upload:
        body = _upload_local_source(api, body, spec)
    try:
        started = api.post(f"/api/pipelines/{body['name']}/runs", {"spec": body})
    except ApiError as exc:
        fail(exc)
    run_id = started["run_id"]
    console.print(f"started run [bold]{run_id}[/bold]")
    if follow_run:
        _follow_to_end(api, run_id, timeout)


def _follow_to_end(api: ApiClient, run_id: str, timeout: float) -> None:
    """Print step changes until the run ends, then why; exit 2 unless it succeeded, 3 on timeout."""
    try:
        final = follow(api, run_id, timeout_s=timeout, on_record=StepPrinter())
    except FollowTimeout as exc:
        console.print(f"[yellow]{exc}[/yellow]")
        raise typer.Exit(EXIT_TIMEOUT) from exc
    except ApiError as exc:
        fail(exc)
    summary(final)
    features_table(final)
    if final.get("status") != "Succeeded":
        raise typer.Exit(EXIT_NOT_SUCCEEDED)


def status(
    run_id: str,
    follow_run: bool = typer.Option(
        False, "--follow", "-f", help="Wait for the run to end, showing progress."
    ),
    timeout: float = typer.Option(
        3600.0, "--timeout", help="With --follow: stop waiting after this many seconds."
    ),
    url: str | None = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """Show one run: steps with timings, the failed step, row counts, gate decisions and why it ended."""
    api = client(url, key)
    if follow_run:
        _follow_to_end(api, run_id, timeout)
        return
    try:
        record = dict(api.get(f"/api/runs/{run_id}"))
    except ApiError as exc:
        fail(exc)
    if record.get("status") not in TERMINAL:
        ended = reconcile(record, instance_status(api, run_id))
        if ended is not None:
            console.print(f"[yellow]the run row says {record.get('status')}, but its instance ended[/yellow]")
            record = ended
    steps_table(record)
    summary(record)
    features_table(record)


def history(run_id: str, url: str | None = UrlOption, key: str | None = KeyOption) -> None:
    """Show the orchestration timeline from the Durable management API."""
    path = f"/runtime/webhooks/durabletask/instances/{run_id}"
    try:
        data = client(url, key).get(path, showHistory="true", showHistoryOutput="false")
    except ApiError as exc:
        fail(exc)
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
    url: str | None = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """List recent runs with whole ids and why each ended."""
    try:
        items = client(url, key).get("/api/runs", pipeline=pipeline, top=top)
    except ApiError as exc:
        fail(exc)
    runs_table(list(items.get("runs", [])))

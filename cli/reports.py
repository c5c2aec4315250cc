"""`mlops report drift|costs -o FILE`: download the stored drift and cost reports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from cli.client import ApiError
from cli.options import KeyOption, UrlOption, client, fail
from cli.show import console

report_app = typer.Typer(help="Download drift and cost reports (HTML, JSON or CSV).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add `report` and its sub-commands to the CLI."""
    app.add_typer(report_app, name="report")


def _save(data: bytes, output: Path) -> None:
    output.write_bytes(data)
    console.print(f"wrote {len(data)} bytes to {output}")


@report_app.command("drift")
def drift_report(
    model: str,
    output: Path = typer.Option(..., "--output", "-o", help="File to write."),
    window: str | None = typer.Option(None, "--window", help="Drift window id (default: the newest)."),
    fmt: str = typer.Option("html", "--format", help="html or json."),
    url: str | None = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """Save a model's drift report (the newest window unless --window)."""
    try:
        data = client(url, key).download(f"/api/reports/drift/{model}", window=window, format=fmt)
    except ApiError as exc:
        fail(exc)
    _save(data, output)


@report_app.command("costs")
def cost_report(
    output: Path = typer.Option(..., "--output", "-o", help="File to write."),
    day: str | None = typer.Option(None, "--day", help="UTC day YYYY-MM-DD (default: today)."),
    fmt: str = typer.Option("html", "--format", help="html or csv."),
    build: bool = typer.Option(False, "--build", help="Build and store the day's report first."),
    url: str | None = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """Save the cost report of a day (--build prices the day's runs now instead of waiting for the timer)."""
    chosen = day or datetime.now(UTC).date().isoformat()
    api = client(url, key)
    try:
        if build:
            api.post("/api/costs/report", day=chosen)
        data = api.download(f"/api/reports/costs/{chosen}", format=fmt)
    except ApiError as exc:
        fail(exc)
    _save(data, output)

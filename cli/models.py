"""`mlops models | score`: the registry and the scoring endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from cli.client import ApiError
from cli.options import KeyOption, UrlOption, client, fail

console = Console()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command("models")(models)
    app.command("score")(score)


def models(
    name: str | None = typer.Argument(None, help="A model name for its versions and aliases."),
    url: str | None = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """List models, or one model's versions and aliases."""
    api = client(url, key)
    try:
        data = api.get(f"/api/models/{name}") if name else api.get("/api/models")
    except ApiError as exc:
        fail(exc)
    if name:
        table = Table(title=f"model {name} (aliases: {data.get('aliases', {})})")
        for col in ("version", "run", "dataset", "metrics", "sha256"):
            table.add_column(col)
        for v in data.get("versions", []):
            metrics = ", ".join(f"{k}={val:.4f}" for k, val in (v.get("metrics") or {}).items())
            table.add_row(
                str(v.get("version")),
                v.get("run_id", ""),
                v.get("dataset_version", "")[:12],
                metrics,
                v.get("sha256", "")[:12],
            )
    else:
        table = Table(title="models")
        for col in ("model", "latest", "production"):
            table.add_column(col)
        for m in data.get("models", []):
            table.add_row(m.get("name", ""), str(m.get("latest_version", "")), str(m.get("production", "")))
    console.print(table)


def score(
    name: str,
    rows: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSON file: a list of row objects."),
    url: str | None = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """Score rows with a model's production version."""
    body = json.loads(rows.read_text())
    try:
        result = client(url, key).post(f"/api/models/{name}/score", {"rows": body})
    except ApiError as exc:
        fail(exc)
    console.print_json(json.dumps(result))

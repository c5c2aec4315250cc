"""`mlops quarantine RUN`: the rows a run's validation quarantined, with the reason for each."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from cli.client import ApiClient, ApiError
from cli.options import KeyOption, UrlOption, client, fail
from cli.show import console

#: Rows fetched per request when writing every row to a file.
PAGE = 1000


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command("quarantine")(quarantine)


def _all_rows(api: ApiClient, run_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = api.get(f"/api/runs/{run_id}/quarantine", offset=offset, limit=PAGE)
        rows.extend(page.get("rows") or [])
        offset = page.get("next_offset")
    return rows


def quarantine(
    run_id: str,
    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="Rows to show."),
    offset: int = typer.Option(0, "--offset", min=0, help="First row to show (0-based)."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write every quarantined row to this CSV."
    ),
    url: str | None = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """Show (or save with -o) the quarantined rows of a run: source row number, column, reason, value."""
    api = client(url, key)
    try:
        page = api.get(f"/api/runs/{run_id}/quarantine", offset=offset, limit=limit)
        if output is not None:
            rows = _all_rows(api, run_id)
    except ApiError as exc:
        fail(exc)
    if output is not None:
        columns = list(rows[0]) if rows else ["row", "column", "reason", "value"]
        with output.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        console.print(f"wrote {len(rows)} quarantine lines of run {run_id} to {output}")
        return
    read, quarantined = page.get("rows_read"), page.get("rows_quarantined")
    counts = f"{quarantined} of {read} rows quarantined, " if read is not None else ""
    console.print(f"run {run_id}: {counts}{page.get('total', 0)} lines (one per row and reason)")
    table = Table()
    columns = list(page["rows"][0]) if page.get("rows") else ["row", "column", "reason", "value"]
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in page.get("rows") or []:
        table.add_row(*(str(row.get(c, "")) for c in columns))
    console.print(table)
    if page.get("next_offset") is not None:
        console.print(f"more: --offset {page['next_offset']}, or -o FILE for every line")

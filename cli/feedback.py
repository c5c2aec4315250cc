"""`mlops feedback MODEL file.csv`: send ground-truth labels for earlier predictions."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from cli.client import ApiError
from cli.options import KeyOption, UrlOption, client, fail

console = Console()
_err = Console(stderr=True)
#: Rows per request (the API takes at most 100,000 and 16 MiB per request).
BATCH = 50_000
REQUIRED = ("id", "label")
OPTIONAL = ("observed_at", "predicted_at")


def register(app: typer.Typer) -> None:
    """Add this module's command to the CLI."""
    app.command("feedback")(feedback)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The CSV's rows as feedback objects (empty optional cells left out); BadParameter naming a problem."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        missing = [c for c in REQUIRED if c not in columns]
        extra = [c for c in columns if c not in REQUIRED + OPTIONAL]
        if missing or extra:
            raise typer.BadParameter(
                f"columns must be id,label[,observed_at][,predicted_at]; missing {missing}, unknown {extra}"
            )
        rows = []
        for row in reader:
            rows.append({k: v for k, v in row.items() if k in REQUIRED or (v not in (None, ""))})
    return rows


def feedback(
    name: str,
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV: id,label[,observed_at]."),
    url: str | None = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """Send labels for a model's predictions (ids from the scoring answers); resending is harmless."""
    rows = read_rows(path)
    if not rows:
        raise typer.BadParameter(f"{path} has no rows")
    api = client(url, key)
    totals: dict[str, int] = {}
    for start in range(0, len(rows), BATCH):
        try:
            answer = api.post(f"/api/models/{name}/feedback", {"rows": rows[start : start + BATCH]})
        except ApiError as exc:
            if start:
                _err.print(f"rows before CSV row {start + 1} were stored; rows[i] below counts from that row")
            fail(exc)
        for k, v in answer.items():
            if isinstance(v, int):
                totals[k] = totals.get(k, 0) + v
    console.print_json(json.dumps({"model": name, **totals}))

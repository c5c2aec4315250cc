"""`mlops drift | costs`: drift checks of a model and what runs and models cost."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from cli.client import ApiError
from cli.options import KeyOption, UrlOption, client, fail

console = Console()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command("drift")(drift)
    app.command("costs")(costs)


def drift(
    model: str,
    top: int = typer.Option(10, help="How many checks to list."),
    url: str | None = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """The latest drift check of a model (per column) and the history of checks."""
    try:
        data = client(url, key).get(f"/api/drift/{model}", top=top)
    except ApiError as exc:
        fail(exc)
    latest = data.get("latest")
    if not latest:
        console.print(f"no drift checks for {model} yet")
        return
    table = Table(title=f"{model}: window {latest.get('window')} -> {latest.get('status')}")
    for col in ("column", "test", "value", "threshold", "drifted", "status"):
        table.add_column(col)
    for name, col in sorted((latest.get("columns") or {}).items()):
        value = col.get("p_value", col.get("statistic", col.get("value")))
        table.add_row(
            name,
            str(col.get("test", "")),
            f"{value:.4g}" if isinstance(value, float) else str(value),
            str(col.get("threshold", "")),
            "yes" if col.get("drifted") else "",
            str(col.get("status", "")),
        )
    console.print(table)
    history = Table(title="history")
    for col in ("window", "status", "drifted share", "rows", "retrain"):
        history.add_column(col)
    for item in data.get("history", []):
        history.add_row(
            str(item.get("window")),
            str(item.get("status")),
            f"{item.get('drifted_share', 0):.2f}",
            str(item.get("rows", "")),
            str(item.get("retrain", "")),
        )
    console.print(history)


def costs(
    day: str | None = typer.Option(None, help="Only runs of this UTC day (YYYY-MM-DD)."),
    url: str | None = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """Costs per model, run and day, with budget alerts."""
    try:
        data = client(url, key).get("/api/costs", day=day)
    except ApiError as exc:
        fail(exc)
    for title, key_name in (("per model", "per_model"), ("per day", "per_day"), ("per run", "per_run")):
        table = Table(title=title)
        table.add_column(key_name.split("_")[1])
        table.add_column("USD", justify="right")
        for name, amount in sorted((data.get(key_name) or {}).items()):
            table.add_row(name, f"{amount:.6f}")
        console.print(table)
    console.print(f"total ${data.get('total', 0):.6f}")
    for alert in data.get("alerts", []):
        console.print(
            f"[red]budget alert[/red] {alert['scope']}: ${alert['actual']:.4f} > ${alert['limit']:.2f}"
        )

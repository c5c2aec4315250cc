"""`mlops drift | quality | costs`: drift and data-quality checks of a model, its quality on labeled
predictions (with the label-free estimate), and what runs and models cost."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from cli.client import ApiError
from cli.options import KeyOption, UrlOption, client, fail

console = Console()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command("drift")(drift)
    app.command("quality")(quality)
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
    _data_quality(latest.get("data_quality") or {})
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


def _rate(value: object) -> str:
    """A rate as a percentage; n/a when it could not be measured."""
    return f"{value * 100:.2f}%" if isinstance(value, int | float) else "n/a"


def _data_quality(q: dict[str, Any]) -> None:
    """The drift window's data-quality rates, one line."""
    if not q:
        return
    console.print(
        f"data quality over {q.get('rows')} rows: nulls {_rate(q.get('null_rate'))}, "
        f"out of training range {_rate(q.get('out_of_range_rate'))}, "
        f"unseen categories {_rate(q.get('unseen_category_rate'))}, "
        f"type errors {_rate(q.get('type_error_rate'))}"
    )


def _num(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "-"


def quality(
    model: str,
    top: int = typer.Option(10, help="How many checks to list."),
    url: str | None = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """Model quality on labeled predictions vs the training holdout, with the label-free estimate."""
    try:
        data = client(url, key).get(f"/api/quality/{model}", top=top)
    except ApiError as exc:
        fail(exc)
    latest = data.get("latest")
    if not latest:
        console.print(f"no quality checks for {model} yet")
        return
    decision = latest.get("decision") or {}
    console.print(
        f"{model} v{latest.get('version')}: window {latest.get('window')} -> {latest.get('status')} "
        f"({latest.get('labeled')} labeled of {latest.get('rows')} predictions)"
    )
    console.print(f"  {decision.get('reason', '')}")
    estimate = (latest.get("estimate") or {}).get("metrics") or {}
    table = Table(title="metrics: labeled window vs holdout, and the label-free estimate")
    for col in ("metric", "observed", "holdout", "estimated (all rows)", "estimated (labeled)", "est - obs"):
        table.add_column(col)
    names = sorted({*(latest.get("metrics") or {}), *(latest.get("baseline") or {}), *estimate})
    for name in names:
        est = estimate.get(name) or {}
        table.add_row(
            name,
            _num((latest.get("metrics") or {}).get(name)),
            _num((latest.get("baseline") or {}).get(name)),
            _num(est.get("estimated")),
            _num(est.get("estimated_labeled")),
            _num(est.get("difference")),
        )
    console.print(table)
    for note in latest.get("notes") or []:
        console.print(f"  note: {note}")
    history = Table(title="history")
    for col in ("window", "status", "labeled", "metric", "observed", "holdout", "retrain"):
        history.add_column(col)
    for item in data.get("history", []):
        d = item.get("decision") or {}
        history.add_row(
            str(item.get("window")),
            str(item.get("status")),
            str(item.get("labeled", "")),
            str(d.get("metric", "")),
            _num(d.get("observed")),
            _num(d.get("baseline")),
            str((item.get("retrain") or {}).get("status", "")),
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

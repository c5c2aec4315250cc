"""Rendering runs for the terminal: step lines, the outcome summary, the runs table."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from cli.follow import explain

console = Console(highlight=False)


class StepPrinter:
    """Prints a step line each time a step's state changes (for ``--follow``)."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}
        self._status = ""

    def __call__(self, record: dict[str, Any]) -> None:
        """Print the steps of ``record`` whose state changed since the last call."""
        status = str(record.get("status", ""))
        if status != self._status:
            self._status = status
            if status == "AwaitingApproval":
                run_id = record.get("run_id")
                console.print(f"  waiting for approval: mlops approve {run_id} (or reject) with an admin key")
        for step in record.get("steps") or []:
            name, state = str(step.get("name")), str(step.get("status", ""))
            if self._seen.get(name) == state:
                continue
            self._seen[name] = state
            secs = step.get("seconds")
            took = f" in {secs:.1f}s" if isinstance(secs, (int, float)) else ""
            console.print(f"  {name:<12} {state}{took}")


def summary(record: dict[str, Any]) -> None:
    """The outcome of a run: status, reason, failed step, rejection reasons, row counts, gates, metrics."""
    why = explain(record)
    colour = (
        "green" if why.status == "Succeeded" else "yellow" if why.status in ("Running", "Pending") else "red"
    )
    table = Table(title=f"run {record.get('run_id')}: [{colour}]{why.status}[/{colour}]", show_header=False)
    table.add_column("what", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_row("outcome", why.status)
    if why.reason:
        table.add_row("reason", why.reason)
    if why.failed_step:
        table.add_row("failed step", why.failed_step)
    for reason in why.rejection_reasons:
        table.add_row("rejected because", reason)
    for name, value in why.counts.items():
        table.add_row(name.replace("_", " "), str(value))
    for label, key in (("dataset version", "dataset_version"), ("model version", "model_version")):
        if record.get(key):
            table.add_row(label, str(record[key]))
    read = (record.get("details") or {}).get("source_blobs")
    if isinstance(read, list) and read:  # lineage: the blobs the ingest step read
        names = [f"{b.get('container')}/{b.get('name')}" for b in read if isinstance(b, dict)]
        shown = names[:5] + ([f"... and {len(names) - 5} more"] if len(names) > 5 else [])
        table.add_row(f"source blobs ({len(names)})", "\n".join(shown))
    for gate in why.gates:
        table.add_row("gate", gate)
    for metric, value in (record.get("metrics") or {}).items():
        table.add_row(metric, f"{value:.4f}" if isinstance(value, float) else str(value))
    console.print(table)


def steps_table(record: dict[str, Any]) -> None:
    """The timeline: each step with status, seconds and (for a failure) its error."""
    table = Table(title=f"run {record.get('run_id')}: {record.get('status')}")
    for col in ("step", "status", "seconds", "detail"):
        table.add_column(col, overflow="fold")
    for step in record.get("steps") or []:
        detail = step.get("detail")
        shown = detail if isinstance(detail, str) and step.get("status") == "Failed" else ""
        table.add_row(str(step.get("name")), str(step.get("status", "")), str(step.get("seconds", "")), shown)
    console.print(table)


def features_table(record: dict[str, Any]) -> None:
    """Every column's role from ``details.features``: features with their kinds, dropped with why."""
    roles = (record.get("details") or {}).get("features")
    if not isinstance(roles, dict):
        return  # the run has not staged its training job yet (or predates column roles)
    used, dropped = roles.get("used") or {}, roles.get("dropped") or {}
    table = Table(title=f"columns: {len(used)} features, {len(dropped)} dropped", title_justify="left")
    table.add_column("column", no_wrap=True)
    table.add_column("role", no_wrap=True)
    table.add_column("kind or reason", overflow="fold")
    for name, kind in used.items():
        table.add_row(str(name), "feature", str(kind))
    for name, reason in dropped.items():
        table.add_row(str(name), "dropped", str(reason))
    console.print(table)


#: Below this width `runs` prints two lines per run instead of a table, so ids stay whole.
NARROW = 120


def runs_table(items: list[dict[str, Any]]) -> None:
    """Runs with whole ids (never cut; the id starts with the pipeline name) and why each ended."""
    rows = [
        (
            str(item.get("run_id", "")),
            str(item.get("status", "")),
            str(item.get("started_at") or "")[:16].replace("T", " "),
            str(item.get("model_version") or ""),
            explain(item).headline(),
        )
        for item in items
    ]
    if console.width < NARROW:
        for run_id, status, started, model, reason in rows:
            console.print(
                f"{run_id}  {status}  {started}" + (f"  model {model}" if model else ""), soft_wrap=True
            )
            if reason:
                console.print(f"    reason: {reason}", soft_wrap=True)
        return
    table = Table(title="runs", box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("run id", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("started", no_wrap=True)
    table.add_column("model", no_wrap=True)
    table.add_column("reason", overflow="fold", ratio=1)
    for row in rows:
        table.add_row(*row)
    console.print(table)

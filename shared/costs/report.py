"""Cost lines from run records and blob sizes; totals per run, per model and per day; budget alerts.

Every total is the sum of its lines (a test checks it): a run's cost = compute (training
seconds x instance price) + function executions + function GB-seconds; a model's = its runs +
the storage of its blobs; a day's = the lines dated that day.
"""

from __future__ import annotations

import csv
import html
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.costs.prices import PriceTable
from shared.storage.records import RunRecord

SECONDS_PER_MONTH = 30 * 24 * 3600


@dataclass(frozen=True)
class CostLine:
    """One priced quantity."""

    day: str
    item: str
    kind: str
    model: str
    run_id: str | None
    quantity: float
    unit: str
    unit_price: float
    amount: float


@dataclass
class CostReport:
    """All lines of a report and the totals built from them."""

    lines: list[CostLine] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def per_run(self) -> dict[str, float]:
        """Total per run id."""
        return _sum_by(self.lines, lambda line: line.run_id)

    def per_model(self) -> dict[str, float]:
        """Total per model (runs + storage)."""
        return _sum_by(self.lines, lambda line: line.model)

    def per_day(self) -> dict[str, float]:
        """Total per UTC day."""
        return _sum_by(self.lines, lambda line: line.day)

    @property
    def total(self) -> float:
        """Sum of every line."""
        return round(sum(line.amount for line in self.lines), 6)

    def to_csv(self) -> bytes:
        """Every line as CSV."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["day", "item", "kind", "model", "run_id", "quantity", "unit", "unit_price", "amount"]
        )
        for ln in self.lines:
            writer.writerow([ln.day, ln.item, ln.kind, ln.model, ln.run_id or "", ln.quantity, ln.unit,
                             ln.unit_price, f"{ln.amount:.6f}"])  # fmt: skip
        return out.getvalue().encode()

    def to_html(self, title: str = "Cost report") -> bytes:
        """A self-contained HTML page: totals per model and day, then every line."""

        def table(head: list[str], rows: list[list[Any]]) -> str:
            th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
            body = "".join(
                "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
            )
            return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"

        parts = [
            f"<h1>{html.escape(title)}</h1><p>Total: ${self.total:.4f}</p>",
            "<h2>Per model</h2>"
            + table(["model", "USD"], [[m, f"{v:.4f}"] for m, v in sorted(self.per_model().items())]),
            "<h2>Per day</h2>"
            + table(["day", "USD"], [[d, f"{v:.4f}"] for d, v in sorted(self.per_day().items())]),
            "<h2>Alerts</h2>"
            + table(
                ["scope", "limit", "actual"], [[a["scope"], a["limit"], a["actual"]] for a in self.alerts]
            ),
            "<h2>Lines</h2>"
            + table(
                ["day", "item", "quantity", "unit", "unit price", "USD"],
                [
                    [ln.day, ln.item, f"{ln.quantity:.3f}", ln.unit, ln.unit_price, f"{ln.amount:.6f}"]
                    for ln in self.lines
                ],
            ),
        ]
        style = (
            "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1em}"
            "td,th{border:1px solid #ccc;padding:4px 8px}"
        )
        head = f"<meta charset='utf-8'><title>{html.escape(title)}</title><style>{style}</style>"
        return f"<!doctype html><html><head>{head}</head><body>{''.join(parts)}</body></html>".encode()


def _sum_by(lines: list[CostLine], key: Any) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for line in lines:
        k = key(line)
        if k is not None:
            totals[k] += line.amount
    return {k: round(v, 6) for k, v in totals.items()}


def _line(
    day: str, item: str, kind: str, model: str, run_id: str | None, qty: float, unit: str, price: float
) -> CostLine:
    return CostLine(day, item, kind, model, run_id, round(qty, 6), unit, price, round(qty * price, 6))


def run_lines(run: RunRecord, instance_type: str, prices: PriceTable) -> list[CostLine]:
    """Compute, executions and GB-seconds of one run."""
    day = (run.started_at.date() if run.started_at else date.today()).isoformat()
    train_s = float(run.step_timings.get("train", 0.0))
    executions = len(run.steps) * 2 + 2  # each step's activity + the orchestrator episode that follows it
    busy_s = float(sum(run.step_timings.values()))
    gb_s = busy_s * prices.function_memory_gb
    per_exec = prices.function_execution_per_million / 1_000_000
    return [
        _line(
            day,
            f"run:{run.run_id}:compute",
            "compute",
            run.pipeline,
            run.run_id,
            train_s / 3600,
            f"{instance_type} node-hours",
            prices.instance_price(instance_type),
        ),
        _line(
            day,
            f"run:{run.run_id}:executions",
            "executions",
            run.pipeline,
            run.run_id,
            executions,
            "executions",
            per_exec,
        ),
        _line(
            day,
            f"run:{run.run_id}:gb-seconds",
            "gb_seconds",
            run.pipeline,
            run.run_id,
            gb_s,
            "GB-s",
            prices.function_gb_second,
        ),
    ]


def storage_line(day: str, model: str, stored_bytes: int, prices: PriceTable) -> CostLine:
    """One day of blob storage for a model's artifacts."""
    gb_days = stored_bytes / 1e9 / 30
    return _line(
        day, f"storage:{model}", "storage", model, None, gb_days, "GB-months", prices.storage_gb_month
    )


def budget_alerts(report: CostReport, budgets: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    """Alerts where a model's total or one run passed its budget ({model: {monthly_usd, per_run_usd}})."""
    alerts: list[dict[str, Any]] = []
    per_model, per_run = report.per_model(), report.per_run()
    run_model = {ln.run_id: ln.model for ln in report.lines if ln.run_id}
    for model, budget in budgets.items():
        monthly = budget.get("monthly_usd")
        if monthly is not None and per_model.get(model, 0.0) > monthly:
            alerts.append({"scope": f"model:{model}", "limit": monthly, "actual": per_model[model]})
        per_run_limit = budget.get("per_run_usd")
        if per_run_limit is not None:
            for run_id, amount in per_run.items():
                if run_model.get(run_id) == model and amount > per_run_limit:
                    alerts.append({"scope": f"run:{run_id}", "limit": per_run_limit, "actual": amount})
    return alerts

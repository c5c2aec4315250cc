"""Cost lines from run records and blob sizes; totals per run, per model and per day; budget alerts.

Every total is the sum of its lines (a test checks it): a run's cost = compute + function
executions + function GB-seconds; a model's = its runs + the storage of its blobs; a day's = the
lines dated that day.

Compute is priced per training job attempt recorded on the run (``details.training.attempts``):
node-seconds (from first seen running, else submitted, to ended, else the run's end) x instance
count x the instance's price, low-priority attempts at the low-priority price; each such line
also carries what the same node-hours would have cost on dedicated nodes, so the report shows the
saving per run (Azure ML itself does not report one). Runs without recorded attempts fall back to
the train step's seconds x the dedicated price.
"""

from __future__ import annotations

import csv
import html
import io
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
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
    dedicated_amount: float | None = None
    """For compute on low-priority nodes: the same node-hours at the dedicated price."""

    @property
    def saving(self) -> float:
        """What low priority saved against dedicated nodes (0 for anything else)."""
        return round(self.dedicated_amount - self.amount, 6) if self.dedicated_amount is not None else 0.0


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

    def savings_per_run(self) -> dict[str, float]:
        """Per run with low-priority compute: what it saved against dedicated nodes (USD)."""
        totals: dict[str, float] = defaultdict(float)
        for line in self.lines:
            if line.run_id is not None and line.dedicated_amount is not None:
                totals[line.run_id] += line.saving
        return {k: round(v, 6) for k, v in totals.items()}

    @property
    def total(self) -> float:
        """Sum of every line."""
        return round(sum(line.amount for line in self.lines), 6)

    def to_csv(self) -> bytes:
        """Every line as CSV."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["day", "item", "kind", "model", "run_id", "quantity", "unit", "unit_price", "amount",
             "dedicated_amount"]
        )  # fmt: skip
        for ln in self.lines:
            dedicated = "" if ln.dedicated_amount is None else f"{ln.dedicated_amount:.6f}"
            writer.writerow([ln.day, ln.item, ln.kind, ln.model, ln.run_id or "", ln.quantity, ln.unit,
                             ln.unit_price, f"{ln.amount:.6f}", dedicated])  # fmt: skip
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
            "<h2>Per run</h2>"
            + table(
                ["run", "USD", "low-priority saving vs dedicated (USD)"],
                [
                    [r, f"{v:.4f}", f"{self.savings_per_run().get(r, 0.0):.4f}"]
                    for r, v in sorted(self.per_run().items())
                ],
            ),
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
    day: str,
    item: str,
    kind: str,
    model: str,
    run_id: str | None,
    qty: float,
    unit: str,
    price: float,
    dedicated_price: float | None = None,
) -> CostLine:
    dedicated = round(qty * dedicated_price, 6) if dedicated_price is not None else None
    return CostLine(
        day, item, kind, model, run_id, round(qty, 6), unit, price, round(qty * price, 6), dedicated
    )


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _attempts(run: RunRecord) -> list[dict[str, Any]]:
    training = run.details.get("training")
    attempts = training.get("attempts") if isinstance(training, dict) else None
    return [a for a in attempts if isinstance(a, dict)] if isinstance(attempts, list) else []


def node_seconds(attempt: Mapping[str, Any], run_end: datetime | None) -> float:
    """Seconds one attempt held its nodes: from first seen running (else submitted) to its end
    (else the run's end, e.g. a cancelled run; else 0 while nothing says it ended)."""
    start = _time(attempt.get("running_at")) or _time(attempt.get("submitted_at"))
    end = _time(attempt.get("ended_at")) or run_end
    if start is None or end is None:
        return 0.0
    return max((end - start).total_seconds(), 0.0)


def compute_lines(run: RunRecord, day: str, fallback_type: str, prices: PriceTable) -> list[CostLine]:
    """One line per training attempt (node-hours x count x price), or the train step as a fallback."""
    attempts = _attempts(run)
    if not attempts:
        train_s = float(run.step_timings.get("train", 0.0))
        unit = f"{fallback_type} node-hours"
        price = prices.instance_price(fallback_type)
        return [
            _line(
                day,
                f"run:{run.run_id}:compute",
                "compute",
                run.pipeline,
                run.run_id,
                train_s / 3600,
                unit,
                price,
            )
        ]
    lines = []
    for attempt in attempts:
        itype = str(attempt.get("instance_type") or fallback_type)
        count = max(int(attempt.get("instance_count") or 1), 1)
        low = bool(attempt.get("low_priority"))
        hours = node_seconds(attempt, run.finished_at) * count / 3600
        unit = f"{itype} {'low-priority ' if low else ''}node-hours (x{count})"
        item = f"run:{run.run_id}:compute:{attempt.get('name', attempt.get('attempt'))}"
        price = prices.instance_price(itype, low_priority=low)
        dedicated = prices.instance_price(itype) if low else None
        lines.append(_line(day, item, "compute", run.pipeline, run.run_id, hours, unit, price, dedicated))
    return lines


def run_lines(run: RunRecord, compute: str | Mapping[str, Any], prices: PriceTable) -> list[CostLine]:
    """Compute, executions and GB-seconds of one run; ``compute`` is the spec's compute section (or
    just an instance type), used where the run recorded no attempts."""
    fallback = compute if isinstance(compute, str) else _instance_type(compute)
    day = (run.started_at.date() if run.started_at else date.today()).isoformat()
    executions = len(run.steps) * 2 + 2  # each step's activity + the orchestrator episode that follows it
    busy_s = float(sum(run.step_timings.values()))
    gb_s = busy_s * prices.function_memory_gb
    per_exec = prices.function_execution_per_million / 1_000_000
    return [
        *compute_lines(run, day, fallback, prices),
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


def _instance_type(compute: Mapping[str, Any]) -> str:
    return str(compute.get("instance_type") or "local") if compute.get("kind") == "azureml" else "local"


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

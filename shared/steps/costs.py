"""Cost report step: price every run and each model's stored bytes, persist rows, CSV and HTML."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from shared.costs.prices import PriceTable
from shared.costs.report import CostReport, budget_alerts, run_lines, storage_line
from shared.pipeline.spec import load_spec
from shared.storage.factory import Storage
from shared.storage.records import AuditRecord, CostRecord, RunRecord

MODEL_CONTAINERS = (
    "datasets",
    "models",
    "profiles",
    "quarantine",
    "checkpoints",
    "inference-logs",
    "predictions",
    "feedback",
)


def _stored_bytes(storage: Storage, model: str) -> int:
    total = 0
    for container in MODEL_CONTAINERS:
        storage.blobs.ensure_container(container)
        for blob in storage.clients.blob.get_container_client(container).list_blobs(
            name_starts_with=f"{model}/"
        ):
            total += int(blob.size or 0)
    return total


def _runs(storage: Storage, day: str | None) -> Iterator[RunRecord]:
    """Runs streamed page by page; a day's runs only, filtered by the table service, when ``day`` is set.

    Nothing holds the runs table: a day's report reads that day's rows, not every run ever recorded.
    """
    if day is None:
        yield from storage.runs.query()
        return
    since = datetime.combine(date.fromisoformat(day), time(), tzinfo=UTC)
    window = {"since": since, "until": since + timedelta(days=1)}
    yield from storage.runs.query(filter="started_at ge @since and started_at lt @until", parameters=window)


def build_report(storage: Storage, prices: PriceTable | None = None, day: str | None = None) -> CostReport:
    """Price every finished run (of ``day`` when given) and one day of each model's storage."""
    prices = prices or PriceTable()
    today = day or datetime.now(UTC).date().isoformat()
    specs: dict[str, dict[str, Any]] = {}
    for record in storage.pipelines.query():
        specs[record.pipeline] = record.spec
    report = CostReport()
    models: set[str] = set()
    for run in _runs(storage, day):
        run_day = run.started_at.date().isoformat() if run.started_at else today
        if day is not None and run_day != day:
            continue
        report.lines.extend(run_lines(run, specs.get(run.pipeline, {}).get("compute") or {}, prices))
        models.add(run.pipeline)
    for model in sorted(models | set(specs)):
        report.lines.append(storage_line(today, model, _stored_bytes(storage, model), prices))
    budgets: dict[str, dict[str, float]] = {}
    for name, spec in specs.items():
        budget = load_spec(spec).budget
        if budget is not None:
            budgets[name] = {
                "monthly_usd": budget.monthly_usd,
                **({"per_run_usd": budget.per_run_usd} if budget.per_run_usd else {}),
            }
    report.alerts = budget_alerts(report, budgets)
    return report


def summary(report: CostReport) -> dict[str, Any]:
    """Totals and alerts of a report as JSON."""
    return {
        "total": report.total,
        "per_model": report.per_model(),
        "per_run": report.per_run(),
        "savings_per_run": report.savings_per_run(),
        "per_day": report.per_day(),
        "alerts": report.alerts,
        "lines": len(report.lines),
    }


def persist_report(storage: Storage, report: CostReport, day: str | None = None) -> dict[str, Any]:
    """Rows in `costs`, CSV + HTML in `reports/costs/<day>.*`, an audit entry per budget alert."""
    today = day or datetime.now(UTC).date().isoformat()
    records = [
        CostRecord(
            day=ln.day,
            item=ln.item,
            amount=ln.amount,
            quantity=ln.quantity,
            unit=ln.unit,
            details={"kind": ln.kind, "model": ln.model, "run_id": ln.run_id, "unit_price": ln.unit_price},
        )
        for ln in report.lines
    ]
    for alert in report.alerts:
        records.append(
            CostRecord(
                day=today,
                item=f"alert:{alert['scope']}",
                amount=alert["actual"],
                unit="USD",
                details={"limit": alert["limit"], "alert": True},
            )
        )
        now = datetime.now(UTC)
        storage.audit.insert(
            AuditRecord(
                entity=alert["scope"],
                entry_id=f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}",
                action="budget_alert",
                actor="cost-report",
                at=now,
                reason=f"cost ${alert['actual']:.4f} passed budget ${alert['limit']:.2f}",
                data=alert,
            )
        )
    storage.costs.upsert_many(records)
    csv_ref = storage.blobs.put_bytes(
        "reports", f"costs/{today}.csv", report.to_csv(), content_type="text/csv"
    )
    html_ref = storage.blobs.put_bytes(
        "reports", f"costs/{today}.html", report.to_html(f"Costs {today}"), content_type="text/html"
    )
    return {
        "day": today,
        "total": report.total,
        "per_model": report.per_model(),
        "per_run": report.per_run(),
        "per_day": report.per_day(),
        "alerts": report.alerts,
        "csv": csv_ref.name,
        "html": html_ref.name,
    }

"""Cost numbers add up to the sum of their parts; budgets raise alerts; unknown prices are errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.costs.prices import PriceTable
from shared.costs.report import CostReport, budget_alerts, run_lines, storage_line
from shared.errors import ValidationError
from shared.storage.records import RunRecord


def _run(run_id: str, pipeline: str, train_s: float, day: int) -> RunRecord:
    return RunRecord(
        pipeline=pipeline,
        run_id=run_id,
        started_at=datetime(2026, 11, day, 3, tzinfo=UTC),
        step_timings={"ingest": 2.0, "validate": 1.0, "train": train_s, "evaluate": 1.5},
        steps=[{"name": n} for n in ("ingest", "validate", "train", "evaluate")],
    )


def test_a_gpu_run_costs_training_hours_times_the_list_price_plus_function_usage() -> None:
    prices = PriceTable()
    lines = run_lines(_run("r1", "m", 3600.0, 20), "Standard_NC4as_T4_v3", prices)
    compute = next(ln for ln in lines if ln.kind == "compute")
    assert compute.amount == pytest.approx(0.526)
    gb_s = next(ln for ln in lines if ln.kind == "gb_seconds")
    assert gb_s.quantity == pytest.approx((2 + 1 + 3600 + 1.5) * 2.0)
    executions = next(ln for ln in lines if ln.kind == "executions")
    assert executions.quantity == 10


def test_totals_per_run_model_and_day_are_sums_of_the_lines() -> None:
    prices = PriceTable()
    report = CostReport()
    report.lines += run_lines(_run("r1", "a", 600, 20), "Standard_NC4as_T4_v3", prices)
    report.lines += run_lines(_run("r2", "a", 60, 21), "local", prices)
    report.lines += run_lines(_run("r3", "b", 1200, 21), "Standard_DS3_v2", prices)
    report.lines.append(storage_line("2026-11-21", "a", 50_000_000_000, prices))
    total = sum(ln.amount for ln in report.lines)
    assert report.total == pytest.approx(total)
    assert sum(report.per_model().values()) == pytest.approx(total)
    assert sum(report.per_day().values()) == pytest.approx(total)
    run_total = sum(ln.amount for ln in report.lines if ln.run_id == "r1")
    assert report.per_run()["r1"] == pytest.approx(run_total)
    assert report.per_model()["a"] == pytest.approx(
        report.per_run()["r1"] + report.per_run()["r2"] + report.lines[-1].amount
    )
    assert report.to_csv().decode().count("\n") == len(report.lines) + 1
    assert b"<table>" in report.to_html()


def test_budgets_raise_alerts_only_when_passed() -> None:
    report = CostReport(lines=run_lines(_run("r1", "a", 7200, 20), "Standard_NC6s_v3", PriceTable()))
    alerts = budget_alerts(report, {"a": {"monthly_usd": 5.0, "per_run_usd": 10.0}})
    assert [a["scope"] for a in alerts] == ["model:a"]
    assert budget_alerts(report, {"a": {"monthly_usd": 50.0}}) == []


def test_an_unknown_instance_type_is_an_error_not_free() -> None:
    with pytest.raises(ValidationError, match="Standard_Z99"):
        run_lines(_run("r1", "a", 10, 20), "Standard_Z99", PriceTable())


def test_prices_are_overridable() -> None:
    prices = PriceTable.model_validate({"instance_per_hour": {"local": 0.0, "mygpu": 10.0}})
    compute = run_lines(_run("r1", "a", 360, 20), "mygpu", prices)[0]
    assert compute.amount == pytest.approx(1.0)

"""Cost per training job: node-seconds x instance count x price per attempt, low priority priced as
such, and the saving against dedicated nodes per run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.costs.prices import PriceTable
from shared.costs.report import CostReport, node_seconds, run_lines
from shared.storage.records import RunRecord

T0 = datetime(2026, 11, 20, 3, tzinfo=UTC)
SECTION = {"kind": "azureml", "cluster": "gpu", "instance_type": "Standard_NC4as_T4_v3"}


def _at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def _run(attempts: list[dict[str, object]], finished_min: float | None = None) -> RunRecord:
    return RunRecord(
        pipeline="m",
        run_id="r1",
        started_at=T0,
        finished_at=T0 + timedelta(minutes=finished_min) if finished_min is not None else None,
        step_timings={"train": 99999.0},  # ignored once attempts are recorded
        steps=[{"name": "train"}],
        details={"training": {"attempts": attempts}},
    )


def _attempt(n: int, low: bool, start: float, end: float | None, count: int = 2) -> dict[str, object]:
    entry: dict[str, object] = {
        "attempt": n,
        "name": f"train-r1-{n}",
        "instance_type": "Standard_NC4as_T4_v3",
        "instance_count": count,
        "low_priority": low,
        "submitted_at": _at(start - 5),
        "running_at": _at(start),
    }
    if end is not None:
        entry["ended_at"] = _at(end)
    return entry


def test_each_attempt_is_node_hours_times_count_times_its_price() -> None:
    prices = PriceTable()
    run = _run([_attempt(1, False, 0, 60, count=2)], finished_min=70)
    [compute] = [ln for ln in run_lines(run, SECTION, prices) if ln.kind == "compute"]
    assert compute.quantity == pytest.approx(2.0)  # 1 h x 2 nodes; queueing is not billed
    assert compute.amount == pytest.approx(2 * 0.526) and compute.dedicated_amount is None


def test_low_priority_attempts_are_cheaper_and_the_saving_is_reported_per_run() -> None:
    prices = PriceTable()
    # Attempt 1 preempted after 30 min, attempt 2 resumed and ran 45 min: both billed, at spot price.
    run = _run([_attempt(1, True, 0, 30), _attempt(2, True, 35, 80)], finished_min=82)
    report = CostReport(lines=run_lines(run, {**SECTION, "low_priority": True}, prices))
    compute = [ln for ln in report.lines if ln.kind == "compute"]
    assert [ln.quantity for ln in compute] == pytest.approx([1.0, 1.5])  # node-hours x 2 nodes
    spot = prices.instance_price("Standard_NC4as_T4_v3", low_priority=True)
    assert spot == pytest.approx(0.526 * 0.2) and spot < prices.instance_price("Standard_NC4as_T4_v3")
    assert sum(ln.amount for ln in compute) == pytest.approx(2.5 * spot)
    assert report.savings_per_run() == {"r1": pytest.approx(2.5 * (0.526 - spot))}
    assert report.per_run()["r1"] == pytest.approx(sum(ln.amount for ln in report.lines))
    assert b"low-priority saving" in report.to_html()
    assert "dedicated_amount" in report.to_csv().decode().splitlines()[0]


def test_per_type_low_priority_prices_override_the_discount() -> None:
    prices = PriceTable.model_validate({"low_priority_per_hour": {"Standard_NC4as_T4_v3": 0.2}})
    assert prices.instance_price("Standard_NC4as_T4_v3", low_priority=True) == 0.2
    assert prices.instance_price("Standard_NC4as_T4_v3") == 0.526


def test_a_cancelled_attempt_stops_accruing_at_the_run_end() -> None:
    attempt = _attempt(1, False, 0, None)
    assert node_seconds(attempt, T0 + timedelta(minutes=10)) == pytest.approx(600)
    assert node_seconds(attempt, None) == 0.0  # nothing says it ended yet: not guessed
    run = _run([attempt], finished_min=10)
    [compute] = [ln for ln in run_lines(run, SECTION, PriceTable()) if ln.kind == "compute"]
    assert compute.quantity == pytest.approx(2 * 10 / 60)

"""Gate decisions: thresholds, champion/challenger (absolute, relative, direction-aware), budgets."""

from __future__ import annotations

import pytest

from shared.errors import GateRejectedError, ValidationError
from shared.models.gates import all_passed, apply_gates, parse_gates, raise_if_rejected


def decide(gates: list[dict], candidate: dict, champion: dict | None = None):
    return apply_gates(parse_gates(gates), candidate, champion)


@pytest.mark.parametrize(
    ("gate", "value", "status"),
    [
        ({"metric": "auc", "threshold": 0.9}, 0.95, "passed"),  # higher is better: a lower bound
        ({"metric": "auc", "threshold": 0.9}, 0.85, "failed"),
        ({"metric": "auc", "threshold": 0.9}, 0.9, "passed"),  # bound is inclusive
        ({"metric": "rmse", "threshold": 50.0}, 40.0, "passed"),  # lower is better: an upper bound
        ({"metric": "rmse", "threshold": 50.0}, 60.0, "failed"),
        ({"metric": "rmse", "min": 1.0}, 0.5, "failed"),  # explicit min wins over direction
        ({"metric": "accuracy", "max": 0.99}, 1.0, "failed"),
        ({"metric": "accuracy", "min": 0.8, "max": 0.99}, 0.9, "passed"),
    ],
)
def test_threshold_gate(gate: dict, value: float, status: str) -> None:
    [decision] = decide([{"kind": "threshold", **gate}], {gate["metric"]: value})
    assert decision.status == status
    assert decision.value == value and decision.metric == gate["metric"]
    assert decision.reason


def test_threshold_on_metric_not_computed_fails() -> None:
    [decision] = decide([{"kind": "threshold", "metric": "auc", "threshold": 0.5}], {"accuracy": 1.0})
    assert decision.status == "failed" and "not computed" in decision.reason


@pytest.mark.parametrize(
    ("gate", "candidate", "champion", "status"),
    [
        ({"metric": "auc", "min_improvement": 0.01}, 0.95, 0.93, "passed"),
        ({"metric": "auc", "min_improvement": 0.01}, 0.935, 0.93, "failed"),
        ({"metric": "auc", "min_improvement": 0.01}, 0.94, 0.93, "passed"),  # exactly at the bound
        ({"metric": "auc", "min_improvement": 0.0}, 0.92, 0.93, "failed"),
        ({"metric": "auc", "min_improvement": -0.02}, 0.92, 0.93, "passed"),  # tolerance
        ({"metric": "rmse", "min_improvement": 1.0}, 48.0, 50.0, "passed"),  # lower is better
        ({"metric": "rmse", "min_improvement": 1.0}, 52.0, 50.0, "failed"),  # "bigger" is worse here
        ({"metric": "rmse", "min_improvement": 0.05, "relative": True}, 47.0, 50.0, "passed"),  # 6%
        ({"metric": "rmse", "min_improvement": 0.05, "relative": True}, 48.0, 50.0, "failed"),  # 4%
        ({"metric": "r2", "min_improvement": 0.1, "relative": True}, 0.55, 0.5, "passed"),  # 10%
        ({"metric": "r2", "min_improvement": 0.1, "relative": True}, 0.54, 0.5, "failed"),  # 8%
        ({"metric": "mae", "min_improvement": 0.5, "relative": True}, 0.0, 0.0, "failed"),  # 0/0: no gain
        ({"metric": "r2", "min_improvement": 0.5, "relative": True}, 0.1, 0.0, "passed"),  # any gain over 0
    ],
)
def test_champion_gate(gate: dict, candidate: float, champion: float, status: str) -> None:
    metric = gate["metric"]
    [decision] = decide([{"kind": "champion", **gate}], {metric: candidate}, {metric: champion})
    assert decision.status == status, decision.reason
    assert decision.value == candidate and decision.champion_value == champion
    assert decision.threshold == gate["min_improvement"]


def test_change_gates_skip_without_champion_but_absolute_gates_still_apply() -> None:
    decisions = decide(
        [
            {"kind": "champion", "metric": "auc", "min_improvement": 0.01},
            {"kind": "threshold", "metric": "auc", "threshold": 0.99},
        ],
        {"auc": 0.95},
        None,
    )
    assert [d.status for d in decisions] == ["skipped", "failed"]
    assert decisions[0].reason == "no champion model to compare with"
    assert not all_passed(decisions)
    assert all_passed(decisions[:1])  # skipped does not block


def test_latency_and_size_budgets() -> None:
    gates = [{"kind": "latency", "max_p95_ms": 5}, {"kind": "size", "max_bytes": 1000}]
    ok = decide(gates, {"latency_p95_ms": 0.4, "size_bytes": 900.0})
    assert [d.status for d in ok] == ["passed", "passed"]
    bad = decide(gates, {"latency_p95_ms": 7.5, "size_bytes": 1001.0})
    assert [d.status for d in bad] == ["failed", "failed"]
    assert bad[0].value == 7.5 and bad[0].threshold == 5
    with pytest.raises(GateRejectedError, match="2 gate") as err:
        raise_if_rejected(bad)
    assert err.value.field == "latency"
    raise_if_rejected(ok)


@pytest.mark.parametrize(
    ("gates", "field"),
    [
        ([{"kind": "threshold", "metric": "bogus", "threshold": 1}], "gates.0.metric"),
        ([{"kind": "threshold", "metric": "auc"}], "gates.0"),
        ([{"kind": "sometimes"}], "gates.0"),
        ([{"kind": "latency", "max_p95_ms": -1}], "gates.0.latency.max_p95_ms"),
    ],
)
def test_invalid_gate_declarations(gates: list[dict], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_gates(gates)
    assert err.value.field == field

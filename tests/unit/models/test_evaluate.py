"""Holdout evaluation with onnxruntime, and the full candidate-vs-champion decision."""

from __future__ import annotations

import polars as pl
import pytest

from shared.errors import ValidationError
from shared.models.evaluate import evaluate_candidate, evaluate_model
from shared.models.gates import parse_gates


def test_classifier_metrics_on_holdout(classifier) -> None:
    metrics = evaluate_model(classifier.model, classifier.holdout, latency_runs=30)
    values = metrics.values
    assert metrics.task == "classification" and metrics.rows == classifier.holdout.height
    assert values["auc"] > 0.95 and values["accuracy"] > 0.9 and 0.9 < values["f1"] <= 1.0
    assert 0 < values["latency_p95_ms"] < 100
    assert values["size_bytes"] == len(classifier.data)


def test_regressor_metrics_on_holdout(regressor) -> None:
    values = evaluate_model(regressor.model, regressor.holdout, latency_runs=10).values
    assert 30 < values["rmse"] < 80 and values["mae"] < values["rmse"] and 0.2 < values["r2"] < 1
    assert "auc" not in values


def test_candidate_beats_weak_champion(classifier, weak_classifier) -> None:
    gates = parse_gates(
        [
            {"kind": "threshold", "metric": "auc", "threshold": 0.9},
            {"kind": "champion", "metric": "auc", "min_improvement": 0.01},
            {"kind": "latency", "max_p95_ms": 250},
            {"kind": "size", "max_bytes": 10_000_000},
        ]
    )
    report = evaluate_candidate(
        classifier.model, classifier.holdout, gates, champion=weak_classifier.model, latency_runs=20
    )
    assert report.passed, [d.reason for d in report.decisions]
    assert report.champion is not None
    assert report.decisions[1].champion_value == report.champion.values["auc"]
    swapped = evaluate_candidate(
        weak_classifier.model, classifier.holdout, gates, champion=classifier.model, latency_runs=20
    )
    assert [d.status for d in swapped.decisions][1] == "failed" and not swapped.passed


def test_no_champion_skips_change_gates(regressor) -> None:
    gates = parse_gates([{"kind": "champion", "metric": "rmse", "min_improvement": 0.05, "relative": True}])
    report = evaluate_candidate(regressor.model, regressor.holdout, gates, latency_runs=5)
    assert report.champion is None and report.decisions[0].status == "skipped" and report.passed


def test_holdout_without_a_feature_is_named(classifier) -> None:
    with pytest.raises(ValidationError) as err:
        evaluate_model(classifier.model, classifier.holdout.drop("mean_radius"), latency_runs=1)
    assert err.value.field == "mean_radius"
    with pytest.raises(ValidationError):
        evaluate_model(classifier.model, classifier.holdout.head(0), latency_runs=1)


def test_task_mismatch_between_candidate_and_champion(classifier, regressor) -> None:
    holdout = classifier.holdout.with_columns(pl.col("target").cast(pl.Float64))
    with pytest.raises(ValidationError, match="champion is a regression model") as err:
        evaluate_candidate(classifier.model, holdout, [], champion=regressor.model, latency_runs=1)
    assert err.value.field == "champion"

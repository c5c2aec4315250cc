"""Model-quality decision on labeled windows: quiet on the training distribution, fires on a label shift.

The model is the true P(y=1|x) of a seeded logistic problem (a calibrated classifier); its baseline
is measured once on a 2,000-row holdout, as registration does. Each draw is a fresh window of
``min_rows`` labeled rows, decided with the spec's defaults (accuracy, max_drop 0.05).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from shared.models.metrics import classification_metrics, regression_metrics
from shared.monitoring.quality import decide, labeled_rows, observed_metrics
from shared.pipeline.operations import QualityMonitoring

DRAWS = 100
DEFAULTS = QualityMonitoring()


def _rows(rng: np.random.Generator, n: int, flip: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=(n, 3))
    p = 1 / (1 + np.exp(-(x @ np.array([2.0, -1.5, 1.0]))))
    y = (rng.random(n) < p).astype(np.int64)
    if flip:  # label shift: the world changed what a score means
        y = np.where(rng.random(n) < flip, 1 - y, y)
    return np.column_stack([1 - p, p]), y


def _alarms(flip: float) -> list[str]:
    baseline = classification_metrics(*reversed(_rows(np.random.default_rng(1000), 2000)))
    statuses = []
    for seed in range(DRAWS):
        probs, y = _rows(np.random.default_rng(seed), DEFAULTS.min_rows, flip)
        observed = classification_metrics(y, probs)
        decision = decide(
            "accuracy", observed, baseline, len(y), max_drop=DEFAULTS.max_drop, min_rows=DEFAULTS.min_rows
        )
        statuses.append(decision.status)
    return statuses


def test_false_alarm_rate_on_the_training_distribution_is_under_5_percent() -> None:
    statuses = _alarms(flip=0.0)
    assert set(statuses) <= {"ok", "degraded"}
    assert statuses.count("degraded") / DRAWS < 0.05, statuses.count("degraded")


def test_a_label_shift_fires_on_nearly_every_draw() -> None:
    statuses = _alarms(flip=0.2)
    assert statuses.count("degraded") / DRAWS >= 0.95, statuses.count("degraded")


def test_below_min_rows_there_is_no_decision_and_no_baseline_is_said() -> None:
    few = decide("accuracy", {"accuracy": 0.1}, {"accuracy": 0.99}, 199, max_drop=0.05, min_rows=200)
    assert few.status == "insufficient_data" and "199 labeled rows < min_rows 200" in few.reason
    blind = decide("auc", {"auc": 0.5}, {"accuracy": 0.99}, 500, max_drop=0.05, min_rows=200)
    assert blind.status == "no_baseline"


def test_regression_drop_is_relative_to_the_baseline_by_default() -> None:
    # RMSE 10 -> 10.4 is a 4 % rise: within 5 %; 10 -> 10.6 is not. Lower is better.
    ok = decide("rmse", {"rmse": 10.4}, {"rmse": 10.0}, 300, max_drop=0.05, min_rows=200)
    bad = decide("rmse", {"rmse": 10.6}, {"rmse": 10.0}, 300, max_drop=0.05, min_rows=200)
    assert (ok.status, bad.status) == ("ok", "degraded")
    assert bad.allowed_drop == pytest.approx(0.5) and bad.drop == pytest.approx(0.6)
    absolute = decide(
        "rmse", {"rmse": 10.4}, {"rmse": 10.0}, 300, max_drop=0.05, min_rows=200, relative=False
    )
    assert absolute.status == "degraded"


def _joined(labels: list[object], probs: list[float], prediction: list[object]) -> pl.DataFrame:
    """A frame of the ``feedback.joined_window`` shape for a binary classifier with classes 0 and 1."""
    n = len(labels)
    return pl.DataFrame(
        {
            "id": [f"p{i}" for i in range(n)],
            "ts": [datetime(2026, 11, 30, 12, tzinfo=UTC)] * n,
            "version": ["000001"] * n,
            "prediction": prediction,
            "proba_0": pl.Series([1 - p for p in probs], dtype=pl.Float32),
            "proba_1": pl.Series(probs, dtype=pl.Float32),
            "label": labels,
            "observed_at": [None] * n,
        }
    )


def test_joined_rows_without_feedback_or_with_unknown_labels_are_left_out() -> None:
    frame = _joined([1, None, 0, 7, 1], [0.9, 0.8, 0.3, 0.6, 0.2], [1, 1, 0, 1, 0])
    labeled = labeled_rows(frame, "classification", [0, 1])
    assert (labeled.rows, labeled.labeled, labeled.unknown_labels) == (5, 3, 1)
    assert labeled.y.tolist() == [1, 0, 1]
    metrics = observed_metrics("classification", labeled)
    assert metrics["accuracy"] == pytest.approx(2 / 3)  # row 5 scored 0.2 for a true 1
    assert set(metrics) == {"accuracy", "auc", "f1"}


def test_boolean_and_float_labels_match_their_classes_by_text() -> None:
    booleans = _joined([True, False, None], [0.7, 0.4, 0.5], [True, False, True]).rename(
        {"proba_0": "proba_False", "proba_1": "proba_True"}
    )
    labeled = labeled_rows(booleans, "classification", [False, True])
    assert (labeled.labeled, labeled.unknown_labels, labeled.y.tolist()) == (2, 0, [1, 0])
    floats = _joined([1.0, 0.0, 0.5], [0.7, 0.4, 0.5], [1, 0, 1])
    labeled = labeled_rows(floats, "classification", [0, 1])
    assert (labeled.labeled, labeled.unknown_labels, labeled.y.tolist()) == (2, 1, [1, 0])


def test_regression_window_metrics_match_the_registry() -> None:
    frame = pl.DataFrame({"prediction": [1.0, 2.0, 3.0, 4.0], "label": [1.5, None, 2.0, 5.0]})
    labeled = labeled_rows(frame, "regression", None)
    expected = regression_metrics(np.array([1.5, 2.0, 5.0]), np.array([1.0, 3.0, 4.0]))
    assert observed_metrics("regression", labeled) == {"rmse": expected["rmse"], "mae": expected["mae"]}


def test_spec_quality_section_defaults_and_refusals() -> None:
    assert (DEFAULTS.metric, DEFAULTS.max_drop, DEFAULTS.min_rows, DEFAULTS.lookback_hours) == (
        None,
        0.05,
        200,
        24.0,
    )
    with pytest.raises(ValueError, match="log_loss"):
        QualityMonitoring(metric="log_loss")

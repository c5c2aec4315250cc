"""Label-free (CBPE-style) estimate: expected accuracy and AUC from calibrated probabilities.

Stated error, measured here on seeded data: with 2,000 holdout rows for the calibration and a
window of 2,000 rows from the same distribution, the estimate of accuracy and of AUC is within
0.04 of the observed metric on each of 30 seeds and within 0.015 on average (most of that is the
observed metric's own sampling error: about 0.01 at 2,000 rows). Under a concept shift (30 % of
the labels flipped) the estimate is off by more than 0.1: what it cannot see.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from shared.models.metrics import classification_metrics
from shared.monitoring import cbpe

ROWS = 2000
SEEDS = 30


def _data(
    rng: np.random.Generator, n: int, *, distort: float = 1.0, flip: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Binary rows whose true P(y=1|x) is a logistic; the model's probabilities are ``distort``-sharpened."""
    x = rng.normal(size=(n, 3))
    logit = x @ np.array([1.5, -1.0, 0.5]) + 0.3
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    if flip:
        y = np.where(rng.random(n) < flip, 1 - y, y)
    p = 1 / (1 + np.exp(-distort * logit))
    return np.column_stack([1 - p, p]), y


def _errors(distort: float, calibrate: bool, flip: float = 0.0) -> np.ndarray:
    out = []
    for seed in range(SEEDS):
        rng = np.random.default_rng(seed)
        holdout_p, holdout_y = _data(rng, ROWS, distort=distort)
        calibration = cbpe.fit_calibration(holdout_p, holdout_y, [0, 1]) if calibrate else None
        probs, y = _data(rng, ROWS, distort=distort, flip=flip)
        estimated = cbpe.estimate(probs, calibration)
        observed = classification_metrics(y, probs)
        out.append([estimated["accuracy"] - observed["accuracy"], estimated["auc"] - observed["auc"]])
    return np.abs(np.array(out))


@pytest.mark.parametrize("distort", [1.0, 2.5], ids=["calibrated-model", "overconfident-model"])
def test_estimate_is_within_the_stated_error_of_the_observed_metrics(distort: float) -> None:
    errors = _errors(distort, calibrate=True)
    assert errors.max() <= 0.04, errors.max(axis=0)
    assert errors.mean(axis=0).max() <= 0.015, errors.mean(axis=0)


def test_calibration_is_what_corrects_an_overconfident_model() -> None:
    raw = _errors(2.5, calibrate=False)
    assert raw.mean(axis=0).min() > 0.08, raw.mean(axis=0)  # the model's own probabilities lie


def test_estimate_is_visibly_off_under_a_concept_shift() -> None:
    errors = _errors(1.0, calibrate=True, flip=0.3)
    assert errors.min() > 0.1, errors.min(axis=0)


def test_weighted_auc_with_hard_labels_is_the_ordinary_auc_ties_included() -> None:
    rng = np.random.default_rng(7)
    score = np.round(rng.random(500), 1)  # many ties
    y = (rng.random(500) < score).astype(np.float64)
    assert cbpe.weighted_auc(score, y) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert cbpe.weighted_auc(score, np.ones(500)) is None  # no negatives: undefined


def test_multiclass_estimate_and_calibration_round_trip() -> None:
    rng = np.random.default_rng(3)

    def rows(n: int) -> tuple[np.ndarray, np.ndarray]:
        logits = rng.normal(size=(n, 2)) @ np.array([[2.0, -1.0, 0.0], [0.0, 1.5, -1.5]])
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        y = np.array([rng.choice(3, p=row) for row in p])
        return p, y

    holdout_p, holdout_y = rows(ROWS)
    calibration = cbpe.fit_calibration(holdout_p, holdout_y, ["a", "b", "c"])
    stored = cbpe.Calibration.model_validate_json(calibration.model_dump_json())
    probs, y = rows(ROWS)
    estimated = cbpe.estimate(probs, stored)
    observed = classification_metrics(y, probs)
    assert abs(estimated["accuracy"] - observed["accuracy"]) <= 0.04
    assert abs(estimated["auc"] - observed["auc"]) <= 0.04
    assert np.allclose(stored.apply(probs).sum(axis=1), 1.0)


def test_small_holdouts_get_the_identity_map_and_empty_windows_no_estimate() -> None:
    probs = np.array([[0.2, 0.8], [0.9, 0.1]])
    calibration = cbpe.fit_calibration(probs, np.array([1, 0]), [0, 1])
    assert calibration.method == "identity"
    assert np.allclose(calibration.apply(probs), probs)
    assert cbpe.estimate(np.empty((0, 2)), calibration) == {"accuracy": None, "auc": None}
    assert cbpe.compare({"accuracy": 0.9, "auc": None}, {"accuracy": 0.8}) == {
        "accuracy": {"estimated": 0.9, "observed": 0.8, "difference": pytest.approx(0.1)},
        "auc": {"estimated": None, "observed": None, "difference": None},
    }

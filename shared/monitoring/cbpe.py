"""Label-free performance estimate of a classifier (CBPE-style) from calibrated probabilities.

Confidence-based performance estimation: if ``q_ik`` is the calibrated probability that row ``i``
belongs to class ``k``, the expected value of any metric that is a sum over rows follows from the
``q`` alone, no labels needed.

* Expected accuracy = mean of ``q_i,pred_i`` (the calibrated probability of the predicted class).
* Expected AUC (one class vs the rest): every row is counted as a positive with weight ``q_ik`` and
  as a negative with weight ``1 - q_ik``; the AUC of these weighted pairs, ranked by the model's
  own score ``p_ik``, is the expected ROC AUC. Multiclass takes the macro mean over classes.

It holds while P(y | x) stays as it was on the holdout the calibration was fitted on (covariate
shift is fine, concept shift is not): a label shift that changes what a score means is exactly
what the estimate cannot see, which is why it is reported next to the observed metric when labels
exist.

The calibration map is fitted per class on the model's holdout split (isotonic regression of the
one-vs-rest indicator on the model's probability) and stored as knots: applying it is a
``np.interp`` between them, so the stored JSON needs nothing but numpy to use.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ValidationError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Fewer holdout rows than this and the calibration is the identity (isotonic would overfit).
MIN_CALIBRATION_ROWS = 20


class ClassCalibration(BaseModel):
    """Isotonic map of one class's probability: knots ``x`` (model score) -> ``y`` (frequency)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    x: list[float] = Field(description="Increasing model probabilities (knots).")
    y: list[float] = Field(description="Calibrated probability at each knot (non-decreasing).")


class Calibration(BaseModel):
    """Per-class calibration maps of one model version, fitted on its holdout split."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = Field(default=1, description="Layout version of this document.")
    classes: list[str] = Field(description="Class labels as text, in probability column order.")
    rows: int = Field(description="Holdout rows the maps were fitted on.")
    method: str = Field(default="isotonic", description="isotonic, or identity (too few rows).")
    maps: list[ClassCalibration] = Field(description="One map per class (binary: both classes).")

    def apply(self, probs: FloatArray) -> FloatArray:
        """Calibrated probabilities ``[rows, classes]`` (rows renormalised to sum to 1)."""
        probs = np.asarray(probs, dtype=np.float64)
        if probs.ndim != 2 or probs.shape[1] != len(self.maps):
            raise ValidationError(
                f"probabilities have shape {probs.shape}, calibration has {len(self.maps)} classes",
                field="probabilities",
            )
        if self.method == "identity":
            out = probs.copy()
        else:
            out = (
                np.column_stack([np.interp(probs[:, k], m.x, m.y) for k, m in enumerate(self.maps)])
                if probs.shape[0]
                else np.empty_like(probs)
            )
        total = out.sum(axis=1, keepdims=True)
        # A row every map sends to 0 keeps the model's own probabilities rather than dividing by 0.
        flat = total[:, 0] <= 1e-12
        out[flat] = probs[flat]
        total[flat] = np.clip(probs[flat].sum(axis=1, keepdims=True), 1e-12, None)
        return np.asarray(out / total, dtype=np.float64)


def _isotonic(score: FloatArray, hit: FloatArray) -> ClassCalibration:
    """Knots of the isotonic (non-decreasing) fit of ``hit`` on ``score``, clipped to [0, 1]."""
    from sklearn.isotonic import IsotonicRegression

    fit = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(score, hit)
    x = np.asarray(fit.X_thresholds_, dtype=np.float64)
    y = np.asarray(fit.y_thresholds_, dtype=np.float64)
    return ClassCalibration(x=x.tolist(), y=y.tolist())


def fit_calibration(probs: FloatArray, y: IntArray, classes: list[Any]) -> Calibration:
    """Per-class isotonic calibration of holdout probabilities ``[rows, classes]`` vs class indices."""
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    names = [str(c) for c in classes]
    if probs.ndim != 2 or probs.shape[1] != len(names) or probs.shape[0] != y.shape[0]:
        raise ValidationError(
            f"holdout probabilities {probs.shape} do not fit {len(names)} classes and {y.shape[0]} labels",
            field="probabilities",
        )
    rows = int(probs.shape[0])
    if rows < MIN_CALIBRATION_ROWS:
        identity = [ClassCalibration(x=[0.0, 1.0], y=[0.0, 1.0]) for _ in names]
        return Calibration(classes=names, rows=rows, method="identity", maps=identity)
    maps = [_isotonic(probs[:, k], (y == k).astype(np.float64)) for k in range(len(names))]
    return Calibration(classes=names, rows=rows, maps=maps)


def weighted_auc(score: FloatArray, positive: FloatArray) -> float | None:
    """ROC AUC of rows ranked by ``score``, each a positive with weight ``positive`` and a negative
    with weight ``1 - positive`` (0/1 weights give the ordinary AUC; ties count one half).

    None when either side has no weight (AUC undefined).
    """
    s = np.asarray(score, dtype=np.float64)
    w = np.asarray(positive, dtype=np.float64)
    total_pos, total_neg = float(w.sum()), float((1.0 - w).sum())
    if s.size == 0 or total_pos <= 0 or total_neg <= 0:
        return None
    order = np.argsort(s, kind="stable")
    s, w = s[order], w[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])  # one group per distinct score
    pos = np.add.reduceat(w, starts)
    neg = np.add.reduceat(1.0 - w, starts)
    neg_below = np.cumsum(neg) - neg
    return float((pos * (neg_below + 0.5 * neg)).sum() / (total_pos * total_neg))


def multiclass_auc(probs: FloatArray, weights: FloatArray) -> float | None:
    """Binary: AUC of class 1's score; multiclass: macro mean of one-vs-rest AUCs (None if undefined)."""
    if probs.shape[1] == 2:
        return weighted_auc(probs[:, 1], weights[:, 1])
    aucs = [weighted_auc(probs[:, k], weights[:, k]) for k in range(probs.shape[1])]
    if any(a is None for a in aucs):
        return None  # like sklearn: macro one-vs-rest needs every class present
    return float(np.mean([a for a in aucs if a is not None]))


def estimate(probs: FloatArray, calibration: Calibration | None) -> dict[str, float | None]:
    """Expected accuracy and AUC of rows with model probabilities ``[rows, classes]``, no labels."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape[0] == 0:
        return {"accuracy": None, "auc": None}
    calibrated = calibration.apply(probs) if calibration is not None else probs
    predicted = np.argmax(probs, axis=1)  # the model's label: argmax of its own probabilities
    accuracy = float(calibrated[np.arange(probs.shape[0]), predicted].mean())
    return {"accuracy": accuracy, "auc": multiclass_auc(probs, calibrated)}


def compare(estimated: dict[str, float | None], observed: dict[str, float]) -> dict[str, dict[str, Any]]:
    """Estimate next to the observed metric (when labels exist) and their difference (est - obs)."""
    out: dict[str, dict[str, Any]] = {}
    for name, value in estimated.items():
        seen = observed.get(name)
        diff = value - seen if value is not None and seen is not None else None
        out[name] = {"estimated": value, "observed": seen, "difference": diff}
    return out

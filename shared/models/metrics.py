"""Metric computations and which way each metric is better."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)

from shared.errors import ValidationError

Direction = Literal["higher", "lower"]

#: Every metric a gate may name, with the direction in which it improves.
DIRECTIONS: dict[str, Direction] = {
    "auc": "higher",
    "accuracy": "higher",
    "f1": "higher",
    "r2": "higher",
    "rmse": "lower",
    "mae": "lower",
    "latency_p95_ms": "lower",
    "size_bytes": "lower",
}


def direction_of(metric: str, field: str = "metric") -> Direction:
    """``higher`` or ``lower``: the direction in which ``metric`` improves."""
    try:
        return DIRECTIONS[metric]
    except KeyError:
        known = ", ".join(sorted(DIRECTIONS))
        raise ValidationError(f"unknown metric {metric!r}; known: {known}", field=field) from None


def classification_metrics(y: np.ndarray[Any, Any], probs: np.ndarray[Any, Any]) -> dict[str, float]:
    """AUC, accuracy and F1 from class indices and probabilities (binary F1, or macro for multiclass)."""
    pred = np.argmax(probs, axis=1)
    out = {"accuracy": float(accuracy_score(y, pred))}
    n_classes = probs.shape[1]
    if n_classes == 2:
        out["f1"] = float(f1_score(y, pred, average="binary", pos_label=1, zero_division=0))
    else:
        out["f1"] = float(f1_score(y, pred, average="macro", zero_division=0))
    present = np.unique(y)
    # AUC is undefined with one class present; leave it out rather than report a made-up number.
    if len(present) >= 2:
        if n_classes == 2:
            out["auc"] = float(roc_auc_score(y, probs[:, 1]))
        elif len(present) == n_classes:
            norm = probs / np.clip(probs.sum(axis=1, keepdims=True), 1e-12, None)
            out["auc"] = float(roc_auc_score(y, norm, multi_class="ovr", average="macro"))
    return out


def regression_metrics(y: np.ndarray[Any, Any], pred: np.ndarray[Any, Any]) -> dict[str, float]:
    """RMSE, MAE and R2."""
    out = {
        "rmse": float(np.sqrt(mean_squared_error(y, pred))),
        "mae": float(mean_absolute_error(y, pred)),
    }
    if len(y) >= 2:
        out["r2"] = float(r2_score(y, pred))
    return out

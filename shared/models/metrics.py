"""The one metric registry: every metric a spec may gate on, its direction, range, task and computation.

Spec validation and the gates both read :data:`REGISTRY`, so a gate valid at submission is a gate
the evaluator can decide. numpy and scikit-learn are imported inside the computations only: a spec
is validated at app import time and must not pay for (or depend on) the numeric stack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from shared.errors import ValidationError

if TYPE_CHECKING:
    import numpy as np

Direction = Literal["higher", "lower"]
Task = Literal["classification", "regression"]

#: Metrics measured on the ONNX model itself rather than computed from predictions.
MEASURED = ("latency_p95_ms", "size_bytes")


@dataclass(frozen=True)
class Metric:
    """One gateable metric: which way is better, where its values lie, which tasks have it."""

    name: str
    direction: Direction
    low: float
    high: float
    tasks: frozenset[str]

    def check_bound(self, value: float) -> str | None:
        """Why a gate bound of ``value`` can never be met or missed (None when it is reachable)."""
        if self.low <= value <= self.high:
            return None
        return f"{self.name} lies in [{self.low:g}, {self.high:g}]; {value:g} is unreachable"


_CLS = frozenset({"classification"})
_REG = frozenset({"regression"})
_BOTH = _CLS | _REG
_INF = math.inf

#: Every metric a gate may name. Add a metric here and in its task's compute function below.
REGISTRY: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", "higher", 0.0, 1.0, _CLS),
        Metric("auc", "higher", 0.0, 1.0, _CLS),
        Metric("f1", "higher", 0.0, 1.0, _CLS),
        Metric("precision", "higher", 0.0, 1.0, _CLS),
        Metric("recall", "higher", 0.0, 1.0, _CLS),
        Metric("log_loss", "lower", 0.0, _INF, _CLS),
        Metric("brier", "lower", 0.0, 1.0, _CLS),
        Metric("rmse", "lower", 0.0, _INF, _REG),
        Metric("mse", "lower", 0.0, _INF, _REG),
        Metric("mae", "lower", 0.0, _INF, _REG),
        Metric("mape", "lower", 0.0, _INF, _REG),
        Metric("r2", "higher", -_INF, 1.0, _REG),
        Metric("latency_p95_ms", "lower", 0.0, _INF, _BOTH),
        Metric("size_bytes", "lower", 0.0, _INF, _BOTH),
    )
}


def metrics_for(task: str) -> dict[str, Direction]:
    """The gateable metrics of a task (``classification`` or ``regression``) and their directions."""
    return {name: m.direction for name, m in REGISTRY.items() if task in m.tasks}


def lookup(metric: str, task: str | None = None, field: str = "metric") -> Metric:
    """The registry entry of ``metric``; ValidationError naming ``field`` when unknown (for ``task``)."""
    entry = REGISTRY.get(metric)
    if entry is None or (task is not None and task not in entry.tasks):
        known = ", ".join(sorted(metrics_for(task) if task else REGISTRY))
        scope = f" for {task}" if task else ""
        raise ValidationError(f"metric {metric!r} is not valid{scope}; use one of: {known}", field=field)
    return entry


def direction_of(metric: str, field: str = "metric") -> Direction:
    """``higher`` or ``lower``: the direction in which ``metric`` improves."""
    return lookup(metric, field=field).direction


def classification_metrics(y: np.ndarray[Any, Any], probs: np.ndarray[Any, Any]) -> dict[str, float]:
    """Every classification metric from class indices and probabilities (macro averages for multiclass)."""
    import numpy as np
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        log_loss,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    n_classes = probs.shape[1]
    pred = np.argmax(probs, axis=1)
    avg: dict[str, Any] = {"average": "binary", "pos_label": 1} if n_classes == 2 else {"average": "macro"}
    norm = probs / np.clip(probs.sum(axis=1, keepdims=True), 1e-12, None)
    onehot = np.eye(n_classes)[y]
    out = {
        "accuracy": float(accuracy_score(y, pred)),
        "f1": float(f1_score(y, pred, zero_division=0, **avg)),
        "precision": float(precision_score(y, pred, zero_division=0, **avg)),
        "recall": float(recall_score(y, pred, zero_division=0, **avg)),
        "log_loss": float(log_loss(y, norm, labels=list(range(n_classes)))),
        # Half the summed squared error per row: the binary Brier score, kept in [0, 1] for k classes.
        "brier": float(np.mean(np.sum((norm - onehot) ** 2, axis=1)) / 2.0),
    }
    present = np.unique(y)
    # AUC is undefined with one class present; leave it out rather than report a made-up number.
    if len(present) >= 2:
        if n_classes == 2:
            out["auc"] = float(roc_auc_score(y, norm[:, 1]))
        elif len(present) == n_classes:
            out["auc"] = float(roc_auc_score(y, norm, multi_class="ovr", average="macro"))
    return out


def regression_metrics(y: np.ndarray[Any, Any], pred: np.ndarray[Any, Any]) -> dict[str, float]:
    """Every regression metric; MAPE over rows with a non-zero target, R2 from two rows on."""
    import numpy as np
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    mse = float(mean_squared_error(y, pred))
    out = {"rmse": math.sqrt(mse), "mse": mse, "mae": float(mean_absolute_error(y, pred))}
    nonzero = y != 0
    # sklearn's MAPE divides by a tiny epsilon for zero targets and reports astronomical values.
    if nonzero.any():
        out["mape"] = float(np.mean(np.abs((y[nonzero] - pred[nonzero]) / y[nonzero])))
    if len(y) >= 2:
        out["r2"] = float(r2_score(y, pred))
    return out

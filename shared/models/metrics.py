"""The one metric registry: every metric a spec may gate on, its direction, range, task and computation.

Spec validation and the gates both read :data:`REGISTRY`, so a gate valid at submission is a gate
the evaluator can decide. numpy is imported inside the computations only: a spec
is validated at app import time and must not pay for (or depend on) the numeric stack. The
computations are numpy only: a training job's child process needs no scikit-learn for its metrics.
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


def _ranks(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """1-based ranks with ties given their average rank (as the Mann-Whitney statistic needs)."""
    import numpy as np

    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    # Start of each run of equal values, and the average rank of the run.
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    average = (starts + ends + 1) / 2.0
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(average, ends - starts)
    return ranks


def binary_auc(positive: np.ndarray[Any, Any], score: np.ndarray[Any, Any]) -> float:
    """ROC AUC of ``score`` for the boolean ``positive`` (Mann-Whitney U with tied scores halved)."""
    import numpy as np

    n_pos = int(np.count_nonzero(positive))
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValidationError("AUC needs both classes among the labels", field="labels")
    rank_sum = float(_ranks(np.asarray(score, dtype=np.float64))[positive].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def _precision_recall_f1(
    y: np.ndarray[Any, Any], pred: np.ndarray[Any, Any], n_classes: int
) -> tuple[float, float, float]:
    """Binary (positive class 1) or macro precision, recall and F1; 0 where a ratio is 0/0."""
    import numpy as np

    # Binary: the positive class only. Macro: every class seen in the labels or the predictions.
    labels = np.array([1]) if n_classes == 2 else np.union1d(np.unique(y), np.unique(pred))
    tp = np.array([np.count_nonzero((pred == c) & (y == c)) for c in labels], dtype=np.float64)
    predicted = np.array([np.count_nonzero(pred == c) for c in labels], dtype=np.float64)
    actual = np.array([np.count_nonzero(y == c) for c in labels], dtype=np.float64)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(tp), where=total > 0)
    return float(precision.mean()), float(recall.mean()), float(f1.mean())


def classification_metrics(y: np.ndarray[Any, Any], probs: np.ndarray[Any, Any]) -> dict[str, float]:
    """Every classification metric from class indices and probabilities (macro averages for multiclass).

    numpy only, so a training job's child process does not load scikit-learn for its metrics; the
    values equal scikit-learn's (``tests/unit/models/test_metrics.py`` checks them side by side).
    """
    import numpy as np

    y = np.asarray(y)
    n_classes = probs.shape[1]
    pred = np.argmax(probs, axis=1)
    norm = probs / np.clip(probs.sum(axis=1, keepdims=True), 1e-12, None)
    onehot = np.eye(n_classes)[y]
    precision, recall, f1 = _precision_recall_f1(y, pred, n_classes)
    # scikit-learn's log loss clips at the probabilities' own float precision.
    eps = np.finfo(norm.dtype).eps if np.issubdtype(norm.dtype, np.floating) else np.finfo(np.float64).eps
    clipped = np.clip(norm, eps, 1 - eps)
    out = {
        "accuracy": float(np.mean(pred == y)),
        "f1": f1,
        "precision": precision,
        "recall": recall,
        "log_loss": float(-np.mean(np.sum(onehot * np.log(clipped), axis=1))),
        # Half the summed squared error per row: the binary Brier score, kept in [0, 1] for k classes.
        "brier": float(np.mean(np.sum((norm - onehot) ** 2, axis=1)) / 2.0),
    }
    present = np.unique(y)
    # AUC is undefined with one class present; leave it out rather than report a made-up number.
    if len(present) >= 2:
        if n_classes == 2:
            out["auc"] = binary_auc(y == 1, norm[:, 1])
        elif len(present) == n_classes:
            out["auc"] = float(np.mean([binary_auc(y == c, norm[:, c]) for c in range(n_classes)]))
    return out


def regression_metrics(y: np.ndarray[Any, Any], pred: np.ndarray[Any, Any]) -> dict[str, float]:
    """Every regression metric; MAPE over rows with a non-zero target, R2 from two rows on."""
    import numpy as np

    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    error = y - pred
    mse = float(np.mean(error**2))
    out = {"rmse": math.sqrt(mse), "mse": mse, "mae": float(np.mean(np.abs(error)))}
    nonzero = y != 0
    # A tiny epsilon for zero targets (as scikit-learn's MAPE does) reports astronomical values.
    if nonzero.any():
        out["mape"] = float(np.mean(np.abs(error[nonzero] / y[nonzero])))
    if len(y) >= 2:
        residual = float(np.sum(error**2))
        spread = float(np.sum((y - y.mean()) ** 2))
        # A constant target: scikit-learn's convention (1 for a perfect fit, else 0), never inf/nan.
        out["r2"] = 1.0 - residual / spread if spread > 0 else (1.0 if residual == 0 else 0.0)
    return out

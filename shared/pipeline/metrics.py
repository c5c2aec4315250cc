"""Metric names each task may gate on, and which way is better for each."""

from __future__ import annotations

from typing import Literal

Direction = Literal["higher", "lower"]

#: Metrics a classification model can be gated on, with the direction that is better.
CLASSIFICATION_METRICS: dict[str, Direction] = {
    "accuracy": "higher",
    "auc": "higher",
    "f1": "higher",
    "precision": "higher",
    "recall": "higher",
    "log_loss": "lower",
    "brier": "lower",
}

#: Metrics a regression model can be gated on, with the direction that is better.
REGRESSION_METRICS: dict[str, Direction] = {
    "rmse": "lower",
    "mse": "lower",
    "mae": "lower",
    "mape": "lower",
    "r2": "higher",
}

#: Metrics whose values lie in [0, 1], so a bound outside it is a mistake.
UNIT_INTERVAL_METRICS = frozenset({"accuracy", "auc", "f1", "precision", "recall", "brier"})

_BY_TASK: dict[str, dict[str, Direction]] = {
    "classification": CLASSIFICATION_METRICS,
    "regression": REGRESSION_METRICS,
}


def metrics_for(task: str) -> dict[str, Direction]:
    """The gateable metrics of a task (``classification`` or ``regression``) and their directions."""
    return _BY_TASK[task]


def metric_direction(task: str, metric: str) -> Direction:
    """Whether a higher or a lower value of ``metric`` is better; KeyError when not valid for ``task``."""
    return _BY_TASK[task][metric]

"""Model quality on labeled predictions: the task's metrics on a window, and the drop decision.

Pure functions over the joined frame of ``shared.steps.feedback.joined_window`` (one row per
prediction: ``prediction``, ``proba_<class>`` per class of a classifier, ``label`` null until
feedback arrives). Classification reports accuracy, AUC (binary; macro one-vs-rest for multiclass)
and F1 (binary for class 1, macro for multiclass), computed by the same registry functions as the
holdout metrics stored with the model, so the baseline and the window are measured alike.
Regression reports RMSE and MAE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from shared.models.metrics import REGISTRY, classification_metrics, regression_metrics

PROBA_PREFIX = "proba_"
LABEL = "label"
PREDICTION = "prediction"
#: The metrics a quality check reports per task.
REPORTED = {"classification": ("accuracy", "auc", "f1"), "regression": ("rmse", "mae")}
DEFAULT_METRIC = {"classification": "accuracy", "regression": "rmse"}

QualityStatus = Literal["ok", "degraded", "insufficient_data", "no_baseline"]


@dataclass(frozen=True)
class Labeled:
    """The labeled rows of a window as arrays: class indices + probabilities, or targets + values."""

    rows: int
    """Rows in the window (labeled or not)."""
    y: npt.NDArray[Any]
    """Class index (classification) or target value (regression) per labeled row."""
    probabilities: npt.NDArray[np.float64] | None
    """``[labeled, classes]`` model probabilities (classification)."""
    values: npt.NDArray[np.float64] | None
    """Predicted value per labeled row (regression)."""
    unknown_labels: int = 0
    """Labels the model does not know (not a class of it): left out of the metrics."""

    @property
    def labeled(self) -> int:
        """Rows with a usable label."""
        return int(self.y.shape[0])


def probability_columns(classes: list[Any]) -> list[str]:
    """The joined frame's probability columns, in the model's class order."""
    return [f"{PROBA_PREFIX}{c}" for c in classes]


def labeled_rows(frame: pl.DataFrame, task: str, classes: list[Any] | None) -> Labeled:
    """The rows of a joined window that have feedback, as arrays for the metrics."""
    rows = frame.height
    with_label = frame.filter(pl.col(LABEL).is_not_null()) if LABEL in frame.columns else frame.clear()
    if task == "classification":
        names = [str(c) for c in classes or []]
        columns = probability_columns(names)
        index = {name: i for i, name in enumerate(names)}
        # Labels are matched by their text, like the proba_<class> columns (str(label): "True").
        label = pl.col(LABEL)
        dtype = with_label.schema.get(LABEL)
        if dtype == pl.Boolean:
            text = pl.when(label).then(pl.lit("True")).otherwise(pl.lit("False"))
        elif dtype is not None and dtype.is_float():  # 1.0 names class 1
            whole = label == label.round()
            text = pl.when(whole).then(label.cast(pl.Int64).cast(pl.String)).otherwise(label.cast(pl.String))
        else:
            text = label.cast(pl.String)
        y_all = (
            with_label.select(text.replace_strict(index, default=None, return_dtype=pl.Int64)).to_series()
            if with_label.height
            else pl.Series(LABEL, [], dtype=pl.Int64)
        )
        known = y_all.is_not_null()
        kept = with_label.filter(known)
        probs = (
            kept.select([pl.col(c).cast(pl.Float64) for c in columns]).to_numpy()
            if kept.height
            else np.empty((0, len(names)))
        )
        return Labeled(
            rows=rows,
            y=y_all.filter(known).to_numpy().astype(np.int64),
            probabilities=np.asarray(probs, dtype=np.float64),
            values=None,
            unknown_labels=int(with_label.height - kept.height),
        )
    kept = with_label.filter(pl.col(PREDICTION).is_not_null())
    return Labeled(
        rows=rows,
        y=kept.get_column(LABEL).cast(pl.Float64).to_numpy(),
        probabilities=None,
        values=kept.get_column(PREDICTION).cast(pl.Float64).to_numpy(),
    )


def observed_metrics(task: str, labeled: Labeled) -> dict[str, float]:
    """The task's reported metrics on the labeled rows (empty when there are none)."""
    if labeled.labeled == 0:
        return {}
    if task == "classification":
        assert labeled.probabilities is not None
        every = classification_metrics(labeled.y, labeled.probabilities)
    else:
        assert labeled.values is not None
        every = regression_metrics(labeled.y, labeled.values)
    return {name: every[name] for name in REPORTED[task] if name in every}


class QualityDecision(BaseModel):
    """Whether a window's metric fell further below the holdout baseline than allowed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: QualityStatus = Field(description="ok, degraded, insufficient_data or no_baseline.")
    metric: str = Field(description="Metric decided on.")
    observed: float | None = Field(description="The metric on the window's labeled rows.")
    baseline: float | None = Field(description="The metric on the training holdout (model record).")
    drop: float | None = Field(description="How much worse than the baseline (positive = worse).")
    allowed_drop: float = Field(description="Largest drop that is not an alarm, in metric units.")
    rows: int = Field(description="Labeled rows the metric was computed on.")
    min_rows: int = Field(description="Fewest labeled rows a decision needs.")
    reason: str = Field(description="The decision in words.")


def decide(
    metric: str,
    observed: dict[str, float],
    baseline: dict[str, float],
    rows: int,
    *,
    max_drop: float,
    min_rows: int,
    relative: bool | None = None,
) -> QualityDecision:
    """``degraded`` when ``metric`` is worse than its baseline by more than ``max_drop``.

    ``relative``: the drop is a fraction of the baseline; None means relative for metrics without
    an upper bound (RMSE, MAE: their scale is the target's) and absolute for bounded ones (accuracy).
    Below ``min_rows`` labeled rows there is no decision (``insufficient_data``), never an alarm.
    """
    entry = REGISTRY[metric]
    base = baseline.get(metric)
    value = observed.get(metric)
    if relative is None:
        relative = not np.isfinite(entry.high)
    allowed = max_drop * abs(base) if relative and base is not None else max_drop

    def outcome(status: QualityStatus, reason: str, drop: float | None = None) -> QualityDecision:
        return QualityDecision(
            status=status, metric=metric, observed=value, baseline=base, drop=drop,
            allowed_drop=allowed, rows=rows, min_rows=min_rows, reason=reason,
        )  # fmt: skip

    if rows < min_rows:
        return outcome("insufficient_data", f"{rows} labeled rows < min_rows {min_rows}: no decision")
    if base is None:
        return outcome("no_baseline", f"the model's record has no holdout {metric}: nothing to compare with")
    if value is None:
        return outcome("insufficient_data", f"{metric} is undefined on this window (one class only?)")
    drop = base - value if entry.direction == "higher" else value - base
    degraded = drop > allowed
    verdict = "exceeds" if degraded else "within"
    reason = (
        f"{metric} {value:.4f} vs holdout {base:.4f} (drop {drop:+.4f} {verdict} allowed {allowed:.4f}) "
        f"on {rows} labeled rows"
    )
    return outcome("degraded" if degraded else "ok", reason, drop)

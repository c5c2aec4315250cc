"""Data-quality signals of an inference-log window against the training profile.

Rates (each None when it cannot be measured, never a made-up 0):

* ``null_rate`` = null or left-out feature values / (rows x features). Raw-columns models log a
  per-row count of them (``__nulls__``, every feature including categories); matrix models refuse
  nulls at scoring, so their logged values are counted (NaN) instead.
* ``out_of_range_rate`` = logged numeric values outside the training range / numeric values
  checked. The range is the reference profile's [min, max] (a low-cardinality numeric column's
  smallest and largest category) rounded to float32, the precision the log keeps: a value equal
  to the training maximum is never out of range by a rounding step.
* ``unseen_category_rate`` = category values never seen in training / (rows x category features)
  (``__unseen__`` per row); None for a model without category features.
* ``type_error_rate`` = rows scoring refused for a wrong type or value / rows offered, both counted
  on every served request, unsampled (``type_errors`` and ``rows_offered`` in
  ``LogWindow.quality()``, see ``shared.steps.inference_log``); None when the log has no counts.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from shared.monitoring.reference import CategoricalReference, NumericReference, ReferenceProfile


class DataQuality(BaseModel):
    """Data-quality counts and rates of one window (see the module docstring for definitions)."""

    model_config = ConfigDict(extra="forbid")

    rows: int = Field(description="Rows in the window.")
    nulls: int = Field(default=0, description="Null or left-out feature values.")
    null_rate: float | None = Field(default=None, description="nulls / (rows x features).")
    rows_with_nulls: int | None = Field(default=None, description="Rows with at least one null feature.")
    out_of_range: int = Field(default=0, description="Numeric values outside the training [min, max].")
    range_checked: int = Field(default=0, description="Numeric values compared with the training range.")
    out_of_range_rate: float | None = Field(default=None, description="out_of_range / range_checked.")
    out_of_range_columns: dict[str, int] = Field(
        default_factory=dict, description="Out-of-range values per column (columns with any)."
    )
    unseen_categories: int = Field(default=0, description="Category values never seen in training.")
    unseen_category_rate: float | None = Field(
        default=None, description="unseen_categories / (rows x category features)."
    )
    type_errors: int | None = Field(default=None, description="Rows refused for a wrong type, if known.")
    type_error_rate: float | None = Field(default=None, description="type_errors / rows offered, if known.")
    notes: list[str] = Field(default_factory=list, description="What could not be measured, and why.")


def training_range(reference: ReferenceProfile, name: str) -> tuple[float, float] | None:
    """[min, max] of a column in training: a numeric column's, or a numeric-valued categorical's
    smallest and largest category (when every category was kept); None when it has none."""
    ref = reference.columns.get(name)
    if isinstance(ref, NumericReference):
        return None if ref.min is None or ref.max is None else (ref.min, ref.max)
    if isinstance(ref, CategoricalReference) and ref.numeric_source and ref.counts and not ref.other_count:
        try:
            values = [float(key) for key in ref.counts]
        except ValueError:
            return None
        return min(values), max(values)
    return None


def range_counts(frame: pl.DataFrame, reference: ReferenceProfile) -> dict[str, tuple[int, int]]:
    """Per numeric reference column in ``frame``: (values outside the float32 range, values checked)."""
    exprs = []
    names = []
    for name in frame.columns:
        bounds = training_range(reference, name)
        if bounds is None:
            continue
        low, high = float(np.float32(bounds[0])), float(np.float32(bounds[1]))
        value = pl.col(name).cast(pl.Float64)
        finite = value.is_not_null() & value.is_finite()
        exprs += [
            (finite & ((value < low) | (value > high))).sum().alias(f"{name}\0out"),
            finite.sum().alias(f"{name}\0n"),
        ]
        names.append(name)
    if not exprs:
        return {}
    sums = frame.select(exprs).row(0)
    return {name: (int(sums[2 * i]), int(sums[2 * i + 1])) for i, name in enumerate(names)}


def null_count(frame: pl.DataFrame) -> int:
    """Null and NaN values in ``frame`` (the log writes a missing numeric feature as NaN)."""
    if frame.width == 0:
        return 0
    exprs = [
        (pl.col(c).is_null() | pl.col(c).is_nan()).sum()
        if frame.schema[c].is_float()
        else pl.col(c).is_null().sum()
        for c in frame.columns
    ]
    return int(sum(frame.select(exprs).row(0)))


def _rate(part: int | None, whole: int) -> float | None:
    return None if part is None or whole <= 0 else part / whole


def summarise(
    rows: int,
    counts: Mapping[str, int],
    ranges: Mapping[str, tuple[int, int]],
    logged_nulls: int,
    logged_features: int,
    features: int,
    category_features: int,
) -> DataQuality:
    """The window's DataQuality from the log's per-row counts, range counts and logged null count.

    ``counts`` is ``LogWindow.quality()``: rows carrying per-row counts, ``nulls``,
    ``rows_with_nulls``, ``unseen_categories`` and, when the log keeps them, ``type_errors`` (and
    ``rows_offered``, rows scored plus refused).
    """
    notes: list[str] = []
    counted = int(counts.get("rows", 0))
    if counted:  # raw-columns rows carry their own null counts over every feature
        nulls, cells, with_nulls = (
            int(counts.get("nulls", 0)),
            counted * features,
            counts.get("rows_with_nulls"),
        )
    else:
        nulls, cells, with_nulls = logged_nulls, rows * logged_features, None
    out = sum(o for o, _ in ranges.values())
    checked = sum(n for _, n in ranges.values())
    unseen = int(counts.get("unseen_categories", 0))
    if category_features:
        unseen_rate = _rate(unseen, counted * category_features)
    else:
        unseen_rate = None
        notes.append("unseen categories: the model has no category features")
    type_errors = counts.get("type_errors")
    offered = int(counts.get("rows_offered", rows + (type_errors or 0)))
    if type_errors is None:
        notes.append("type errors: not available (the window's log has no offered-rows counts)")
    if not ranges:
        notes.append("out of range: no logged numeric feature has a training range")
    return DataQuality(
        rows=rows,
        nulls=nulls,
        null_rate=_rate(nulls, cells),
        rows_with_nulls=None if with_nulls is None else int(with_nulls),
        out_of_range=out,
        range_checked=checked,
        out_of_range_rate=_rate(out, checked),
        out_of_range_columns={name: o for name, (o, _) in sorted(ranges.items()) if o},
        unseen_categories=unseen,
        unseen_category_rate=unseen_rate,
        type_errors=None if type_errors is None else int(type_errors),
        type_error_rate=None if type_errors is None else _rate(int(type_errors), offered),
        notes=notes,
    )

"""Column extraction shared by the reference builder and the drift run: finite sorted values, counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class SortedNumeric:
    """Finite values of a column, sorted, with what was dropped to get them."""

    values: FloatArray
    n_null: int
    n_nonfinite: int


@dataclass(frozen=True, slots=True)
class CategoryCounts:
    """Category -> count of a column (nulls and non-finite numbers dropped and counted)."""

    counts: dict[str, int]
    n_null: int
    n_nonfinite: int

    @property
    def n(self) -> int:
        """Number of values counted."""
        return sum(self.counts.values())


def is_numeric_dtype(dtype: pl.DataType) -> bool:
    """True for integer, float and decimal dtypes (not Boolean)."""
    return dtype.is_numeric()


def is_categorical_dtype(dtype: pl.DataType) -> bool:
    """True for dtypes whose values are labels: String, Categorical, Enum, Boolean."""
    return isinstance(dtype, pl.String | pl.Categorical | pl.Enum | pl.Boolean)


def sorted_finite(series: pl.Series) -> SortedNumeric:
    """Sorted finite float64 values of a numeric series; nulls, NaN and +-inf are dropped and counted."""
    n_null = series.null_count()
    # Nulls become NaN here; NaN sorts after +inf, so the finite values are one contiguous slice.
    if series.dtype == pl.Float32:
        # Widening is monotone, so sorting the 4-byte values first is the same order at half the cost.
        values = np.sort(series.fill_null(float("nan")).to_numpy()).astype(np.float64)
    else:
        values = np.sort(series.cast(pl.Float64).to_numpy())
    lo = int(np.searchsorted(values, -np.inf, side="right"))
    hi = int(np.searchsorted(values, np.inf, side="left"))
    return SortedNumeric(values=values[lo:hi], n_null=n_null, n_nonfinite=values.size - (hi - lo) - n_null)


def numeric_key(value: float) -> str:
    """Canonical label of a number used as a category: '3' for 3.0, repr otherwise."""
    if value.is_integer():
        return str(int(value))
    return repr(value)


def category_counts(series: pl.Series, *, numeric_source: bool) -> CategoryCounts:
    """Counts per category; numbers become canonical labels so int and float columns agree."""
    if numeric_source:
        finite = sorted_finite(series)
        # The values are sorted already: runs of equal values are the categories (no second sort).
        values = finite.values
        starts: IntArray = np.flatnonzero(np.diff(values)) + 1
        starts = np.concatenate([np.zeros(min(values.size, 1), dtype=np.int64), starts])
        uniques = values[starts]
        counts = np.diff(np.append(starts, values.size))
        labels = {numeric_key(float(u)): int(c) for u, c in zip(uniques, counts, strict=True)}
        return CategoryCounts(counts=labels, n_null=finite.n_null, n_nonfinite=finite.n_nonfinite)
    n_null = series.null_count()
    strings = series.cast(pl.String).drop_nulls()
    frame = strings.value_counts(name="n")
    keys = frame.get_column(strings.name).to_list()
    ns = frame.get_column("n").to_list()
    return CategoryCounts(counts=dict(zip(keys, ns, strict=True)), n_null=n_null, n_nonfinite=0)


def histogram_sorted(values: FloatArray, edges: FloatArray) -> tuple[int, IntArray, int]:
    """(below, counts per [e_i, e_i+1) with the last bin closed, above) of sorted values."""
    positions = np.searchsorted(values, edges, side="left").astype(np.int64)
    positions[-1] = np.searchsorted(values, edges[-1], side="right")
    below = int(positions[0])
    above = int(values.size - positions[-1])
    return below, np.diff(positions), above


def bin_counts_sorted(values: FloatArray, inner_edges: FloatArray) -> IntArray:
    """Counts of sorted values in (-inf, e1), [e1, e2), ..., [e_last, inf)."""
    positions = np.searchsorted(values, inner_edges, side="left").astype(np.int64)
    return np.diff(np.concatenate([[0], positions, [values.size]]))

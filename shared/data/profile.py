"""Column profiles: the drift reference stored with each accepted dataset.

numeric -> count, nulls, mean, std, min/max, quantiles (1..99 %) of the finite values (NaN and +-inf
count as nulls, so they never reach a range or a histogram), a fixed-bin histogram whose edges
span the reference's 1 %-99 % quantile range (plus below/above counts for the tails, so a later
window profiled with the same edges keeps every value); categorical -> top-N frequencies + other;
binary (at most two distinct values, or bool) -> value counts and proportions. Numeric statistics
come from each column's sorted finite values in numpy (linear in columns, however wide the frame);
histograms use numpy's uniform-bin fast path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from shared.data.types import ROW

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
DEFAULT_BINS = 30
DEFAULT_TOP_N = 20


def _key(q: float) -> str:
    return f"p{round(q * 100):02d}"


class _Frozen(BaseModel):
    """Immutable, JSON-ready."""

    model_config = ConfigDict(frozen=True)


class Histogram(_Frozen):
    """Counts in fixed bins; bins are [edge_i, edge_i+1) except the last, which is closed (numpy's rule)."""

    edges: list[float] = Field(description="Bin edges, ascending; one more than the counts.")
    counts: list[int] = Field(description="Values per bin.")
    below: int = Field(description="Values below the first edge.")
    above: int = Field(description="Values above the last edge.")


class NumericProfile(_Frozen):
    """Profile of a numeric column (NaN, inf and -inf counted as null)."""

    kind: Literal["numeric"] = Field(default="numeric", description="Profile kind.")
    count: int = Field(description="Finite values.")
    nulls: int = Field(description="Null, NaN, inf or -inf values.")
    mean: float | None = Field(description="Mean of the non-null values.")
    std: float | None = Field(description="Sample standard deviation (ddof=1).")
    min: float | None = Field(description="Smallest value.")
    max: float | None = Field(description="Largest value.")
    quantiles: dict[str, float] = Field(description="Linear-interpolated quantiles keyed p01..p99.")
    histogram: Histogram = Field(description="Fixed-bin histogram.")


class CategoricalProfile(_Frozen):
    """Profile of a text (or other non-numeric) column."""

    kind: Literal["categorical"] = Field(default="categorical", description="Profile kind.")
    count: int = Field(description="Non-null values.")
    nulls: int = Field(description="Null values.")
    distinct: int = Field(description="Distinct non-null values.")
    top: dict[str, int] = Field(description="The most frequent values and their counts (ties by value).")
    other: int = Field(description="Count of values outside ``top``.")


class BinaryProfile(_Frozen):
    """Profile of a column with at most two distinct values."""

    kind: Literal["binary"] = Field(default="binary", description="Profile kind.")
    count: int = Field(description="Non-null values.")
    nulls: int = Field(description="Null values.")
    counts: dict[str, int] = Field(description="Count per value (as text).")
    proportions: dict[str, float] = Field(description="Share per value among non-null values.")


ColumnProfile = Annotated[NumericProfile | CategoricalProfile | BinaryProfile, Field(discriminator="kind")]


class DatasetProfile(_Frozen):
    """Profiles of every column of a dataset: the reference for drift detection."""

    rows: int = Field(description="Rows profiled.")
    dataset_version: str = Field(default="", description="Dataset version profiled.")
    columns: dict[str, ColumnProfile] = Field(description="Per-column profiles.")

    def to_json(self) -> str:
        """Serialise to JSON text."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> DatasetProfile:
        """Load from JSON text written by ``to_json``."""
        return cls.model_validate_json(text)


def _sorted_finite(frame: pl.DataFrame, name: str) -> np.ndarray:
    """A numeric column's finite values, sorted (nulls, NaN and +-inf dropped: they are in no range)."""
    values = frame.get_column(name).cast(pl.Float64).to_numpy()  # nulls come back as NaN
    return np.sort(values[np.isfinite(values)])


def _kinds(frame: pl.DataFrame, reference: DatasetProfile | None) -> dict[str, str]:
    names = [c for c in frame.columns if c != ROW]
    if reference is not None:
        return {c: reference.columns[c].kind for c in names if c in reference.columns}
    schema = frame.schema  # once: each frame.schema call costs a pass over all columns
    distinct = frame.select(pl.col(c).drop_nulls().n_unique().alias(c) for c in names).row(0, named=True)
    kinds: dict[str, str] = {}
    for c in names:
        dtype = schema[c]
        if dtype == pl.Boolean or distinct[c] <= 2:
            kinds[c] = "binary"
        else:
            kinds[c] = "numeric" if dtype.is_numeric() else "categorical"
    return kinds


def _scalar_stats(values: np.ndarray) -> dict[str, float | None]:
    """mean, std (ddof=1), min, max and linear quantiles of sorted finite values.

    Computed per column with numpy: one polars select of a dozen expressions per column cost a
    query plan of 60,000 expressions for a 5,000-column frame, which took minutes.
    """
    n = values.size
    if n == 0:
        return dict.fromkeys(["mean", "std", "min", "max", *map(_key, QUANTILES)])
    stats: dict[str, float | None] = {
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if n > 1 else None,
        "min": float(values[0]),
        "max": float(values[-1]),
    }
    # numpy's and polars' "linear" rule on sorted values: position q (n - 1), interpolated.
    position = np.asarray(QUANTILES) * (n - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, n - 1)
    found = values[low] + (values[high] - values[low]) * (position - low)
    stats.update({_key(q): float(v) for q, v in zip(QUANTILES, found, strict=True)})
    return stats


def _edges(low: float | None, high: float | None, bins: int) -> list[float]:
    if low is None or high is None:
        return [0.0, 1.0]
    if high <= low:
        return [low - 0.5, low + 0.5]
    return [float(e) for e in np.linspace(low, high, bins + 1)]


def _histogram(values: np.ndarray, edges: list[float]) -> Histogram:
    low, high = edges[0], edges[-1]
    counts, _ = np.histogram(values, bins=len(edges) - 1, range=(low, high))
    below = int(np.count_nonzero(values < low))
    above = int(np.count_nonzero(values > high))
    return Histogram(edges=edges, counts=[int(n) for n in counts], below=below, above=above)


def _numeric(
    frame: pl.DataFrame, values: np.ndarray, stats: dict[str, float | None], edges: list[float]
) -> NumericProfile:
    return NumericProfile(
        count=values.size,
        nulls=frame.height - values.size,
        mean=stats["mean"],
        std=stats["std"],
        min=stats["min"],
        max=stats["max"],
        quantiles={_key(q): v for q in QUANTILES if (v := stats[_key(q)]) is not None},
        histogram=_histogram(values, edges),
    )


def _counts(frame: pl.DataFrame, c: str) -> tuple[list[tuple[str, int]], int]:
    counted = (
        frame.select(pl.col(c).drop_nulls().cast(pl.String).value_counts(name="n"))
        .unnest(c)
        .sort(["n", c], descending=[True, False])
    )
    pairs = [(str(v), int(n)) for v, n in counted.iter_rows()]
    return pairs, sum(n for _, n in pairs)


def _categorical(frame: pl.DataFrame, c: str, top_n: int) -> CategoricalProfile:
    pairs, count = _counts(frame, c)
    top = dict(pairs[:top_n])
    return CategoricalProfile(
        count=count, nulls=frame.height - count, distinct=len(pairs), top=top, other=count - sum(top.values())
    )


def _binary(frame: pl.DataFrame, c: str) -> BinaryProfile:
    pairs, count = _counts(frame, c)
    counts = dict(sorted(pairs))
    shares = {v: n / count for v, n in counts.items()} if count else {}
    return BinaryProfile(count=count, nulls=frame.height - count, counts=counts, proportions=shares)


def profile_frame(
    frame: pl.DataFrame,
    *,
    reference: DatasetProfile | None = None,
    bins: int = DEFAULT_BINS,
    top_n: int = DEFAULT_TOP_N,
    dataset_version: str = "",
) -> DatasetProfile:
    """Profile every column; with ``reference``, reuse its kinds and histogram edges (for drift windows)."""
    kinds = _kinds(frame, reference)
    columns: dict[str, ColumnProfile] = {}
    for c, kind in kinds.items():
        if kind == "numeric":
            values = _sorted_finite(frame, c)
            stats = _scalar_stats(values)
            ref = reference.columns[c] if reference is not None else None
            if isinstance(ref, NumericProfile):
                edges = ref.histogram.edges
            else:
                edges = _edges(stats["p01"], stats["p99"], bins)
            columns[c] = _numeric(frame, values, stats, edges)
        elif kind == "binary":
            columns[c] = _binary(frame, c)
        else:
            columns[c] = _categorical(frame, c, top_n)
    return DatasetProfile(rows=frame.height, dataset_version=dataset_version, columns=columns)


#: Values read at once by ``profile_columns`` (sorting copies them once more).
GROUP_BYTES = 32 * 1024 * 1024


def profile_columns(
    names: Sequence[str],
    read: Callable[[list[str]], pl.DataFrame],
    *,
    rows: int,
    group: int | None = None,
    bins: int = DEFAULT_BINS,
    top_n: int = DEFAULT_TOP_N,
    dataset_version: str = "",
) -> DatasetProfile:
    """``profile_frame`` of a table read ``group`` columns at a time (equal: each column's profile
    depends on its own values only, in any order), so memory holds a few columns, never the table.

    By default a group holds about ``GROUP_BYTES`` of 8-byte values (at least one column).
    """
    if group is None:
        group = max(1, GROUP_BYTES // max(1, 8 * rows))
    columns: dict[str, ColumnProfile] = {}
    for start in range(0, len(names), group):
        part = read(list(names[start : start + group]))
        columns.update(profile_frame(part, bins=bins, top_n=top_n).columns)
    return DatasetProfile(rows=rows, dataset_version=dataset_version, columns=columns)

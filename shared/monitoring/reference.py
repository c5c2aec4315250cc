"""The drift reference: a compact, JSON-serialisable per-column profile of the training data.

Numeric columns keep a *step ECDF sketch*: strictly increasing knots ``v_1 < ... < v_k`` (the
minimum, the maximum and values at evenly spaced ranks ``ceil(j n / k)``) with exact cumulative
counts ``c_j = #{x <= v_j}``. Drift tests use ``F_hat(x) = c_j / n`` for ``v_j <= x < v_j+1``.

Approximation error. The true ECDF in ``[v_j, v_j+1)`` lies in ``[c_j, left_j+1] / n`` where
``left_j+1 = #{x < v_j+1}``, so ``sup |F_hat - F| <= ecdf_error = max_j (left_j+1 - c_j) / n``
(at most about ``1/k``). Hence the KS statistic against any current sample is within
``ecdf_error`` of the exact two-sample statistic, and the Wasserstein distance (the integral of
``|F_ref - F_cur|``) is within ``wasserstein_error = sum_j (v_j+1 - v_j)(left_j+1 - c_j) / n``.
When a column has at most ``k`` distinct values every distinct value is a knot: both bounds are
0 and all tests equal the exact ones. Means, std, min/max and the chart and PSI bins are
computed from the full data, so they are exact.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from shared.errors import ValidationError
from shared.monitoring.columns import (
    FloatArray,
    IntArray,
    bin_counts_sorted,
    category_counts,
    histogram_sorted,
    is_categorical_dtype,
    is_numeric_dtype,
    sorted_finite,
)
from shared.monitoring.config import ColumnKind, ReferenceConfig

OTHER = "__other__"

#: The profile stored with every validated dataset: the same document as a model's drift reference,
#: at a coarser ECDF resolution (it describes the data; a deployment builds its own full reference
#: from the training features and the model's predictions on them).
DATASET_PROFILE = ReferenceConfig(max_quantiles=64)


class NumericReference(BaseModel):
    """Reference for a numeric column: ECDF sketch, moments, chart histogram and PSI bins."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["numeric"] = Field(default="numeric", description="Column kind.")
    n: int = Field(description="Finite values in the reference.")
    n_null: int = Field(description="Null values dropped.")
    n_nonfinite: int = Field(description="NaN and +-inf values dropped.")
    mean: float | None = Field(description="Mean of the finite values; None when there are none.")
    std: float | None = Field(description="Population std (ddof=0) of the finite values.")
    min: float | None = Field(description="Smallest finite value.")
    max: float | None = Field(description="Largest finite value.")
    exact: bool = Field(description="True when every distinct value is a knot (tests are exact).")
    knots: list[float] = Field(description="Strictly increasing ECDF knots.")
    cum_counts: list[int] = Field(description="Exact count of values <= each knot.")
    ecdf_error: float = Field(description="Bound on sup |F_sketch - F_reference| (KS statistic error).")
    wasserstein_error: float = Field(description="Bound on the Wasserstein error, in column units.")
    hist_edges: list[float] = Field(description="Equal-width chart bin edges over [min, max].")
    hist_counts: list[int] = Field(description="Reference counts per chart bin.")
    psi_edges: list[float] = Field(description="Inner edges of the equal-mass PSI bins.")
    psi_counts: list[int] = Field(description="Reference counts per PSI bin (len(psi_edges) + 1).")

    _arrays: tuple[FloatArray, IntArray] | None = PrivateAttr(default=None)

    def ecdf(self) -> tuple[FloatArray, IntArray]:
        """Knots and cumulative counts as numpy arrays (cached)."""
        if self._arrays is None:
            self._arrays = (
                np.asarray(self.knots, dtype=np.float64),
                np.asarray(self.cum_counts, dtype=np.int64),
            )
        return self._arrays


class CategoricalReference(BaseModel):
    """Reference for a categorical or binary column: category counts."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["categorical", "binary"] = Field(description="Column kind.")
    n: int = Field(description="Non-null values in the reference.")
    n_null: int = Field(description="Null values dropped.")
    n_nonfinite: int = Field(default=0, description="NaN and +-inf dropped (numeric-valued columns).")
    numeric_source: bool = Field(description="Categories are canonical numbers from a numeric column.")
    counts: dict[str, int] = Field(description="Count per category (the most frequent max_categories).")
    other_count: int = Field(default=0, description="Values in categories beyond max_categories.")


ColumnReference = Annotated[NumericReference | CategoricalReference, Field(discriminator="kind")]


class ReferenceProfile(BaseModel):
    """Per-column drift reference computed once from training data."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = Field(default=1, description="Layout version of this document.")
    n_rows: int = Field(description="Rows in the training frame.")
    columns: dict[str, ColumnReference] = Field(description="Reference per profiled column.")
    skipped: dict[str, str] = Field(default_factory=dict, description="Columns not profiled, with why.")
    config: ReferenceConfig = Field(description="Settings the profile was built with.")

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, config: ReferenceConfig | None = None) -> ReferenceProfile:
        """Build the profile from a polars frame of training data."""
        return build_reference(frame, config or ReferenceConfig())

    @classmethod
    def from_json(cls, data: str | bytes | Mapping[str, Any]) -> ReferenceProfile:
        """Load a profile from its JSON text or the equivalent plain dict."""
        if isinstance(data, str | bytes):
            return cls.model_validate_json(data)
        return cls.model_validate(json.loads(json.dumps(data)))

    def to_json(self) -> str:
        """The profile as JSON text (what ``from_json`` reads)."""
        return self.model_dump_json()


def build_reference(frame: pl.DataFrame, config: ReferenceConfig) -> ReferenceProfile:
    """Profile every requested column of ``frame`` for drift detection."""
    names = config.columns if config.columns is not None else frame.columns
    columns: dict[str, NumericReference | CategoricalReference] = {}
    skipped: dict[str, str] = {}
    for name in names:
        if name not in frame.columns:
            raise ValidationError(f"reference column {name!r} is not in the frame", field=name)
        series = frame.get_column(name)
        kind = _kind(series, config)
        if kind is None:
            skipped[name] = f"unsupported dtype {series.dtype}"
        elif kind == "numeric":
            columns[name] = _numeric_reference(series, config)
        else:
            columns[name] = _categorical_reference(series, kind, config)
    return ReferenceProfile(n_rows=frame.height, columns=columns, skipped=skipped, config=config)


#: Values read at once by ``build_reference_by_columns`` (sorting copies them once more).
GROUP_BYTES = 32 * 1024 * 1024


def build_reference_by_columns(
    names: Sequence[str],
    read: Callable[[list[str]], pl.DataFrame],
    *,
    rows: int,
    config: ReferenceConfig | None = None,
    group: int | None = None,
) -> ReferenceProfile:
    """``build_reference`` of a table read ``group`` columns at a time, so memory holds a few columns.

    Equal to the whole-frame profile: each column's reference depends on its own values only, in any
    order. By default a group holds about ``GROUP_BYTES`` of 8-byte values (at least one column).
    """
    config = config or ReferenceConfig()
    wanted = list(config.columns) if config.columns is not None else list(names)
    if group is None:
        group = max(1, GROUP_BYTES // max(1, 8 * rows))
    columns: dict[str, NumericReference | CategoricalReference] = {}
    skipped: dict[str, str] = {}
    for start in range(0, len(wanted), group):
        part = build_reference(
            read(wanted[start : start + group]), config.model_copy(update={"columns": None})
        )
        columns.update(part.columns)
        skipped.update(part.skipped)
    return ReferenceProfile(n_rows=rows, columns=columns, skipped=skipped, config=config)


def _kind(series: pl.Series, config: ReferenceConfig) -> ColumnKind | None:
    """Column kind from the override, else from dtype and distinct count (like Evidently's)."""
    forced = config.kinds.get(series.name)
    numeric = is_numeric_dtype(series.dtype)
    if forced == "numeric" and not numeric:
        raise ValidationError(f"column {series.name!r} is {series.dtype}, not numeric", field=series.name)
    if forced is not None:
        return forced
    if numeric:
        values = sorted_finite(series).values
        distinct = int(np.count_nonzero(np.diff(values))) + 1 if values.size else 0
        if 0 < distinct <= config.categorical_max_unique:
            return "binary" if distinct <= 2 else "categorical"
        return "numeric"
    if is_categorical_dtype(series.dtype):
        return "binary" if series.drop_nulls().n_unique() <= 2 else "categorical"
    return None


def _numeric_reference(series: pl.Series, config: ReferenceConfig) -> NumericReference:
    """Sketch, moments and bins of one numeric column."""
    finite = sorted_finite(series)
    x = finite.values
    n = x.size
    if n == 0:
        return NumericReference(
            n=0, n_null=finite.n_null, n_nonfinite=finite.n_nonfinite, mean=None, std=None, min=None,
            max=None, exact=True, knots=[], cum_counts=[], ecdf_error=0.0, wasserstein_error=0.0,
            hist_edges=[], hist_counts=[], psi_edges=[], psi_counts=[],
        )  # fmt: skip
    knots, cum, ecdf_error, w_error = ecdf_sketch(x, config.max_quantiles)
    hist_edges = np.histogram_bin_edges(x, bins=config.histogram_bins, range=(x[0], x[-1]))
    _, hist_counts, _ = histogram_sorted(x, hist_edges)
    psi_edges = np.unique(x[_ceil_ranks(n, config.psi_bins)[:-1]])
    psi_edges = psi_edges[psi_edges > x[0]]  # an edge at the minimum would leave bin 0 empty
    return NumericReference(
        n=n,
        n_null=finite.n_null,
        n_nonfinite=finite.n_nonfinite,
        mean=float(x.mean()),
        std=float(x.std()),
        min=float(x[0]),
        max=float(x[-1]),
        exact=ecdf_error == 0.0,
        knots=knots.tolist(),
        cum_counts=cum.tolist(),
        ecdf_error=ecdf_error,
        wasserstein_error=w_error,
        hist_edges=hist_edges.tolist(),
        hist_counts=hist_counts.tolist(),
        psi_edges=psi_edges.tolist(),
        psi_counts=bin_counts_sorted(x, psi_edges).tolist(),
    )


def ecdf_sketch(x: FloatArray, max_knots: int) -> tuple[FloatArray, IntArray, float, float]:
    """Knots, cumulative counts, ECDF error bound and Wasserstein error bound of sorted ``x``."""
    n = x.size
    group_ends = np.flatnonzero(np.diff(x))
    if group_ends.size + 1 <= max_knots:
        ends = np.append(group_ends, n - 1)
        return x[ends].copy(), (ends + 1).astype(np.int64), 0.0, 0.0
    ranks = _ceil_ranks(n, max_knots - 1)
    knots = np.unique(x[np.concatenate([[0], ranks, [n - 1]])])
    cum = np.searchsorted(x, knots, side="right").astype(np.int64)
    left = np.searchsorted(x, knots, side="left").astype(np.int64)
    between = left[1:] - cum[:-1]  # values strictly between consecutive knots
    ecdf_error = float(between.max()) / n if between.size else 0.0
    w_error = float((np.diff(knots) * between).sum()) / n
    return knots, cum, ecdf_error, w_error


def _ceil_ranks(n: int, parts: int) -> IntArray:
    """0-based indices ceil(j n / parts) - 1 for j = 1..parts, in exact integer arithmetic."""
    j = np.arange(1, parts + 1, dtype=np.int64)
    return (j * n + parts - 1) // parts - 1


def _categorical_reference(
    series: pl.Series, kind: Literal["categorical", "binary"], config: ReferenceConfig
) -> CategoricalReference:
    """Category counts of one categorical or binary column, the tail pooled beyond max_categories."""
    numeric_source = is_numeric_dtype(series.dtype)
    counted = category_counts(series, numeric_source=numeric_source)
    ranked = sorted(counted.counts.items(), key=lambda item: (-item[1], item[0]))
    kept = dict(ranked[: config.max_categories])
    return CategoricalReference(
        kind=kind,
        n=counted.n,
        n_null=counted.n_null,
        n_nonfinite=counted.n_nonfinite,
        numeric_source=numeric_source,
        counts=kept,
        other_count=sum(count for _, count in ranked[config.max_categories :]),
    )

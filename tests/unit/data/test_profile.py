"""Profiles agree with numpy and serve as a drift reference."""

from __future__ import annotations

import time

import numpy as np
import polars as pl
import pytest

from shared.data.profile import (
    QUANTILES,
    BinaryProfile,
    CategoricalProfile,
    DatasetProfile,
    NumericProfile,
    profile_frame,
)
from shared.data.types import ROW


@pytest.fixture
def frame() -> pl.DataFrame:
    rng = np.random.default_rng(7)
    n = 20_000
    x = rng.lognormal(size=n)
    x[rng.choice(n, 500, replace=False)] = np.nan
    return pl.DataFrame(
        {
            ROW: np.arange(1, n + 1),
            "x": x,
            "k": rng.integers(-50, 50, size=n),
            "colour": rng.choice(["red", "green", "blue", "cyan"], size=n, p=[0.5, 0.3, 0.15, 0.05]),
            "flag": rng.integers(0, 2, size=n),
        }
    ).with_columns(pl.when(pl.col("k") == 0).then(None).otherwise(pl.col("k")).alias("k"))


def test_numeric_statistics_agree_with_numpy(frame: pl.DataFrame) -> None:
    profile = profile_frame(frame)
    assert ROW not in profile.columns
    for name in ("x", "k"):
        col = profile.columns[name]
        assert isinstance(col, NumericProfile)
        values = frame[name].cast(pl.Float64).to_numpy()
        values = values[~np.isnan(values)]
        assert col.count == values.size and col.nulls == frame.height - values.size
        assert col.mean == pytest.approx(values.mean(), rel=1e-12)
        assert col.std == pytest.approx(values.std(ddof=1), rel=1e-9)
        assert (col.min, col.max) == (values.min(), values.max())
        expected = np.quantile(values, QUANTILES)
        assert list(col.quantiles.values()) == pytest.approx(list(expected), rel=1e-12)
        assert list(col.quantiles) == ["p01", "p05", "p25", "p50", "p75", "p95", "p99"]


def test_histogram_agrees_with_numpy_and_keeps_every_value(frame: pl.DataFrame) -> None:
    col = profile_frame(frame, bins=25).columns["x"]
    assert isinstance(col, NumericProfile)
    hist = col.histogram
    values = frame["x"].to_numpy()
    values = values[~np.isnan(values)]
    expected, edges = np.histogram(values, bins=25, range=(col.quantiles["p01"], col.quantiles["p99"]))
    assert hist.edges == pytest.approx(list(edges))
    assert hist.counts == expected.tolist()
    assert hist.below == int((values < edges[0]).sum()) and hist.above == int((values > edges[-1]).sum())
    assert sum(hist.counts) + hist.below + hist.above == col.count


def test_categorical_and_binary_profiles(frame: pl.DataFrame) -> None:
    profile = profile_frame(frame, top_n=2)
    colour = profile.columns["colour"]
    assert isinstance(colour, CategoricalProfile)
    counts = frame["colour"].value_counts()
    expected = dict(counts.iter_rows())
    assert colour.distinct == 4
    assert colour.top == {"red": expected["red"], "green": expected["green"]}
    assert colour.other == expected["blue"] + expected["cyan"]
    flag = profile.columns["flag"]
    assert isinstance(flag, BinaryProfile)
    ones = int(frame["flag"].sum())
    assert flag.counts == {"0": frame.height - ones, "1": ones}
    assert flag.proportions["1"] == pytest.approx(ones / frame.height)


def test_reference_edges_and_kinds_are_reused(frame: pl.DataFrame) -> None:
    reference = profile_frame(frame)
    shifted = frame.with_columns(pl.col("x") + 5.0, pl.lit(1).alias("flag"))
    window = profile_frame(shifted, reference=reference)
    ref_x, new_x = reference.columns["x"], window.columns["x"]
    assert isinstance(ref_x, NumericProfile) and isinstance(new_x, NumericProfile)
    assert new_x.histogram.edges == ref_x.histogram.edges
    assert new_x.histogram.above > 4 * ref_x.histogram.above and new_x.histogram.below == 0
    assert isinstance(window.columns["flag"], BinaryProfile)


def test_profile_round_trips_as_json(frame: pl.DataFrame) -> None:
    profile = profile_frame(frame, dataset_version="abc")
    assert DatasetProfile.from_json(profile.to_json()) == profile


def test_degenerate_columns() -> None:
    frame = pl.DataFrame(
        {"const": [3.0] * 10, "empty": pl.Series([None] * 10, dtype=pl.Float64), "z": range(10)}
    )
    profile = profile_frame(frame)
    z = profile.columns["z"]
    assert (
        isinstance(z, NumericProfile)
        and sum(z.histogram.counts) + z.histogram.below + z.histogram.above == 10
    )
    const = profile.columns["const"]
    assert isinstance(const, BinaryProfile) and const.proportions == {"3.0": 1.0}
    assert profile.columns["empty"].count == 0


def test_large_frame_is_profiled_quickly() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    cols: dict[str, object] = {f"x{i}": rng.normal(size=n) for i in range(45)}
    cols.update({f"c{i}": rng.choice(["a", "b", "c", "d"], size=n) for i in range(5)})
    frame = pl.DataFrame(cols)
    started = time.perf_counter()
    profile = profile_frame(frame)
    elapsed = time.perf_counter() - started
    assert len(profile.columns) == 50
    assert elapsed < 15, f"profiling 1,000,000 x 50 took {elapsed:.1f}s"


def test_non_finite_values_are_counted_as_nulls_never_a_crash() -> None:
    x = [float(i) for i in range(50)] + [float("inf"), float("-inf"), float("nan"), None]
    frame = pl.DataFrame({"x": x, "only_inf": [float("inf")] * 54})
    profile = profile_frame(frame)
    col = profile.columns["x"]
    assert isinstance(col, NumericProfile)
    assert (col.count, col.nulls, col.min, col.max) == (50, 4, 0.0, 49.0)
    hist = col.histogram
    assert all(np.isfinite(hist.edges)) and sum(hist.counts) + hist.below + hist.above == 50
    window = profile_frame(frame.reverse(), reference=profile)
    assert window.columns["x"] == col
    only_inf = profile.columns["only_inf"]  # one distinct value: a binary column, counted as text
    assert isinstance(only_inf, BinaryProfile) and only_inf.counts == {"inf": 54}

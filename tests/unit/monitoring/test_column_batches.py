"""Drift over a column source read in bounded batches, and float32 columns sorted natively."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from shared.monitoring import DriftConfig, ReferenceProfile, compute_drift, stats
from shared.monitoring.columns import sorted_finite
from shared.monitoring.drift import column_batches
from shared.monitoring.reference import ecdf_sketch


class FrameSource:
    """A column source over a frame that records every read (what LogWindow does over Parquet)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        self.reads: list[list[str]] = []

    @property
    def height(self) -> int:
        return self.frame.height

    @property
    def columns(self) -> list[str]:
        return self.frame.columns

    def read(self, names: list[str]) -> pl.DataFrame:
        self.reads.append(list(names))
        return self.frame.select([n for n in names if n in self.frame.columns])


def _frame(n: int, seed: int, shift: float = 0.0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {f"x{i}": rng.normal(shift if i < 2 else 0.0, 1.0, n) for i in range(5)}
    data["f32"] = rng.normal(0.0, 1.0, n).astype(np.float32)
    data["cat"] = rng.choice(["a", "b", "c"], n)
    data["prediction"] = rng.integers(0, 2, n)
    return pl.DataFrame(data)


@pytest.mark.parametrize("distance", ["psi", "wasserstein"])
def test_a_source_read_one_column_at_a_time_gives_the_frames_report(distance: str) -> None:
    reference = ReferenceProfile.from_frame(_frame(5_000, seed=1))
    current = _frame(3_000, seed=2, shift=0.5).drop("x4")  # a missing column stays missing
    whole = DriftConfig(prediction_column="prediction", numeric_distance=distance)  # type: ignore[arg-type]
    tight = whole.model_copy(update={"batch_bytes": 8 * current.height})  # one column per read
    source = FrameSource(current)
    expected = compute_drift(reference, current, whole).report
    got = compute_drift(reference, source, tight).report
    assert got.model_dump() == expected.model_dump()
    assert got.n_drifted >= 2 and got.columns[4].status == "missing"
    assert all(len(names) == 1 for names in source.reads)
    assert sorted(n for names in source.reads for n in names) == sorted(reference.columns)


def test_column_batches_hold_at_most_the_budget() -> None:
    names = [f"c{i}" for i in range(10)]
    assert column_batches(names, 1_000, 8 * 1_000 * 3) == [names[0:3], names[3:6], names[6:9], names[9:]]
    assert column_batches(names, 10**9, 1) == [[n] for n in names]  # one column at least
    assert column_batches(names, 0, 1) == [names]
    assert column_batches([], 5, 100) == [[]]


def test_float32_columns_sort_like_their_float64_widening() -> None:
    values = [3.5, None, float("nan"), -1.25, float("inf"), 2.0, float("-inf"), None, 0.1]
    f32 = pl.Series("v", values, dtype=pl.Float32)
    got, want = sorted_finite(f32), sorted_finite(f32.cast(pl.Float64))
    assert got.values.dtype == np.float64 and got.values.tolist() == want.values.tolist()
    assert (got.n_null, got.n_nonfinite) == (want.n_null, want.n_nonfinite) == (2, 3)


@pytest.mark.parametrize("max_knots", [5, 50, 10_000])
def test_knots_only_ks_equals_the_full_pass_on_sketched_references(max_knots: int) -> None:
    rng = np.random.default_rng(max_knots)
    for _ in range(40):
        ref = np.sort(np.round(rng.normal(0, 1, int(rng.integers(1, 2_000))), int(rng.integers(0, 3))))
        cur = np.sort(np.round(rng.normal(rng.normal(0, 0.5), 1, int(rng.integers(1, 3_000))), 1))
        knots, cum, _, _ = ecdf_sketch(ref, max_knots)
        full = stats.compare_numeric(knots, cum, cur).ks_statistic
        assert stats.ks_statistic(knots, cum, cur) == pytest.approx(full, abs=1e-12)

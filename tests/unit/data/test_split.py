"""Deterministic seeded split by row number."""

from __future__ import annotations

import io

import numpy as np
import polars as pl

from shared.data.split import SPLITS, assign_splits, split_frame, split_to_parquet
from shared.data.types import ROW
from shared.pipeline.sections import Split


def _frame(n: int) -> pl.DataFrame:
    return pl.DataFrame({ROW: np.arange(1, n + 1, dtype=np.int64), "x": np.arange(n, dtype=np.float64)})


def test_same_seed_same_split_other_seed_other_split() -> None:
    rows = np.arange(1, 10_001)
    split = Split(seed=3)
    assert np.array_equal(assign_splits(rows, split), assign_splits(rows, Split(seed=3)))
    assert not np.array_equal(assign_splits(rows, split), assign_splits(rows, Split(seed=4)))


def test_fractions_within_tolerance() -> None:
    labels = assign_splits(np.arange(1, 100_001), Split(seed=1, train=0.6, validation=0.3, holdout=0.1))
    shares = {name: float(np.mean(labels == name)) for name in SPLITS}
    assert abs(shares["train"] - 0.6) < 0.01
    assert abs(shares["validation"] - 0.3) < 0.01
    assert abs(shares["holdout"] - 0.1) < 0.01


def test_parts_are_disjoint_and_complete() -> None:
    frame = _frame(5_000)
    parts = split_frame(frame, Split(seed=9))
    seen = [set(parts[name][ROW].to_list()) for name in SPLITS]
    assert sum(len(s) for s in seen) == frame.height
    assert set().union(*seen) == set(frame[ROW].to_list())
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])


def test_assignment_ignores_row_order_and_other_rows() -> None:
    frame = _frame(2_000)
    split = Split(seed=5)
    whole = split_frame(frame, split)
    shuffled = split_frame(frame.sample(fraction=1.0, shuffle=True, seed=0), split)
    subset = split_frame(frame.filter(pl.col(ROW) % 3 == 0), split)
    for name in SPLITS:
        assert set(shuffled[name][ROW].to_list()) == set(whole[name][ROW].to_list())
        assert set(subset[name][ROW].to_list()) == {r for r in whole[name][ROW].to_list() if r % 3 == 0}


def test_zero_fraction_split_is_empty() -> None:
    labels = assign_splits(np.arange(1, 1_001), Split(train=0.9, validation=0.0, holdout=0.1))
    assert not np.any(labels == "validation")


def test_parquet_per_split_round_trips_without_row_numbers() -> None:
    frame = _frame(300)
    out = split_to_parquet(frame, Split(seed=2))
    assert set(out) == set(SPLITS)
    back = {name: pl.read_parquet(io.BytesIO(data)) for name, data in out.items()}
    assert all(ROW not in part.columns for part in back.values())
    assert sum(part.height for part in back.values()) == 300
    kept = split_to_parquet(frame, Split(seed=2), keep_row_numbers=True)
    assert ROW in pl.read_parquet(io.BytesIO(kept["train"])).columns

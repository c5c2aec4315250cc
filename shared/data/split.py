"""Deterministic train/validation/holdout assignment from a seeded hash of each row's number.

A row's split depends only on its source row number and the seed, never on chunking, row order
or the other rows, so re-ingesting the same file (or a file with rows appended) keeps every
existing row in its split. SplitMix64 is used because it is fixed arithmetic, identical across
numpy and polars versions, unlike library hash functions.
"""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import polars as pl

from shared.data.types import ROW
from shared.pipeline.sections import Split

SPLITS = ("train", "validation", "holdout")


def _splitmix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def uniform_from_rows(rows: npt.ArrayLike, seed: int) -> npt.NDArray[np.float64]:
    """A uniform number in [0, 1) per row number, fixed by (row, seed)."""
    keys = np.asarray(rows, dtype=np.int64).astype(np.uint64)
    salt = _splitmix64(np.array([seed], dtype=np.uint64))[0]
    mixed = _splitmix64(keys ^ salt)
    return (mixed >> np.uint64(11)).astype(np.float64) / float(2**53)


def assign_splits(rows: npt.ArrayLike, split: Split) -> npt.NDArray[np.str_]:
    """The split name (train/validation/holdout) of each row number."""
    u = uniform_from_rows(rows, split.seed)
    edges = np.array([split.train, split.train + split.validation])
    return np.asarray(SPLITS)[np.searchsorted(edges, u, side="right")]


def split_frame(frame: pl.DataFrame, split: Split) -> dict[str, pl.DataFrame]:
    """Partition a frame that has a ``ROW`` column into train/validation/holdout frames."""
    labels = pl.Series("__split__", assign_splits(frame[ROW].to_numpy(), split))
    tagged = frame.with_columns(labels)
    return {name: tagged.filter(pl.col("__split__") == name).drop("__split__") for name in SPLITS}


def to_parquet_bytes(frame: pl.DataFrame) -> bytes:
    """A frame as Parquet bytes (zstd); deterministic for the same frame and library versions."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=True)
    return buffer.getvalue()


def split_to_parquet(
    frame: pl.DataFrame, split: Split, *, keep_row_numbers: bool = False
) -> dict[str, bytes]:
    """Parquet bytes per split; the ``ROW`` column is dropped unless asked for (it is no feature)."""
    parts = split_frame(frame, split)
    return {
        name: to_parquet_bytes(part if keep_row_numbers else part.drop(ROW)) for name, part in parts.items()
    }

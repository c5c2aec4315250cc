"""Lay out a job folder (``job.json`` + split Parquet files) from frames, for activities and tests."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from shared.training.files import write_json_atomic
from shared.training.spec import JOB_FILE, JobSpec


def write_job_folder(
    folder: Path,
    spec: JobSpec,
    train: pl.DataFrame,
    validation: pl.DataFrame,
    holdout: pl.DataFrame | None = None,
) -> Path:
    """Write ``job.json`` and the split Parquet files into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    train.write_parquet(folder / "train.parquet")
    validation.write_parquet(folder / "validation.parquet")
    if holdout is not None:
        holdout.write_parquet(folder / "holdout.parquet")
    write_json_atomic(folder / JOB_FILE, spec.model_dump(mode="json"))
    return folder


def split_frame(
    frame: pl.DataFrame, seed: int = 0, fractions: tuple[float, float] = (0.6, 0.2)
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Shuffle with ``seed`` and cut into train / validation / holdout by the given fractions."""
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=seed)
    n_train = int(shuffled.height * fractions[0])
    n_val = int(shuffled.height * fractions[1])
    return shuffled[:n_train], shuffled[n_train : n_train + n_val], shuffled[n_train + n_val :]

"""Job folders built from sklearn's bundled datasets (no network)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

from shared.training.folder import split_frame, write_job_folder
from shared.training.spec import JobSpec

MakeJob = Callable[..., Path]


def bundled_frame(loader: Callable[[], Any]) -> pl.DataFrame:
    """A sklearn toy dataset as a polars frame with a ``target`` column."""
    bunch = loader()
    names = [str(n).replace(" ", "_") for n in bunch.feature_names]
    return pl.DataFrame(bunch.data, schema=names).with_columns(pl.Series("target", bunch.target))


@pytest.fixture(scope="session")
def breast_cancer() -> pl.DataFrame:
    """569 rows, 30 numeric features, binary target."""
    return bundled_frame(load_breast_cancer)


@pytest.fixture(scope="session")
def diabetes() -> pl.DataFrame:
    """442 rows, 10 numeric features, numeric target."""
    return bundled_frame(load_diabetes)


@pytest.fixture
def make_job(tmp_path: Path) -> MakeJob:
    """Factory: write a job folder for ``frame`` and return its path."""

    def make(
        frame: pl.DataFrame, task: str, trainer: dict[str, Any], name: str = "data", seed: int = 0
    ) -> Path:
        train, val, holdout = split_frame(frame, seed=7)
        features = [c for c in frame.columns if c != "target"]
        spec = JobSpec(target="target", task=task, features=features, trainer=trainer, seed=seed)  # type: ignore[arg-type]
        return write_job_folder(tmp_path / name, spec, train, val, holdout)

    return make

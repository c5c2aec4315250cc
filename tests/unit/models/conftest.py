"""Small trained ONNX models and their holdouts, built once per session from bundled datasets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

from shared.models.onnx_io import LoadedModel, load_model
from shared.training.folder import split_frame, write_job_folder
from shared.training.job import run_job
from shared.training.spec import JobSpec


@dataclass(frozen=True)
class Trained:
    """A trained model's bytes, loaded form and holdout split."""

    data: bytes
    sha256: str
    model: LoadedModel
    holdout: pl.DataFrame


def _frame(loader: Callable[[], Any]) -> pl.DataFrame:
    bunch = loader()
    names = [str(n).replace(" ", "_") for n in bunch.feature_names]
    return pl.DataFrame(bunch.data, schema=names).with_columns(pl.Series("target", bunch.target))


def _train(root: Path, frame: pl.DataFrame, task: str, trainer: dict[str, Any]) -> Trained:
    train, val, holdout = split_frame(frame, seed=3)
    features = [c for c in frame.columns if c != "target"]
    spec = JobSpec(target="target", task=task, features=features, trainer=trainer)  # type: ignore[arg-type]
    result = run_job(write_job_folder(root / "data", spec, train, val, holdout), root / "out")
    data = (root / "out" / "model.onnx").read_bytes()
    return Trained(data, result.sha256, load_model(data, expected_sha256=result.sha256), holdout)


@pytest.fixture(scope="session")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Breast cancer, scaled logistic regression."""
    return _train(
        tmp_path_factory.mktemp("clf"), _frame(load_breast_cancer), "classification", {"type": "sklearn"}
    )


@pytest.fixture(scope="session")
def weak_classifier(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Breast cancer, two shallow boosting stages: a worse champion/challenger counterpart."""
    trainer = {"type": "sklearn", "model": "gradient_boosting", "n_estimators": 2, "max_depth": 1}
    return _train(tmp_path_factory.mktemp("weak"), _frame(load_breast_cancer), "classification", trainer)


@pytest.fixture(scope="session")
def regressor(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Diabetes, ridge regression."""
    return _train(tmp_path_factory.mktemp("reg"), _frame(load_diabetes), "regression", {"type": "sklearn"})

"""job.json and dataset checks: errors name the offending field or column."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from shared.errors import ValidationError
from shared.training.dataset import load_training_data
from shared.training.job import run_job


def _spec(data_dir: Path) -> dict:
    return json.loads((data_dir / "job.json").read_text())


def _rewrite(data_dir: Path, **changes: object) -> None:
    (data_dir / "job.json").write_text(json.dumps({**_spec(data_dir), **changes}))


def test_unknown_feature_is_named(diabetes: pl.DataFrame, make_job) -> None:
    data_dir = make_job(diabetes, "regression", {"type": "sklearn"})
    _rewrite(data_dir, features=["age", "nope"])
    with pytest.raises(ValidationError) as err:
        load_training_data(data_dir)
    assert err.value.field == "nope"


def test_string_feature_is_refused(diabetes: pl.DataFrame, make_job) -> None:
    frame = diabetes.with_columns(pl.col("sex").cast(pl.String).alias("sex"))
    data_dir = make_job(frame, "regression", {"type": "sklearn"})
    with pytest.raises(ValidationError, match="not numeric") as err:
        load_training_data(data_dir)
    assert err.value.field == "sex"


def test_bad_task_and_trainer_options_are_named(diabetes: pl.DataFrame, make_job, tmp_path: Path) -> None:
    data_dir = make_job(diabetes, "regression", {"type": "sklearn", "model": "svm"})
    with pytest.raises(ValidationError) as err:
        run_job(data_dir, tmp_path / "out")
    assert err.value.field == "job.trainer.model"
    _rewrite(data_dir, task="ranking")
    with pytest.raises(ValidationError) as err:
        load_training_data(data_dir)
    assert err.value.field == "job.task"


def test_target_as_feature_and_missing_split(diabetes: pl.DataFrame, make_job) -> None:
    data_dir = make_job(diabetes, "regression", {"type": "sklearn"})
    _rewrite(data_dir, features=["age", "target"])
    with pytest.raises(ValidationError, match="target"):
        load_training_data(data_dir)
    (data_dir / "validation.parquet").unlink()
    _rewrite(data_dir, features=["age"])
    with pytest.raises(ValidationError) as err:
        load_training_data(data_dir)
    assert err.value.field == "validation.parquet"


def test_string_labels_round_trip(breast_cancer: pl.DataFrame, make_job, tmp_path: Path) -> None:
    frame = breast_cancer.with_columns(
        pl.when(pl.col("target") == 1).then(pl.lit("benign")).otherwise(pl.lit("malignant")).alias("target")
    )
    result = run_job(make_job(frame, "classification", {"type": "sklearn"}), tmp_path / "out")
    assert result.metrics["classes"] == ["benign", "malignant"]
    assert result.signature.classes == ["benign", "malignant"]
    assert result.metrics["validation"]["auc"] > 0.95

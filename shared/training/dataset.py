"""Read a job's dataset folder into float32 matrices and encoded targets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from shared.errors import ValidationError
from shared.models.frames import (
    class_indices,
    class_labels,
    feature_matrix,
    regression_target,
    target_column,
)
from shared.training.features import to_model_frame
from shared.training.spec import JobSpec, read_job_spec

SPLITS = ("train", "validation", "holdout")


@dataclass(frozen=True)
class TrainingData:
    """Train and validation matrices; ``y`` is class indices (classification) or float values."""

    spec: JobSpec
    data_dir: Path
    x_train: np.ndarray[Any, Any]
    y_train: np.ndarray[Any, Any]
    x_val: np.ndarray[Any, Any]
    y_val: np.ndarray[Any, Any]
    classes: list[Any] | None
    validation: pl.DataFrame
    #: The train split as read (raw columns, for trainers whose graph preprocesses them).
    train: pl.DataFrame | None = None

    @property
    def n_outputs(self) -> int:
        """Number of classes, or 1 for regression."""
        return len(self.classes) if self.classes is not None else 1


def read_split(data_dir: Path, split: str) -> pl.DataFrame:
    """``<data_dir>/<split>.parquet`` as a frame."""
    path = data_dir / f"{split}.parquet"
    if not path.is_file():
        raise ValidationError(f"dataset folder lacks {path.name}", field=path.name)
    return pl.read_parquet(path)


def load_training_data(data_dir: Path) -> TrainingData:
    """Spec, train and validation splits of a dataset folder, checked and encoded."""
    spec = read_job_spec(data_dir)
    train, val = read_split(data_dir, "train"), read_split(data_dir, "validation")
    if train.height < 2 or val.height < 1:
        raise ValidationError("train needs at least 2 rows and validation 1", field="train.parquet")
    if spec.raw_columns:
        # Raw columns (nulls, categories, dates) go to the trainer's preprocessing graph;
        # each is checked against its declared kind here, before any fitting.
        to_model_frame(train, spec.feature_kinds(), "train")
        to_model_frame(val, spec.feature_kinds(), "validation")
        x_train = np.empty((train.height, 0), dtype=np.float32)
        x_val = np.empty((val.height, 0), dtype=np.float32)
    else:
        x_train = feature_matrix(train, spec.features, "train")
        x_val = feature_matrix(val, spec.features, "validation")
    y_train_raw = target_column(train, spec.target, "train")
    y_val_raw = target_column(val, spec.target, "validation")
    if spec.task == "classification":
        classes = class_labels(y_train_raw)
        if len(classes) < 2:
            raise ValidationError("classification needs at least two classes in train", field=spec.target)
        y_train = class_indices(y_train_raw, classes, "train")
        y_val = class_indices(y_val_raw, classes, "validation")
    else:
        classes = None
        y_train = regression_target(y_train_raw, "train")
        y_val = regression_target(y_val_raw, "validation")
    return TrainingData(spec, data_dir, x_train, y_train, x_val, y_val, classes, val, train)

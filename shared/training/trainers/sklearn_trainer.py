"""Builtin ``sklearn`` trainer: linear models or gradient boosting on raw columns, exported with skl2onnx.

The exported graph takes one input per feature column and does its own preprocessing
(``shared.training.features``): impute, one-hot categories (unseen ones ignored), scale for the
linear models. Training and serving therefore cannot skew.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from skl2onnx import to_onnx
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline

from shared.errors import ValidationError
from shared.models.signature import META_CATEGORIES, VALUE
from shared.training.dataset import TrainingData
from shared.training.features import Kind, initial_types, preprocessor, seen_categories, to_model_frame
from shared.training.onnx_stamp import rename_output
from shared.training.spec import validate_model
from shared.training.trainers.base import TrainOutput


class SklearnConfig(BaseModel):
    """``trainer`` block for ``type: sklearn``."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["sklearn"] = "sklearn"
    model: Literal["logistic_regression", "linear", "gradient_boosting"] = Field(
        "logistic_regression", description="Linear family = LogisticRegression / Ridge, both after scaling."
    )
    C: float = Field(1.0, gt=0, description="Inverse regularisation (logistic regression).")
    alpha: float = Field(1.0, ge=0, description="L2 strength (ridge regression).")
    max_iter: int = Field(1000, ge=1)
    n_estimators: int = Field(100, ge=1, description="Boosting stages.")
    max_depth: int = Field(3, ge=1)
    learning_rate: float = Field(0.1, gt=0)


def build_estimator(
    config: SklearnConfig, task: str, seed: int, kinds: dict[str, Kind], numeric_impute: str = "median"
) -> Pipeline:
    """The unfitted pipeline: preprocessing of the raw ``kinds`` columns, then the estimator."""
    estimator: Any
    if config.model == "gradient_boosting":
        params = {
            "n_estimators": config.n_estimators,
            "max_depth": config.max_depth,
            "learning_rate": config.learning_rate,
            "random_state": seed,
        }
        if task == "classification":
            estimator = GradientBoostingClassifier(**params)
        else:
            estimator = GradientBoostingRegressor(**params)
    elif task == "classification":
        estimator = LogisticRegression(C=config.C, max_iter=config.max_iter, random_state=seed)
    else:
        estimator = Ridge(alpha=config.alpha)
    # Trees do not need scaling; the linear models do.
    prep = preprocessor(kinds, scale=config.model != "gradient_boosting", numeric_impute=numeric_impute)
    return Pipeline([("preprocess", prep), ("model", estimator)])


def export(pipeline: Pipeline, kinds: dict[str, Kind], task: str) -> bytes:
    """ONNX bytes: one input per column; ``label`` + ``probabilities`` (no zipmap) or ``value``."""
    final = pipeline.steps[-1][1]
    options = {id(final): {"zipmap": False}} if task == "classification" else None
    proto: Any = to_onnx(pipeline, initial_types=initial_types(kinds), options=options)
    # The categories seen in training, so scoring can count unseen ones (stamp keeps this key).
    seen = seen_categories(pipeline.named_steps["preprocess"])
    proto.metadata_props.add(key=META_CATEGORIES, value=json.dumps(seen))
    if task == "regression":
        rename_output(proto, proto.graph.output[0].name, VALUE)
    return bytes(proto.SerializeToString())


def fit(data: TrainingData) -> Pipeline:
    """The fitted pipeline for the job (exposed so tests can compare it with its ONNX export)."""
    config: SklearnConfig = validate_model(SklearnConfig, data.spec.trainer, "job.trainer")
    if data.train is None:
        raise ValidationError("the sklearn trainer needs the raw train split", field="train.parquet")
    kinds = data.spec.feature_kinds()
    pipeline = build_estimator(config, data.spec.task, data.spec.seed, kinds, data.spec.numeric_impute)
    pipeline.fit(to_model_frame(data.train, kinds, "train"), data.y_train)
    return pipeline


def train(data: TrainingData) -> TrainOutput:
    """Fit on train, export to ONNX."""
    pipeline = fit(data)
    onnx_bytes = export(pipeline, data.spec.feature_kinds(), data.spec.task)
    return TrainOutput(
        onnx=onnx_bytes, epochs=1, device="cpu", extra={"estimator": str(pipeline.steps[-1][1])}
    )

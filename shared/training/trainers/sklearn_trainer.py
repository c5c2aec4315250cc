"""Builtin ``sklearn`` trainer: scaled linear models or gradient boosting, exported with skl2onnx."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from shared.models.signature import INPUT_NAME, VALUE
from shared.training.dataset import TrainingData
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


def build_estimator(config: SklearnConfig, task: str, seed: int) -> Pipeline:
    """The unfitted sklearn pipeline for ``config`` and ``task``."""
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
        # Trees do not need scaling; keep one pipeline shape so export code has one path.
        return make_pipeline(estimator)
    if task == "classification":
        estimator = LogisticRegression(C=config.C, max_iter=config.max_iter, random_state=seed)
    else:
        estimator = Ridge(alpha=config.alpha)
    return make_pipeline(StandardScaler(), estimator)


def export(pipeline: Pipeline, n_features: int, task: str) -> bytes:
    """ONNX bytes: ``label`` + ``probabilities`` (no zipmap) for classifiers, ``value`` for regressors."""
    final = pipeline.steps[-1][1]
    options = {id(final): {"zipmap": False}} if task == "classification" else None
    proto: Any = to_onnx(
        pipeline, initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))], options=options
    )
    if task == "regression":
        rename_output(proto, proto.graph.output[0].name, VALUE)
    return bytes(proto.SerializeToString())


def fit(data: TrainingData) -> Pipeline:
    """The fitted pipeline for the job (exposed so tests can compare it with its ONNX export)."""
    config: SklearnConfig = validate_model(SklearnConfig, data.spec.trainer, "job.trainer")
    pipeline = build_estimator(config, data.spec.task, data.spec.seed)
    pipeline.fit(data.x_train, data.y_train)
    return pipeline


def train(data: TrainingData) -> TrainOutput:
    """Fit on train, export to ONNX."""
    pipeline = fit(data)
    onnx_bytes = export(pipeline, data.x_train.shape[1], data.spec.task)
    return TrainOutput(
        onnx=onnx_bytes, epochs=1, device="cpu", extra={"estimator": str(pipeline.steps[-1][1])}
    )

"""Frames the drift monitor compares: training features + predictions, and an empty window's frame.

The window itself is read lazily from the inference log's Parquet parts (``inference_log.LogWindow``).
"""

from __future__ import annotations

import polars as pl

from shared.models.frames import model_inputs
from shared.models.onnx_io import LoadedModel
from shared.models.predict import predict_matrix
from shared.monitoring import CategoricalReference, ReferenceProfile
from shared.steps.inference_log import PREDICTION, prediction_column

__all__ = ["PREDICTION", "empty_frame", "prediction_column", "with_predictions"]


def with_predictions(model: LoadedModel, frame: pl.DataFrame, features: list[str]) -> pl.DataFrame:
    """``features`` of ``frame`` plus the model's prediction: label (classifier) or value (regressor)."""
    raw = predict_matrix(model, model_inputs(frame, model.signature, "training split"))
    if raw.class_index is not None and raw.classes is not None:
        classes = raw.classes
        predicted = pl.Series(prediction_column(features), [classes[int(i)] for i in raw.class_index])
    else:
        predicted = pl.Series(prediction_column(features), raw.values, dtype=pl.Float64)
    return frame.select(features).with_columns(predicted)


def empty_frame(reference: ReferenceProfile) -> pl.DataFrame:
    """Zero rows with every reference column typed, so each reads as insufficient rather than missing."""
    schema: dict[str, pl.DataType] = {}
    for name, ref in reference.columns.items():
        text = isinstance(ref, CategoricalReference) and not ref.numeric_source
        schema[name] = pl.String() if text else pl.Float64()
    return pl.DataFrame(schema=schema)

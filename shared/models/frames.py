"""Tabular frames to the model's float32 matrix and class indices, with errors naming the column."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import polars as pl

from shared.errors import ValidationError
from shared.models.signature import ModelSignature


def feature_matrix(frame: pl.DataFrame, features: list[str], where: str = "dataset") -> np.ndarray[Any, Any]:
    """The ``features`` columns as float32 ``[rows, n_features]``; numeric, non-null columns only."""
    for name in features:
        if name not in frame.columns:
            raise ValidationError(f"{where} lacks feature column {name!r}", field=name)
        dtype = frame.schema[name]
        if not (dtype.is_numeric() or dtype == pl.Boolean):
            # Categorical/string features are not supported by the builtin trainers: encode upstream.
            raise ValidationError(f"{where} feature {name!r} is {dtype}, not numeric", field=name)
        if frame[name].null_count():
            raise ValidationError(f"{where} feature {name!r} has missing values", field=name)
    matrix = frame.select([pl.col(n).cast(pl.Float32) for n in features]).to_numpy()
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    if not np.isfinite(matrix).all():
        raise ValidationError(f"{where} features hold NaN or infinite values", field="features")
    return matrix


def model_inputs(
    frame: pl.DataFrame, signature: ModelSignature, where: str = "dataset"
) -> np.ndarray[Any, Any]:
    """The model's input matrix for ``frame``: float32 (matrix models) or an object array of
    model-ready values in feature order (raw-columns models: nulls imputed by the graph)."""
    if signature.columns is None:
        return feature_matrix(frame, signature.features, where)
    from shared.training.features import Kind, to_model_frame

    # parse_metadata checked every kind against FEATURE_KINDS.
    ready = to_model_frame(frame, cast(dict[str, Kind], signature.columns), where)
    matrix = np.empty((frame.height, len(signature.features)), dtype=object)
    for j, name in enumerate(signature.features):
        matrix[:, j] = ready[name].to_numpy()
    return matrix


def target_column(frame: pl.DataFrame, target: str, where: str = "dataset") -> pl.Series:
    """The target column, non-null."""
    if target not in frame.columns:
        raise ValidationError(f"{where} lacks target column {target!r}", field=target)
    series = frame[target]
    if series.null_count():
        raise ValidationError(f"{where} target {target!r} has missing values", field=target)
    return series


def class_labels(series: pl.Series) -> list[Any]:
    """Sorted distinct labels as JSON-ready Python values (the probability column order)."""
    return sorted(series.unique().to_list())


def class_indices(series: pl.Series, classes: list[Any], where: str = "dataset") -> np.ndarray[Any, Any]:
    """Each label's position in ``classes``; ValidationError for a label the model does not know."""
    lookup = {_key(c): i for i, c in enumerate(classes)}
    out = np.empty(len(series), dtype=np.int64)
    for i, value in enumerate(series.to_list()):
        idx = lookup.get(_key(value))
        if idx is None:
            raise ValidationError(f"{where} has label {value!r} unknown to the model", field=str(series.name))
        out[i] = idx
    return out


def regression_target(series: pl.Series, where: str = "dataset") -> np.ndarray[Any, Any]:
    """A numeric target as float64."""
    if not series.dtype.is_numeric():
        message = f"{where} target {series.name!r} must be numeric for regression"
        raise ValidationError(message, field=str(series.name))
    return series.cast(pl.Float64).to_numpy()


def _key(value: Any) -> Any:
    # JSON round trips turn 1.0 into 1.0 and 1 into 1; compare numbers by value, strings as strings.
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", float(value))
    return ("s", str(value))

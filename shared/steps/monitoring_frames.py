"""Frames the drift monitor compares: training features + predictions, and a flattened inference log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl

from shared.models.frames import feature_matrix
from shared.models.onnx_io import LoadedModel
from shared.models.predict import predict_matrix
from shared.monitoring import CategoricalReference, ReferenceProfile

PREDICTION = "prediction"


def prediction_column(features: list[str]) -> str:
    """The name of the prediction column: ``prediction``, unless a feature already has that name."""
    return PREDICTION if PREDICTION not in features else f"__{PREDICTION}__"


def with_predictions(model: LoadedModel, frame: pl.DataFrame, features: list[str]) -> pl.DataFrame:
    """``features`` of ``frame`` plus the model's prediction: label (classifier) or value (regressor)."""
    raw = predict_matrix(model, feature_matrix(frame, features, "training split"))
    if raw.class_index is not None and raw.classes is not None:
        classes = raw.classes
        predicted = pl.Series(prediction_column(features), [classes[int(i)] for i in raw.class_index])
    else:
        predicted = pl.Series(prediction_column(features), raw.values, dtype=pl.Float64)
    return frame.select(features).with_columns(predicted)


def _timestamp(row: dict[str, Any]) -> datetime | None:
    try:
        ts = datetime.fromisoformat(str(row["ts"]))
    except (KeyError, ValueError):
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def in_window(rows: list[dict[str, Any]], since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Rows whose ``ts`` falls in [since, until); rows without a readable ts stay (their hour matched)."""
    kept = []
    for row in rows:
        ts = _timestamp(row)
        if ts is None or since <= ts < until:
            kept.append(row)
    return kept


def _prediction_value(row: dict[str, Any], version: str | None) -> Any:
    prediction = row.get("prediction")
    if not isinstance(prediction, dict):
        return None
    # Another version's predictions (a canary) are not comparable with this version's reference.
    if version is not None and row.get("version") not in (None, version):
        return None
    return prediction.get("label", prediction.get("value"))


def log_frame(
    rows: list[dict[str, Any]], reference: ReferenceProfile, prediction: str, version: str | None
) -> pl.DataFrame:
    """Inference-log rows as one frame: a column per logged feature (nulls where absent) + prediction."""
    if not rows:
        return _empty_frame(reference)
    names: dict[str, None] = {}
    for row in rows:
        features = row.get("features")
        if isinstance(features, dict):
            names.update(dict.fromkeys(str(k) for k in features))
    names.pop(prediction, None)
    columns = [pl.Series(name, [_feature(row, name) for row in rows], strict=False) for name in names]
    columns.append(pl.Series(prediction, [_prediction_value(row, version) for row in rows], strict=False))
    return pl.DataFrame(columns)


def _feature(row: dict[str, Any], name: str) -> Any:
    features = row.get("features")
    return features.get(name) if isinstance(features, dict) else None


def _empty_frame(reference: ReferenceProfile) -> pl.DataFrame:
    """Zero rows with every reference column typed, so each reads as insufficient rather than missing."""
    schema: dict[str, pl.DataType] = {}
    for name, ref in reference.columns.items():
        text = isinstance(ref, CategoricalReference) and not ref.numeric_source
        schema[name] = pl.String() if text else pl.Float64()
    return pl.DataFrame(schema=schema)

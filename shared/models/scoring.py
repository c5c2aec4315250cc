"""Score a JSON request: validate rows against the model's features, build float32, run, answer."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel

from shared.errors import ValidationError
from shared.models.onnx_io import LoadedModel
from shared.models.predict import predict_matrix

DEFAULT_MAX_ROWS = 10_000


class Prediction(BaseModel):
    """One row's answer: label + probability (+ all class probabilities), or a value."""

    label: Any | None = None
    probability: float | None = None
    probabilities: dict[str, float] | None = None
    value: float | None = None


class ScoreResponse(BaseModel):
    """Predictions in request row order."""

    predictions: list[Prediction]


def _rows_of(payload: Any, max_rows: int) -> list[Any]:
    rows = payload.get("rows") if isinstance(payload, dict) else payload
    if not isinstance(rows, list):
        raise ValidationError("request must be a list of row objects or {'rows': [...]}", field="rows")
    if not rows:
        raise ValidationError("request has no rows", field="rows")
    if len(rows) > max_rows:
        raise ValidationError(f"request has {len(rows)} rows, at most {max_rows} allowed", field="rows")
    return rows


def _number(value: Any, where: str, feature: str) -> float:
    # bool is an int subclass in Python; a JSON true/false is not a number for a model.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(
            f"feature {feature!r} in {where} must be a number, got {type(value).__name__}", field=where
        )
    number = float(value)
    if not math.isfinite(number):
        raise ValidationError(f"feature {feature!r} in {where} must be finite", field=where)
    return number


def build_matrix(payload: Any, features: list[str], max_rows: int = DEFAULT_MAX_ROWS) -> np.ndarray[Any, Any]:
    """Validate rows against ``features`` and return them as a float32 matrix in feature order."""
    rows = _rows_of(payload, max_rows)
    expected = set(features)
    matrix = np.empty((len(rows), len(features)), dtype=np.float32)
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValidationError(f"row {i} must be an object of feature: value", field=f"rows[{i}]")
        unknown = sorted(set(row) - expected, key=str)
        if unknown:
            name = unknown[0]
            raise ValidationError(f"row {i} has unknown feature {name!r}", field=f"rows[{i}].{name}")
        for j, name in enumerate(features):
            if name not in row:
                raise ValidationError(f"row {i} is missing feature {name!r}", field=f"rows[{i}].{name}")
            matrix[i, j] = _number(row[name], f"rows[{i}].{name}", name)
    return matrix


def score(model: LoadedModel, payload: Any, max_rows: int = DEFAULT_MAX_ROWS) -> ScoreResponse:
    """Validate a scoring request against ``model`` and return its predictions."""
    matrix = build_matrix(payload, model.signature.features, max_rows)
    raw = predict_matrix(model, matrix)
    if raw.probabilities is not None and raw.class_index is not None and raw.classes is not None:
        classes = raw.classes
        return ScoreResponse(
            predictions=[
                Prediction(
                    label=classes[int(idx)],
                    probability=float(probs[int(idx)]),
                    probabilities={str(c): float(p) for c, p in zip(classes, probs, strict=True)},
                )
                for idx, probs in zip(raw.class_index, raw.probabilities, strict=True)
            ]
        )
    assert raw.values is not None
    return ScoreResponse(predictions=[Prediction(value=float(v)) for v in raw.values])

"""Turn raw model outputs into labels, probabilities or values, the same way for every trainer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from shared.models.onnx_io import LoadedModel
from shared.models.signature import PROBABILITIES, VALUE

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class RawPredictions:
    """Per-row predictions as arrays: class index + probabilities, or values."""

    task: str
    classes: list[Any] | None
    probabilities: FloatArray | None = None
    class_index: np.ndarray[Any, np.dtype[np.int64]] | None = None
    values: FloatArray | None = None


def predict_matrix(
    model: LoadedModel, matrix: np.ndarray[Any, Any] | dict[str, np.ndarray[Any, Any]]
) -> RawPredictions:
    """Run the model on a matrix (or session feeds); labels come from argmax over ``probabilities``."""
    outputs = model.run(matrix)
    rows = len(next(iter(matrix.values()))) if isinstance(matrix, dict) else len(matrix)
    sig = model.signature
    if sig.task == "classification":
        probs = np.asarray(outputs[PROBABILITIES], dtype=np.float64).reshape(rows, -1)
        return RawPredictions(
            task=sig.task,
            classes=sig.classes,
            probabilities=probs,
            class_index=np.argmax(probs, axis=1).astype(np.int64),
        )
    values = np.asarray(outputs[VALUE], dtype=np.float64).reshape(rows)
    return RawPredictions(task=sig.task, classes=None, values=values)

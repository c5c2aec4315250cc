"""The model contract every trainer writes and every reader relies on.

A model is ONNX with one float32 input tensor ``input`` of shape ``[batch, n_features]``. The
feature names (in column order), task, target and class labels ride in the ONNX
``metadata_props`` under the keys below, so the model file alone is enough to score it.
Classifiers output ``probabilities`` ``[batch, n_classes]`` (column ``i`` is ``classes[i]``);
sklearn classifiers also output ``label`` (the class index). Regressors output ``value``.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ValidationError

Task = Literal["classification", "regression"]

INPUT_NAME = "input"
PROBABILITIES = "probabilities"
LABEL = "label"
VALUE = "value"

META_FEATURES = "mlops.features"
META_TASK = "mlops.task"
META_TARGET = "mlops.target"
META_CLASSES = "mlops.classes"
META_TRAINER = "mlops.trainer"


class TensorInfo(BaseModel):
    """Name, element type and shape (None for a dynamic axis) of one model input or output."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: str
    shape: list[int | str | None]


class ModelSignature(BaseModel):
    """What a model takes and gives: tensors plus our metadata (feature order, task, classes)."""

    model_config = ConfigDict(frozen=True)

    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    features: list[str] = Field(description="Feature names in input column order.")
    task: Task
    target: str | None = None
    classes: list[Any] | None = Field(default=None, description="Class labels, probability column order.")
    trainer: str | None = None

    @property
    def input_name(self) -> str:
        """Name of the single feature tensor."""
        return self.inputs[0].name

    @property
    def output_names(self) -> list[str]:
        """Names of every output tensor."""
        return [o.name for o in self.outputs]


def metadata_for(
    *, features: list[str], task: Task, target: str, classes: list[Any] | None, trainer: str
) -> dict[str, str]:
    """The ``metadata_props`` a trainer stamps into its model."""
    meta = {
        META_FEATURES: json.dumps(features),
        META_TASK: task,
        META_TARGET: target,
        META_TRAINER: trainer,
    }
    if classes is not None:
        meta[META_CLASSES] = json.dumps(classes)
    return meta


def parse_metadata(meta: dict[str, str], field: str = "model") -> dict[str, Any]:
    """Our keys decoded from ``metadata_props``; ValidationError when the contract is not met."""
    try:
        features = json.loads(meta[META_FEATURES])
        task = meta[META_TASK]
        classes = json.loads(meta[META_CLASSES]) if META_CLASSES in meta else None
    except KeyError as exc:
        raise ValidationError(f"model metadata lacks {exc.args[0]!r}", field=field) from exc
    except json.JSONDecodeError as exc:
        raise ValidationError(f"model metadata is not valid JSON: {exc}", field=field) from exc
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise ValidationError("model metadata features must be a list of names", field=field)
    if task not in ("classification", "regression"):
        raise ValidationError(f"model metadata task {task!r} is unknown", field=field)
    if task == "classification" and not classes:
        raise ValidationError("classifier metadata lacks its classes", field=field)
    return {
        "features": features,
        "task": task,
        "target": meta.get(META_TARGET),
        "classes": classes,
        "trainer": meta.get(META_TRAINER),
    }

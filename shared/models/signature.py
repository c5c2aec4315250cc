"""The model contract every trainer writes and every reader relies on.

Two input forms. **Raw columns** (the builtin sklearn trainer): one ``[batch, 1]`` input per
feature column, named after it, float32 for numeric/bool/date columns (dates as days since the
epoch, see ``shared.training.features``) and string for categories; imputation, encoding and
scaling live inside the graph. The feature kinds ride in ``mlops.columns`` (and the columns the
run dropped, with reasons, in ``mlops.dropped``). **Matrix** (torch_mlp, command, older models):
one float32 input tensor ``input`` of shape ``[batch, n_features]``, no ``mlops.columns``. The
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
META_COLUMNS = "mlops.columns"
META_DROPPED = "mlops.dropped"
#: Category values seen in training per category feature (written by the trainer into its graph).
META_CATEGORIES = "mlops.categories"

#: Feature kinds of a raw-columns model (shared.training.features.Kind).
FEATURE_KINDS = ("numeric", "bool", "category", "datetime")


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
    columns: dict[str, str] | None = Field(
        default=None, description="Feature -> kind for a raw-columns model (one input each); None: matrix."
    )
    dropped: dict[str, str] | None = Field(default=None, description="Columns not used -> reason.")
    categories: dict[str, list[str]] | None = Field(
        default=None, description="Category feature -> values seen in training (others are 'unseen')."
    )

    @property
    def raw_columns(self) -> bool:
        """True when the model takes one input per feature column (preprocessing in the graph)."""
        return self.columns is not None

    @property
    def numeric_features(self) -> list[str]:
        """Features that are plain numbers (what the inference log and drift monitor track)."""
        if self.columns is None:
            return list(self.features)
        return [f for f in self.features if self.columns.get(f) in ("numeric", "bool")]

    @property
    def input_name(self) -> str:
        """Name of the single feature tensor."""
        return self.inputs[0].name

    @property
    def output_names(self) -> list[str]:
        """Names of every output tensor."""
        return [o.name for o in self.outputs]


def metadata_for(
    *,
    features: list[str],
    task: Task,
    target: str,
    classes: list[Any] | None,
    trainer: str,
    columns: dict[str, str] | None = None,
    dropped: dict[str, str] | None = None,
) -> dict[str, str]:
    """The ``metadata_props`` a trainer stamps into its model (``columns`` only for raw-columns models)."""
    meta = {
        META_FEATURES: json.dumps(features),
        META_TASK: task,
        META_TARGET: target,
        META_TRAINER: trainer,
    }
    if classes is not None:
        meta[META_CLASSES] = json.dumps(classes)
    if columns is not None:
        meta[META_COLUMNS] = json.dumps(columns)
    if dropped is not None:
        meta[META_DROPPED] = json.dumps(dropped)
    return meta


def _string_map(meta: dict[str, str], key: str, field: str) -> dict[str, str] | None:
    if key not in meta:
        return None
    try:
        value = json.loads(meta[key])
    except json.JSONDecodeError as exc:
        raise ValidationError(f"model metadata {key} is not valid JSON: {exc}", field=field) from exc
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValidationError(f"model metadata {key} must map names to text", field=field)
    return {str(k): v for k, v in value.items()}


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
    columns = _string_map(meta, META_COLUMNS, field)
    if columns is not None:
        if list(columns) != features:
            raise ValidationError("model metadata columns must name the features in order", field=field)
        bad = sorted({k for k in columns.values() if k not in FEATURE_KINDS})
        if bad:
            raise ValidationError(f"model metadata has unknown feature kinds {bad}", field=field)
    categories = None
    if META_CATEGORIES in meta:
        try:
            categories = json.loads(meta[META_CATEGORIES])
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"model metadata {META_CATEGORIES} is not valid JSON: {exc}", field=field
            ) from exc
        if not isinstance(categories, dict) or not all(isinstance(v, list) for v in categories.values()):
            raise ValidationError(f"model metadata {META_CATEGORIES} must map names to lists", field=field)
    return {
        "categories": categories,
        "columns": columns,
        "dropped": _string_map(meta, META_DROPPED, field),
        "features": features,
        "task": task,
        "target": meta.get(META_TARGET),
        "classes": classes,
        "trainer": meta.get(META_TRAINER),
    }

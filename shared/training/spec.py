"""``job.json``: what a training job trains (target, task, features) and with which trainer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ValidationError
from shared.models.signature import Task
from shared.training.features import RAW_COLUMN_TRAINERS, Kind

JOB_FILE = "job.json"
TRAINERS = ("sklearn", "torch_mlp", "command")


class JobSpec(BaseModel):
    """The job contract: the dataset folder's ``job.json``."""

    model_config = ConfigDict(extra="forbid")

    target: str = Field(min_length=1, description="Target column name.")
    task: Task
    features: list[str] = Field(min_length=1, description="Numeric feature columns, in model input order.")
    trainer: dict[str, Any] = Field(description="Trainer config; 'type' is sklearn, torch_mlp or command.")
    seed: int = Field(0, description="Seed for every random choice of the trainer.")
    feature_types: dict[str, Kind] = Field(
        default_factory=dict, description="Feature -> numeric/bool/category/datetime; empty: all numeric."
    )
    dropped: dict[str, str] = Field(default_factory=dict, description="Columns not used -> reason.")
    numeric_impute: Literal["median", "mean"] = Field("median", description="Imputing numbers and dates.")

    def feature_kinds(self) -> dict[str, Kind]:
        """Every feature's kind, in input order."""
        return {f: self.feature_types.get(f, "numeric") for f in self.features}

    @property
    def raw_columns(self) -> bool:
        """Whether the model takes one input per raw column (builtins, or command with inputs: raw)."""
        return self.trainer_type in RAW_COLUMN_TRAINERS or self.trainer.get("inputs") == "raw"

    @property
    def trainer_type(self) -> str:
        """The trainer's ``type``."""
        return str(self.trainer.get("type", ""))


def validate_model(cls: type[pydantic.BaseModel], raw: Any, field: str) -> Any:
    """Validate ``raw`` into ``cls``; pydantic errors become ValidationError naming the field."""
    try:
        return cls.model_validate(raw)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in (field, *err["loc"]))
        raise ValidationError(f"{loc}: {err['msg']}", field=loc) from exc


def read_job_spec(data_dir: Path) -> JobSpec:
    """Read and validate ``<data_dir>/job.json``."""
    path = data_dir / JOB_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValidationError(f"{path} does not exist", field=JOB_FILE) from exc
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path} is not valid JSON: {exc}", field=JOB_FILE) from exc
    spec: JobSpec = validate_model(JobSpec, raw, "job")
    if spec.trainer_type not in TRAINERS:
        raise ValidationError(
            f"trainer type {spec.trainer_type!r} is unknown; one of {', '.join(TRAINERS)}",
            field="job.trainer.type",
        )
    if spec.target in spec.features:
        raise ValidationError("the target column cannot also be a feature", field="job.features")
    if len(set(spec.features)) != len(spec.features):
        raise ValidationError("feature names must be unique", field="job.features")
    return spec

"""The pipeline spec (examples/*.yaml) and ``load_spec``, its one entry point."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.errors import ValidationError
from shared.models.metrics import REGISTRY, metrics_for
from shared.pipeline.ingest_parts import IngestParts
from shared.pipeline.operations import Approval, Budget, Deployment, Gates, Monitoring, Ncrontab
from shared.pipeline.sections import (
    UNION_TAGS,
    ColumnType,
    Compute,
    Expectations,
    LocalCompute,
    Source,
    Split,
    Trainer,
)
from shared.safe_parse import check_mapping, load_yaml
from shared.training.features import FeatureRules


class _FieldError(ValueError):
    """A cross-field check failed; carries the dotted path of the field to blame."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class PipelineSpec(BaseModel):
    """A pipeline as declared by its user: data, training, gates, deployment, monitoring."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="Pipeline name (lowercase, dashes).")
    description: str = Field(default="", description="Free text shown in listings.")
    source: Source = Field(description="Where the data comes from.")
    target: str = Field(min_length=1, description="Column to predict.")
    task: Literal["classification", "regression"] = Field(description="Kind of prediction.")
    schema_overrides: dict[str, ColumnType] = Field(
        default_factory=dict, description="Column types forced instead of inferred."
    )
    expectations: Expectations = Field(default_factory=Expectations, description="Declared data rules.")
    features: FeatureRules = Field(
        default_factory=FeatureRules, description="Which columns are features; drop thresholds; imputing."
    )
    split: Split = Field(default_factory=Split, description="Train/validation/holdout split.")
    ingest: IngestParts | None = Field(
        default=None, description="Ingest a CSV source by a fan-out of activities, one per part."
    )
    reject_threshold: float = Field(
        default=0.05, ge=0, le=1, description="Largest share of quarantined rows before the run stops."
    )
    trainer: Trainer = Field(description="How the model is trained.")
    compute: Compute = Field(
        default_factory=lambda: LocalCompute(kind="local"), description="Where it trains."
    )
    gates: Gates = Field(default_factory=Gates, description="Checks before registration.")
    approval: Approval = Field(default_factory=Approval, description="Optional human approval.")
    deployment: Deployment = Field(default_factory=Deployment, description="Alias and rollout.")
    monitoring: Monitoring = Field(default_factory=Monitoring, description="Drift monitoring.")
    schedule: Ncrontab | None = Field(default=None, description="NCRONTAB of scheduled retraining.")
    budget: Budget | None = Field(default=None, description="Cost alert limits.")

    @model_validator(mode="after")
    def _check_across_fields(self) -> PipelineSpec:
        valid = metrics_for(self.task)
        for metric in self.gates.absolute:
            if metric not in valid:
                raise _FieldError(
                    f"gates.absolute.{metric}",
                    f"metric {metric!r} is not valid for {self.task}; use one of {sorted(valid)}",
                )
            gate = self.gates.absolute[metric]
            for bound in ("min", "max"):
                value = getattr(gate, bound)
                problem = REGISTRY[metric].check_bound(value) if value is not None else None
                if problem is not None:
                    raise _FieldError(f"gates.absolute.{metric}.{bound}", problem)
        cc = self.gates.champion_challenger
        if cc is not None and cc.metric not in valid:
            raise _FieldError(
                "gates.champion_challenger.metric",
                f"metric {cc.metric!r} is not valid for {self.task}; use one of {sorted(valid)}",
            )
        quality = self.monitoring.quality.metric
        if quality is not None and quality not in valid:
            raise _FieldError(
                "monitoring.quality.metric",
                f"metric {quality!r} is not valid for {self.task}; use one of "
                f"{'accuracy, auc, f1' if self.task == 'classification' else 'rmse, mae'}",
            )
        target_type = self.schema_overrides.get(self.target)
        if self.task == "regression" and target_type in ("string", "category", "bool"):
            raise _FieldError(f"schema_overrides.{self.target}", "a regression target must be numeric")
        return self


def _field_path(loc: tuple[int | str, ...]) -> str:
    """Dotted path of a pydantic error location, without the tags of discriminated unions."""
    parts: list[str] = []
    for i, item in enumerate(loc):
        if i == 1 and isinstance(loc[0], str) and item in UNION_TAGS.get(loc[0], ()):
            continue
        if str(item).startswith("function-after["):
            continue
        parts.append(str(item))
    return ".".join(parts)


def _to_validation_error(exc: pydantic.ValidationError) -> ValidationError:
    """One ValidationError naming the first offending field; the message lists every problem."""
    problems: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, _FieldError):
            problems.append((cause.field, str(cause)))
            continue
        field = _field_path(tuple(err["loc"]))
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            field = f"{field}.kind"
        message = err["msg"].removeprefix("Value error, ")
        problems.append((field or "spec", message))
    message = "; ".join(f"{field}: {msg}" for field, msg in problems)
    return ValidationError(f"invalid pipeline spec: {message}", field=problems[0][0])


def load_spec(text_or_dict: str | bytes | Mapping[str, Any]) -> PipelineSpec:
    """Parse and validate a spec from YAML text or a mapping; raise ValidationError naming the field."""
    if isinstance(text_or_dict, str | bytes):
        # Bounded: size, nesting and alias expansion are checked before any object is built.
        data = load_yaml(text_or_dict, field="spec")
    elif isinstance(text_or_dict, Mapping):
        check_mapping(text_or_dict, field="spec")
        data = dict(text_or_dict)
    else:
        raise ValidationError(
            f"spec must be a mapping of fields or YAML text, not {type(text_or_dict).__name__}", field="spec"
        )
    if not isinstance(data, dict):
        raise ValidationError("spec must be a mapping of fields", field="spec")
    try:
        return PipelineSpec.model_validate(data)
    except pydantic.ValidationError as exc:
        raise _to_validation_error(exc) from None


def load_spec_file(path: str | Path) -> PipelineSpec:
    """Load a spec from a YAML file on disk."""
    return load_spec(Path(path).read_text(encoding="utf-8"))

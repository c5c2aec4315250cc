"""The data half of a training run in one call: validate, split, profile an ingested dataset.

An activity wires it to storage: download the source, ``ingest_source``, ``prepare_dataset``, then
write ``splits`` (Parquet), ``validation.quarantine_csv()``, ``profile.to_json()`` and, on a first
run that was not rejected (``validation.baseline_inferred``), ``validation.baseline.to_json()``;
finally ``validation.raise_if_rejected()``, so a rejected dataset stops the run after its
quarantine has been stored.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.data.ingest import IngestResult
from shared.data.schema import BaselineSchema
from shared.data.split import split_frame, to_parquet_bytes
from shared.data.types import ROW
from shared.data.validate import ValidationResult, validate_dataset
from shared.monitoring.reference import DATASET_PROFILE, ReferenceProfile
from shared.pipeline.sections import ColumnType
from shared.pipeline.spec import PipelineSpec


class PreparedDataset(BaseModel):
    """Everything the data steps produce for one dataset version."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    dataset_version: str = Field(description="sha256 of the source bytes.")
    validation: ValidationResult = Field(description="Counts, decision, quarantine, baseline.")
    profile: ReferenceProfile | None = Field(description="Profile of the accepted rows; None when rejected.")
    split_rows: dict[str, int] = Field(description="Rows per split; empty when rejected.")
    splits: dict[str, bytes] = Field(
        exclude=True, repr=False, description="Parquet bytes per split; empty when rejected."
    )

    def summary(self) -> dict[str, Any]:
        """A small JSON-ready summary for a `datasets` table row or an activity result."""
        v = self.validation
        return {
            "dataset_version": self.dataset_version,
            "rows_read": v.rows_read,
            "rows_accepted": v.rows_accepted,
            "rows_quarantined": v.rows_quarantined,
            "reject_rate": v.reject_rate,
            "rejected": v.rejected,
            "reasons": v.reasons,
            "notes": v.notes,
            "split_rows": self.split_rows,
        }


def ingest_overrides(spec: PipelineSpec, baseline: BaselineSchema | None) -> dict[str, ColumnType]:
    """Types to force at ingest: the baseline's, with the spec's overrides on top."""
    return {**(baseline.dtypes() if baseline else {}), **spec.schema_overrides}


def prepare_dataset(
    ingested: IngestResult, spec: PipelineSpec, baseline: BaselineSchema | None = None
) -> PreparedDataset:
    """Validate, then (unless rejected) split the accepted rows and profile them."""
    validation = validate_dataset(ingested, spec, baseline)
    if validation.rejected:
        return PreparedDataset(
            dataset_version=ingested.dataset_version,
            validation=validation,
            profile=None,
            split_rows={},
            splits={},
        )
    accepted = validation.accepted
    profile = ReferenceProfile.from_frame(accepted.drop(ROW), DATASET_PROFILE)
    parts = split_frame(accepted, spec.split)
    return PreparedDataset(
        dataset_version=ingested.dataset_version,
        validation=validation,
        profile=profile,
        split_rows={name: part.height for name, part in parts.items()},
        splits={name: to_parquet_bytes(part.drop(ROW)) for name, part in parts.items()},
    )

"""The spec's ``ingest`` section: whether a source is ingested by a fan-out of activities, one per part."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class IngestParts(BaseModel):
    """How to cut a CSV source into parts ingested and validated in parallel (see README "Ingest fan-out").

    Left out, a source is ingested by one activity. With ``parts`` or ``max_part_bytes`` the source
    is cut at the single pass's own chunk boundaries, so the merged result equals one pass.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    parts: int | None = Field(default=None, ge=2, le=256, description="Parts to cut the source into.")
    max_part_bytes: int | None = Field(
        default=None, ge=1024, description="Largest part in bytes; the source's size decides how many."
    )
    min_source_bytes: int = Field(
        default=0, ge=0, description="Smaller sources are ingested by one activity (fan-out costs a plan)."
    )

    @model_validator(mode="after")
    def _one_rule(self) -> IngestParts:
        if self.parts is None and self.max_part_bytes is None:
            raise ValueError("ingest needs parts or max_part_bytes")
        return self

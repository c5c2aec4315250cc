"""Validate an ingested dataset against its baseline schema and the spec's expectations.

Decisions:
- Every failing row goes to the quarantine with its 1-based source row number, the column, the
  reason and the value; a row failing several checks has one line per reason. Counts always add
  up: ``rows_accepted + rows_quarantined == rows_read`` (unreadable records included).
- Missing columns (baseline, target or expectation columns) reject the whole dataset, naming them.
- Extra columns (not in the baseline) are recorded in ``notes`` and dropped from the accepted rows.
- A null that is null only because its value failed to parse is reported once, as a type failure.
- First run (no baseline): a baseline is inferred from the rows that passed every other check and
  returned in ``baseline`` for the caller to store; baseline checks start from the next run.
- Non-finite numbers (NaN, inf, -inf: text such as ``nan``, ``inf``, ``1e999``) in float columns
  are quarantined with reason "non-finite number" unless ``expectations.allow_non_finite``; a
  min/max rule refuses NaN and +-inf beyond its bound either way. Profiles skip them.
- More columns than ``expectations.max_columns`` reject the dataset before any row check (the
  reason names both counts); every row then counts as quarantined, so the counts still add up.
- Rejected when there are dataset-level reasons, when ``reject_rate > reject_threshold``, or when
  fewer than ``expectations.min_rows`` rows are accepted.

Cost is linear in columns x rows: the frame's schema and column names are looked up once, and
failing rows are filtered from two columns, never from the whole (possibly wide) frame.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Mapping

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from shared.data.ingest import IngestResult
from shared.data.schema import BaselineSchema
from shared.data.types import ROW
from shared.data.validate_stream import DEFAULT_RANGE_TOLERANCE, StreamValidator, summarise
from shared.errors import DataRejectedError
from shared.pipeline.sections import ColumnType, Expectations
from shared.pipeline.spec import PipelineSpec


class ValidationResult(BaseModel):
    """Counts, decision and reasons of one validation; the frames are excluded from JSON dumps."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    rows_read: int = Field(description="Rows in the source, unreadable ones included.")
    rows_accepted: int = Field(description="Rows that passed every check.")
    rows_quarantined: int = Field(description="Distinct rows that failed at least one check.")
    reject_rate: float = Field(description="rows_quarantined / rows_read (0 when nothing was read).")
    reject_threshold: float = Field(description="Largest reject rate that still passes.")
    rejected: bool = Field(description="Whether the dataset must not be used.")
    reasons: list[str] = Field(description="Why the dataset was rejected (empty when it was not).")
    notes: list[str] = Field(description="Findings that did not reject the dataset (e.g. dropped columns).")
    failure_counts: dict[str, int] = Field(description="Rows per 'column: reason' (column '*' = whole row).")
    baseline: BaselineSchema = Field(description="The baseline checked against, or the one inferred now.")
    baseline_inferred: bool = Field(description="True when this run inferred the baseline (first run).")
    accepted: pl.DataFrame = Field(exclude=True, repr=False, description="Accepted rows, with ``__row__``.")
    quarantine: pl.DataFrame = Field(exclude=True, repr=False, description="One line per (row, reason).")
    quarantine_rows: pl.DataFrame = Field(
        exclude=True, repr=False, description="One line per quarantined row."
    )

    def quarantine_csv(self) -> bytes:
        """The quarantine (one line per failure) as CSV bytes."""
        return self.quarantine.write_csv().encode("utf-8")

    def quarantine_parquet(self) -> bytes:
        """The quarantine (one line per failure) as Parquet bytes."""
        buffer = io.BytesIO()
        self.quarantine.write_parquet(buffer)
        return buffer.getvalue()

    def raise_if_rejected(self) -> None:
        """Raise DataRejectedError with the reasons when the dataset was rejected."""
        if self.rejected:
            raise DataRejectedError("dataset rejected: " + "; ".join(self.reasons))


def validate_frame(
    frame: pl.DataFrame,
    *,
    target: str,
    expectations: Expectations,
    reject_threshold: float,
    baseline: BaselineSchema | None = None,
    issues: pl.DataFrame | None = None,
    rows_read: int | None = None,
    dataset_reasons: list[str] | None = None,
    dataset_version: str = "",
    declared: Mapping[str, ColumnType] | None = None,
    range_tolerance: float = DEFAULT_RANGE_TOLERANCE,
) -> ValidationResult:
    """Check typed rows (plus the issues ingest found) and decide whether the dataset is usable.

    One batch of ``StreamValidator``: the streaming validate step gives the same results batch by batch.
    """
    if ROW not in frame.columns:
        frame = frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    checker = StreamValidator(
        frame.schema,
        target=target,
        expectations=expectations,
        reject_threshold=reject_threshold,
        rows_read=rows_read if rows_read is not None else frame.height,
        baseline=baseline,
        dataset_reasons=dataset_reasons,
        dataset_version=dataset_version,
        declared=declared,
        range_tolerance=range_tolerance,
    )
    accepted, failed = checker.add(frame, issues)
    totals = checker.finish()
    return ValidationResult(
        **dataclasses.asdict(totals) | {"baseline": totals.baseline},
        accepted=accepted,
        quarantine=failed,
        quarantine_rows=summarise(failed),
    )


def validate_dataset(
    ingested: IngestResult, spec: PipelineSpec, baseline: BaselineSchema | None = None
) -> ValidationResult:
    """Validate an ingest result with the spec's target, expectations and reject threshold."""
    return validate_frame(
        ingested.frame,
        target=spec.target,
        expectations=spec.expectations,
        reject_threshold=spec.reject_threshold,
        baseline=baseline,
        issues=ingested.issues,
        rows_read=ingested.rows_read,
        dataset_reasons=ingested.reasons,
        dataset_version=ingested.dataset_version,
        declared=spec.schema_overrides,
    )

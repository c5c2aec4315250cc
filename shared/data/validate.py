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

import io
from collections.abc import Mapping

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from shared.data.checks import (
    Check,
    baseline_checks,
    conform,
    expectation_checks,
    failures,
    non_finite_checks,
)
from shared.data.ingest import ISSUE_SCHEMA, IngestResult
from shared.data.schema import BaselineSchema, infer_schema
from shared.data.types import ROW
from shared.errors import DataRejectedError
from shared.pipeline.sections import ColumnType, Expectations
from shared.pipeline.spec import PipelineSpec

#: Baseline ranges are widened by this share of their span before values count as out of range.
DEFAULT_RANGE_TOLERANCE = 0.1
_NULL_REASONS = ("missing target", "null: baseline had no nulls", "expectation: not_null")


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


def _missing_columns(
    frame: pl.DataFrame, target: str, expectations: Expectations, baseline: BaselineSchema | None
) -> list[str]:
    wanted = [target, *expectations.columns, *(baseline.columns if baseline else [])]
    present = set(frame.columns)
    return sorted({c for c in wanted if c not in present})


def _drop_parse_nulls(failed: pl.DataFrame) -> pl.DataFrame:
    """Drop null findings for values whose null comes from a failed parse (already reported)."""
    typed = failed.filter(pl.col("reason").str.starts_with("type:")).select("row", "column").unique()
    nulls = failed.filter(pl.col("reason").is_in(_NULL_REASONS))
    others = failed.filter(~pl.col("reason").is_in(_NULL_REASONS))
    return pl.concat([others, nulls.join(typed, on=["row", "column"], how="anti")])


def _summarise(failed: pl.DataFrame) -> pl.DataFrame:
    return (
        failed.with_columns(
            pl.format("{}: {}", pl.col("column").fill_null("*"), pl.col("reason")).alias("why")
        )
        .group_by("row")
        .agg(
            pl.len().alias("failures"),
            pl.col("why").unique(maintain_order=True).str.join("; ").alias("reasons"),
        )
        .sort("row")
    )


def _failure_counts(failed: pl.DataFrame) -> dict[str, int]:
    counts = (
        failed.group_by(pl.col("column").fill_null("*"), "reason")
        .agg(pl.col("row").n_unique().alias("rows"))
        .sort("rows", "column", "reason", descending=[True, False, False])
    )
    return {f"{c}: {r}": n for c, r, n in counts.iter_rows()}


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
    """Check typed rows (plus the issues ingest found) and decide whether the dataset is usable."""
    if ROW not in frame.columns:
        frame = frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    reasons = list(dataset_reasons or [])
    read = rows_read if rows_read is not None else frame.height
    width = frame.width - 1  # ROW is ours, not the file's
    if width > expectations.max_columns:
        reasons.append(f"{width} columns, more than max_columns {expectations.max_columns}")
        return _rejected_whole(frame, issues, read, reject_threshold, reasons, dataset_version)
    notes: list[str] = []
    missing = _missing_columns(frame, target, expectations, baseline)
    if missing:
        reasons.append(f"missing columns: {missing}")
    found = [issues if issues is not None else pl.DataFrame(schema=ISSUE_SCHEMA)]
    if baseline is not None:
        extra = [c for c in frame.columns if c != ROW and c not in baseline.columns]
        if extra:
            notes.append(f"extra columns not in the baseline, dropped: {extra}")
            frame = frame.drop(extra)
        frame, type_failures = conform(frame, baseline)
        found.append(type_failures)
    checks: list[Check] = []
    schema = frame.schema  # once: each frame.schema call costs a pass over all columns
    if target in schema:
        checks.append((pl.col(target).is_null(), target, "missing target"))
    for name, rule in expectations.columns.items():
        if name in schema:
            checks += expectation_checks(frame, name, rule, schema[name])
    if not expectations.allow_non_finite:
        checks += non_finite_checks(schema)
    if baseline is not None:
        checks += baseline_checks(frame, baseline, range_tolerance)
    found.append(failures(frame, checks))
    failed = _drop_parse_nulls(pl.concat(found)).sort("row", "column", "reason", nulls_last=True)
    bad_rows = failed["row"].unique()
    accepted = frame.filter(~pl.col(ROW).is_in(bad_rows.implode()))
    inferred = baseline is None
    if baseline is None:
        baseline = infer_schema(accepted, dtypes=declared, target=target, dataset_version=dataset_version)
    quarantined = bad_rows.len()
    rate = quarantined / read if read else 0.0
    if rate > reject_threshold:
        share = f"{quarantined} of {read} rows"
        reasons.append(f"reject rate {rate:.2%} is above the threshold {reject_threshold:.2%} ({share})")
    if accepted.height < expectations.min_rows:
        reasons.append(f"{accepted.height} rows accepted, fewer than min_rows {expectations.min_rows}")
    return ValidationResult(
        rows_read=read,
        rows_accepted=accepted.height,
        rows_quarantined=quarantined,
        reject_rate=rate,
        reject_threshold=reject_threshold,
        rejected=bool(reasons),
        reasons=reasons,
        notes=notes,
        failure_counts=_failure_counts(failed),
        baseline=baseline,
        baseline_inferred=inferred,
        accepted=accepted,
        quarantine=failed,
        quarantine_rows=_summarise(failed),
    )


def _rejected_whole(
    frame: pl.DataFrame,
    issues: pl.DataFrame | None,
    read: int,
    reject_threshold: float,
    reasons: list[str],
    dataset_version: str,
) -> ValidationResult:
    """A dataset refused as a whole before row checks: every row quarantined with the last reason."""
    why = f"dataset: {reasons[-1]}"
    whole = frame.select(
        pl.col(ROW).alias("row"),
        pl.lit(None, dtype=pl.String).alias("column"),
        pl.lit(why).alias("reason"),
        pl.lit(None, dtype=pl.String).alias("value"),
    )
    # Records ingest could not read keep their own reasons, so every record is in the quarantine.
    unreadable = issues.filter(pl.col("column").is_null()) if issues is not None else whole.clear()
    failed = pl.concat([whole, unreadable]).sort("row")
    quarantined = failed["row"].n_unique()
    return ValidationResult(
        rows_read=read,
        rows_accepted=0,
        rows_quarantined=quarantined,
        reject_rate=1.0 if read else 0.0,
        reject_threshold=reject_threshold,
        rejected=True,
        reasons=reasons,
        notes=[],
        failure_counts=_failure_counts(failed),
        baseline=BaselineSchema(columns={}, dataset_version=dataset_version),
        baseline_inferred=False,
        accepted=frame.clear(),
        quarantine=failed,
        quarantine_rows=_summarise(failed),
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

"""Validation batch by batch: row checks per batch, totals, uniqueness and baseline across batches.

``StreamValidator`` holds only what spans batches: counts, failure counts per (column, reason),
the values already seen in ``unique`` columns, and the baseline being inferred (bounded per
column). Each ``add`` returns the batch's accepted rows and its failures, so a caller can write
splits and quarantine as it goes; ``finish`` decides. Batches must come in row order, each with
the ingest issues of its rows (and of unreadable records before its last row). One batch holding
every row gives exactly ``validate_frame``'s result, which is how that function is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from shared.data.checks import (
    Check,
    baseline_checks,
    conform,
    expectation_checks,
    failures,
    non_finite_checks,
)
from shared.data.ingest import ISSUE_SCHEMA
from shared.data.schema import BaselineSchema, SchemaAccumulator
from shared.data.types import ROW
from shared.pipeline.sections import ColumnType, Expectations

#: Baseline ranges are widened by this share of their span before values count as out of range.
DEFAULT_RANGE_TOLERANCE = 0.1
_NULL_REASONS = ("missing target", "expectation: not_null")
_UNIQUE = "expectation: unique (repeat)"


@dataclass(frozen=True)
class Totals:
    """The decision and counts of a whole validation (no rows)."""

    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    reject_rate: float
    reject_threshold: float
    rejected: bool
    reasons: list[str]
    notes: list[str]
    failure_counts: dict[str, int]
    baseline: BaselineSchema
    baseline_inferred: bool


def _drop_parse_nulls(failed: pl.DataFrame) -> pl.DataFrame:
    """Drop null findings for values whose null comes from a failed parse (already reported)."""
    typed = failed.filter(pl.col("reason").str.starts_with("type:")).select("row", "column").unique()
    nulls = failed.filter(pl.col("reason").is_in(_NULL_REASONS))
    others = failed.filter(~pl.col("reason").is_in(_NULL_REASONS))
    return pl.concat([others, nulls.join(typed, on=["row", "column"], how="anti")])


def summarise(failed: pl.DataFrame) -> pl.DataFrame:
    """One line per quarantined row: how many failures and why."""
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


def _failure_counts(failed: pl.DataFrame) -> dict[tuple[str, str], int]:
    counts = failed.group_by(pl.col("column").fill_null("*"), "reason").agg(
        pl.col("row").n_unique().alias("rows")
    )
    return {(c, r): n for c, r, n in counts.iter_rows()}


def _ordered(counts: Mapping[tuple[str, str], int]) -> dict[str, int]:
    """'column: reason' -> rows, most rows first, then by column and reason."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1]))
    return {f"{c}: {r}": n for (c, r), n in ordered}


class StreamValidator:
    """Validates typed batches of one dataset (see the module docstring)."""

    def __init__(
        self,
        schema: Mapping[str, pl.DataType],
        *,
        target: str,
        expectations: Expectations,
        reject_threshold: float,
        rows_read: int,
        baseline: BaselineSchema | None = None,
        dataset_reasons: list[str] | None = None,
        dataset_version: str = "",
        declared: Mapping[str, ColumnType] | None = None,
        range_tolerance: float = DEFAULT_RANGE_TOLERANCE,
    ) -> None:
        names = [c for c in schema if c != ROW]
        self.target, self.expectations, self.baseline = target, expectations, baseline
        self.reject_threshold, self.rows_read = reject_threshold, rows_read
        self.dataset_version, self.tolerance = dataset_version, range_tolerance
        self.reasons = list(dataset_reasons or [])
        self.notes: list[str] = []
        self.too_wide = len(names) > expectations.max_columns
        if self.too_wide:
            self.reasons.append(f"{len(names)} columns, more than max_columns {expectations.max_columns}")
        wanted = [target, *expectations.columns, *(baseline.columns if baseline else [])]
        present = set(names)
        missing = sorted({c for c in wanted if c not in present})
        if missing and not self.too_wide:
            self.reasons.append(f"missing columns: {missing}")
        self.extra: list[str] = []
        if baseline is not None and not self.too_wide:
            self.extra = [c for c in names if c not in baseline.columns]
            if self.extra:
                self.notes.append(f"extra columns not in the baseline, dropped: {self.extra}")
        self.unique = [n for n, rule in expectations.columns.items() if rule.unique and n in present]
        self.seen: dict[str, pl.Series] = {}
        self.accepted = 0
        self.quarantined = 0
        self.counts: dict[tuple[str, str], int] = {}
        kept = {c: t for c, t in schema.items() if c not in self.extra}
        self.inferring = baseline is None and not self.too_wide
        self.schema_acc = SchemaAccumulator(kept, dtypes=declared) if self.inferring else None

    def _checks(self, frame: pl.DataFrame) -> list[Check]:
        checks: list[Check] = []
        schema = frame.schema  # once: each frame.schema call costs a pass over all columns
        if self.target in schema:
            checks.append((pl.col(self.target).is_null(), self.target, "missing target"))
        for name, rule in self.expectations.columns.items():
            if name not in schema:
                continue
            for mask, column, reason in expectation_checks(frame, name, rule, schema[name]):
                if reason == _UNIQUE and name in self.seen:  # repeats of values from earlier batches
                    mask = mask | pl.col(name).is_in(self.seen[name].implode())
                checks.append((mask, column, reason))
        if not self.expectations.allow_non_finite:
            checks += non_finite_checks(schema)
        if self.baseline is not None:
            checks += baseline_checks(frame, self.baseline, self.tolerance)
        return checks

    def add(
        self, frame: pl.DataFrame, issues: pl.DataFrame | None = None
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Check one batch (``ROW`` first): its accepted rows and its failures, sorted by row."""
        found = [issues if issues is not None else pl.DataFrame(schema=ISSUE_SCHEMA)]
        if self.too_wide:
            whole = frame.select(
                pl.col(ROW).alias("row"),
                pl.lit(None, dtype=pl.String).alias("column"),
                pl.lit(f"dataset: {self.reasons[-1]}").alias("reason"),
                pl.lit(None, dtype=pl.String).alias("value"),
            )
            # Records ingest could not read keep their own reasons: every record is quarantined.
            failed = pl.concat([whole, found[0].filter(pl.col("column").is_null())]).sort("row")
            accepted = frame.clear()
        else:
            if self.extra:
                frame = frame.drop(self.extra)
            if self.baseline is not None:
                frame, type_failures = conform(frame, self.baseline)
                found.append(type_failures)
            found.append(failures(frame, self._checks(frame)))
            failed = _drop_parse_nulls(pl.concat(found)).sort("row", "column", "reason", nulls_last=True)
            accepted = frame.filter(~pl.col(ROW).is_in(failed["row"].unique().implode()))
            for name in self.unique:
                values = frame[name].drop_nulls()
                if name in self.seen:
                    values = pl.concat([self.seen[name], values])
                self.seen[name] = values.unique()
            if self.schema_acc is not None:
                self.schema_acc.add(accepted)
        self.accepted += accepted.height
        self.quarantined += failed["row"].n_unique()
        for key, n in _failure_counts(failed).items():
            self.counts[key] = self.counts.get(key, 0) + n
        return accepted, failed

    def finish(self) -> Totals:
        """Decide: the counts, reasons and baseline of every batch added."""
        reasons = list(self.reasons)
        read, quarantined = self.rows_read, self.quarantined
        if self.too_wide:
            empty = BaselineSchema(columns={}, dataset_version=self.dataset_version)
            rate = 1.0 if read else 0.0
            counts = _ordered(self.counts)
            return Totals(
                read, 0, quarantined, rate, self.reject_threshold, True, reasons, [], counts, empty, False
            )
        if self.schema_acc is not None:
            baseline = self.schema_acc.finish(target=self.target, dataset_version=self.dataset_version)
        else:
            assert self.baseline is not None
            baseline = self.baseline
        rate = quarantined / read if read else 0.0
        if rate > self.reject_threshold:
            share = f"{quarantined} of {read} rows"
            reasons.append(
                f"reject rate {rate:.2%} is above the threshold {self.reject_threshold:.2%} ({share})"
            )
        if self.accepted < self.expectations.min_rows:
            reasons.append(f"{self.accepted} rows accepted, fewer than min_rows {self.expectations.min_rows}")
        return Totals(
            rows_read=read,
            rows_accepted=self.accepted,
            rows_quarantined=quarantined,
            reject_rate=rate,
            reject_threshold=self.reject_threshold,
            rejected=bool(reasons),
            reasons=reasons,
            notes=list(self.notes),
            failure_counts=_ordered(self.counts),
            baseline=baseline,
            baseline_inferred=self.inferring,
        )

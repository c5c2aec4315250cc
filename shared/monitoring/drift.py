"""Drift computation: test every column of a current window against a reference profile.

Test choice follows Evidently's defaults: with a reference of at most ``small_sample_rows`` values,
KS (numeric), chi-square (categorical) and a two-proportion z-test (binary); above it, the
Wasserstein distance divided by the reference std (numeric; PSI on request) and the
Jensen-Shannon distance (categorical and binary). The features' p-values are corrected with
Benjamini-Hochberg: each column's *adjusted* p-value is compared with its own threshold (drift when
adjusted p < threshold), which with one common threshold alpha rejects exactly the p-values at or
below the BH cut-off except at exact ties with it. The prediction column is tested on its own.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import polars as pl

from shared.errors import ValidationError
from shared.monitoring import stats
from shared.monitoring.columns import bin_counts_sorted, category_counts, histogram_sorted, sorted_finite
from shared.monitoring.config import (
    CATEGORICAL_TESTS,
    NUMERIC_TESTS,
    PVALUE_TESTS,
    ColumnDriftSpec,
    DriftConfig,
    TestName,
)
from shared.monitoring.reference import OTHER, CategoricalReference, NumericReference, ReferenceProfile
from shared.monitoring.report import ColumnDrift, ColumnSummary, CurrentSummary, DriftReport, ReportStatus

MAX_LISTED_NEW = 20


@dataclass(frozen=True, slots=True)
class DriftResult:
    """A drift report and the current-window summary its HTML charts need."""

    report: DriftReport
    current_summary: CurrentSummary


class ColumnSource(Protocol):
    """Current data read a few columns at a time, e.g. a lazy scan over Parquet parts."""

    @property
    def height(self) -> int:
        """Rows in the current window."""
        ...

    @property
    def columns(self) -> list[str]:
        """Columns the source can read."""
        ...

    def read(self, names: list[str]) -> pl.DataFrame:
        """A frame of the named columns (those the source has)."""
        ...


def column_batches(names: list[str], height: int, batch_bytes: int) -> list[list[str]]:
    """Split columns into batches of at most ``batch_bytes`` of float64 values (one column at least)."""
    per_batch = max(1, batch_bytes // (8 * height)) if height > 0 else max(len(names), 1)
    return [names[i : i + per_batch] for i in range(0, len(names), per_batch)] or [[]]


def compute_drift(
    reference: ReferenceProfile, current: pl.DataFrame | ColumnSource, config: DriftConfig | None = None
) -> DriftResult:
    """Test the current window against the reference; never raises drift on too little data.

    ``current`` is a frame, or a ColumnSource read ``config.batch_bytes`` of columns at a time so
    memory stays bounded whatever the window's row count.
    """
    cfg = config or DriftConfig()
    features = cfg.columns if cfg.columns is not None else list(reference.columns)
    features = [c for c in features if c != cfg.prediction_column]
    jobs = [(name, "feature") for name in features]
    if cfg.prediction_column is not None:
        jobs.append((cfg.prediction_column, "prediction"))
    for name, _ in jobs:
        if name not in reference.columns:
            raise ValidationError(f"column {name!r} has no reference profile", field=name)

    height = current.height
    enough_rows = height >= cfg.min_rows
    if isinstance(current, pl.DataFrame):
        batches = [jobs]
    else:
        roles = dict(jobs)
        names = column_batches([name for name, _ in jobs], height, cfg.batch_bytes)
        batches = [[(name, roles[name]) for name in batch] for batch in names]

    def check(job: tuple[str, str], frame: pl.DataFrame) -> tuple[ColumnDrift, ColumnSummary | None]:
        name, role = job
        series = frame.get_column(name) if name in frame.columns else None
        return _check_column(name, role, reference.columns[name], series, cfg, enough_rows)

    workers = min(cfg.max_workers or os.cpu_count() or 1, max(len(jobs), 1))
    results: list[tuple[ColumnDrift, ColumnSummary | None]] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for batch in batches:
            frame = current if isinstance(current, pl.DataFrame) else current.read([n for n, _ in batch])
            results.extend(pool.map(check, batch, [frame] * len(batch)))
            del frame  # the next batch's columns replace this one's

    rows = [row for row, _ in results]
    summary = CurrentSummary(
        n_rows=height,
        columns={row.column: s for row, s in results if s is not None},
    )
    feature_rows = [r for r in rows if r.role == "feature"]
    _decide_p_values(feature_rows, correct=cfg.multiple_testing == "benjamini_hochberg")
    prediction = next((r for r in rows if r.role == "prediction"), None)
    if prediction is not None:
        _decide_p_values([prediction], correct=False)
    return DriftResult(
        report=_assemble(reference, height, feature_rows, prediction, cfg), current_summary=summary
    )


def _assemble(
    reference: ReferenceProfile,
    n_rows: int,
    features: list[ColumnDrift],
    prediction: ColumnDrift | None,
    cfg: DriftConfig,
) -> DriftReport:
    """Aggregate column outcomes into the dataset verdict."""
    tested = [r for r in features if r.status in ("ok", "drift")]
    n_drifted = sum(r.drifted for r in tested)
    share = n_drifted / len(tested) if tested else 0.0
    notes: list[str] = []
    insufficient = n_rows < cfg.min_rows or not tested
    if n_rows < cfg.min_rows:
        notes.append(f"current window has {n_rows} rows, fewer than min_rows={cfg.min_rows}")
    elif not tested:
        notes.append("no feature column could be tested")
    for skipped in ("missing", "type_mismatch"):
        names = [r.column for r in features if r.status == skipped]
        if names:
            notes.append(f"{len(names)} features {skipped.replace('_', ' ')}: {', '.join(names[:20])}")
    dataset_drift = not insufficient and share > cfg.drift_share
    prediction_drift = None if prediction is None else (prediction.drifted and not insufficient)
    status: ReportStatus = (
        "insufficient_data"
        if insufficient
        else ("drift" if dataset_drift or prediction_drift else "no_drift")
    )
    return DriftReport(
        status=status,
        n_rows_reference=reference.n_rows,
        n_rows_current=n_rows,
        columns=features,
        prediction=prediction,
        n_tested=len(tested),
        n_drifted=n_drifted,
        n_missing=sum(r.status == "missing" for r in features),
        n_type_mismatch=sum(r.status == "type_mismatch" for r in features),
        share_drifted=share,
        drift_share_threshold=cfg.drift_share,
        dataset_drift=dataset_drift,
        prediction_drift=prediction_drift,
        multiple_testing=cfg.multiple_testing,
        notes=notes,
    )


def _decide_p_values(rows: list[ColumnDrift], *, correct: bool) -> None:
    """Set adjusted p-values, drifted and status of the p-value tests among ``rows``."""
    tested = [r for r in rows if r.p_value is not None and r.status in ("ok", "drift")]
    raw = np.array([r.p_value for r in tested], dtype=np.float64)
    adjusted = stats.benjamini_hochberg(raw) if correct else raw
    for row, p_adj in zip(tested, adjusted, strict=True):
        row.p_value_adjusted = float(p_adj)
        row.drifted = row.threshold is not None and float(p_adj) < row.threshold
        row.status = "drift" if row.drifted else "ok"


def _auto_test(kind: str, n_ref: int, cfg: DriftConfig) -> TestName:
    """Evidently-style default test for a column kind and reference size."""
    if n_ref <= cfg.small_sample_rows:
        return {"numeric": "ks", "categorical": "chi2", "binary": "z"}[kind]  # type: ignore[return-value]
    return cfg.numeric_distance if kind == "numeric" else "jensenshannon"


def _threshold(test: TestName, spec: ColumnDriftSpec, cfg: DriftConfig) -> float:
    """The column's threshold: its own, else the default for the test."""
    if spec.threshold is not None:
        return spec.threshold
    if test in PVALUE_TESTS:
        return cfg.p_value_threshold
    return cfg.psi_threshold if test == "psi" else cfg.distance_threshold


def _check_column(
    name: str,
    role: str,
    ref: NumericReference | CategoricalReference,
    series: pl.Series | None,
    cfg: DriftConfig,
    enough_rows: bool,
) -> tuple[ColumnDrift, ColumnSummary | None]:
    """Test one column; missing or too-small columns are reported, never flagged as drift."""
    spec = cfg.specs.get(name, ColumnDriftSpec())
    test = spec.test or _auto_test(ref.kind, ref.n, cfg)
    allowed = NUMERIC_TESTS if ref.kind == "numeric" else CATEGORICAL_TESTS
    if test not in allowed:
        raise ValidationError(f"test {test!r} does not apply to {ref.kind} column {name!r}", field=name)
    base = ColumnDrift(column=name, role=role, kind=ref.kind, status="ok", n_ref=ref.n)  # type: ignore[arg-type]
    if series is None:
        base.status = "missing"
        base.notes.append("column is missing from the current data")
        return base, None
    numeric_values = isinstance(ref, NumericReference) or ref.numeric_source
    if numeric_values and not (series.dtype.is_numeric() or isinstance(series.dtype, pl.Boolean | pl.Null)):
        base.status = "type_mismatch"
        base.notes.append(f"current dtype {series.dtype} cannot be compared with a numeric reference")
        return base, None
    if isinstance(ref, NumericReference):
        return _check_numeric(base, ref, series, test, _threshold(test, spec, cfg), cfg, enough_rows)
    return _check_categorical(base, ref, series, test, _threshold(test, spec, cfg), cfg, enough_rows)


def _insufficient(row: ColumnDrift, cfg: DriftConfig, enough_rows: bool) -> bool:
    """Mark the row insufficient_data when either side has too few values."""
    if row.n_ref == 0:
        row.status = "insufficient_data"
        row.notes.append("reference has no usable values")
    elif not enough_rows or row.n_cur < cfg.min_rows:
        row.status = "insufficient_data"
        row.notes.append(f"{row.n_cur} usable current values, fewer than min_rows={cfg.min_rows}")
    return row.status == "insufficient_data"


def _check_numeric(
    row: ColumnDrift,
    ref: NumericReference,
    series: pl.Series,
    test: TestName,
    threshold: float,
    cfg: DriftConfig,
    enough_rows: bool,
) -> tuple[ColumnDrift, ColumnSummary]:
    """KS, normalised Wasserstein or PSI of one numeric column."""
    finite = sorted_finite(series)
    values = finite.values
    row.n_cur, row.n_null, row.n_nonfinite = values.size, finite.n_null, finite.n_nonfinite
    summary = ColumnSummary(kind="numeric", n=values.size, mean=float(values.mean()) if values.size else None)
    if ref.hist_edges:
        below, counts, above = histogram_sorted(values, np.asarray(ref.hist_edges))
        summary.hist_below, summary.hist_counts, summary.hist_above = below, counts.tolist(), above
    if row.n_nonfinite or row.n_null:
        row.notes.append(f"dropped {row.n_null} nulls and {row.n_nonfinite} NaN/inf values")
    row.test, row.threshold = test, threshold
    if _insufficient(row, cfg, enough_rows):
        return row, summary
    if test == "psi":
        cur_counts = bin_counts_sorted(values, np.asarray(ref.psi_edges))
        row.statistic = row.distance = stats.psi(np.asarray(ref.psi_counts), cur_counts)
    elif test == "ks":
        # Only the knots are searched in the sorted values; no full-size pass as Wasserstein needs.
        knots, cum = ref.ecdf()
        row.statistic = stats.ks_statistic(knots, cum, values)
        row.p_value = stats.ks_p_value(row.statistic, ref.n, values.size)
        row.error_bound = ref.ecdf_error
    else:
        knots, cum = ref.ecdf()
        norm = max(ref.std or 0.0, stats.WASSERSTEIN_STD_FLOOR)
        row.statistic = row.distance = stats.compare_numeric(knots, cum, values).wasserstein / norm
        row.error_bound = ref.wasserstein_error / norm
    if row.distance is not None:
        row.drifted = row.distance >= threshold
        row.status = "drift" if row.drifted else "ok"
    return row, summary


def _check_categorical(
    row: ColumnDrift,
    ref: CategoricalReference,
    series: pl.Series,
    test: TestName,
    threshold: float,
    cfg: DriftConfig,
    enough_rows: bool,
) -> tuple[ColumnDrift, ColumnSummary]:
    """Chi-square, z-test, Jensen-Shannon or PSI of one categorical or binary column."""
    counted = category_counts(series, numeric_source=ref.numeric_source)
    row.n_cur, row.n_null, row.n_nonfinite = counted.n, counted.n_null, counted.n_nonfinite
    keys = list(ref.counts)
    unknown = {k: c for k, c in counted.counts.items() if k not in ref.counts}
    summary_counts = {k: counted.counts.get(k, 0) for k in keys}
    ref_vec = [ref.counts[k] for k in keys]
    cur_vec = [summary_counts[k] for k in keys]
    if ref.other_count:
        # The reference pooled its rare tail, so an unseen label may be one of those: pool it too.
        keys.append(OTHER)
        ref_vec.append(ref.other_count)
        cur_vec.append(sum(unknown.values()))
        summary_counts[OTHER] = cur_vec[-1]
    elif unknown:
        ranked_new = sorted(unknown, key=lambda k: (-unknown[k], k))
        row.new_categories = ranked_new[:MAX_LISTED_NEW]
        row.n_new_category_rows = sum(unknown.values())
        row.notes.append(f"{len(unknown)} new categories in {row.n_new_category_rows} current values")
        keys.extend(ranked_new)
        ref_vec.extend([0] * len(ranked_new))
        cur_vec.extend(unknown[k] for k in ranked_new)
        summary_counts.update({k: unknown[k] for k in ranked_new[:MAX_LISTED_NEW]})
    summary = ColumnSummary(kind=ref.kind, n=counted.n, counts=summary_counts)
    if row.n_null or row.n_nonfinite:
        row.notes.append(f"dropped {row.n_null} nulls and {row.n_nonfinite} NaN/inf values")
    row.test, row.threshold = test, threshold
    if _insufficient(row, cfg, enough_rows):
        return row, summary
    ref_arr = np.asarray(ref_vec, dtype=np.int64)
    cur_arr = np.asarray(cur_vec, dtype=np.int64)
    if test == "chi2":
        outcome = stats.chi2_homogeneity(ref_arr, cur_arr)
        row.statistic, row.p_value = outcome.statistic, outcome.p_value
    elif test == "z":
        # Proportion of the first reference category (any one category defines a binary split).
        outcome = stats.z_test_proportions(int(ref_arr[0]), ref.n, int(cur_arr[0]), counted.n)
        row.statistic, row.p_value = outcome.statistic, outcome.p_value
    elif test == "jensenshannon":
        row.statistic = row.distance = stats.jensen_shannon(ref_arr, cur_arr)
    else:
        row.statistic = row.distance = stats.psi(ref_arr, cur_arr)
    row.error_bound = 0.0
    if row.distance is not None:
        row.drifted = row.distance >= threshold
        row.status = "drift" if row.drifted else "ok"
    return row, summary

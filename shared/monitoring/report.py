"""Drift report models (JSON) and the self-contained HTML page rendered from them."""

from __future__ import annotations

import html
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.monitoring.config import ColumnKind, TestName
from shared.monitoring.data_quality import DataQuality
from shared.monitoring.reference import CategoricalReference, NumericReference, ReferenceProfile
from shared.monitoring.svg import category_chart, histogram_chart

ColumnStatus = Literal["ok", "drift", "missing", "type_mismatch", "insufficient_data"]
ReportStatus = Literal["no_drift", "drift", "insufficient_data"]


class ColumnDrift(BaseModel):
    """Outcome of the drift test of one column."""

    model_config = ConfigDict(extra="forbid")

    column: str = Field(description="Column name.")
    role: Literal["feature", "prediction"] = Field(description="Feature, or the model output column.")
    kind: ColumnKind = Field(description="Column kind the test was chosen for.")
    status: ColumnStatus = Field(description="ok / drift, or why the column was not tested.")
    test: TestName | None = Field(default=None, description="Test run; None when not tested.")
    statistic: float | None = Field(default=None, description="Test statistic (KS D, chi2, z, distance).")
    p_value: float | None = Field(default=None, description="Raw p-value of a p-value test.")
    p_value_adjusted: float | None = Field(
        default=None, description="p-value after multiple-testing correction; compared with threshold."
    )
    distance: float | None = Field(default=None, description="Distance of a distance test.")
    threshold: float | None = Field(default=None, description="p-value or distance threshold used.")
    drifted: bool = Field(default=False, description="True when the column drifted.")
    error_bound: float | None = Field(
        default=None, description="Bound on the statistic's error from the reference sketch (0 = exact)."
    )
    n_ref: int = Field(description="Values in the reference used by the test.")
    n_cur: int = Field(default=0, description="Values in the current window used by the test.")
    n_null: int = Field(default=0, description="Current nulls dropped before the test.")
    n_nonfinite: int = Field(default=0, description="Current NaN / +-inf dropped before the test.")
    new_categories: list[str] = Field(
        default_factory=list, description="Current categories unseen in the reference (first 20)."
    )
    n_new_category_rows: int = Field(default=0, description="Current values in unseen categories.")
    notes: list[str] = Field(default_factory=list, description="Human-readable remarks.")


class DriftReport(BaseModel):
    """Drift of one current window against the reference profile."""

    model_config = ConfigDict(extra="forbid")

    status: ReportStatus = Field(description="no_drift, drift, or insufficient_data (never an alarm).")
    n_rows_reference: int = Field(description="Rows the reference was built from.")
    n_rows_current: int = Field(description="Rows in the current window.")
    columns: list[ColumnDrift] = Field(description="Per-feature results, in reference order.")
    prediction: ColumnDrift | None = Field(default=None, description="Result for the prediction column.")
    n_tested: int = Field(description="Features actually tested (not missing / insufficient).")
    n_drifted: int = Field(description="Tested features that drifted.")
    n_missing: int = Field(description="Reference features absent from the current window.")
    n_type_mismatch: int = Field(
        default=0, description="Features whose current dtype cannot be compared with the reference."
    )
    share_drifted: float = Field(description="n_drifted / n_tested (0 when nothing was tested).")
    drift_share_threshold: float = Field(description="Dataset drift when share_drifted is > this.")
    dataset_drift: bool = Field(description="True when share_drifted > drift_share_threshold.")
    prediction_drift: bool | None = Field(description="Prediction column drifted; None if not configured.")
    multiple_testing: str = Field(description="Correction applied to the features' p-values.")
    notes: list[str] = Field(default_factory=list, description="Human-readable remarks.")
    data_quality: DataQuality | None = Field(
        default=None, description="Data-quality signals of the window (null, out-of-range, unseen, type)."
    )

    def to_json(self) -> str:
        """The report as JSON text."""
        return self.model_dump_json()


class ColumnSummary(BaseModel):
    """What the charts need of one current column, aligned with the reference bins."""

    model_config = ConfigDict(extra="forbid")

    kind: ColumnKind = Field(description="Column kind.")
    n: int = Field(description="Values counted.")
    hist_below: int = Field(default=0, description="Numeric: values below the reference minimum.")
    hist_counts: list[int] = Field(default_factory=list, description="Numeric: counts per reference bin.")
    hist_above: int = Field(default=0, description="Numeric: values above the reference maximum.")
    mean: float | None = Field(default=None, description="Numeric: mean of the finite values.")
    counts: dict[str, int] = Field(default_factory=dict, description="Categorical: count per category.")


class CurrentSummary(BaseModel):
    """Per-column summary of a current window for charts."""

    model_config = ConfigDict(extra="forbid")

    n_rows: int = Field(description="Rows in the current window.")
    columns: dict[str, ColumnSummary] = Field(description="Summary per tested column.")


def render_html(report: DriftReport, reference: ReferenceProfile, current_summary: CurrentSummary) -> str:
    """A self-contained HTML page (inline SVG, no external JS or CSS) for a drift report."""
    rows = [*report.columns, *([report.prediction] if report.prediction else [])]
    sections = [_column_section(r, reference, current_summary) for r in rows]
    verdict = {"drift": "DRIFT", "no_drift": "no drift", "insufficient_data": "insufficient data"}
    prediction = "n/a" if report.prediction_drift is None else ("yes" if report.prediction_drift else "no")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Drift report</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>Drift report: {verdict[report.status]}</h1>"
        f"<p>Current rows {report.n_rows_current:,}; reference rows {report.n_rows_reference:,}. "
        f"Drifted features {report.n_drifted} of {report.n_tested} tested "
        f"(share {report.share_drifted:.2f}, dataset drift when &gt; {report.drift_share_threshold:.2f}); "
        f"missing {report.n_missing}, wrong type {report.n_type_mismatch}. Prediction drift: {prediction}. "
        f"Multiple testing: {html.escape(report.multiple_testing)}.</p>"
        + "".join(f"<p class='note'>{html.escape(n)}</p>" for n in report.notes)
        + (_quality_table(report.data_quality) if report.data_quality is not None else "")
        + _summary_table(rows)
        + "".join(sections)
        + "</body></html>"
    )


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:first-child{text-align:left}"
    ".drift{color:#b00020;font-weight:bold}.note{color:#555}section{margin:1.5em 0}"
)


def _fmt(value: float | None) -> str:
    """Short number for tables."""
    return "" if value is None else f"{value:.4g}"


def _pct(value: float | None) -> str:
    """A rate as a percentage; 'n/a' when it could not be measured."""
    return "n/a" if value is None else f"{value * 100:.2f}%"


def _quality_table(q: DataQuality) -> str:
    """The window's data-quality rates with their counts."""
    cells = [
        ("null values", _pct(q.null_rate), f"{q.nulls:,}"),
        ("out of training range", _pct(q.out_of_range_rate), f"{q.out_of_range:,} of {q.range_checked:,}"),
        ("unseen categories", _pct(q.unseen_category_rate), f"{q.unseen_categories:,}"),
        ("type errors", _pct(q.type_error_rate), "n/a" if q.type_errors is None else f"{q.type_errors:,}"),
    ]
    body = "".join(f"<tr><td>{name}</td><td>{rate}</td><td>{count}</td></tr>" for name, rate, count in cells)
    columns = ", ".join(f"{html.escape(c)} {n:,}" for c, n in list(q.out_of_range_columns.items())[:20])
    extra = f"<p class='note'>Out of range per column: {columns}</p>" if columns else ""
    notes = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in q.notes)
    return (
        f"<h2 id='data-quality'>Data quality ({q.rows:,} rows)</h2><table><tr><th>signal</th><th>rate</th>"
        f"<th>count</th></tr>{body}</table>{extra}{notes}"
    )


def _summary_table(rows: list[ColumnDrift]) -> str:
    """One table row per column."""
    head = "<tr><th>column</th><th>status</th><th>test</th><th>statistic</th><th>p / distance</th>"
    head += "<th>threshold</th><th>n ref</th><th>n cur</th><th>dropped</th></tr>"
    body = "".join(
        f"<tr><td>{html.escape(r.column)}</td><td class='{'drift' if r.drifted else ''}'>{r.status}</td>"
        f"<td>{r.test or ''}</td><td>{_fmt(r.statistic)}</td>"
        f"<td>{_fmt(r.p_value_adjusted if r.p_value_adjusted is not None else r.distance)}</td>"
        f"<td>{_fmt(r.threshold)}</td><td>{r.n_ref}</td><td>{r.n_cur}</td>"
        f"<td>{r.n_null + r.n_nonfinite}</td></tr>"
        for r in rows
    )
    return f"<table>{head}{body}</table>"


def _column_section(row: ColumnDrift, reference: ReferenceProfile, summary: CurrentSummary) -> str:
    """Heading, notes and chart of one column."""
    title = f"<h2>{html.escape(row.column)} <small>({row.role}, {row.kind})</small></h2>"
    notes = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in row.notes)
    ref = reference.columns.get(row.column)
    cur = summary.columns.get(row.column)
    chart = ""
    if isinstance(ref, NumericReference) and cur is not None and ref.hist_edges:
        chart = histogram_chart(
            ref.hist_edges, ref.hist_counts, cur.hist_counts, cur.hist_below, cur.hist_above
        )
    elif isinstance(ref, CategoricalReference) and cur is not None:
        chart = category_chart(ref.counts, ref.other_count, cur.counts)
    return f"<section>{title}{notes}{chart}</section>"

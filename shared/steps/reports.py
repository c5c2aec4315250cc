"""What a function key may download: a run's quarantined rows, drift reports and cost reports.

Every read goes to a blob named on a record (run -> dataset -> quarantine blob, drift row ->
report blob) or to a name built from validated parts in the reports container, so a caller can
never reach another container or an arbitrary blob.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.errors import NotFoundError, ValidationError
from shared.steps.monitoring_records import drift_checks
from shared.steps.monitoring_retrain import WINDOW_PATTERN
from shared.steps.runs import find_run
from shared.storage.factory import Storage
from shared.storage.records import RunRecord

QUARANTINE = "quarantine"
REPORTS = "reports"
#: Page size of quarantine listings: the default and the most one request may ask for.
DEFAULT_PAGE = 100
MAX_PAGE = 1000
_MODEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Report kind -> allowed formats (first is the default) and their content types.
FORMATS: dict[str, dict[str, str]] = {
    "drift": {"html": "text/html; charset=utf-8", "json": "application/json"},
    "costs": {"html": "text/html; charset=utf-8", "csv": "text/csv"},
}


@dataclass(frozen=True)
class ReportFile:
    """A downloadable file: its bytes, content type and a suggested file name."""

    data: bytes
    content_type: str
    filename: str


def _find_key(value: Any, key: str) -> Any:
    """The first value of ``key`` anywhere in nested dicts/lists (run details have no fixed shape)."""
    if isinstance(value, dict):
        if value.get(key):
            return value[key]
        for item in value.values():
            found = _find_key(item, key)
            if found:
                return found
    elif isinstance(value, list):
        for item in value:
            found = _find_key(item, key)
            if found:
                return found
    return None


def quarantine_blob_of(storage: Storage, run: RunRecord) -> str:
    """The quarantine blob of a run: named in its details, else on its dataset record."""
    named = _find_key(run.details, "quarantine_blob")
    if isinstance(named, str):
        return named
    if run.dataset_version:
        dataset = storage.datasets.try_get(run.pipeline, run.dataset_version)
        if dataset is not None and dataset.quarantine_blob:
            return dataset.quarantine_blob
    raise NotFoundError(
        f"run {run.run_id!r} has no quarantine yet (its data was not validated)", field="run_id"
    )


def _page_bounds(offset: int, limit: int) -> tuple[int, int]:
    if offset < 0:
        raise ValidationError("offset must be 0 or more", field="offset")
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be from 1 to {MAX_PAGE}", field="limit")
    return offset, limit


def _typed(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = dict(row)
    if str(out.get("row", "")).isdigit():
        out["row"] = int(out["row"])
    return out


def quarantine_page(
    storage: Storage, run_id: str, *, offset: int = 0, limit: int = DEFAULT_PAGE
) -> dict[str, Any]:
    """One page of a run's quarantined rows (one line per row and reason) with the run's counts."""
    offset, limit = _page_bounds(offset, limit)
    run = find_run(storage, run_id)
    blob = quarantine_blob_of(storage, run)
    text = storage.blobs.get_bytes(QUARANTINE, blob).decode("utf-8")
    lines = list(csv.DictReader(io.StringIO(text)))
    page = [_typed(r) for r in lines[offset : offset + limit]]
    validation = _find_key(run.details, "validation") or {}
    end = offset + len(page)
    return {
        "run_id": run.run_id,
        "pipeline": run.pipeline,
        "dataset_version": run.dataset_version,
        "blob": f"{QUARANTINE}/{blob}",
        "rows_read": validation.get("rows_read") if isinstance(validation, dict) else None,
        "rows_quarantined": validation.get("rows_quarantined") if isinstance(validation, dict) else None,
        "total": len(lines),
        "offset": offset,
        "limit": limit,
        "next_offset": end if end < len(lines) else None,
        "rows": page,
    }


def _format(kind: str, fmt: str | None) -> str:
    formats = FORMATS[kind]
    chosen = fmt or next(iter(formats))
    if chosen not in formats:
        raise ValidationError(
            f"format must be one of {', '.join(formats)} for {kind} reports", field="format"
        )
    return chosen


def drift_report(
    storage: Storage, model: str, window: str | None = None, fmt: str | None = None
) -> ReportFile:
    """The JSON or HTML drift report of one window of a model (the newest window by default)."""
    if not _MODEL.match(model):
        raise ValidationError(f"model {model!r} is not a valid model name", field="model")
    chosen = _format("drift", fmt)
    repo = drift_checks(storage)
    if window in (None, "", "latest"):
        rows = sorted(repo.query(pk=model), key=lambda r: r.window, reverse=True)
        if not rows:
            raise NotFoundError(f"model {model!r} has no drift checks yet", field="model")
        row = rows[0]
    else:
        if not re.fullmatch(WINDOW_PATTERN, window):
            raise ValidationError(f"window {window!r} must match {WINDOW_PATTERN}", field="window")
        found = repo.try_get(model, window)
        if found is None:
            raise NotFoundError(f"model {model!r} has no drift check for window {window!r}", field="window")
        row = found
    blob = row.report_html if chosen == "html" else row.report_blob
    if not blob:
        raise NotFoundError(f"drift check {model}/{row.window} has no {chosen} report", field="format")
    if not blob.startswith("drift/"):  # written by the monitor; anything else is not a drift report
        raise NotFoundError(f"drift check {model}/{row.window} names no drift report", field="window")
    content = storage.blobs.get_blob(REPORTS, blob)
    safe_window = re.sub(r"[^0-9A-Za-z_-]", "-", row.window)
    return ReportFile(content.data, FORMATS["drift"][chosen], f"drift-{model}-{safe_window}.{chosen}")


def cost_report(storage: Storage, day: str | None, fmt: str | None = None) -> ReportFile:
    """The stored CSV or HTML cost report of a UTC day (from the daily timer or POST /api/costs/report)."""
    if not day or not _DAY.match(day):
        raise ValidationError("day must be a UTC date YYYY-MM-DD", field="day")
    try:
        date.fromisoformat(day)
    except ValueError as exc:
        raise ValidationError(f"day {day!r} is not a calendar date", field="day") from exc
    chosen = _format("costs", fmt)
    name = f"costs/{day}.{chosen}"
    if not storage.blobs.exists(REPORTS, name):
        raise NotFoundError(
            f"no cost report for {day}; build one with POST /api/costs/report?day={day} "
            "(mlops report costs --build)",
            field="day",
        )
    content = storage.blobs.get_blob(REPORTS, name)
    return ReportFile(content.data, FORMATS["costs"][chosen], f"costs-{day}.{chosen}")

"""Taking ground-truth feedback: validate a batch, find each id's prediction, store it by its hour.

A request is ``[{"id", "label", "observed_at"?, "predicted_at"?}, ...]`` or
``{"rows": [...], "lookback_hours": 24}``, at most ``MAX_ROWS`` rows. All or nothing: every bad
row is reported in one 400 (``rows[i].<field>``: unknown field, id not a prediction of this model,
label not one of the classes of the version that predicted / not a number for a regressor,
timestamp not ISO 8601 or in the future) and nothing is stored.

Finding the prediction: a generated id carries its hour. A caller key (``id_field`` at scoring) is
looked up in the hour of ``predicted_at`` and its neighbours when the row gives it, else in the
last ``lookback_hours`` (default 24, at most 168) before now, reading only the ``id`` column of
the predictions log; a key predicted more than once is taken as its newest prediction.

Duplicates are idempotent: an id repeated in a request with the same label counts once (with a
different label it is a 400), and a label equal to the one already stored for that id is not
stored again. A different label for an id already labelled is a correction: it is stored and,
being the newest received, replaces the old one in every later join.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from shared.errors import NotFoundError, ValidationError
from shared.steps.feedback import (
    CONTAINER,
    LABEL,
    OBSERVED_AT,
    RECEIVED_AT,
    latest_labels,
    read_feedback_hour,
)
from shared.steps.inference_log import encode_part, hour_prefix
from shared.steps.prediction_ids import hour_of, key_problem
from shared.steps.prediction_log import ID, TS, VERSION, flush_pending, read_hour
from shared.storage.factory import Storage
from shared.storage.names import validate_blob_name

MAX_ROWS = 100_000
DEFAULT_LOOKBACK_HOURS = 24
MAX_LOOKBACK_HOURS = 168
#: How far ahead of this host's clock a timestamp may be (callers' clocks drift).
CLOCK_SKEW = timedelta(minutes=5)
MAX_LISTED = 50
_FIELDS = frozenset({"id", "label", "observed_at", "predicted_at"})
HOUR = timedelta(hours=1)


@dataclass
class _Row:
    index: int
    id: str
    label: Any
    observed_at: datetime | None
    predicted_at: datetime | None


class _Problems:
    """Bad rows collected across a request, refused together as one 400."""

    def __init__(self) -> None:
        self.items: list[tuple[int, str, str]] = []

    def add(self, row: int, field: str, reason: str) -> None:
        self.items.append((row, field, reason))

    def raise_any(self) -> None:
        if not self.items:
            return
        items = sorted(self.items)
        listed = "; ".join(f"rows[{r}].{f}: {m}" for r, f, m in items[:MAX_LISTED])
        more = f" (and {len(items) - MAX_LISTED} more)" if len(items) > MAX_LISTED else ""
        bad = len({r for r, _, _ in items})
        row, field, _ = items[0]
        noun = "row" if bad == 1 else "rows"
        raise ValidationError(
            f"{bad} bad feedback {noun}, nothing stored: {listed}{more}", field=f"rows[{row}].{field}"
        )


def _timestamp(value: Any, now: datetime) -> tuple[datetime | None, str | None]:
    if not isinstance(value, str):
        return None, f"must be an ISO 8601 timestamp string, got {type(value).__name__}"
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None, f"is not an ISO 8601 timestamp: {value[:40]!r}"
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)  # naive times are UTC
    if at > now + CLOCK_SKEW:
        return None, f"{value[:40]!r} is in the future"
    return at, None


def _parse(payload: Any, now: datetime, problems: _Problems) -> tuple[list[_Row], int, int]:
    """The request's rows that are well formed, its look-back hours and how many rows it had."""
    rows = payload.get("rows") if isinstance(payload, dict) else payload
    if not isinstance(rows, list):
        raise ValidationError(
            "feedback must be a list of {id, label, observed_at?} or {'rows': [...]}", field="rows"
        )
    if not rows:
        raise ValidationError("feedback has no rows", field="rows")
    if len(rows) > MAX_ROWS:
        raise ValidationError(f"feedback has {len(rows)} rows, at most {MAX_ROWS} allowed", field="rows")
    lookback = payload.get("lookback_hours", DEFAULT_LOOKBACK_HOURS) if isinstance(payload, dict) else None
    lookback = DEFAULT_LOOKBACK_HOURS if lookback is None else lookback
    if isinstance(lookback, bool) or not isinstance(lookback, int) or not 1 <= lookback <= MAX_LOOKBACK_HOURS:
        raise ValidationError(
            f"lookback_hours must be an integer in [1, {MAX_LOOKBACK_HOURS}]", field="lookback_hours"
        )
    parsed: list[_Row] = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.add(i, "", "must be an object {id, label, observed_at?}")
            continue
        ok = True
        for name in row:
            if name not in _FIELDS:
                problems.add(
                    i,
                    str(name)[:40],
                    f"unknown field {str(name)[:40]!r} (id, label, observed_at, predicted_at)",
                )
                ok = False
        raw_id = row.get("id")
        if raw_id is None:
            problems.add(i, "id", "is missing")
            ok = False
        elif hour_of(str(raw_id)) is None and (reason := key_problem(raw_id)) is not None:
            problems.add(i, "id", reason)
            ok = False
        if row.get("label") is None:
            problems.add(i, "label", "is missing")
            ok = False
        stamps: dict[str, datetime | None] = {"observed_at": None, "predicted_at": None}
        for name in stamps:
            if row.get(name) is not None:
                stamps[name], reason = _timestamp(row[name], now)
                if reason is not None:
                    problems.add(i, name, reason)
                    ok = False
        if ok:
            parsed.append(_Row(i, str(raw_id), row["label"], stamps["observed_at"], stamps["predicted_at"]))
    return parsed, lookback, len(rows)


def coerce_label(label: Any, task: str, classes: list[Any] | None) -> tuple[Any, str | None]:
    """The label in the model's own type (a class, or a float), or why it is not one."""
    if task == "classification":
        for c in classes or []:
            same_type = type(label) is type(c) or (
                isinstance(label, float) and type(c) is int and label.is_integer()
            )
            if (same_type and label == c) or (isinstance(label, str) and label == str(c)):
                return c, None  # a CSV's "1" is the class 1
        shown = ", ".join(repr(c) for c in (classes or [])[:20])
        return None, f"{label!r} is not one of the model's classes [{shown}]"
    if isinstance(label, bool):
        return None, "must be a number for a regression model, got a boolean"
    try:
        value = float(label) if isinstance(label, (int, float, str)) else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        return None, f"must be a finite number for a regression model, got {str(label)[:40]!r}"
    return value, None


def _hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class _Lookup:
    """Predictions' ids and versions per hour, read once per request (``id``, ``version``, ``ts`` only)."""

    def __init__(self, storage: Storage, model: str) -> None:
        self.storage, self.model = storage, model
        self._hours: dict[datetime, pl.DataFrame] = {}

    def hour(self, hour: datetime) -> pl.DataFrame:
        if hour not in self._hours:
            frame = read_hour(self.storage, self.model, hour, [ID, VERSION, TS])
            if frame.is_empty():
                frame = pl.DataFrame(schema={ID: pl.String, VERSION: pl.String, TS: pl.Datetime("us", "UTC")})
            self._hours[hour] = frame
        return self._hours[hour]

    def find(self, hours: list[datetime], ids: list[str]) -> dict[str, tuple[datetime, str]]:
        """id -> (hour, version) of its newest prediction among ``hours``."""
        wanted = pl.DataFrame({ID: ids}, schema={ID: pl.String})
        frames = [
            self.hour(h).join(wanted, on=ID, how="semi").with_columns(pl.lit(h).alias("__hour__"))
            for h in hours
        ]
        found = pl.concat(frames).sort(TS).unique(subset=[ID], keep="last")
        return {i: (h, v) for i, h, v in found.select(ID, "__hour__", VERSION).iter_rows()}


def _hours_of(row: _Row, now: datetime, lookback: int) -> tuple[datetime, ...]:
    """The hours the prediction of ``row`` may lie in (newest last does not matter: newest ts wins)."""
    generated = hour_of(row.id)
    if generated is not None:
        return (generated,) if generated <= now + CLOCK_SKEW else ()
    if row.predicted_at is not None:
        hour = _hour(row.predicted_at)
        return (hour - HOUR, hour, hour + HOUR)  # either side: the caller's clock may differ from ours
    last = _hour(now)
    return tuple(last - k * HOUR for k in range(lookback))


def _locate(
    lookup: _Lookup, rows: list[_Row], now: datetime, lookback: int, problems: _Problems
) -> dict[int, tuple[datetime, str]]:
    """Row index -> (prediction hour, version); unknown ids are problems."""
    groups: dict[tuple[datetime, ...], list[_Row]] = defaultdict(list)
    for row in rows:
        groups[_hours_of(row, now, lookback)].append(row)
    located: dict[int, tuple[datetime, str]] = {}
    for hours, group in groups.items():
        found = lookup.find(list(hours), [r.id for r in group]) if hours else {}
        for row in group:
            if row.id in found:
                located[row.index] = found[row.id]
            else:
                where = "in its hour" if hour_of(row.id) is not None else "in the hours searched"
                problems.add(
                    row.index, "id", f"unknown prediction id {row.id!r} (no prediction of this model {where})"
                )
    return located


def _tasks(storage: Storage, model: str) -> dict[str, tuple[str, list[Any] | None]]:
    """version -> (task, classes) of every registered version; 404 for an unknown model."""
    records = list(storage.models.query(pk=model))
    if not records:
        raise NotFoundError(f"model {model!r} not found", field="name")
    return {r.version: (str(r.input_schema.get("task", "")), r.input_schema.get("classes")) for r in records}


def _accept(
    rows: list[_Row],
    located: dict[int, tuple[datetime, str]],
    tasks: dict[str, tuple[str, list[Any] | None]],
    problems: _Problems,
) -> tuple[dict[str, tuple[_Row, Any, datetime]], int]:
    """id -> (first row, label in the model's type, prediction hour); and how many rows repeated one."""
    accepted: dict[str, tuple[_Row, Any, datetime]] = {}
    repeats = 0
    for row in rows:
        if row.index not in located:
            continue
        hour, version = located[row.index]
        if version not in tasks:
            problems.add(row.index, "id", f"its prediction's model version {version} is not registered")
            continue
        label, reason = coerce_label(row.label, *tasks[version])
        if reason is not None:
            problems.add(row.index, "label", reason)
            continue
        seen = accepted.get(row.id)
        if seen is None:
            accepted[row.id] = (row, label, hour)
        elif seen[1] == label:
            repeats += 1  # the same fact twice counts once
        else:
            problems.add(row.index, "label", f"differs from rows[{seen[0].index}]'s label for the same id")
    return accepted, repeats


def _new_rows(
    storage: Storage, model: str, hour: datetime, frame: pl.DataFrame
) -> tuple[pl.DataFrame, int, int]:
    """The rows of ``frame`` not already stored with that label; and how many were changed / unchanged."""
    stored = read_feedback_hour(storage, model, hour)
    if stored.is_empty():
        return frame, 0, 0
    latest = latest_labels(stored).select(ID, pl.col(LABEL).cast(pl.String).alias("__stored__"))
    joined = frame.join(latest, on=ID, how="left")
    same = (pl.col("__stored__") == pl.col(LABEL).cast(pl.String)).fill_null(False)
    counts = joined.select(
        same.sum().alias("same"), (pl.col("__stored__").is_not_null() & ~same).sum().alias("changed")
    )
    fresh = joined.filter(~same).drop("__stored__")
    return fresh, int(counts["changed"][0]), int(counts["same"][0])


def record_feedback(
    storage: Storage, model: str, payload: Any, *, now: datetime | None = None
) -> dict[str, Any]:
    """Validate a feedback batch, find each id's prediction and store the new labels by prediction hour.

    Returns counts: ``received`` rows, ``stored`` (``new`` + ``changed``), ``unchanged`` (already
    stored with that label), ``repeated`` (the same id and label again within the request).
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    tasks = _tasks(storage, model)
    flush_pending()  # predictions this process scored a moment ago are findable
    problems = _Problems()
    rows, lookback, received = _parse(payload, now, problems)
    located = _locate(_Lookup(storage, model), rows, now, lookback, problems)
    accepted, repeats = _accept(rows, located, tasks, problems)
    problems.raise_any()  # all or nothing: nothing is written before every row passed
    by_hour: dict[datetime, list[tuple[str, Any, datetime]]] = defaultdict(list)
    for key, (row, label, hour) in accepted.items():
        by_hour[hour].append((key, label, row.observed_at or now))
    pending: list[tuple[datetime, pl.DataFrame]] = []
    changed = unchanged = stored = 0
    for hour, items in sorted(by_hour.items()):
        frame = pl.DataFrame(
            [
                pl.Series(ID, [i[0] for i in items], dtype=pl.String),
                pl.Series(LABEL, [i[1] for i in items], strict=False),
                pl.Series(OBSERVED_AT, [i[2] for i in items], dtype=pl.Datetime("us", "UTC")),
            ]
        ).with_columns(pl.lit(now, dtype=pl.Datetime("us", "UTC")).alias(RECEIVED_AT))
        fresh, n_changed, n_same = _new_rows(storage, model, hour, frame)
        changed, unchanged, stored = changed + n_changed, unchanged + n_same, stored + fresh.height
        if fresh.height:
            pending.append((hour, fresh))
    for hour, fresh in pending:
        name = f"{hour_prefix(model, hour)}{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:12]}.parquet"
        storage.blobs.put_bytes(
            CONTAINER,
            validate_blob_name(name),
            encode_part(fresh),
            content_type="application/vnd.apache.parquet",
            overwrite=False,
        )
    return {
        "model": model,
        "received": received,
        "stored": stored,
        "new": stored - changed,
        "changed": changed,
        "unchanged": unchanged,
        "repeated": repeats,
    }

"""Prediction ids: one per scored row, generated (carrying its UTC hour) or the caller's own key.

A generated id is ``<YYYYMMDDHH>-<20 hex>``: the UTC hour of the request, a 64-bit random number
per request and the row's index in it (4 hex digits; a request has at most 10,000 rows). The hour
lets feedback find the predictions log's parts of that hour without a scan.

A scoring request may name a field of its rows that carries the caller's own key instead
(``{"rows": [...], "id_field": "order_id"}``): 1-128 characters of ``A-Z a-z 0-9 . _ : @ -`` (an
integer is taken as its decimal text), unique within the request, and never shaped like a
generated id (so the two kinds cannot be confused). A caller key carries no hour: feedback finds
it through ``predicted_at`` or a bounded look-back (``shared.steps.feedback_intake``).
"""

from __future__ import annotations

import functools
import re
import secrets
from datetime import UTC, datetime
from typing import Any

from shared.errors import ValidationError

#: Field of a scoring request naming the rows' own key field.
ID_FIELD = "id_field"
MAX_KEY_LENGTH = 128
GENERATED = re.compile(r"^(?P<hour>\d{10})-[0-9a-f]{20}$")
_KEY = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
_FIELD = re.compile(r"^[^\x00-\x1f]{1,128}$")


def hour_stamp(at: datetime) -> str:
    """The ``YYYYMMDDHH`` of ``at`` in UTC."""
    u = at.astimezone(UTC)
    return f"{u.year:04d}{u.month:02d}{u.day:02d}{u.hour:02d}"  # 10x cheaper than strftime per request


def generated_ids(at: datetime, count: int) -> list[str]:
    """``count`` new ids for the rows of one request made at ``at`` (row index as the last 4 hex)."""
    prefix = f"{hour_stamp(at)}-{secrets.token_hex(8)}"
    return [f"{prefix}{i:04x}" for i in range(count)]


@functools.lru_cache(maxsize=4096)
def _hour(stamp: str) -> datetime | None:
    """``YYYYMMDDHH`` as a UTC hour (cached: a feedback batch names few hours, many times each)."""
    try:
        return datetime(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8]), int(stamp[8:10]), tzinfo=UTC)
    except ValueError:
        return None


def hour_of(prediction_id: str) -> datetime | None:
    """The UTC hour a generated id was made in; None for a caller key (or a malformed hour)."""
    match = GENERATED.match(prediction_id)
    return None if match is None else _hour(match["hour"])


def key_problem(value: Any) -> str | None:
    """Why ``value`` cannot be a caller key, or None when it can (after ``as_key``)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return f"must be a string or an integer, got {type(value).__name__}"
    text = str(value)
    if not _KEY.match(text):
        return f"must be 1-{MAX_KEY_LENGTH} characters of A-Z a-z 0-9 . _ : @ -, got {text[:40]!r}"
    if GENERATED.match(text):
        return "has the shape of a generated id (<YYYYMMDDHH>-<20 hex>); use another key"
    return None


def id_field_of(payload: Any) -> str | None:
    """The request's ``id_field`` (None when absent); 400 when it is not a short field name."""
    if not isinstance(payload, dict) or payload.get(ID_FIELD) is None:
        return None
    name = payload[ID_FIELD]
    if not isinstance(name, str) or not _FIELD.match(name):
        raise ValidationError("id_field must name a field of the rows (1-128 characters)", field=ID_FIELD)
    return name


def caller_keys(rows: list[Any], field: str) -> list[str]:
    """Every row's key in ``field``, as text; one 400 naming each bad or repeated row (first 50)."""
    keys: list[str] = []
    problems: list[str] = []
    first_bad = ""
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        value = row.get(field) if isinstance(row, dict) else None
        reason = "is missing" if value is None else key_problem(value)
        text = str(value)
        if reason is None and text in seen:
            reason = f"repeats the key of rows[{seen[text]}]"
        if reason is not None:
            first_bad = first_bad or f"rows[{i}].{field}"
            if len(problems) < 50:
                problems.append(f"rows[{i}].{field}: {reason}")
            continue
        seen[text] = i
        keys.append(text)
    if problems:
        raise ValidationError(f"bad prediction keys: {'; '.join(problems)}", field=first_bad)
    return keys

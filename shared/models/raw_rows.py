"""Raw request values to a raw-columns model's inputs, one column at a time.

Per kind (the same rules as ``shared.training.features.to_model_frame`` for training frames):
numeric: a JSON number (not true/false), finite; bool: true/false or 0/1; category: a string (a
number is read as its text, as a CSV column would be); datetime: an ISO 8601 date or datetime
string, turned into days since 1970-01-01 UTC (naive = UTC). A null or left-out value is missing:
NaN for float inputs, ``""`` (the learnt "missing" category) for categories.

Columns whose values are all of the plain expected types take a vectorised path; the per-value
checks run only for the others, so a clean batch of 1,000 rows stays cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from shared.training.features import MISSING_CATEGORY

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NUMBER_TYPES = {int, float, type(None)}
_TEXT_TYPES = {str, type(None)}


class BadValue(Exception):
    """A value the model cannot take; the message is the reason."""


def number(value: Any) -> float:
    """A finite JSON number as float (bool is an int subclass in Python, but not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadValue(f"must be a number, got {type(value).__name__}")
    result = float(value)
    if not math.isfinite(result):
        raise BadValue("must be finite")
    return result


def boolean(value: Any) -> float:
    """true/false (or 0/1) as 1.0/0.0."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and value in (0, 1):
        return float(value)
    raise BadValue(f"must be true or false, got {type(value).__name__}")


def epoch_days(value: Any) -> float:
    """Days since 1970-01-01 UTC of an ISO 8601 date or datetime (naive = UTC): the model's date input."""
    if not isinstance(value, str):
        raise BadValue(f"must be an ISO 8601 date string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadValue(f"is not an ISO 8601 date: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH).total_seconds() / 86_400.0


def category(value: Any) -> str:
    """A category value as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A category column read from a CSV holds text: 3 and "3" are the same category.
        return str(value)
    raise BadValue(f"must be a string category, got {type(value).__name__}")


_CONVERT = {"numeric": number, "bool": boolean, "datetime": epoch_days, "category": category}


@dataclass
class Column:
    """One feature's converted values for every row, with per-row missing/unseen/bad marks."""

    values: np.ndarray[Any, Any]
    missing: np.ndarray[Any, Any]
    unseen: np.ndarray[Any, Any]
    bad: dict[int, str] = field(default_factory=dict)  # row position -> reason


def _slow(
    kind: str, raw: list[Any], out: np.ndarray[Any, Any], missing: np.ndarray[Any, Any]
) -> dict[int, str]:
    convert = _CONVERT[kind]
    bad: dict[int, str] = {}
    for i, value in enumerate(raw):
        if value is None:
            continue
        try:
            out[i] = convert(value)
        except BadValue as exc:
            bad[i] = str(exc)
    return bad


def convert_column(kind: str, raw: list[Any], known: set[str] | None) -> Column:
    """Convert one feature's raw values (None = missing) for a raw-columns model."""
    n = len(raw)
    missing = np.fromiter((v is None for v in raw), dtype=bool, count=n)
    types = set(map(type, raw))
    if kind == "category":
        bad: dict[int, str] = {}
        if types <= _TEXT_TYPES:
            values = np.array([MISSING_CATEGORY if v is None else v for v in raw], dtype=object)
        else:
            values = np.full(n, MISSING_CATEGORY, dtype=object)
            bad = _slow(kind, raw, values, missing)
        unseen = np.zeros(n, dtype=bool)
        if known is not None:
            unseen = ~missing & np.fromiter((v not in known for v in values), dtype=bool, count=n)
        return Column(values, missing, unseen, bad)
    if kind == "numeric" and types <= _NUMBER_TYPES:
        values = np.array(raw, dtype=np.float64)  # None -> NaN
        bad = {int(i): "must be finite" for i in np.flatnonzero(~np.isfinite(values) & ~missing)}
    else:
        values = np.full(n, np.nan, dtype=np.float64)
        bad = _slow(kind, raw, values, missing)
    return Column(values, missing, np.zeros(n, dtype=bool), bad)

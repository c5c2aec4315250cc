"""A syntax check for NCRONTAB expressions (Azure Functions timers: six fields, seconds first)."""

from __future__ import annotations

import re

_FIELDS = (
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 6),
)
_NAMES = {
    "month": ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    "day-of-week": ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
}
_ITEM = re.compile(r"^(?P<range>\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(?P<step>\d+))?$")


def _value(token: str, name: str, low: int, high: int) -> int:
    names = _NAMES.get(name, [])
    if token.lower() in names:
        return names.index(token.lower()) + low
    if not token.isdigit():
        raise ValueError(f"{name} field: {token!r} is not a number")
    value = int(token)
    if not low <= value <= high:
        raise ValueError(f"{name} field: {value} is outside {low}-{high}")
    return value


def check_ncrontab(expression: str) -> str:
    """Return ``expression`` unchanged if it is a valid six-field NCRONTAB; raise ValueError otherwise."""
    parts = expression.split()
    if len(parts) != len(_FIELDS):
        names = " ".join(n for n, _, _ in _FIELDS)
        raise ValueError(f"NCRONTAB needs 6 fields ({names}), got {len(parts)}: {expression!r}")
    for part, (name, low, high) in zip(parts, _FIELDS, strict=True):
        for item in part.split(","):
            match = _ITEM.match(item)
            if match is None:
                raise ValueError(f"{name} field: {item!r} is not valid NCRONTAB")
            step = match.group("step")
            if step is not None and int(step) == 0:
                raise ValueError(f"{name} field: step 0 is not allowed")
            span = match.group("range")
            if span == "*":
                continue
            bounds = [_value(t, name, low, high) for t in span.split("-")]
            if len(bounds) == 2 and bounds[0] > bounds[1]:
                raise ValueError(f"{name} field: range {span!r} runs backwards")
    return expression

"""Parse .NET TimeSpan strings as host.json and timer schedules write them ([d.]hh:mm:ss[.fff])."""

from __future__ import annotations

import re
from datetime import timedelta

_TIMESPAN = re.compile(
    r"^(?:(?P<days>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{1,2})(?::(?P<s>\d{1,2})(?:\.(?P<f>\d{1,7}))?)?$"
)


def parse_timespan(text: str) -> timedelta:
    """A ``timedelta`` for ``[d.]hh:mm[:ss[.fffffff]]``; ValueError otherwise."""
    match = _TIMESPAN.match(text.strip())
    if match is None:
        raise ValueError(f"not a TimeSpan: {text!r}")
    hours, minutes = int(match["h"]), int(match["m"])
    seconds = int(match["s"] or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(f"TimeSpan component out of range: {text!r}")
    fraction = float(f"0.{match['f']}") if match["f"] else 0.0
    return timedelta(days=int(match["days"] or 0), hours=hours, minutes=minutes, seconds=seconds + fraction)


def is_timespan(text: str) -> bool:
    """True when ``text`` parses as a TimeSpan."""
    try:
        parse_timespan(text)
    except ValueError:
        return False
    return True

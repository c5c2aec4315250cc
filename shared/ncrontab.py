"""NCRONTAB expressions as Azure Functions timers use them, and their next occurrence.

Used by devhost (timer triggers) and by the app (per-spec monitoring and retraining schedules).

Six fields ``{second} {minute} {hour} {day} {month} {day-of-week}`` (five-field expressions
without seconds are accepted too, as the Functions host does). Each field takes ``*``, numbers,
lists ``a,b``, ranges ``a-b``, steps ``*/n``, ``a-b/n`` and ``a/n``, and for month and day of
week the English names (``JAN``/``January``, ``MON``/``Monday``). Day of week is 0-6 with 0 =
Sunday. Like NCrontab (and unlike Vixie cron), a day must match BOTH the day-of-month and the
day-of-week field.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.errors import ValidationError


class ScheduleError(ValidationError):
    """A schedule expression is invalid or never fires."""


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")  # fmt: skip
_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
#: (name, low, high, names offset by low) per field, in expression order.
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("second", 0, 59, ()),
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 6, _DAYS),
)
#: Searching further than this many years ahead means the expression never fires (e.g. 30 FEB).
_HORIZON_YEARS = 8


def _value(token: str, field: str, low: int, high: int, names: tuple[str, ...]) -> int:
    lowered = token.lower()
    if names and lowered.isalpha():
        for index, name in enumerate(names):
            if lowered == name or (len(lowered) == 3 and name.startswith(lowered)):
                return index + low
        raise ScheduleError(f"unknown {field} name {token!r}")
    if not token.isdigit():
        raise ScheduleError(f"invalid {field} value {token!r}")
    number = int(token)
    if not low <= number <= high:
        raise ScheduleError(f"{field} value {number} is outside {low}-{high}")
    return number


def _parse_field(text: str, field: str, low: int, high: int, names: tuple[str, ...]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ScheduleError(f"empty list element in {field} field {text!r}")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"invalid step {step_text!r} in {field} field")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start = _value(first, field, low, high, names)
            end = _value(last, field, low, high, names)
            if start > end:
                raise ScheduleError(f"range {base!r} in {field} field runs backwards")
        else:
            start = _value(base, field, low, high, names)
            end = high if slash else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed NCRONTAB expression; ``next_after`` gives the next firing time."""

    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        """Parse a six- (or five-) field expression; ScheduleError when invalid."""
        parts = expression.split()
        if len(parts) == 5:
            parts = ["0", *parts]
        if len(parts) != 6:
            raise ScheduleError(
                f"NCRONTAB expression {expression!r} must have six fields "
                "({second} {minute} {hour} {day} {month} {day-of-week})"
            )
        sets = [_parse_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True)]
        return cls(expression, *sets)

    def _day_matches(self, moment: datetime) -> bool:
        # Python: Monday=0 .. Sunday=6; NCRONTAB: Sunday=0 .. Saturday=6.
        return moment.day in self.days and (moment.weekday() + 1) % 7 in self.weekdays

    def next_after(self, after: datetime) -> datetime:
        """The first occurrence strictly after ``after`` (same tzinfo); ScheduleError if none."""
        t = after.replace(microsecond=0) + timedelta(seconds=1)
        limit = after.year + _HORIZON_YEARS
        while t.year <= limit:
            if t.month not in self.months:
                year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
                t = t.replace(year=year, month=month, day=1, hour=0, minute=0, second=0)
                continue
            if not self._day_matches(t):
                t = t.replace(hour=0, minute=0, second=0) + timedelta(days=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0, second=0) + timedelta(hours=1)
                continue
            if t.minute not in self.minutes:
                t = t.replace(second=0) + timedelta(minutes=1)
                continue
            if t.second not in self.seconds:
                t += timedelta(seconds=1)
                continue
            return t
        raise ScheduleError(f"NCRONTAB expression {self.expression!r} never occurs")

    def check_occurs(self) -> None:
        """ScheduleError unless some month holds a matching day (catches ``0 0 0 31 2 *``)."""
        if not any(day <= calendar.monthrange(2024, month)[1] for month in self.months for day in self.days):
            raise ScheduleError(f"NCRONTAB expression {self.expression!r} never occurs")


def check_ncrontab(expression: str) -> str:
    """``expression`` unchanged if it is a six-field NCRONTAB that fires; ValueError otherwise."""
    if len(expression.split()) != 6:
        # The Functions host also takes five fields, but a spec states seconds so schedules are unambiguous.
        raise ValueError(
            f"NCRONTAB needs 6 fields (second minute hour day month day-of-week): {expression!r}"
        )
    try:
        CronSchedule.parse(expression).check_occurs()
    except ScheduleError as exc:
        raise ValueError(str(exc)) from None
    return expression

"""NCRONTAB timer schedules as the Functions host reads them; devhost's own, the app keeps its own.

``{second} {minute} {hour} {day} {month} {day-of-week}``; five fields mean seconds = 0. A field is a
comma list of ``*``, ``n``, ``a-b``, each optionally stepped with ``/n`` (``a/n`` runs to the end of
the range). Months and weekdays also take English names, full or three letters. Weekday 0 is
Sunday. As in NCrontab, a day fires only when it matches both the day and the weekday field.
Times are wall-clock times in the timezone of the moment given to ``next_after``.
"""

from __future__ import annotations

import bisect
import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from devhost.errors import ScheduleError

_MONTH_NAMES = tuple(calendar.month_name[i].lower() for i in range(1, 13))
_DAY_NAMES = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
#: (field name, smallest, largest, names for smallest.. in order)
_FIELD_RULES: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("second", 0, 59, ()),
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day", 1, 31, ()),
    ("month", 1, 12, _MONTH_NAMES),
    ("day-of-week", 0, 6, _DAY_NAMES),
)
#: A weekday/leap-day combination repeats within 28 years; searching longer finds nothing new.
_SEARCH_YEARS = 28


def _number(token: str, rule: tuple[str, int, int, tuple[str, ...]]) -> int:
    field, low, high, names = rule
    word = token.lower()
    if names and word.isalpha():
        matches = [i for i, name in enumerate(names) if word == name or (len(word) == 3 and name[:3] == word)]
        if not matches:
            raise ScheduleError(f"{token!r} is not a {field} name")
        return low + matches[0]
    if not token.isdigit():
        raise ScheduleError(f"{token!r} is not a valid {field}")
    value = int(token)
    if value < low or value > high:
        raise ScheduleError(f"{field} {value} is out of range {low}-{high}")
    return value


def _field(text: str, rule: tuple[str, int, int, tuple[str, ...]]) -> tuple[int, ...]:
    field, low, high, _ = rule
    chosen: set[int] = set()
    for item in text.split(","):
        span, has_step, step_text = item.partition("/")
        if has_step and (not step_text.isdigit() or int(step_text) < 1):
            raise ScheduleError(f"{item!r}: the step in the {field} field must be a positive number")
        step = int(step_text) if has_step else 1
        if span == "*":
            first, last = low, high
        elif "-" in span:
            a, _, b = span.partition("-")
            first, last = _number(a, rule), _number(b, rule)
            if first > last:
                raise ScheduleError(f"{item!r}: the {field} range runs backwards")
        elif span:
            first = _number(span, rule)
            last = high if has_step else first
        else:
            raise ScheduleError(f"the {field} field {text!r} has an empty element")
        chosen.update(range(first, last + 1, step))
    return tuple(sorted(chosen))


@dataclass(frozen=True)
class CronSchedule:
    """A parsed NCRONTAB expression."""

    expression: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        """Parse six (or five) fields; ScheduleError naming the bad part, or when it never fires."""
        parts = expression.split()
        if len(parts) == 5:
            parts.insert(0, "0")
        if len(parts) != 6:
            raise ScheduleError(
                f"{expression!r} is not an NCRONTAB expression: it needs six fields "
                "{second} {minute} {hour} {day} {month} {day-of-week}"
            )
        schedule = cls(expression, *(_field(p, r) for p, r in zip(parts, _FIELD_RULES, strict=True)))
        # Some chosen month must hold some chosen day (29 February counts: leap years exist).
        if not any(d <= calendar.monthrange(2024, m)[1] for m in schedule.months for d in schedule.days):
            raise ScheduleError(f"NCRONTAB expression {expression!r} never occurs")
        return schedule

    def _fires_on(self, day: date) -> bool:
        weekday = day.isoweekday() % 7  # Sunday = 0, as NCRONTAB counts
        return day.day in self.days and weekday in self.weekdays

    def _first_time_from(self, start: time) -> time | None:
        """The earliest firing time of day at or after ``start`` (None: none left that day)."""
        for hour in self.hours[bisect.bisect_left(self.hours, start.hour):]:
            from_minute = start.minute if hour == start.hour else 0
            for minute in self.minutes[bisect.bisect_left(self.minutes, from_minute):]:
                from_second = start.second if (hour, minute) == (start.hour, start.minute) else 0
                index = bisect.bisect_left(self.seconds, from_second)
                if index < len(self.seconds):
                    return time(hour, minute, self.seconds[index])
        return None

    def next_after(self, after: datetime) -> datetime:
        """The first firing strictly after ``after`` (same tzinfo); ScheduleError when there is none."""
        start = after.replace(microsecond=0) + timedelta(seconds=1)
        day, from_time = start.date(), start.time()
        end = date(min(start.year + _SEARCH_YEARS, date.max.year), 12, 31)
        while day <= end:
            if day.month not in self.months:
                day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
                from_time = time(0)
                continue
            if self._fires_on(day):
                found = self._first_time_from(from_time)
                if found is not None:
                    return datetime.combine(day, found, tzinfo=after.tzinfo)
            day += timedelta(days=1)
            from_time = time(0)
        raise ScheduleError(f"NCRONTAB expression {self.expression!r} never occurs")

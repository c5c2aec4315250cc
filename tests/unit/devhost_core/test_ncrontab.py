"""devhost's own NCRONTAB reader: next occurrences and refusals, as the Functions host reads schedules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from devhost.errors import ScheduleError
from devhost.ncrontab import CronSchedule
from devhost.schedule import IntervalSchedule, parse_schedule

T0 = datetime(2026, 11, 30, 10, 15, 30, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("* * * * * *", T0, datetime(2026, 11, 30, 10, 15, 31, tzinfo=UTC)),
        ("*/15 * * * * *", T0, datetime(2026, 11, 30, 10, 15, 45, tzinfo=UTC)),
        ("0 */5 * * * *", T0, datetime(2026, 11, 30, 10, 20, 0, tzinfo=UTC)),
        ("0 30 9 * * *", T0, datetime(2026, 12, 1, 9, 30, 0, tzinfo=UTC)),
        ("30 15 10 * * *", T0, datetime(2026, 12, 1, 10, 15, 30, tzinfo=UTC)),  # strictly after
        ("0 0 * * * *", T0.replace(minute=59, second=59), datetime(2026, 11, 30, 11, 0, 0, tzinfo=UTC)),
        ("5 4 * * *", T0, datetime(2026, 12, 1, 4, 5, 0, tzinfo=UTC)),  # five fields: second 0
        ("0 0 9 * * MON-FRI", datetime(2026, 12, 4, 10, tzinfo=UTC), datetime(2026, 12, 7, 9, tzinfo=UTC)),
        ("0 0 0 1 Jan *", T0, datetime(2027, 1, 1, tzinfo=UTC)),
        ("0 0 0 1 december sun", T0, datetime(2030, 12, 1, tzinfo=UTC)),  # day AND weekday must match
        ("0 0 0 29 2 *", T0, datetime(2028, 2, 29, tzinfo=UTC)),
        ("0 0 12 1-7/3 * *", T0, datetime(2026, 12, 1, 12, tzinfo=UTC)),
        ("0 0 12 5/10 * *", T0, datetime(2026, 12, 5, 12, tzinfo=UTC)),
        ("0 0 23 31 12 *", datetime(2026, 12, 31, 23, tzinfo=UTC), datetime(2027, 12, 31, 23, tzinfo=UTC)),
    ],
)
def test_next_occurrence(expression: str, after: datetime, expected: datetime) -> None:
    assert CronSchedule.parse(expression).next_after(after) == expected


def test_wall_clock_in_the_given_zone() -> None:
    zone = ZoneInfo("Europe/Amsterdam")
    after = datetime(2026, 11, 30, 10, 0, tzinfo=zone)
    found = CronSchedule.parse("0 0 9 * * *").next_after(after)
    assert found == datetime(2026, 12, 1, 9, 0, tzinfo=zone) and found.tzinfo is zone


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * * *  * *", "six fields"),
        ("60 * * * * *", "second 60 is out of range 0-59"),
        ("0 0 24 * * *", "hour 24 is out of range"),
        ("0 0 0 0 * *", "day 0 is out of range"),
        ("0 0 0 * 13 *", "month 13"),
        ("0 0 0 * * 7", "day-of-week 7"),
        ("0 0 0 * Foo *", "'Foo' is not a month name"),
        ("*/0 * * * * *", "step"),
        ("0 0 10-2 * * *", "runs backwards"),
        ("0 0 1,,2 * * *", "empty element"),
        ("x * * * * *", "'x' is not a valid second"),
        ("0 0 0 31 2 *", "never occurs"),
        ("0 0 0 30 FEB *", "never occurs"),
    ],
)
def test_invalid_expressions_are_refused(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        CronSchedule.parse(expression)


def test_timespan_or_cron_behind_one_interface() -> None:
    assert parse_schedule("00:05:00") == IntervalSchedule(timedelta(minutes=5))
    assert parse_schedule(" 0 */5 * * * * ").next_after(T0) == datetime(2026, 11, 30, 10, 20, tzinfo=UTC)
    with pytest.raises(ScheduleError, match="positive"):
        parse_schedule("00:00:00")
    with pytest.raises(ValueError):  # ScheduleError is also a ValueError for callers that catch those
        parse_schedule("every minute")

"""The app's NCRONTAB (shared.ncrontab): parsing and next-occurrence, the cases Azure timer schedules use.

devhost has its own parser (it imports nothing from the app): tests/unit/devhost_core/test_ncrontab.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.ncrontab import CronSchedule, ScheduleError, check_ncrontab


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def next_of(expression: str, after: datetime) -> datetime:
    return CronSchedule.parse(expression).next_after(after)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("* * * * * *", at(2024, 1, 1, 0, 0, 0), at(2024, 1, 1, 0, 0, 1)),
        ("*/5 * * * * *", at(2024, 1, 1, 0, 0, 3), at(2024, 1, 1, 0, 0, 5)),
        ("*/5 * * * * *", at(2024, 1, 1, 0, 0, 55), at(2024, 1, 1, 0, 1, 0)),
        ("0 */5 * * * *", at(2024, 1, 1, 0, 3, 0), at(2024, 1, 1, 0, 5, 0)),
        ("0 0 * * * *", at(2024, 1, 1, 9, 0, 0), at(2024, 1, 1, 10, 0, 0)),
        ("0 30 9 * * *", at(2024, 1, 1, 9, 30, 0), at(2024, 1, 2, 9, 30, 0)),
        ("0 30 9 * * *", at(2024, 1, 1, 9, 29, 59), at(2024, 1, 1, 9, 30, 0)),
        ("0 0 */2 * * *", at(2024, 1, 1, 1, 0, 0), at(2024, 1, 1, 2, 0, 0)),
        ("0 0 9-17 * * *", at(2024, 1, 1, 17, 0, 0), at(2024, 1, 2, 9, 0, 0)),
        ("0 0 9-17/4 * * *", at(2024, 1, 1, 13, 0, 0), at(2024, 1, 1, 17, 0, 0)),
        ("0 0,30 * * * *", at(2024, 1, 1, 0, 0, 0), at(2024, 1, 1, 0, 30, 0)),
        ("5,10-12 * * * * *", at(2024, 1, 1, 0, 0, 10), at(2024, 1, 1, 0, 0, 11)),
        ("10/20 * * * * *", at(2024, 1, 1, 0, 0, 31), at(2024, 1, 1, 0, 0, 50)),
        # Day-of-week: 0 = Sunday; 2024-01-01 is a Monday.
        ("0 0 9 * * 1-5", at(2024, 1, 5, 10, 0, 0), at(2024, 1, 8, 9, 0, 0)),
        ("0 0 9 * * MON-FRI", at(2024, 1, 5, 10, 0, 0), at(2024, 1, 8, 9, 0, 0)),
        ("0 0 0 * * SUN", at(2024, 1, 1, 0, 0, 0), at(2024, 1, 7, 0, 0, 0)),
        ("0 0 0 * * 0", at(2024, 1, 1, 0, 0, 0), at(2024, 1, 7, 0, 0, 0)),
        ("0 0 0 * * sat", at(2024, 1, 1, 0, 0, 0), at(2024, 1, 6, 0, 0, 0)),
        ("0 0 0 * * Saturday", at(2024, 1, 1, 0, 0, 0), at(2024, 1, 6, 0, 0, 0)),
        ("0 0 0 * * MON,WED", at(2024, 1, 1, 0, 0, 0), at(2024, 1, 3, 0, 0, 0)),
        # Months by number and name; year wrap.
        ("0 0 0 1 JAN *", at(2024, 1, 1, 0, 0, 0), at(2025, 1, 1, 0, 0, 0)),
        ("0 0 0 1 jan-mar *", at(2024, 3, 1, 0, 0, 0), at(2025, 1, 1, 0, 0, 0)),
        ("0 0 0 1 */3 *", at(2024, 1, 1, 0, 0, 0), at(2024, 4, 1, 0, 0, 0)),
        ("0 0 0 15 June *", at(2024, 1, 1, 0, 0, 0), at(2024, 6, 15, 0, 0, 0)),
        ("59 59 23 31 12 *", at(2024, 6, 1, 0, 0, 0), at(2024, 12, 31, 23, 59, 59)),
        # Month ends: 31st skips short months; 29 Feb waits for a leap year.
        ("0 0 0 31 * *", at(2024, 1, 31, 0, 0, 0), at(2024, 3, 31, 0, 0, 0)),
        ("0 0 0 31 * *", at(2024, 4, 1, 0, 0, 0), at(2024, 5, 31, 0, 0, 0)),
        ("0 0 0 30 * *", at(2024, 1, 30, 0, 0, 0), at(2024, 3, 30, 0, 0, 0)),
        ("0 0 0 29 2 *", at(2024, 3, 1, 0, 0, 0), at(2028, 2, 29, 0, 0, 0)),
        ("0 0 12 L * *".replace("L", "28-31"), at(2023, 2, 28, 12, 0, 0), at(2023, 3, 28, 12, 0, 0)),
        # Day-of-month AND day-of-week (NCrontab semantics): Friday the 13th.
        ("0 0 0 13 * FRI", at(2024, 1, 1, 0, 0, 0), at(2024, 9, 13, 0, 0, 0)),
        # Five fields: no seconds column (seconds = 0).
        ("*/15 * * * *", at(2024, 1, 1, 0, 7, 30), at(2024, 1, 1, 0, 15, 0)),
        # Microseconds are dropped; the next occurrence is strictly later.
        ("* * * * * *", datetime(2024, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC), at(2024, 1, 1, 0, 0, 1)),
        # Leap-year day roll.
        ("0 0 0 * * *", at(2024, 2, 28, 12, 0, 0), at(2024, 2, 29, 0, 0, 0)),
    ],
)
def test_next_occurrence(expression: str, after: datetime, expected: datetime) -> None:
    assert next_of(expression, after) == expected


def test_consecutive_occurrences_of_a_weekday_schedule() -> None:
    schedule = CronSchedule.parse("0 0 8 * * TUE,THU")
    moment = at(2024, 1, 1, 0, 0, 0)
    seen = []
    for _ in range(4):
        moment = schedule.next_after(moment)
        seen.append(moment)
    assert seen == [at(2024, 1, 2, 8), at(2024, 1, 4, 8), at(2024, 1, 9, 8), at(2024, 1, 11, 8)]


def test_every_second_for_a_minute_is_sixty_ticks() -> None:
    schedule = CronSchedule.parse("* * * * * *")
    moment = at(2024, 1, 1, 0, 0, 0)
    ticks = []
    while (moment := schedule.next_after(moment)) <= at(2024, 1, 1, 0, 1, 0):
        ticks.append(moment)
    assert len(ticks) == 60


@pytest.mark.parametrize(
    "expression",
    [
        "* * * * *  * *",
        "* * * *",
        "60 * * * * *",
        "* 60 * * * *",
        "* * 24 * * *",
        "* * * 0 * *",
        "* * * 32 * *",
        "* * * * 13 *",
        "* * * * * 7",
        "* * * * FOO *",
        "* * * * * FUN",
        "*/0 * * * * *",
        "5-1 * * * * *",
        "a * * * * *",
        "1,,2 * * * * *",
        "",
    ],
)
def test_invalid_expressions(expression: str) -> None:
    with pytest.raises(ScheduleError):
        CronSchedule.parse(expression)


def test_never_occurring_schedule_is_rejected() -> None:
    with pytest.raises(ValueError, match="never occurs"):
        check_ncrontab("0 0 0 31 2 *")
    with pytest.raises(ScheduleError):
        CronSchedule.parse("0 0 0 30 2 *").next_after(at(2024, 1, 1))


def test_result_keeps_timezone() -> None:
    result = next_of("0 * * * * *", at(2024, 1, 1))
    assert result.tzinfo is UTC
    assert result - at(2024, 1, 1) == timedelta(minutes=1)

"""Timer schedules: NCRONTAB expressions or constant TimeSpan intervals, behind one interface."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from devhost.errors import ScheduleError
from devhost.ncrontab import CronSchedule
from devhost.timespan import is_timespan, parse_timespan


class Schedule(Protocol):
    """Something that knows its next occurrence after a moment."""

    def next_after(self, after: datetime) -> datetime:
        """The first occurrence strictly after ``after``."""
        ...


@dataclass(frozen=True)
class IntervalSchedule:
    """A TimeSpan schedule (``hh:mm:ss``): fires every ``interval``."""

    interval: timedelta

    def next_after(self, after: datetime) -> datetime:
        """``after`` plus the interval."""
        return after + self.interval


def parse_schedule(text: str) -> Schedule:
    """An NCRONTAB or TimeSpan schedule; ScheduleError when it is neither."""
    text = text.strip()
    if is_timespan(text):
        interval = parse_timespan(text)
        if interval <= timedelta(0):
            raise ScheduleError(f"TimeSpan schedule {text!r} must be positive")
        return IntervalSchedule(interval)
    return CronSchedule.parse(text)

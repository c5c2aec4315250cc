"""NCRONTAB check for spec fields: six fields (seconds first), parsed by shared.ncrontab."""

from __future__ import annotations

from shared.ncrontab import CronSchedule, ScheduleError


def check_ncrontab(expression: str) -> str:
    """Return ``expression`` unchanged if it is a valid six-field NCRONTAB; raise ValueError otherwise."""
    if len(expression.split()) != 6:
        # The Functions host also takes five fields, but a spec states seconds so schedules are unambiguous.
        raise ValueError(
            f"NCRONTAB needs 6 fields (second minute hour day month day-of-week): {expression!r}"
        )
    try:
        CronSchedule.parse(expression)
    except ScheduleError as exc:
        raise ValueError(str(exc)) from None
    return expression

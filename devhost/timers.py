"""Timer triggers: schedules, run-on-startup, and Azure's schedule monitor and singleton lock.

Per function, one devhost at a time (the holder of the blob lease
``azure-webjobs-hosts/locks/<hostId>/Host.Functions.<name>.Listener``) runs the schedule; the
others retry the lease every few seconds. With the monitor on (``useMonitor``; default true
unless the schedule recurs at most a minute apart) the last/next occurrence is kept in
``azure-webjobs-hosts/timers/<hostId>/Host.Functions.<name>/status``; a ``Next`` that passed
while no host ran makes the listener's start run the function once with ``past_due=True``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from azure.core.exceptions import ResourceNotFoundError
from azure.functions.timer import TimerRequest
from azure.storage.blob import ContainerClient

from devhost.blob_lease import LEASE_SECONDS, BlobLock
from devhost.errors import AppLoadError, ScheduleError
from devhost.loader import FunctionSpec
from devhost.runner import FunctionRunner
from devhost.schedule import Schedule, parse_schedule

log = logging.getLogger("devhost.timers")
HOSTS_CONTAINER = "azure-webjobs-hosts"
ACQUIRE_RETRY_SECONDS = 3.0
RENEW_SECONDS = LEASE_SECONDS / 3
TIME_ZONE_SETTING = "WEBSITE_TIME_ZONE"


@dataclass(frozen=True)
class ScheduleStatus:
    """What the monitor persists."""

    last: datetime | None
    next: datetime | None
    last_updated: datetime | None

    def to_json(self) -> dict[str, str | None]:
        """The status blob's JSON (the host's field names)."""
        return {
            "Last": self.last.isoformat() if self.last else None,
            "Next": self.next.isoformat() if self.next else None,
            "LastUpdated": self.last_updated.isoformat() if self.last_updated else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScheduleStatus:
        """Parse a status blob."""

        def moment(key: str) -> datetime | None:
            value = data.get(key)
            if not value:
                return None
            parsed = datetime.fromisoformat(str(value))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

        return cls(moment("Last"), moment("Next"), moment("LastUpdated"))


def timer_schedule(spec: FunctionSpec) -> Schedule:
    """The function's parsed schedule; AppLoadError naming it when invalid."""
    try:
        return parse_schedule(str(spec.trigger.get("schedule")))
    except ScheduleError as exc:
        raise AppLoadError(f"function '{spec.name}': invalid timer schedule: {exc}") from exc


def monitor_enabled(spec: FunctionSpec, schedule: Schedule, now: datetime) -> bool:
    """``useMonitor`` when set; otherwise true unless occurrences are at most a minute apart."""
    explicit = spec.trigger.get("useMonitor")
    if explicit is not None:
        return bool(explicit)
    first = schedule.next_after(now)
    return schedule.next_after(first) - first > timedelta(minutes=1)


def timer_zone(values: Mapping[str, str]) -> tzinfo:
    """``WEBSITE_TIME_ZONE`` (an IANA name, as on Linux plans) or UTC; AppLoadError when unknown."""
    name = values.get(TIME_ZONE_SETTING, "").strip()
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise AppLoadError(f"{TIME_ZONE_SETTING}={name!r} is not an IANA time zone name") from exc


def timer_argument(past_due: bool, status: ScheduleStatus | None = None) -> TimerRequest:
    """The ``TimerRequest`` a timer function receives."""
    return TimerRequest(
        past_due=past_due,
        schedule_status=status.to_json() if status else {},
        schedule={"AdjustForDST": True},
    )


class TimerJob:
    """Runs one timer function on its schedule while holding the listener lease."""

    def __init__(
        self,
        spec: FunctionSpec,
        runner: FunctionRunner,
        container: ContainerClient,
        host_id: str,
        zone: tzinfo = UTC,
    ) -> None:
        self.spec = spec
        self.runner = runner
        self.container = container
        self.schedule = timer_schedule(spec)
        self.zone = zone
        self.use_monitor = monitor_enabled(spec, self.schedule, datetime.now(UTC))
        self.run_on_startup = bool(spec.trigger.get("runOnStartup"))
        function_id = f"Host.Functions.{spec.name}"
        self.status_blob = f"timers/{host_id}/{function_id}/status"
        self.lock = BlobLock(container, f"locks/{host_id}/{function_id}.Listener")

    def _next(self, after: datetime) -> datetime:
        # NCRONTAB fields are wall-clock times in the app's time zone; state is kept in UTC.
        return self.schedule.next_after(after.astimezone(self.zone)).astimezone(UTC)

    async def run(self) -> None:
        """Until cancelled: acquire the lease, then schedule; start over if the lease is lost."""
        while True:
            if not await asyncio.to_thread(self._try_acquire):
                await asyncio.sleep(ACQUIRE_RETRY_SECONDS)
                continue
            log.info("timer '%s': this host runs the schedule", self.spec.name)
            try:
                await self._schedule_while_leased()
            except Exception:
                # A storage failure must not end the timer: give the lease back and start over.
                log.exception("timer '%s': listener failed; restarting it", self.spec.name)
            finally:
                await asyncio.to_thread(self.lock.release)
            await asyncio.sleep(ACQUIRE_RETRY_SECONDS)

    async def _schedule_while_leased(self) -> None:
        schedule_task = asyncio.create_task(self._scheduled())
        try:
            while not schedule_task.done():
                done, _ = await asyncio.wait({schedule_task}, timeout=RENEW_SECONDS)
                if not done and not await asyncio.to_thread(self.lock.renew):
                    log.warning("timer '%s': lease lost; another host may run the schedule", self.spec.name)
                    return
            schedule_task.result()
        finally:
            if not schedule_task.done():
                schedule_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await schedule_task

    def _try_acquire(self) -> bool:
        try:
            return self.lock.try_acquire()
        except Exception as exc:
            log.warning("timer '%s': lease attempt failed: %s", self.spec.name, exc)
            return False

    def _read_status(self) -> ScheduleStatus | None:
        try:
            raw = self.container.get_blob_client(self.status_blob).download_blob().readall()
            return ScheduleStatus.from_json(json.loads(raw))
        except ResourceNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            log.warning("timer '%s': ignoring unreadable status blob: %s", self.spec.name, exc)
            return None

    def _write_status(self, status: ScheduleStatus) -> None:
        self.container.get_blob_client(self.status_blob).upload_blob(
            json.dumps(status.to_json()).encode(), overwrite=True
        )

    async def _invoke(self, past_due: bool, status: ScheduleStatus | None, reason: str) -> None:
        # Logged by the runner; a failed tick does not stop the schedule.
        with contextlib.suppress(Exception):
            await self.runner.run(self.spec, timer_argument(past_due, status), reason=reason)

    async def _scheduled(self) -> None:
        now = datetime.now(UTC)
        status = await asyncio.to_thread(self._read_status) if self.use_monitor else None
        past_due = bool(status and status.next and status.next < now)
        if past_due or self.run_on_startup:
            reason = "Timer is past due" if past_due else "RunOnStartup"
            await self._invoke(past_due, status, reason)
            if past_due and status is not None:
                now = datetime.now(UTC)
                status = ScheduleStatus(status.next, self._next(now), now)
                await asyncio.to_thread(self._write_status, status)
        now = datetime.now(UTC)
        upcoming = self._next(now)
        last = status.last if status else None
        if self.use_monitor:
            status = ScheduleStatus(last, upcoming, now)
            await asyncio.to_thread(self._write_status, status)
        while True:
            await _sleep_until(upcoming)
            after = self._next(upcoming)
            current = ScheduleStatus(last, after, datetime.now(UTC))
            await self._invoke(False, current, "Timer fired")
            last = upcoming
            now = datetime.now(UTC)
            upcoming = self._next(max(now, upcoming))
            if self.use_monitor:
                await asyncio.to_thread(self._write_status, ScheduleStatus(last, upcoming, now))


async def _sleep_until(moment: datetime) -> None:
    while True:
        remaining = (moment - datetime.now(UTC)).total_seconds()
        if remaining <= 0:
            return
        await asyncio.sleep(min(remaining, 30.0))

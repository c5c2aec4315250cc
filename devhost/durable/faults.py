"""Crash injection for the kill -9 tests: ``DEVHOST_DURABLE_CRASH_AT=<point>[:<activity or entity>]``."""

from __future__ import annotations

import contextlib
import logging
import os
import signal

log = logging.getLogger("devhost.durable")
#: where the engine calls the hook
POINTS = ("activity_end", "activity_sent", "outgoing_sent", "history_written", "entity_written")


class CrashHook:
    """SIGKILLs this process when the configured point (and activity, if named) is reached."""

    def __init__(self, spec: str | None) -> None:
        point, _, target = (spec or "").partition(":")
        self.point = point or None
        self.target = target or None

    def maybe(self, point: str, name: str | None = None) -> None:
        """Kill the process here if configured to."""
        if self.point != point or (self.target is not None and self.target != name):
            return
        log.warning("durable: crash hook %s hit; killing the process", point)
        with contextlib.suppress(Exception):
            logging.shutdown()
        os.kill(os.getpid(), signal.SIGKILL)

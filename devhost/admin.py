"""The host's admin API subset: run a non-HTTP function now, and the host status."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from devhost.http_messages import Reply, json_reply
from devhost.loader import LoadedApp
from devhost.queue_listener import trigger_argument
from devhost.runner import FunctionRunner
from devhost.timers import timer_argument

log = logging.getLogger("devhost.admin")
FUNCTIONS_PREFIX = "/admin/functions/"
STATUS_PATH = "/admin/host/status"


class AdminApi:
    """``POST /admin/functions/{name}`` and ``GET /admin/host/status`` (master key checked by the caller)."""

    def __init__(self, app: LoadedApp, runner: FunctionRunner, host_id: str, version: str) -> None:
        self.app = app
        self.runner = runner
        self.host_id = host_id
        self.version = version
        self.started = time.monotonic()
        self.state = "Initialized"
        self._background: set[asyncio.Task[Any]] = set()

    @staticmethod
    def handles(path: str) -> bool:
        """True for the admin paths served here."""
        return path.startswith(FUNCTIONS_PREFIX) or path.rstrip("/") == STATUS_PATH

    async def handle(self, method: str, path: str, body: bytes) -> Reply:
        """Answer one admin request."""
        if path.rstrip("/") == STATUS_PATH:
            if method != "GET":
                return Reply(404)
            return json_reply(
                200,
                {
                    "id": self.host_id,
                    "state": self.state,
                    "version": self.version,
                    "processUptime": int((time.monotonic() - self.started) * 1000),
                    "functions": [f.name for f in self.app.functions],
                },
            )
        name = path[len(FUNCTIONS_PREFIX) :].strip("/")
        spec = self.app.by_name(name) if name and "/" not in name else None
        if spec is None or method != "POST":
            return Reply(404)
        if spec.trigger.type not in ("timerTrigger", "queueTrigger"):
            return json_reply(
                400, {"error": f"function '{spec.name}' ({spec.trigger.type}) cannot be run by the admin API"}
            )
        try:
            payload = json.loads(body or b"{}")
        except json.JSONDecodeError:
            return json_reply(400, {"error": 'body must be JSON like {"input": "..."}'})
        value = payload.get("input", "") if isinstance(payload, dict) else None
        if value is None or not isinstance(value, str | int | float | bool):
            # Azure: "the input can only be a string, number, or boolean".
            return json_reply(400, {"error": 'body must be {"input": <string, number or boolean>}'})
        text = value if isinstance(value, str) else json.dumps(value)
        if spec.trigger.type == "timerTrigger":
            argument: Any = timer_argument(False)
        else:
            argument = trigger_argument(spec, text.encode("utf-8"))
        task = asyncio.create_task(self._run(spec.name, argument))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return Reply(202)

    async def _run(self, name: str, argument: Any) -> None:
        spec = self.app.by_name(name)
        if spec is None:
            return
        with contextlib.suppress(Exception):  # logged by the runner
            await self.runner.run(
                spec, argument, reason="This function was programmatically called via the host APIs."
            )

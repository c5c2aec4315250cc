"""Runs functions for every trigger source: invoke, then write output bindings (queue messages)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from devhost.hostjson import QueueOptions
from devhost.invocation import Invocation, invoke, queue_out_messages
from devhost.loader import FunctionSpec, LoadedApp
from devhost.storage import resolve_connection, send_messages

log = logging.getLogger("devhost.functions")


class FunctionRunner:
    """Invokes the app's functions and delivers their output bindings."""

    def __init__(
        self,
        app: LoadedApp,
        *,
        app_dir: Path,
        values: Mapping[str, str],
        queue_options: QueueOptions,
    ) -> None:
        self.app = app
        self.app_dir = app_dir
        self.queue_options = queue_options
        self.durable_client: Callable[[], str] | None = None
        # Resolve every connection up front so a missing setting fails at start, naming the function.
        self.connections: dict[tuple[str, str], str] = {}
        for spec in app.functions:
            for binding in spec.bindings:
                if binding.type in ("queue", "queueTrigger"):
                    where = f"function '{spec.name}' binding '{binding.name}'"
                    self.connections[(spec.name, binding.name)] = resolve_connection(
                        binding.get("connection"), values, where
                    )

    def connection(self, spec: FunctionSpec, binding_name: str) -> str:
        """The connection string of one of ``spec``'s storage bindings."""
        return self.connections[(spec.name, binding_name)]

    async def run(self, spec: FunctionSpec, trigger_value: Any, *, reason: str = "") -> Invocation:
        """Invoke ``spec`` and write its queue outputs; the function's exception propagates."""
        started = time.monotonic()
        log.info("Executing 'Functions.%s' (Reason='%s')", spec.name, reason or spec.trigger.type)
        try:
            result = await invoke(
                spec, trigger_value, app_dir=str(self.app_dir), durable_client=self.durable_client
            )
            await self._write_outputs(spec, result)
        except Exception:
            log.exception(
                "Executed 'Functions.%s' (Failed, Duration=%dms)",
                spec.name,
                (time.monotonic() - started) * 1000,
            )
            raise
        log.info(
            "Executed 'Functions.%s' (Succeeded, Duration=%dms)",
            spec.name,
            (time.monotonic() - started) * 1000,
        )
        return result

    async def _write_outputs(self, spec: FunctionSpec, result: Invocation) -> None:
        for binding in spec.outputs:
            if binding.type != "queue" or binding.name not in result.outputs:
                continue
            bodies = queue_out_messages(result.outputs[binding.name])
            await asyncio.to_thread(
                send_messages,
                self.connection(spec, binding.name),
                str(binding.get("queueName")),
                bodies,
                self.queue_options,
            )

"""DurableRuntime: the object the host builds (see the contract in ``devhost/durable/__init__.py``)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from devhost.durable.engine import Engine
from devhost.durable.http_api import DurableHttpApi
from devhost.durable.names import hub_names_from_host_json
from devhost.durable.registry import FunctionRegistry
from devhost.durable.store import TaskHubStore
from devhost.durable.urls import MANAGEMENT_PREFIX, RPC_PREFIX, UrlBuilder
from devhost.durable.versioning import VersionPolicy

CRASH_ENV = "DEVHOST_DURABLE_CRASH_AT"
#: A pure-Python CPU-bound activity holds the GIL; the interpreter hands it over every switch
#: interval (5 ms by default), and each orchestration step needs it several times. 1 ms halves the
#: step latency under CPU-bound activities (bench: ~100 -> ~46 ms/step with two busy activities).
GIL_SWITCH_INTERVAL = 0.001
DEFAULT_CONCURRENCY = 10


class DurableRuntime:
    """Runs one app's orchestrators and activities with the task hub in Azure Storage."""

    def __init__(
        self,
        functions: Sequence[Any],
        *,
        connection_string: str,
        host_json: Mapping[str, Any],
        base_url: str,
        system_key: str,
        app_dir: Path,
        crash_at: str | None = None,
        gil_switch_interval: float | None = GIL_SWITCH_INTERVAL,
    ) -> None:
        durable = (host_json.get("extensions", {}) or {}).get("durableTask", {}) or {}
        self.names = hub_names_from_host_json(host_json, os.environ)
        self.app_dir = app_dir
        self.registry = FunctionRegistry.from_functions(functions)
        self.urls = UrlBuilder(base_url.rstrip("/"), self.names.hub, system_key)
        cpus = os.cpu_count() or 1
        self.engine = Engine(
            TaskHubStore(connection_string, self.names),
            self.registry,
            self.names,
            max_orchestrators=int(
                durable.get("maxConcurrentOrchestratorFunctions") or DEFAULT_CONCURRENCY * cpus
            ),
            max_activities=int(durable.get("maxConcurrentActivityFunctions") or DEFAULT_CONCURRENCY * cpus),
            crash_at=crash_at if crash_at is not None else os.environ.get(CRASH_ENV),
            versions=VersionPolicy.from_host_json(durable),
        )
        self.api = DurableHttpApi(self.engine, self.urls)
        self.gil_switch_interval = gil_switch_interval

    async def start(self) -> None:
        """Create the task hub if needed and start dispatching (resumes in-flight instances)."""
        if self.gil_switch_interval is not None and sys.getswitchinterval() > self.gil_switch_interval:
            sys.setswitchinterval(self.gil_switch_interval)
        await self.engine.start()

    async def stop(self) -> None:
        """Stop dispatching; in-flight work is resumed by the next start."""
        await self.engine.stop()

    def client_binding_value(self) -> str:
        """The JSON string a ``durableClient`` parameter receives."""
        return json.dumps(self.urls.binding())

    def handles(self, path: str) -> bool:
        """True for management API and RPC paths this runtime answers."""
        return path.startswith(MANAGEMENT_PREFIX) or path.startswith(RPC_PREFIX)

    async def handle_http(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one management/RPC request: (status, headers, body)."""
        return await self.api.handle(method, path, query, headers, body)

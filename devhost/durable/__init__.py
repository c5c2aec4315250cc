"""Durable extension stand-in: orchestrations, activities, durable client, task hub in Azure Storage.

CONTRACT between devhost's host (devhost/host.py, HTTP server) and this package. The host:
  * builds one ``DurableRuntime`` from the app's ``get_functions()`` list after loading the app;
  * awaits ``start()`` before serving and ``stop()`` on shutdown (same asyncio loop as the server);
  * passes ``client_binding_value()`` (a JSON string) as the argument of every ``durableClient``
    binding parameter of HTTP/timer/queue functions;
  * forwards every request whose path ``handles(path)`` to ``handle_http``; it checks keys first
    for paths under ``/runtime/webhooks/durabletask`` (master key or the ``durabletask_extension``
    system key, header ``x-functions-key`` or query ``code``); paths under ``/_durable_rpc/`` are
    the SDK client's ``rpcBaseUrl`` and are forwarded without a key (loopback only, like the
    extension's local RPC endpoint).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: binding types this package serves; the loader accepts them and hands them here.
DURABLE_BINDING_TYPES = frozenset(
    {"orchestrationTrigger", "activityTrigger", "entityTrigger", "durableClient"}
)
MANAGEMENT_PREFIX = "/runtime/webhooks/durabletask"
RPC_PREFIX = "/_durable_rpc"


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
    ) -> None:
        raise NotImplementedError("devhost durable runtime: being built")

    async def start(self) -> None:
        """Create the task hub if needed and start dispatching (resumes in-flight instances)."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Stop dispatching; in-flight work is resumed by the next start."""
        raise NotImplementedError

    def client_binding_value(self) -> str:
        """The JSON string a ``durableClient`` parameter receives."""
        raise NotImplementedError

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
        raise NotImplementedError

"""Storage health: asks blob, queue and table for something real, with short timeouts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from shared.settings import Settings
from shared.storage.clients import StorageClients, build_clients


@dataclass(frozen=True)
class HealthReport:
    """Per-service result: ``"ok"`` or the reason it failed."""

    services: dict[str, str] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        """True when every service answered."""
        return bool(self.services) and all(v == "ok" for v in self.services.values())

    @property
    def failed(self) -> list[str]:
        """Names of the services that did not answer."""
        return [name for name, v in self.services.items() if v != "ok"]

    def to_dict(self) -> dict[str, object]:
        """JSON body of the health endpoint."""
        return {
            "status": "healthy" if self.healthy else "unhealthy",
            "services": self.services,
            "failed": self.failed,
        }


def _probes(clients: StorageClients) -> dict[str, Callable[[], object]]:
    return {
        "blob": lambda: next(iter(clients.blob.list_containers(results_per_page=1)), None),
        "queue": lambda: next(iter(clients.queue.list_queues(results_per_page=1)), None),
        "table": lambda: next(iter(clients.table.list_tables(results_per_page=1)), None),
    }


def check_storage(settings: Settings, timeout_s: float = 3.0) -> HealthReport:
    """Probe each storage service once (no retries) and report which ones answer."""
    try:
        clients = build_clients(settings, retries=0, timeout_s=timeout_s)
    except Exception as exc:  # configuration problems fail every service alike
        reason = f"{type(exc).__name__}: {exc}"
        return HealthReport({name: reason for name in ("blob", "queue", "table")})
    results: dict[str, str] = {}
    for name, probe in _probes(clients).items():
        try:
            probe()
            results[name] = "ok"
        except Exception as exc:  # any failure means the service is not usable
            results[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    return HealthReport(results)

"""Task hub naming as the Durable Azure Storage provider does it, plus key escaping and timestamps."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

DEFAULT_HUB = "TestHubName"
DEFAULT_PARTITIONS = 4
_KEY_UNSAFE = set("/\\#?^")


@dataclass(frozen=True)
class HubNames:
    """Names of every Azure Storage resource of one task hub."""

    hub: str
    partitions: int = DEFAULT_PARTITIONS

    @property
    def history_table(self) -> str:
        """``<hub>History``."""
        return f"{self.hub}History"

    @property
    def instances_table(self) -> str:
        """``<hub>Instances``."""
        return f"{self.hub}Instances"

    @property
    def workitems_queue(self) -> str:
        """``<hub>-workitems`` (lowercase)."""
        return f"{self.hub.lower()}-workitems"

    @property
    def control_queues(self) -> list[str]:
        """``<hub>-control-00`` ... (lowercase)."""
        return [f"{self.hub.lower()}-control-{i:02d}" for i in range(self.partitions)]

    @property
    def large_messages_container(self) -> str:
        """``<hub>-largemessages`` blob container."""
        return f"{self.hub.lower()}-largemessages"

    def control_queue_for(self, instance_id: str) -> str:
        """The control queue that owns an instance (FNV-1a hash of the id, like the provider)."""
        return self.control_queues[fnv1a(instance_id) % self.partitions]


def hub_names_from_host_json(
    host_json: Mapping[str, Any], settings: Mapping[str, str] | None = None
) -> HubNames:
    """Read ``extensions.durableTask.hubName`` / ``storageProvider.partitionCount`` from host.json."""
    durable = host_json.get("extensions", {}).get("durableTask", {}) or {}
    hub = str(durable.get("hubName") or DEFAULT_HUB)
    match = re.fullmatch(r"%([^%]+)%", hub)
    if match:  # an app-setting reference, as the Functions host resolves it
        hub = (settings or {}).get(match.group(1)) or DEFAULT_HUB
    hub = sanitize_hub_name(hub)
    provider = durable.get("storageProvider", {}) or {}
    partitions = int(provider.get("partitionCount", DEFAULT_PARTITIONS))
    return HubNames(hub=hub, partitions=max(1, min(16, partitions)))


def sanitize_hub_name(name: str) -> str:
    """Hub names are 3-45 alphanumerics starting with a letter (table and queue name rules)."""
    cleaned = re.sub(r"[^A-Za-z0-9]", "", name)
    if not cleaned or not cleaned[0].isalpha():
        cleaned = "Hub" + cleaned
    cleaned = cleaned[:45]
    if len(cleaned) < 3:
        cleaned = (cleaned + "Hub")[:45]
    return cleaned


def fnv1a(text: str) -> int:
    """32-bit FNV-1a over UTF-8 bytes."""
    value = 2166136261
    for byte in text.encode("utf-8"):
        value ^= byte
        value = (value * 16777619) & 0xFFFFFFFF
    return value


def escape_key(key: str) -> str:
    """Escape characters Azure Tables forbid in keys (``/ \\ # ?`` and control chars) as ``^XX``."""
    out = []
    for ch in key:
        if ch in _KEY_UNSAFE or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F:
            out.append(f"^{ord(ch):02X}")
        else:
            out.append(ch)
    return "".join(out)


def row_key(sequence: int) -> str:
    """History RowKey: 16 upper-case hex digits."""
    return f"{sequence:016X}"


def utcnow() -> datetime:
    """Aware UTC now."""
    return datetime.now(UTC)


def iso(value: datetime) -> str:
    """ISO 8601 with microseconds and a ``Z`` (the SDK's DATETIME_STRING_FORMAT)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_seconds(value: datetime) -> str:
    """``yyyy-MM-ddTHH:mm:ssZ`` as the management API prints times."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Parse an ISO time (``Z`` or offset; naive means UTC)."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)

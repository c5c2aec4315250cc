"""host.json: the settings devhost reads from it, with the Functions host's defaults."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from devhost.errors import AppLoadError
from devhost.timespan import parse_timespan

#: devhost polls an idle queue at least this often (Azure's default cap is one minute; locally
#: a message should be picked up within seconds).
LOCAL_MAX_POLLING_INTERVAL = timedelta(seconds=2)
#: What the host uses when an app has no host.json (plus an extension bundle, which devhost has no use for).
DEFAULT_HOST_JSON: dict[str, Any] = {"version": "2.0"}


@dataclass(frozen=True)
class QueueOptions:
    """``extensions.queues`` with the host's defaults."""

    batch_size: int = 16
    new_batch_threshold: int = 8
    max_polling_interval: timedelta = LOCAL_MAX_POLLING_INTERVAL
    visibility_timeout: timedelta = timedelta(0)
    max_dequeue_count: int = 5
    message_encoding: str = "base64"


@dataclass(frozen=True)
class HostJson:
    """The parts of host.json devhost uses (``raw`` keeps the whole document)."""

    raw: dict[str, Any]
    route_prefix: str
    queues: QueueOptions


def _timespan(section: dict[str, Any], key: str, default: timedelta) -> timedelta:
    value = section.get(key)
    if value is None:
        return default
    try:
        return parse_timespan(str(value))
    except ValueError as exc:
        raise AppLoadError(f"host.json extensions.queues.{key}: {exc}") from exc


def _int(section: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = section.get(key, default)
    if not isinstance(value, int) or not low <= value <= high:
        raise AppLoadError(f"host.json extensions.queues.{key} must be an integer in {low}..{high}")
    return value


def _check_version(raw: dict[str, Any]) -> None:
    # The host's rules and words (HostJsonFileConfigurationSource): "2.0" exactly, and required.
    version = raw.get("version")
    text = "" if version is None else str(version)
    if not text:
        raise AppLoadError(
            "The host.json file is missing the required 'version' property. See "
            "https://aka.ms/functions-hostjson for steps to migrate the configuration file."
        )
    if text != "2.0":
        hint = (
            "This does not correspond to the function runtime version, only to the schema version of "
            "the host.json file. "
            if text.lower().startswith("3")
            else ""
        )
        raise AppLoadError(
            f"'{text}' is an invalid value for host.json 'version' property. We recommend you set the "
            f"'version' property to '2.0'. {hint}See https://aka.ms/functions-hostjson for more "
            "information on this configuration file."
        )


def read_host_json(app_dir: Path) -> HostJson:
    """Parse ``<app_dir>/host.json`` (the host's default when absent); AppLoadError when invalid."""
    path = app_dir / "host.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raw = dict(DEFAULT_HOST_JSON)  # as the host does; it writes the file, devhost leaves the folder alone
    except (OSError, json.JSONDecodeError) as exc:
        raise AppLoadError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise AppLoadError(f"{path} must hold a JSON object")
    if not raw:
        raw = dict(DEFAULT_HOST_JSON)  # an empty object gets the default too
    _check_version(raw)
    extensions = raw.get("extensions") or {}
    http = extensions.get("http") or {}
    prefix = str(http.get("routePrefix", "api")).strip("/")
    q = extensions.get("queues") or {}
    batch = _int(q, "batchSize", 16, 1, 32)
    polling = _timespan(q, "maxPollingInterval", LOCAL_MAX_POLLING_INTERVAL)
    encoding = str(q.get("messageEncoding", "base64")).lower()
    if encoding not in ("base64", "none"):
        raise AppLoadError("host.json extensions.queues.messageEncoding must be 'base64' or 'none'")
    queues = QueueOptions(
        batch_size=batch,
        new_batch_threshold=_int(q, "newBatchThreshold", batch // 2, 0, 10_000),
        max_polling_interval=min(polling, LOCAL_MAX_POLLING_INTERVAL),
        visibility_timeout=_timespan(q, "visibilityTimeout", timedelta(0)),
        max_dequeue_count=_int(q, "maxDequeueCount", 5, 1, 10_000),
        message_encoding=encoding,
    )
    return HostJson(raw=raw, route_prefix=prefix, queues=queues)

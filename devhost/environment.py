"""Settings for devhost and the app: read via shared.settings, expose Values like the Functions host."""

from __future__ import annotations

import hashlib
import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path

from shared.settings import merged_values, process_environment

HOST_ID_SETTING = "AzureFunctionsWebHost__hostid"


def app_settings(app_dir: Path) -> dict[str, str]:
    """Environment overlaid on ``local.settings.json`` Values (environment wins)."""
    return merged_values(app_dir)


def expose_to_app(values: Mapping[str, str]) -> list[str]:
    """Set each of ``values`` as an environment variable unless already set; the names set."""
    current = process_environment()
    exposed = []
    for name, value in values.items():
        if name not in current:
            os.environ[name] = value
            exposed.append(name)
    return exposed


def host_id(app_dir: Path, values: Mapping[str, str]) -> str:
    """The host id: ``AzureFunctionsWebHost__hostid``, else derived from machine and app folder."""
    configured = values.get(HOST_ID_SETTING)
    if configured:
        return configured.lower()[:32]
    name = re.sub(r"[^a-z0-9-]", "-", app_dir.name.lower()).strip("-") or "app"
    digest = hashlib.sha256(f"{socket.gethostname()}|{app_dir.resolve()}".encode()).hexdigest()[:8]
    return f"{name[:23]}-{digest}"

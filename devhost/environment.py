"""App settings as the Functions host gives them: ``local.settings.json`` Values under the environment.

devhost reads the file itself (it imports nothing from the app it hosts) and exposes the values as
environment variables, which is how app settings reach the worker on Azure.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path

from devhost.errors import AppLoadError

HOST_ID_SETTING = "AzureFunctionsWebHost__hostid"


def local_settings(app_dir: Path) -> dict[str, str]:
    """``Values`` of ``<app_dir>/local.settings.json`` as strings ({} without the file)."""
    path = app_dir / "local.settings.json"
    if not path.is_file():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AppLoadError(f"{path} is not valid JSON: {exc}") from exc
    values = document.get("Values", {}) if isinstance(document, dict) else None
    if not isinstance(values, dict):
        raise AppLoadError(f"{path}: 'Values' must be a JSON object")
    # The host hands every value to the worker as a string; null becomes empty.
    return {str(k): "" if v is None else str(v) for k, v in values.items()}


def app_settings(app_dir: Path) -> dict[str, str]:
    """Environment overlaid on ``local.settings.json`` Values (environment wins)."""
    return {**local_settings(app_dir), **os.environ}


def expose_to_app(values: Mapping[str, str]) -> list[str]:
    """Set each of ``values`` as an environment variable unless already set; the names set."""
    current = dict(os.environ)
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

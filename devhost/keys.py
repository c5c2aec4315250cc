"""Host keys: master, default function key and the Durable system key.

Settings (environment or local.settings.json Values): ``DEVHOST_MASTER_KEY``,
``DEVHOST_FUNCTION_KEY``, ``DEVHOST_DURABLE_SYSTEM_KEY``. Keys left unset are generated once
with ``secrets`` and kept in ``<app>/.devhost/keys.json`` (mode 0600), so they survive restarts.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devhost.errors import AppLoadError

MASTER_SETTING = "DEVHOST_MASTER_KEY"
FUNCTION_SETTING = "DEVHOST_FUNCTION_KEY"
SYSTEM_SETTING = "DEVHOST_DURABLE_SYSTEM_KEY"
_FIELDS = {"master": MASTER_SETTING, "function": FUNCTION_SETTING, "durable_system": SYSTEM_SETTING}


@dataclass(frozen=True)
class HostKeys:
    """The keys requests are checked against."""

    master: str
    function: str
    durable_system: str

    def allows(self, level: str, presented: str | None) -> bool:
        """True when ``presented`` satisfies auth ``level`` (anonymous, function, admin, system)."""
        level = level.lower()
        if level == "anonymous":
            return True
        if not presented:
            return False
        accepted = [self.master]
        if level == "function":
            accepted.append(self.function)
        elif level == "system":
            accepted.append(self.durable_system)
        elif level != "admin":
            return False
        return any(hmac.compare_digest(presented.encode(), key.encode()) for key in accepted)


def _new_key() -> str:
    return secrets.token_urlsafe(40)


def _read_store(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise AppLoadError(f"{path} is not valid JSON ({exc}); delete it to generate new keys") from exc
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_store(path: Path, keys: Mapping[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    if tmp.exists():
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(dict(keys), handle, indent=2)
    os.replace(tmp, path)


def load_keys(app_dir: Path, values: Mapping[str, str]) -> HostKeys:
    """Keys from settings, else from the key store, else newly generated and stored."""
    path = app_dir / ".devhost" / "keys.json"
    stored = _read_store(path)
    changed = False
    chosen: dict[str, str] = {}
    for field, setting in _FIELDS.items():
        if values.get(setting):
            chosen[field] = values[setting]
            continue
        if not stored.get(field):
            stored[field] = _new_key()
            changed = True
        chosen[field] = stored[field]
    if changed:
        _write_store(path, stored)
    return HostKeys(**chosen)

"""Where the CLI finds the app's URL and key, from any folder.

Precedence: ``--url``/``--key`` flags, then ``MLOPS_URL``/``MLOPS_KEY``, then the user config
that ``mlops host`` writes (``$XDG_CONFIG_HOME/mlops/config.json``, default
``~/.config/mlops/config.json``), then a devhost key store in the current folder. A key from the
config or a key store is only sent to the URL it was written for, never to another host.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from shared.settings import process_environment

DEFAULT_URL = "http://127.0.0.1:7071"
URL_ENV = "MLOPS_URL"
KEY_ENV = "MLOPS_KEY"
KEY_SOURCES = (
    f"--key, the {KEY_ENV} environment variable, or the config `mlops host` writes "
    "({path}); for Azure use a function key of the app"
)


def config_path() -> Path:
    """The user config file: ``$XDG_CONFIG_HOME/mlops/config.json`` or ``~/.config/mlops/config.json``."""
    base = process_environment().get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "mlops" / "config.json"


def read_config(path: Path | None = None) -> dict[str, str]:
    """The saved ``{url, key}`` ({} when there is no readable config)."""
    try:
        data = json.loads((path or config_path()).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: str(v) for k, v in data.items() if k in ("url", "key", "app") and v}


def write_config(url: str, key: str, app: Path | None = None, path: Path | None = None) -> Path:
    """Save ``{url, key}`` for later CLI calls, readable by the user only (mode 0600)."""
    target = path or config_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    body = {"url": url, "key": key, **({"app": str(app)} if app else {})}
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(body, handle, indent=2)
    os.replace(tmp, target)
    return target


def devhost_key(app_dir: Path) -> str | None:
    """The master key a devhost stored for ``app_dir`` (None when there is none)."""
    try:
        data = json.loads((app_dir / ".devhost" / "keys.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    key = data.get("master") if isinstance(data, dict) else None
    return str(key) if key else None


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


@dataclass(frozen=True)
class Target:
    """The URL to call, the key to send and where the key came from (for error messages)."""

    url: str
    key: str | None
    key_from: str


def resolve(
    url: str | None,
    key: str | None,
    *,
    environ: dict[str, str] | None = None,
    config: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Target:
    """Pick URL and key by the documented precedence (see the module docstring)."""
    env = process_environment() if environ is None else environ
    saved = read_config() if config is None else config
    chosen_url = url or env.get(URL_ENV) or saved.get("url") or DEFAULT_URL
    if key:
        return Target(chosen_url, key, "--key")
    if env.get(KEY_ENV):
        return Target(chosen_url, env[KEY_ENV], KEY_ENV)
    if saved.get("key") and _same_url(saved.get("url", DEFAULT_URL), chosen_url):
        return Target(chosen_url, saved["key"], str(config_path()))
    if _same_url(chosen_url, DEFAULT_URL):
        stored = devhost_key(cwd or Path.cwd())
        if stored:
            return Target(chosen_url, stored, ".devhost/keys.json")
    return Target(chosen_url, None, "nowhere")


def missing_key_hint() -> str:
    """One line saying where keys come from (printed with a 401)."""
    return "the app wants a key: pass " + KEY_SOURCES.format(path=config_path())

"""Host keys: settings win, generated keys persist with mode 0600, auth levels."""

from __future__ import annotations

import stat
from pathlib import Path

from devhost.keys import FUNCTION_SETTING, MASTER_SETTING, SYSTEM_SETTING, HostKeys, load_keys


def test_generated_once_and_reused(tmp_path: Path) -> None:
    first = load_keys(tmp_path, {})
    second = load_keys(tmp_path, {})
    assert first == second
    assert len({first.master, first.function, first.durable_system}) == 3
    store = tmp_path / ".devhost" / "keys.json"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600


def test_settings_override_the_store(tmp_path: Path) -> None:
    stored = load_keys(tmp_path, {})
    keys = load_keys(tmp_path, {MASTER_SETTING: "m", FUNCTION_SETTING: "f", SYSTEM_SETTING: "s"})
    assert keys == HostKeys(master="m", function="f", durable_system="s")
    assert load_keys(tmp_path, {}) == stored


def test_auth_levels() -> None:
    keys = HostKeys(master="m", function="f", durable_system="s")
    assert keys.allows("anonymous", None)
    assert keys.allows("ANONYMOUS", "anything")
    assert keys.allows("function", "f") and keys.allows("function", "m")
    assert (
        not keys.allows("function", None)
        and not keys.allows("function", "")
        and not keys.allows("function", "s")
    )
    assert keys.allows("admin", "m")
    assert not keys.allows("admin", "f") and not keys.allows("admin", "s")
    assert keys.allows("system", "s") and keys.allows("system", "m") and not keys.allows("system", "f")
    assert not keys.allows("unknown-level", "m")

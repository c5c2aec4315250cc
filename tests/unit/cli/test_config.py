"""Where the CLI finds URL and key: flags, environment, the `mlops host` config, a local key store."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from cli.config import DEFAULT_URL, config_path, read_config, resolve, write_config

SAVED = {"url": "http://127.0.0.1:7999", "key": "saved-key"}


def test_flags_win_over_environment_and_config() -> None:
    env = {"MLOPS_URL": "http://env:1", "MLOPS_KEY": "env-key"}
    target = resolve("http://flag:2", "flag-key", environ=env, config=SAVED)
    assert (target.url, target.key, target.key_from) == ("http://flag:2", "flag-key", "--key")


def test_environment_wins_over_config() -> None:
    env = {"MLOPS_URL": "http://env:1", "MLOPS_KEY": "env-key"}
    target = resolve(None, None, environ=env, config=SAVED)
    assert (target.url, target.key, target.key_from) == ("http://env:1", "env-key", "MLOPS_KEY")


def test_config_gives_url_and_key_from_any_folder(tmp_path: Path) -> None:
    target = resolve(None, None, environ={}, config=SAVED, cwd=tmp_path)
    assert (target.url, target.key) == ("http://127.0.0.1:7999", "saved-key")


def test_saved_key_is_never_sent_to_another_url(tmp_path: Path) -> None:
    target = resolve("https://myapp.azurewebsites.net", None, environ={}, config=SAVED, cwd=tmp_path)
    assert target.key is None and target.url == "https://myapp.azurewebsites.net"


def test_local_key_store_is_the_last_resort_for_the_default_url(tmp_path: Path) -> None:
    (tmp_path / ".devhost").mkdir()
    (tmp_path / ".devhost" / "keys.json").write_text(json.dumps({"master": "local-master"}))
    target = resolve(None, None, environ={}, config={}, cwd=tmp_path)
    assert (target.url, target.key) == (DEFAULT_URL, "local-master")
    assert resolve(None, None, environ={}, config={}, cwd=tmp_path / "nowhere").key is None


def test_config_file_round_trip_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    path = write_config("http://127.0.0.1:7071", "k1", tmp_path)
    assert path == config_path() == tmp_path / "cfg" / "mlops" / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_config() == {"url": "http://127.0.0.1:7071", "key": "k1", "app": str(tmp_path)}
    write_config("http://127.0.0.1:7072", "k2")
    assert read_config()["key"] == "k2"
    path.write_text("not json")
    assert read_config() == {}

"""Settings: environment beats local.settings.json; both storage styles; clear config errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.errors import ConfigurationError
from shared.settings import load_settings


def _write_local(tmp_path: Path, values: dict[str, str]) -> Path:
    (tmp_path / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": values}))
    return tmp_path


def test_local_settings_values_are_read(tmp_path: Path) -> None:
    app = _write_local(tmp_path, {"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    settings = load_settings(app, environ={})
    assert settings.storage_connection_string == "UseDevelopmentStorage=true"
    assert not settings.uses_identity


def test_environment_wins_over_local_settings(tmp_path: Path) -> None:
    app = _write_local(tmp_path, {"AzureWebJobsStorage": "from-file", "MLOPS_STORAGE_RETRIES": "7"})
    settings = load_settings(app, environ={"AzureWebJobsStorage": "from-env"})
    assert settings.storage_connection_string == "from-env"
    assert settings.storage_retries == 7


def test_process_environment_wins_over_local_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _write_local(tmp_path, {"AzureWebJobsStorage": "from-file"})
    monkeypatch.setenv("AzureWebJobsStorage", "from-process-env")
    assert load_settings(app).storage_connection_string == "from-process-env"


def test_identity_based_connection(tmp_path: Path) -> None:
    env = {
        "AzureWebJobsStorage__blobServiceUri": "https://acct.blob.core.windows.net",
        "AzureWebJobsStorage__queueServiceUri": "https://acct.queue.core.windows.net",
        "AzureWebJobsStorage__tableServiceUri": "https://acct.table.core.windows.net",
        "AzureWebJobsStorage__clientId": "00000000-0000-0000-0000-000000000001",
    }
    settings = load_settings(tmp_path, environ=env)
    assert settings.uses_identity
    assert settings.table_service_uri == "https://acct.table.core.windows.net"
    settings.require_storage()


def test_incomplete_identity_settings_name_what_is_missing(tmp_path: Path) -> None:
    env = {"AzureWebJobsStorage__blobServiceUri": "https://acct.blob.core.windows.net"}
    with pytest.raises(ConfigurationError, match=r"__queueServiceUri.*__tableServiceUri"):
        load_settings(tmp_path, environ=env).require_storage()


def test_no_storage_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no storage configured"):
        load_settings(tmp_path, environ={}).require_storage()


def test_broken_local_settings_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "local.settings.json").write_text("{not json")
    with pytest.raises(ConfigurationError, match=r"local\.settings\.json is not valid JSON"):
        load_settings(tmp_path, environ={})

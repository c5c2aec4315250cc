"""Settings: environment beats local.settings.json; both storage styles; clear config errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from shared.errors import ConfigurationError
from shared.settings import job_environment, load_settings


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


def test_data_roots_and_containers_default_to_none_and_data(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert settings.data_roots == ()
    assert settings.data_containers == ("data",)
    assert not settings.on_azure


def test_data_roots_are_resolved(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").symlink_to(tmp_path / "a")
    roots = f"{tmp_path / 'x' / '..' / 'a'}{os.pathsep}{tmp_path / 'b'}"
    settings = load_settings(
        tmp_path, environ={"MLOPS_DATA_ROOTS": roots, "MLOPS_DATA_CONTAINERS": "data, raw"}
    )
    assert settings.data_roots == ((tmp_path / "a").resolve(), (tmp_path / "a").resolve())
    assert settings.data_containers == ("data", "raw")


@pytest.mark.parametrize(
    "container", ["models", "datasets", "trainer-scripts", "azure-webjobs-hosts", "mlopshub-leases"]
)
def test_internal_containers_cannot_be_data_containers(tmp_path: Path, container: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"MLOPS_DATA_CONTAINERS.*{container}"):
        load_settings(tmp_path, environ={"MLOPS_DATA_CONTAINERS": f"data,{container}"})


def test_azure_is_recognised_from_the_platform_settings(tmp_path: Path) -> None:
    assert load_settings(tmp_path, environ={"WEBSITE_SITE_NAME": "my-app"}).on_azure
    assert load_settings(tmp_path, environ={"WEBSITE_INSTANCE_ID": "abc123"}).on_azure


def test_job_environment_keeps_basics_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AzureWebJobsStorage", "AccountKey=secret")
    monkeypatch.setenv("MLOPS_WORK_DIR", "/srv/work")
    monkeypatch.setenv("LANG", "C.UTF-8")
    env = job_environment(tmp_path, {"MLOPS_DATA_DIR": "/d"})
    assert env["LANG"] == "C.UTF-8" and env["HOME"] == str(tmp_path) and env["MLOPS_DATA_DIR"] == "/d"
    assert "AzureWebJobsStorage" not in env and "MLOPS_WORK_DIR" not in env and "PATH" in env

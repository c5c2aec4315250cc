"""How the CLI reaches the app from any folder, and how it reports bad spec files and uploads."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.client import ApiClient, ApiError
from cli.config import write_config
from cli.local import LocalStack
from cli.main import app

#: Variables a developer's shell may hold that would change where the CLI looks.
CLEAN = {"MLOPS_URL": None, "MLOPS_KEY": None, "COLUMNS": "200"}


def _runner(tmp_path: Path, **env: str) -> CliRunner:
    return CliRunner(env={**CLEAN, "XDG_CONFIG_HOME": str(tmp_path / "config"), **env})


def test_key_and_url_from_the_environment_in_another_folder(
    stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = _runner(tmp_path, MLOPS_URL=stack.url, MLOPS_KEY=stack.master_key).invoke(app, ["runs"])
    assert result.exit_code == 0, result.output
    assert "runs" in result.output and "401" not in result.output


def test_key_and_url_from_the_user_config_in_another_folder(
    stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = _runner(tmp_path)
    assert runner.invoke(app, ["runs"]).exit_code == 1  # no config yet: nothing answers on 7071 or 401
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    write_config(stack.url, stack.master_key)
    result = runner.invoke(app, ["runs"])
    assert result.exit_code == 0, result.output


def test_a_missing_key_says_where_keys_come_from(
    stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = _runner(tmp_path, MLOPS_URL=stack.url).invoke(app, ["runs"])
    assert result.exit_code == 1
    assert "HTTP 401" in result.output
    assert "--key" in result.output and "MLOPS_KEY" in result.output and "mlops host" in result.output


def test_a_yaml_error_is_one_line_with_its_line_number(stack: LocalStack, tmp_path: Path) -> None:
    bad = tmp_path / "spec.yaml"
    bad.write_text("name: demo\ntarget: y\nsource: [oops\ntask: classification\n")
    result = _runner(tmp_path).invoke(app, ["run", str(bad), "--url", stack.url, "--key", stack.master_key])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"{bad}:4:") and "invalid YAML" in line


def test_a_missing_local_source_is_named_before_anything_is_sent(stack: LocalStack, tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text("name: nofile\nsource: ./data/missing.csv\ntarget: y\ntask: classification\n")
    result = _runner(tmp_path).invoke(
        app, ["run", str(spec_file), "--url", stack.url, "--key", stack.master_key]
    )
    assert result.exit_code == 1
    assert f"source file not found: {tmp_path / 'data' / 'missing.csv'}" in result.output


def test_uploads_are_content_addressed_create_only_and_validated(api: ApiClient, unique: str) -> None:
    data = f"a,b\n1,{unique}\n".encode()
    first = api.upload("/api/data/uploads", data, name="rows.csv")
    assert first["created"] is True and first["size"] == len(data)
    assert first["source"] == f"blob:data/uploads/{first['sha256']}/rows.csv"
    again = api.upload("/api/data/uploads", data, name="rows.csv")
    assert again == {**first, "created": False}
    renamed = api.upload("/api/data/uploads", data, name="other.csv")
    assert renamed["sha256"] == first["sha256"] and renamed["name"] != first["name"]
    changed = api.upload("/api/data/uploads", data + b"2,x\n", name="rows.csv")
    assert changed["sha256"] != first["sha256"] and changed["created"] is True

    for name in ("../rows.csv", "dir/rows.csv", ".hidden.csv", "rows.exe", "rows.csv.", ""):
        with pytest.raises(ApiError) as refused:
            api.upload("/api/data/uploads", data, name=name)
        assert refused.value.status == 400, name
    with pytest.raises(ApiError) as empty:
        api.upload("/api/data/uploads", b"", name="rows.csv")
    assert empty.value.status == 400 and "empty" in empty.value.message


def test_uploads_need_a_key(stack: LocalStack) -> None:
    with pytest.raises(ApiError) as refused:
        ApiClient(stack.url, None).upload("/api/data/uploads", b"a\n1\n", name="rows.csv")
    assert refused.value.status == 401

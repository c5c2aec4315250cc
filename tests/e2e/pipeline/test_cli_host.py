"""`mlops host` keeps its storage between restarts and saves URL + key for the CLI in the user config."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.client import ApiClient
from cli.local import ROOT
from cli.main import app
from devhost.azurite import free_port


@contextmanager
def mlops_host(tmp_path: Path, port: int, key: str, *args: str) -> Iterator[Path]:
    """`mlops host` for the project's app as a process; yields its log once it serves; SIGTERM at the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AzureWebJobsStorage", "MLOPS_"))}
    env.update({"XDG_CONFIG_HOME": str(tmp_path / "config"), "DEVHOST_MASTER_KEY": key})
    env["MLOPS_WORK_DIR"] = str(tmp_path / "work")
    log = tmp_path / f"host-{time.monotonic_ns()}.log"
    cmd = [sys.executable, "-c", "from cli.main import app; app()", "host", "--app", str(ROOT)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*cmd, "--port", str(port), *args], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 120
        while "Host started" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield log
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    assert code == 0, log.read_text()


def test_host_storage_survives_a_restart_and_the_cli_finds_it_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port, key = free_port(), secrets.token_urlsafe(24)
    storage = tmp_path / "storage"
    data = b"a,b\n1,2\n"
    with mlops_host(tmp_path, port, key, "--storage-dir", str(storage)) as log:
        printed = log.read_text()
        assert "storage: Azurite blob 127.0.0.1:" in printed and "queue" in printed and "table" in printed
        assert f"data in {storage}" in printed and "kept between restarts" in printed
        saved = json.loads((tmp_path / "config" / "mlops" / "config.json").read_text())
        assert saved["url"] == f"http://127.0.0.1:{port}" and saved["key"] == key

        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)
        runner = CliRunner(
            env={"XDG_CONFIG_HOME": str(tmp_path / "config"), "MLOPS_URL": None, "MLOPS_KEY": None}
        )
        result = runner.invoke(app, ["runs"])
        assert result.exit_code == 0, result.output

        first = ApiClient(saved["url"], key).upload("/api/data/uploads", data, name="kept.csv")
        assert first["created"] is True

    with mlops_host(tmp_path, port, key, "--storage-dir", str(storage)):
        again = ApiClient(f"http://127.0.0.1:{port}", key).upload("/api/data/uploads", data, name="kept.csv")
        assert again["created"] is False and again["source"] == first["source"]  # the blob outlived the host

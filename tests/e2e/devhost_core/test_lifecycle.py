"""Start-up without storage settings: private Azurite, local.settings.json exposed, clean SIGINT stop."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_private_azurite_and_local_settings(
    app_copy: Path, app_env: dict[str, str], make_devhost: Any, wait_for: Any
) -> None:
    env = {k: v for k, v in app_env.items() if not k.startswith("AzureWebJobsStorage")}
    env["BOTH_PLACES"] = "from-environment"
    values = {
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "LOCAL_ONLY": "from-local-settings",
        "BOTH_PLACES": "from-local-settings",
        # the output binding feeds the queue trigger: all inside the private Azurite
        "OUT_QUEUE": app_env["WORK_QUEUE"],
    }
    env.pop("OUT_QUEUE")
    (app_copy / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": values}))
    host = make_devhost(app_copy, env)
    assert "started a private Azurite" in "".join(host.stdout)
    seen = httpx.get(f"{host.url}/api/settings", timeout=30).json()
    assert seen == {
        "LOCAL_ONLY": "from-local-settings",
        "BOTH_PLACES": "from-environment",
        "storage_set": True,
    }
    assert httpx.post(f"{host.url}/api/enqueue", content=b"round trip", timeout=30).status_code == 202
    try:
        rows = wait_for(lambda: httpx.get(f"{host.url}/api/records/queue", timeout=30).json(), timeout=30)
    except AssertionError:
        raise AssertionError(host.output) from None
    assert rows[0]["body"] == "round trip"
    azurite = [
        pid for pid in children(host.process.pid) if "azurite" in Path(f"/proc/{pid}/cmdline").read_text()
    ]
    assert azurite, "no Azurite child process"
    host.process.send_signal(signal.SIGINT)
    assert host.wait_exit(timeout=30) == 0
    assert not any(alive(pid) for pid in azurite), "Azurite still running after devhost stopped"


def test_unreachable_storage_is_a_clear_error(
    app_copy: Path, app_env: dict[str, str], make_devhost: Any
) -> None:
    from devhost.azurite import free_port
    from shared.settings import azurite_connection_string

    dead = free_port()
    env = {**app_env, "AzureWebJobsStorage": azurite_connection_string("127.0.0.1", dead, dead, dead)}
    host = make_devhost(app_copy, env, start=False)
    host.start(wait=False)
    assert host.wait_exit() != 0
    assert "does not answer" in host.output


def test_port_in_use_fails_start(app_copy: Path, app_env: dict[str, str], make_devhost: Any) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        host = make_devhost(app_copy, app_env, port=busy.getsockname()[1], start=False)
        host.start(wait=False)
        assert host.wait_exit() != 0
    assert "Host started" not in "".join(host.stdout)
    assert "cannot listen" in host.output


def test_mlops_host_command(app_copy: Path, app_env: dict[str, str], make_devhost: Any) -> None:
    import subprocess
    import sys

    from devhost.azurite import free_port

    port = free_port()
    cmd = [
        sys.executable,
        "-c",
        "from cli.main import app; app()",
        "host",
        "--app",
        str(app_copy),
        "--port",
        str(port),
    ]
    root = Path(__file__).resolve().parents[3]
    process = subprocess.Popen(
        cmd, cwd=root, env=app_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "Host started" in line:
                break
        assert httpx.get(f"http://127.0.0.1:{port}/api/anon", timeout=30).text == "anon ok"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0

"""Run devhost as a real subprocess against the session Azurite and drive it like a user."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableServiceClient

from devhost.azurite import free_port

ROOT = Path(__file__).resolve().parents[3]
BASIC_APP = ROOT / "tests" / "apps" / "basic_app"
NEVER = "0 0 0 1 1 *"


class Devhost:
    """One ``python -m devhost`` process with its output captured."""

    def __init__(self, app_dir: Path, env: dict[str, str], port: int | None = None) -> None:
        self.app_dir = app_dir
        self.env = env
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.process: subprocess.Popen[str] | None = None

    def start(self, wait: bool = True, timeout: float = 60.0) -> Devhost:
        cmd = [sys.executable, "-m", "devhost", "--app", str(self.app_dir), "--port", str(self.port)]
        self.process = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for stream, sink in ((self.process.stdout, self.stdout), (self.process.stderr, self.stderr)):
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True).start()
        if wait:
            deadline = time.monotonic() + timeout
            while not any("Host started" in line for line in self.stdout):
                if self.process.poll() is not None:
                    raise AssertionError(f"devhost exited {self.process.returncode}:\n{self.output}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"devhost did not start:\n{self.output}")
                time.sleep(0.05)
        return self

    @staticmethod
    def _pump(stream: Any, sink: list[str]) -> None:
        for line in stream:
            sink.append(line)

    @property
    def output(self) -> str:
        return "".join(self.stdout) + "\n--- stderr ---\n" + "".join(self.stderr)

    def wait_exit(self, timeout: float = 60.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def keys(self) -> dict[str, str]:
        return dict(json.loads((self.app_dir / ".devhost" / "keys.json").read_text()))


@pytest.fixture
def app_copy(tmp_path: Path) -> Path:
    """A private copy of the basic app (its .devhost/keys.json stays out of the repo)."""
    target = tmp_path / "basic_app"
    shutil.copytree(
        BASIC_APP, target, ignore=shutil.ignore_patterns(".devhost", "__pycache__", "unsupported", "durable")
    )
    return target


@pytest.fixture
def app_env(azurite_connection_string: str, unique: str) -> dict[str, str]:
    """Environment for the basic app: session Azurite, per-test table and queues."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVHOST_")}
    env.update(
        {
            "AzureWebJobsStorage": azurite_connection_string,
            "RECORD_TABLE": f"rec{unique}",
            "WORK_QUEUE": f"work-{unique}",
            "FAIL_QUEUE": f"fail-{unique}",
            "OUT_QUEUE": f"out-{unique}",
            "TICK_SCHEDULE": NEVER,
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@pytest.fixture
def devhosts() -> Iterator[list[Devhost]]:
    """Devhosts started by a test; all stopped at its end."""
    started: list[Devhost] = []
    yield started
    for host in started:
        host.stop()


@pytest.fixture
def make_devhost(devhosts: list[Devhost]) -> Callable[..., Devhost]:
    """Start a devhost (``start=False`` to only build it); stopped at the end of the test."""

    def make(app_dir: Path, env: dict[str, str], port: int | None = None, start: bool = True) -> Devhost:
        host = Devhost(app_dir, env, port)
        devhosts.append(host)
        return host.start() if start else host

    return make


@pytest.fixture
def devhost(app_copy: Path, app_env: dict[str, str], make_devhost: Callable[..., Devhost]) -> Devhost:
    """A running devhost serving a copy of the basic app."""
    return make_devhost(app_copy, app_env)


@pytest.fixture
def records(app_env: dict[str, str]) -> Callable[[str], list[dict[str, Any]]]:
    """Rows the test app wrote for a kind (queue, fail, tick, yearly)."""
    service = TableServiceClient.from_connection_string(app_env["AzureWebJobsStorage"])
    client = service.get_table_client(app_env["RECORD_TABLE"])

    def read(kind: str) -> list[dict[str, Any]]:
        try:
            return [dict(e) for e in client.query_entities(f"PartitionKey eq '{kind}'")]
        except ResourceNotFoundError:
            return []

    return read


def _wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    """Poll a predicate until truthy and return its value (AssertionError on timeout)."""
    return _wait_for

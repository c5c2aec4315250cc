"""Run ``python -m devhost`` on the durable test app (a private copy with its own hub) like a user does."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devhost.azurite import free_port

ROOT = Path(__file__).resolve().parents[3]
APP_SOURCE = ROOT / "tests" / "apps" / "durable_app"
MASTER_KEY = "e2e-master-key"


class Devhost:
    """One devhost process serving a copy of the durable app; restartable after kill -9."""

    def __init__(self, app_dir: Path, connection_string: str, effects_table: str, log_dir: Path) -> None:
        self.app_dir = app_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.connection_string = connection_string
        self.effects_table = effects_table
        self.log_dir = log_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.http = httpx.Client(base_url=self.url, timeout=60, params={"code": MASTER_KEY})

    def start(self, **extra_env: str) -> Devhost:
        """Start and wait until it answers."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEVHOST_DURABLE_CRASH")}
        env.update(
            {
                "AzureWebJobsStorage": self.connection_string,
                "DEVHOST_MASTER_KEY": MASTER_KEY,
                "DURABLE_APP_EFFECTS_TABLE": self.effects_table,
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra_env)
        self.runs += 1
        log = (self.log_dir / f"devhost-{self.runs}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devhost", "--app", str(self.app_dir), "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"devhost exited: {(self.log_dir / f'devhost-{self.runs}.log').read_text()}"
                )
            try:
                self.http.get("/runtime/webhooks/durabletask/instances/ping")
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("devhost did not start")

    def kill9(self) -> None:
        """SIGKILL, as a crash."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def wait_exit(self, timeout: float = 30) -> int:
        """Wait for the process to end on its own (crash hooks)."""
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.http.close()

    # ---- helpers ---------------------------------------------------------------------------
    def start_via_app(self, function: str, payload: Any = None) -> dict[str, Any]:
        """POST the app's HTTP starter (durable client binding); returns the check-status payload."""
        response = self.http.post(f"/api/orchestrators/{function}", json=payload)
        assert response.status_code == 202, response.text
        return dict(response.json())

    def status(self, instance_id: str) -> httpx.Response:
        """GET the management API status."""
        return self.http.get(f"/runtime/webhooks/durabletask/instances/{instance_id}")

    def wait(
        self,
        instance_id: str,
        statuses: tuple[str, ...] = ("Completed", "Failed", "Terminated"),
        timeout: float = 90,
        custom: Any = None,
    ) -> dict[str, Any]:
        """Poll until the status matches."""
        deadline = time.time() + timeout
        body: dict[str, Any] = {}
        while time.time() < deadline:
            try:
                response = self.status(instance_id)
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            if response.status_code in (200, 202):
                body = response.json()
                if body["runtimeStatus"] in statuses and (
                    custom is None or body.get("customStatus") == custom
                ):
                    return body
            time.sleep(0.1)
        raise AssertionError(f"{instance_id} did not reach {statuses}: {body}")

    def effects(self, key: str) -> list[str]:
        """What the app's record_effect activity recorded for a key."""
        from azure.data.tables import TableServiceClient

        service = TableServiceClient.from_connection_string(self.connection_string)
        table = service.create_table_if_not_exists(self.effects_table)
        return sorted(str(e["What"]) for e in table.query_entities(f"PartitionKey eq '{key}'"))


@pytest.fixture
def devhost(azurite_connection_string: str, tmp_path: Path) -> Iterator[Devhost]:
    """A devhost (not yet started) on a private copy of the app with a unique hub."""
    app_dir = tmp_path / "app"
    shutil.copytree(APP_SOURCE, app_dir, ignore=shutil.ignore_patterns("__pycache__"))
    host_json = json.loads((app_dir / "host.json").read_text())
    host_json["extensions"]["durableTask"]["hubName"] = f"E2e{uuid.uuid4().hex[:10]}"
    (app_dir / "host.json").write_text(json.dumps(host_json))
    host = Devhost(app_dir, azurite_connection_string, f"effects{uuid.uuid4().hex[:10]}", tmp_path)
    try:
        yield host
    finally:
        host.stop()

"""A local stack for the demo, benchmarks and end-to-end tests: Azurite + devhost as processes.

``LocalStack`` starts (or reuses) Azurite, starts ``python -m devhost`` on a free loopback port
with a known master key, waits for "Host started", and stops both on exit. ``restart_host`` and
``kill_host`` let crash tests kill -9 the host and bring it back on the same storage.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from devhost.azurite import Azurite, free_port
from shared.settings import process_environment

ROOT = Path(__file__).resolve().parent.parent


class LocalStack:
    """Azurite + one devhost process serving ``app_dir``."""

    def __init__(
        self,
        app_dir: Path = ROOT,
        *,
        connection_string: str | None = None,
        azurite_workspace: Path | None = None,
        work_dir: Path | None = None,
        log_path: Path | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.app_dir = app_dir
        self.connection_string = connection_string
        self._azurite: Azurite | None = None
        self._azurite_workspace = azurite_workspace
        self.work_dir = work_dir
        self.log_path = log_path
        self.extra_env = extra_env or {}
        self.master_key = secrets.token_urlsafe(32)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the devhost."""
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        env = process_environment()
        env.update(
            {
                "AzureWebJobsStorage": str(self.connection_string),
                "DEVHOST_MASTER_KEY": self.master_key,
                "PYTHONUNBUFFERED": "1",
                **({"MLOPS_WORK_DIR": str(self.work_dir)} if self.work_dir else {}),
                **self.extra_env,
            }
        )
        return env

    def start(self, timeout: float = 90.0) -> LocalStack:
        """Start Azurite (unless given a connection string) and the host; wait until it serves."""
        if self.connection_string is None:
            self._azurite = Azurite(workspace=self._azurite_workspace)
            self.connection_string = self._azurite.start().connection_string
        self.start_host(timeout)
        return self

    def start_host(self, timeout: float = 90.0) -> None:
        """Start the devhost process on a fresh port and wait for "Host started"."""
        self.port = free_port()
        log = self.log_path or Path(os.devnull)
        handle = open(log, "ab")  # noqa: SIM115 - the child writes to it for its whole life
        cmd = [sys.executable, "-m", "devhost", "--app", str(self.app_dir), "--port", str(self.port)]
        self.process = subprocess.Popen(
            cmd, cwd=ROOT, env=self._env(), stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        handle.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"devhost exited with {self.process.returncode}; see {log}")
            if self._serving():
                return
            time.sleep(0.2)
        raise RuntimeError(f"devhost did not start within {timeout:.0f} s; see {log}")

    def _serving(self) -> bool:
        import httpx

        try:
            httpx.get(f"{self.url}/admin/host/status", timeout=2)  # any answer means it serves
            return True
        except httpx.HTTPError:
            return False

    def kill_host(self) -> None:
        """kill -9 the host (its child processes, e.g. training jobs, live on in their own sessions)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop_host(self, timeout: float = 30.0) -> None:
        """Stop the host gracefully (SIGTERM), then kill it if it lingers."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill_host()
        self.process = None

    def restart_host(self) -> None:
        """Start a new host process on the same storage."""
        self.stop_host()
        self.start_host()

    def stop(self) -> None:
        """Stop the host and the Azurite this stack started."""
        self.stop_host()
        if self._azurite is not None:
            self._azurite.stop()
            self._azurite = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

"""Azurite lifecycle: start on free loopback ports with a temporary workspace, wait, stop.

Starting storage is a dev-host concern, so it lives here (devhost imports nothing from the app it
hosts); the CLI, the demo, the benchmarks and the tests use it too. Azurite is installed by
``scripts/bootstrap.sh`` with npm into ``.tools/azurite`` (pinned, never global).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from devhost.errors import AzuriteError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_AZURITE_DIR = PROJECT_ROOT / ".tools" / "azurite"
SERVICES = ("blob", "queue", "table")
#: Azurite's well-known account (public, documented emulator credentials; not a secret).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def connection_string(host: str, blob_port: int, queue_port: int, table_port: int) -> str:
    """A connection string for an Azurite listening on the given ports."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://{host}:{blob_port}/{ACCOUNT};"
        f"QueueEndpoint=http://{host}:{queue_port}/{ACCOUNT};"
        f"TableEndpoint=http://{host}:{table_port}/{ACCOUNT};"
    )


@dataclass(frozen=True)
class AzuriteEndpoints:
    """Where a running Azurite listens."""

    host: str
    blob_port: int
    queue_port: int
    table_port: int

    @property
    def connection_string(self) -> str:
        """Connection string for the Azure SDKs and ``AzureWebJobsStorage``."""
        return connection_string(self.host, self.blob_port, self.queue_port, self.table_port)

    def port(self, service: str) -> int:
        """The port of ``blob``, ``queue`` or ``table``."""
        return {"blob": self.blob_port, "queue": self.queue_port, "table": self.table_port}[service]


def azurite_binary(azurite_dir: Path | None = None) -> Path:
    """Path of the project-local ``azurite`` executable; AzuriteError when not installed."""
    base = azurite_dir or DEFAULT_AZURITE_DIR
    binary = base / "node_modules" / ".bin" / "azurite"
    if not binary.exists():
        raise AzuriteError(
            f"Azurite is not installed at {binary}; run `make bootstrap` (scripts/bootstrap.sh)"
        )
    return binary


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when an HTTP server on host:port answers a request (any status)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: " + host.encode() + b"\r\nConnection: close\r\n\r\n")
            sock.settimeout(timeout)
            return sock.recv(12).startswith(b"HTTP/")
    except OSError:
        return False


class Azurite:
    """One Azurite process with its own workspace; use as a context manager or start()/stop()."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        workspace: Path | None = None,
        azurite_dir: Path | None = None,
        in_memory: bool = False,
        log_path: Path | None = None,
    ) -> None:
        self.host = host
        self._workspace_arg = workspace
        self._azurite_dir = azurite_dir
        self._in_memory = in_memory
        self._log_path = log_path
        self._tmp: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.endpoints: AzuriteEndpoints | None = None

    @property
    def workspace(self) -> Path:
        """The folder Azurite keeps its data in."""
        if self._workspace_arg is not None:
            return self._workspace_arg
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="azurite-")
        return Path(self._tmp)

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 60.0, attempts: int = 3) -> AzuriteEndpoints:
        """Start on free ports and wait until blob, queue and table all answer."""
        binary = azurite_binary(self._azurite_dir)
        last_error = ""
        for _ in range(attempts):
            ports = [free_port(self.host) for _ in SERVICES]
            if len(set(ports)) != len(ports):
                continue
            endpoints = AzuriteEndpoints(self.host, *ports)
            self.workspace.mkdir(parents=True, exist_ok=True)
            cmd = [
                str(binary),
                "--blobHost", self.host, "--blobPort", str(endpoints.blob_port),
                "--queueHost", self.host, "--queuePort", str(endpoints.queue_port),
                "--tableHost", self.host, "--tablePort", str(endpoints.table_port),
                "--location", str(self.workspace),
                "--skipApiVersionCheck",
                "--disableProductStyleUrl",
                "--disableTelemetry",  # no network beyond loopback
                "--silent",
            ]  # fmt: skip
            if self._in_memory:
                cmd.append("--inMemoryPersistence")
            self._process = self._spawn(cmd)
            if self._wait_ready(endpoints, timeout):
                self.endpoints = endpoints
                return endpoints
            last_error = f"Azurite exited with code {self._process.poll()}"
            self._kill()
        raise AzuriteError(f"Azurite did not start: {last_error}")

    def _spawn(self, cmd: list[str]) -> subprocess.Popen[bytes]:
        # Own session: Ctrl-C in a terminal reaches us, and we stop Azurite in order.
        if self._log_path is None:
            return subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        with open(self._log_path, "ab") as log:
            return subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )

    def _wait_ready(self, endpoints: AzuriteEndpoints, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            if all(port_answers(endpoints.host, endpoints.port(s)) for s in SERVICES):
                return True
            time.sleep(0.1)
        return False

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process (terminate, then kill) and remove a temporary workspace."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=timeout)
        self._process = None
        self.endpoints = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> AzuriteEndpoints:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

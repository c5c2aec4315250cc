"""`mlops host`: run the app in a folder on devhost, the local Functions host (like `func start`).

Storage persists between restarts by default, as with `func start` and a persistent Azurite
workspace: unless the settings name a storage account (``AzureWebJobsStorage``), an Azurite
keeps its data in ``<app>/.azurite`` (or ``--storage-dir``); ``--temp-storage`` gives a
throwaway one that is deleted when the host stops. The host's URL and master key are saved to the
user config, so `mlops` commands find them from any folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import typer

from cli.config import write_config
from devhost.azurite import Azurite
from devhost.errors import DevhostError
from devhost.host import HostOptions, run
from devhost.keys import load_keys
from shared.settings import load_settings, merged_values

STORAGE_SETTING = "AzureWebJobsStorage"


def _say(line: str) -> None:
    print(line, flush=True)


@contextlib.contextmanager
def _workspace_lock(workspace: Path) -> Iterator[None]:
    """Hold an exclusive lock on the workspace: two Azurites on one folder would corrupt it."""
    workspace.mkdir(parents=True, exist_ok=True)
    with open(workspace / ".mlops-host.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise typer.BadParameter(
                f"another `mlops host` keeps its storage in {workspace}; stop it or pass --storage-dir"
            ) from exc
        yield


@contextlib.contextmanager
def _storage(app_dir: Path, storage_dir: Path | None, temp: bool) -> Iterator[None]:
    """Start Azurite for the host unless the settings name storage; hand its connection to devhost."""
    values = merged_values(app_dir)
    if values.get(STORAGE_SETTING) or any(k.startswith(f"{STORAGE_SETTING}__") for k in values):
        _say(f"storage: {STORAGE_SETTING} from the settings (environment or local.settings.json)")
        yield
        return
    settings = load_settings(app_dir)
    azurite_dir = Path(settings.azurite_dir) if settings.azurite_dir else None
    workspace = None if temp else (storage_dir or app_dir / ".azurite").resolve()
    with contextlib.ExitStack() as stack:
        if workspace is not None:
            stack.enter_context(_workspace_lock(workspace))
        azurite = Azurite(workspace=workspace, azurite_dir=azurite_dir)
        try:
            endpoints = azurite.start()
        except (DevhostError, OSError) as exc:
            raise typer.BadParameter(f"Azurite could not start: {exc}") from exc
        stack.callback(azurite.stop)
        kept = "kept between restarts" if workspace else "deleted when the host stops (--temp-storage)"
        _say(
            f"storage: Azurite blob {endpoints.host}:{endpoints.blob_port}, queue {endpoints.queue_port}, "
            f"table {endpoints.table_port}; data in {azurite.workspace} ({kept})"
        )
        # devhost reads its settings from the environment, as the Functions host does.
        os.environ[STORAGE_SETTING] = endpoints.connection_string
        yield


def _save_config(app_dir: Path, host: str, port: int) -> None:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{shown}:{port}"
    keys = load_keys(app_dir, merged_values(app_dir))
    path = write_config(url, keys.master, app_dir)
    _say(f"cli: {url} and its master key saved to {path} (mlops commands use them from any folder)")
    _say(f"dashboard: {url}/api/dashboard?code={keys.function} (the key stays in the browser tab)")


def host_command(
    app: Path = typer.Option(
        Path("."), "--app", help="App folder holding function_app.py and host.json (default: current folder)."
    ),
    port: int = typer.Option(7071, "--port", help="HTTP port."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (loopback by default)."),
    storage_dir: Path | None = typer.Option(
        None, "--storage-dir", help="Folder Azurite keeps its data in (default: <app>/.azurite)."
    ),
    temp_storage: bool = typer.Option(
        False, "--temp-storage", help="Throwaway storage: every run and model is deleted when the host stops."
    ),
    save_config: bool = typer.Option(
        True, "--save-config/--no-save-config", help="Save URL and key to the user config for the CLI."
    ),
) -> None:
    """Serve a Python v2 Functions app locally: HTTP, queue and timer triggers, Durable Functions."""
    app_dir = app.resolve()
    if not (app_dir / "function_app.py").is_file():
        code = run(HostOptions(app_dir=app_dir, host=host, port=port))  # devhost names the problem
        raise typer.Exit(code or 1)
    with _storage(app_dir, storage_dir, temp_storage):
        if save_config:
            _save_config(app_dir, host, port)
        code = run(HostOptions(app_dir=app_dir, host=host, port=port))
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add `host` to the CLI."""
    app.command("host")(host_command)

"""`mlops host`: run the app in a folder on devhost, the local Functions host (like `func start`)."""

from __future__ import annotations

from pathlib import Path

import typer

from devhost.host import HostOptions, run


def host_command(
    app: Path = typer.Option(
        Path("."), "--app", help="App folder holding function_app.py and host.json (default: current folder)."
    ),
    port: int = typer.Option(7071, "--port", help="HTTP port."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (loopback by default)."),
) -> None:
    """Serve a Python v2 Functions app locally: HTTP, queue and timer triggers, Durable Functions."""
    code = run(HostOptions(app_dir=app, host=host, port=port))
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add `host` to the CLI."""
    app.command("host")(host_command)

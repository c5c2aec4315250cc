"""Options shared by every remote command: where the app is and which key to use."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.client import DEFAULT_URL, ApiClient, local_devhost_key

UrlOption = typer.Option(DEFAULT_URL, "--url", help="Base URL of the app (local devhost by default).")
KeyOption = typer.Option(
    None, "--key", help="Function or master key (default: the local devhost's stored master key)."
)


def client(url: str, key: str | None) -> ApiClient:
    """An ApiClient; for the local default it finds the devhost's stored key in the current folder."""
    if key is None and url == DEFAULT_URL:
        key = local_devhost_key(Path.cwd())
    return ApiClient(url, key)

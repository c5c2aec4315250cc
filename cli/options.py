"""Options shared by every remote command: where the app is and which key to use."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

from cli.client import ApiClient, ApiError
from cli.config import KEY_ENV, URL_ENV, missing_key_hint, resolve

UrlOption = typer.Option(
    None,
    "--url",
    help=f"Base URL of the app (default: ${URL_ENV}, the `mlops host` config, or local devhost).",
)
KeyOption = typer.Option(
    None, "--key", help=f"Function or master key (default: ${KEY_ENV}, or the key `mlops host` saved)."
)
_err = Console(stderr=True)


def client(url: str | None, key: str | None) -> ApiClient:
    """An ApiClient for the URL and key found by cli.config's precedence."""
    target = resolve(url, key)
    return ApiClient(target.url, target.key)


def fail(exc: ApiError, code: int = 1) -> NoReturn:
    """Print an API error (with where keys come from on a 401) and exit non-zero."""
    _err.print(f"[red]{exc}[/red]", highlight=False)
    if exc.status in (401, 403):
        _err.print(missing_key_hint(), highlight=False)
    raise typer.Exit(code) from exc

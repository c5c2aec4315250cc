"""A real devhost serving the project's own function_app.py on the session's Azurite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.client import ApiClient
from cli.local import LocalStack


@pytest.fixture(scope="module")
def stack(azurite_connection_string: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """devhost as a subprocess (kill -9-able), its work folder in a temp dir."""
    tmp = tmp_path_factory.mktemp("pipeline-e2e")
    local = LocalStack(
        connection_string=azurite_connection_string, work_dir=tmp / "work", log_path=tmp / "devhost.log"
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
def api(stack: LocalStack) -> ApiClient:
    """An API client with the host's master key."""
    return ApiClient(stack.url, stack.master_key)


@pytest.fixture
def log_of(stack: LocalStack) -> Path:
    """The devhost log, for failure messages."""
    assert stack.log_path is not None
    return stack.log_path

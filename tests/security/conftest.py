"""A real devhost serving the project's function_app.py, and the keys of its key store."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from cli.local import ROOT, LocalStack


@pytest.fixture(scope="module")
def stack(azurite_connection_string: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """devhost as a subprocess, its work folder in a temp dir."""
    tmp = tmp_path_factory.mktemp("security-e2e")
    local = LocalStack(
        connection_string=azurite_connection_string, work_dir=tmp / "work", log_path=tmp / "devhost.log"
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def host_keys(stack: LocalStack) -> dict[str, str]:
    """The function and Durable system keys the running host checks (settings first, then its store)."""
    stored = json.loads((ROOT / ".devhost" / "keys.json").read_text())
    return {
        "function": os.environ.get("DEVHOST_FUNCTION_KEY") or stored["function"],
        "durable_system": os.environ.get("DEVHOST_DURABLE_SYSTEM_KEY") or stored["durable_system"],
    }

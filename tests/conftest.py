"""Session fixtures shared by every test folder: one real Azurite for the whole run.

``AZURITE_CONNECTION_STRING`` in the environment reuses a running Azurite instead (handy when
iterating); otherwise the session starts its own on free loopback ports and stops it at the end.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from devhost.azurite import Azurite  # noqa: E402
from shared.settings import Settings, load_settings  # noqa: E402
from shared.storage.clients import StorageClients, build_clients  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def private_cli_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never read or overwrite the user's `mlops` config (`mlops host` writes one)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def azurite_connection_string(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Connection string of the session's real Azurite."""
    existing = os.environ.get("AZURITE_CONNECTION_STRING")
    if existing:
        yield existing
        return
    workspace = tmp_path_factory.mktemp("azurite")
    azurite = Azurite(workspace=workspace, log_path=workspace / "azurite.log")
    endpoints = azurite.start()
    try:
        yield endpoints.connection_string
    finally:
        azurite.stop()


@pytest.fixture(scope="session")
def settings(azurite_connection_string: str) -> Settings:
    """Settings pointing at the session's Azurite and nothing else from the environment."""
    return load_settings(environ={"AzureWebJobsStorage": azurite_connection_string})


@pytest.fixture(scope="session")
def clients(settings: Settings) -> StorageClients:
    """SDK service clients for the session's Azurite."""
    return build_clients(settings)


@pytest.fixture
def unique() -> str:
    """A short lowercase token to keep tables/containers/queues of one test apart."""
    return uuid.uuid4().hex[:10]

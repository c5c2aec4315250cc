"""Fixtures for the storage integration tests: stores bound to the session's real Azurite."""

from __future__ import annotations

import pytest

from shared.storage.blobs import BlobStore
from shared.storage.clients import StorageClients
from shared.storage.records import RunRecord, RunRepository


@pytest.fixture
def blobs(clients: StorageClients) -> BlobStore:
    """A BlobStore on the session Azurite."""
    return BlobStore(clients.blob)


@pytest.fixture
def container(unique: str) -> str:
    """A container name no other test uses."""
    return f"t-{unique}"


@pytest.fixture
def runs(clients: StorageClients, blobs: BlobStore, unique: str) -> RunRepository:
    """The runs repository on a table and spill container of its own."""
    return RunRepository(clients.table, blobs, table_name=f"runs{unique}", spill_container=f"spill-{unique}")


def run(pipeline: str = "p", run_id: str = "r1", **fields: object) -> RunRecord:
    """A RunRecord with defaults for the keys."""
    return RunRecord(pipeline=pipeline, run_id=run_id, **fields)  # type: ignore[arg-type]

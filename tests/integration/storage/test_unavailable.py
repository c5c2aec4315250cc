"""A storage endpoint that does not answer surfaces as StorageUnavailableError naming the service."""

from __future__ import annotations

import pytest

from devhost.azurite import free_port
from shared.errors import StorageUnavailableError, TransientError
from shared.settings import azurite_connection_string, load_settings
from shared.storage.clients import build_clients
from shared.storage.factory import Storage
from shared.storage.records import RunRecord


@pytest.fixture
def dead() -> Storage:
    """Storage whose blob, queue and table endpoints point at a closed loopback port."""
    port = free_port()
    settings = load_settings(
        environ={"AzureWebJobsStorage": azurite_connection_string("127.0.0.1", port, port, port)}
    )
    return Storage.from_clients(build_clients(settings, retries=0, timeout_s=2))


def test_blob_calls_raise_storage_unavailable(dead: Storage) -> None:
    with pytest.raises(StorageUnavailableError) as caught:
        dead.blobs.put_bytes("datasets", "x", b"1")
    assert caught.value.service == "blob"
    assert isinstance(caught.value, TransientError), "retry policies key on TransientError"


def test_table_calls_raise_storage_unavailable(dead: Storage) -> None:
    with pytest.raises(StorageUnavailableError) as caught:
        dead.runs.get("p", "r")
    assert caught.value.service == "table"
    with pytest.raises(StorageUnavailableError):
        dead.runs.upsert(RunRecord(pipeline="p", run_id="r"))


def test_queue_calls_raise_storage_unavailable(dead: Storage) -> None:
    with pytest.raises(StorageUnavailableError) as caught:
        dead.retrain_requests.send({"a": 1})
    assert caught.value.service == "queue"

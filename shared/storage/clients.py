"""Builds the Azure SDK service clients from Settings (connection string or identity)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from shared.settings import Settings


@dataclass(frozen=True)
class StorageClients:
    """The three service clients of one storage account."""

    blob: BlobServiceClient
    queue: QueueServiceClient
    table: TableServiceClient


def _credential(settings: Settings) -> Any:
    from azure.identity import DefaultAzureCredential

    if settings.storage_client_id:
        return DefaultAzureCredential(managed_identity_client_id=settings.storage_client_id)
    return DefaultAzureCredential()


def _client_kwargs(settings: Settings, retries: int | None, timeout_s: float | None) -> dict[str, Any]:
    timeout = settings.storage_timeout_s if timeout_s is None else timeout_s
    total = settings.storage_retries if retries is None else retries
    return {
        "retry_total": total,
        "retry_connect": total,
        "retry_read": total,
        "retry_status": total,
        "connection_timeout": timeout,
        "read_timeout": timeout,
    }


def build_clients(
    settings: Settings, *, retries: int | None = None, timeout_s: float | None = None
) -> StorageClients:
    """Service clients for the configured account; ``retries``/``timeout_s`` override settings."""
    settings.require_storage()
    kwargs = _client_kwargs(settings, retries, timeout_s)
    conn = settings.storage_connection_string
    if conn:
        return StorageClients(
            blob=BlobServiceClient.from_connection_string(conn, **kwargs),
            queue=QueueServiceClient.from_connection_string(conn, **kwargs),
            table=TableServiceClient.from_connection_string(conn, **kwargs),
        )
    credential = _credential(settings)
    return StorageClients(
        blob=BlobServiceClient(str(settings.blob_service_uri), credential=credential, **kwargs),
        queue=QueueServiceClient(str(settings.queue_service_uri), credential=credential, **kwargs),
        table=TableServiceClient(str(settings.table_service_uri), credential=credential, **kwargs),
    )

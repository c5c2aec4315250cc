"""Storage connections for bindings: app-setting name -> SDK clients (connection strings only)."""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Mapping
from functools import cache
from urllib.parse import urlparse

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient, QueueServiceClient

from devhost.azurite import port_answers
from devhost.errors import AppLoadError
from devhost.hostjson import QueueOptions

DEVELOPMENT_STORAGE = "UseDevelopmentStorage=true"
_AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
DEVELOPMENT_CONNECTION = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    f"AccountKey={_AZURITE_KEY};"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)


def expand_connection_string(value: str) -> str:
    """``UseDevelopmentStorage=true`` as the explicit Azurite connection string; others unchanged."""
    return DEVELOPMENT_CONNECTION if value.strip().lower() == DEVELOPMENT_STORAGE.lower() else value


def unreachable_endpoints(connection_string: str) -> list[str]:
    """Loopback endpoints of a connection string that do not answer (e.g. Azurite not running)."""
    parts = dict(p.split("=", 1) for p in connection_string.split(";") if "=" in p)
    missing = []
    for key in ("BlobEndpoint", "QueueEndpoint", "TableEndpoint"):
        url = parts.get(key)
        if not url:
            continue
        parsed = urlparse(url)
        host = parsed.hostname or ""
        loopback = host in ("127.0.0.1", "localhost", "::1")
        if loopback and not port_answers(host, parsed.port or 80, timeout=2.0):
            missing.append(url)
    return missing


def resolve_connection(name: str | None, values: Mapping[str, str], where: str) -> str:
    """The connection string an app setting (binding ``connection``) names; AppLoadError if unset."""
    setting = name or "AzureWebJobsStorage"
    for candidate in (setting, f"AzureWebJobs{setting}"):
        if values.get(candidate):
            return expand_connection_string(values[candidate])
    if any(k.startswith(f"{setting}__") for k in values):
        raise AppLoadError(f"{where}: identity-based connection '{setting}__*' is not supported by devhost")
    raise AppLoadError(f"{where}: connection setting '{setting}' is not set")


@cache
def queue_service(connection_string: str) -> QueueServiceClient:
    """A (cached) queue service client."""
    return QueueServiceClient.from_connection_string(connection_string)


@cache
def blob_service(connection_string: str) -> BlobServiceClient:
    """A (cached) blob service client."""
    return BlobServiceClient.from_connection_string(connection_string)


def ensure_queue(client: QueueClient) -> None:
    """Create the queue when missing (as the host does for output and poison queues)."""
    with contextlib.suppress(ResourceExistsError):
        client.create_queue()


def encode_message(body: bytes, options: QueueOptions) -> str:
    """The queue message text for ``body`` under ``messageEncoding``."""
    if options.message_encoding == "base64":
        return base64.b64encode(body).decode("ascii")
    return body.decode("utf-8")


def decode_message(text: str, options: QueueOptions) -> bytes:
    """The body of a stored message; ValueError when it is not valid for ``messageEncoding``."""
    if options.message_encoding != "base64":
        return text.encode("utf-8")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(f"message is not valid base64: {exc}") from exc


def send_messages(
    connection_string: str, queue_name: str, bodies: list[bytes], options: QueueOptions
) -> None:
    """Write output-binding messages (creating the queue if needed)."""
    if not bodies:
        return
    client = queue_service(connection_string).get_queue_client(queue_name)
    ensure_queue(client)
    for body in bodies:
        client.send_message(encode_message(body, options))

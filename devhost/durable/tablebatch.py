"""Entity-group transactions ($batch upserts) for Azure Tables over aiohttp with SharedKeyLite.

The hot path of the engine writes one small transaction per episode. azure-data-tables builds and
parses batches with the ``email`` package and deep copies (~5 ms CPU per 4-row batch on this
machine, 3x the round trip); this writer sends the same OData batch directly (~0.7 ms CPU). It is
used when the connection string carries an account key; otherwise the store falls back to the SDK.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import quote, urlparse

import aiohttp

_STATUS = re.compile(r"HTTP/1\.1 (\d{3})")
_INT32 = 2**31


class TableBatchError(Exception):
    """A batch operation failed (the whole transaction was rolled back)."""


def parse_connection_string(connection_string: str) -> dict[str, str]:
    """``Key=Value;...`` into a dict (values may contain ``=``)."""
    return dict(part.split("=", 1) for part in connection_string.split(";") if "=" in part)


class TableBatchWriter:
    """Upserts (insert-or-replace) rows of one partition in one transaction."""

    def __init__(self, connection_string: str) -> None:
        parts = parse_connection_string(connection_string)
        self.account = parts.get("AccountName", "")
        key = parts.get("AccountKey", "")
        self._key = base64.b64decode(key) if key else b""
        endpoint = parts.get("TableEndpoint")
        if not endpoint and self.account:
            protocol = parts.get("DefaultEndpointsProtocol", "https")
            endpoint = f"{protocol}://{self.account}.table.{parts.get('EndpointSuffix', 'core.windows.net')}"
        self.endpoint = (endpoint or "").rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    @property
    def available(self) -> bool:
        """True when the connection string has an account name, key and table endpoint."""
        return bool(self.account and self._key and self.endpoint)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def upsert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert-or-replace up to 100 rows of one partition atomically."""
        if not rows:
            return
        batch, changeset = f"batch_{uuid.uuid4()}", f"changeset_{uuid.uuid4()}"
        lines = [f"--{batch}", f"Content-Type: multipart/mixed; boundary={changeset}", ""]
        for index, row in enumerate(rows, start=1):
            lines += [
                f"--{changeset}",
                "Content-Type: application/http",
                "Content-Transfer-Encoding: binary",
                "",
                f"PUT {self.endpoint}/{table}(PartitionKey='{_key(row['PartitionKey'])}',"
                f"RowKey='{_key(row['RowKey'])}') HTTP/1.1",
                "Content-Type: application/json",
                "Accept: application/json;odata=minimalmetadata",
                "DataServiceVersion: 3.0;",
                f"Content-ID: {index}",
                "",
                entity_json(row),
            ]
        lines += [f"--{changeset}--", f"--{batch}--", ""]
        body = "\r\n".join(lines).encode("utf-8")
        path = urlparse(self.endpoint).path + "/$batch"
        date = formatdate(usegmt=True)
        to_sign = f"{date}\n/{self.account}{path}".encode()
        signature = base64.b64encode(hmac.new(self._key, to_sign, hashlib.sha256).digest()).decode()
        headers = {
            "x-ms-date": date,
            "Authorization": f"SharedKeyLite {self.account}:{signature}",
            "x-ms-version": "2019-02-02",
            "DataServiceVersion": "3.0",
            "MaxDataServiceVersion": "3.0;NetFx",
            "Content-Type": f"multipart/mixed; boundary={batch}",
            "Accept": "application/json",
        }
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        async with self._session.post(f"{self.endpoint}/$batch", data=body, headers=headers) as response:
            text = await response.text()
            if response.status != 202:
                raise TableBatchError(f"$batch answered {response.status}: {text[:500]}")
            codes = _STATUS.findall(text)
            if not codes or any(not code.startswith("2") for code in codes):
                raise TableBatchError(f"$batch operation failed: {text[:800]}")


def _key(value: Any) -> str:
    return quote(str(value).replace("'", "''"), safe="")


def entity_json(row: Mapping[str, Any]) -> str:
    """OData JSON of an entity with the type annotations Tables needs."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        if value is None:
            continue
        if isinstance(value, datetime):
            aware = value if value.tzinfo else value.replace(tzinfo=UTC)
            out[name] = aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            out[f"{name}@odata.type"] = "Edm.DateTime"
        elif isinstance(value, (bool, str)):
            out[name] = value
        elif isinstance(value, int):
            if -_INT32 <= value < _INT32:
                out[name] = value
            else:
                out[name] = str(value)
                out[f"{name}@odata.type"] = "Edm.Int64"
        elif isinstance(value, float):
            out[name] = value
            out[f"{name}@odata.type"] = "Edm.Double"
        else:
            out[name] = str(value)
    return json.dumps(out, ensure_ascii=False)

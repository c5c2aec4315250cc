"""HTTP plumbing for triggers: bounded body reading, func.HttpRequest building, response conversion."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import azure.functions as func

from devhost.asgi_types import Receive, Scope, Send

#: The Functions host's request size limit (100 MB, ``FUNCTIONS_REQUEST_BODY_SIZE_LIMIT`` default).
MAX_BODY_BYTES = 100 * 1024 * 1024


class BodyTooLarge(Exception):
    """The request body passed the size limit."""


@dataclass
class Reply:
    """A response to send: status, headers, body."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def header_map(scope: Scope) -> dict[str, str]:
    """Request headers, lower-cased names, repeated ones joined with ',' (as the host does)."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


def query_map(scope: Scope) -> dict[str, str]:
    """Query parameters; repeated ones joined with ','."""
    params: dict[str, str] = {}
    for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
        params[name] = f"{params[name]},{value}" if name in params else value
    return params


def declared_length(headers: Mapping[str, str]) -> int | None:
    """Content-Length as an int (None when absent or unparsable)."""
    value = headers.get("content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


async def read_body(receive: Receive, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole request body; BodyTooLarge as soon as more than ``limit`` bytes arrived."""
    chunks: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge(f"request body exceeds {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def request_url(scope: Scope, headers: Mapping[str, str]) -> str:
    """The absolute URL the client asked for."""
    host = headers.get("host")
    if not host:
        server = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    query = scope.get("query_string", b"").decode("latin-1")
    path = scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?", 1)[0]
    return f"{scope.get('scheme', 'http')}://{host}{path}" + (f"?{query}" if query else "")


def build_request(
    scope: Scope, headers: dict[str, str], params: dict[str, str], route_params: dict[str, str], body: bytes
) -> func.HttpRequest:
    """The ``func.HttpRequest`` a trigger receives."""
    return func.HttpRequest(
        method=scope["method"].upper(),
        url=request_url(scope, headers),
        headers=headers,
        params=params,
        route_params=route_params,
        body=body,
    )


def to_reply(value: Any) -> Reply:
    """Convert a function's HTTP output (HttpResponse, str, bytes, None) to a Reply; TypeError otherwise."""
    if value is None:
        return Reply(204)
    if isinstance(value, str):
        return Reply(200, [("content-type", "text/plain; charset=utf-8")], value.encode("utf-8"))
    if isinstance(value, bytes | bytearray):
        return Reply(200, [("content-type", "application/octet-stream")], bytes(value))
    if isinstance(value, func.HttpResponse):
        headers = [(str(k), str(v)) for k, v in value.headers.items()]
        if not any(k.lower() == "content-type" for k, _ in headers):
            mimetype = value.mimetype
            headers.append(
                (
                    "content-type",
                    f"{mimetype}; charset={value.charset}" if mimetype.startswith("text/") else mimetype,
                )
            )
        return Reply(int(value.status_code), headers, value.get_body() or b"")
    raise TypeError(f"an HTTP function must return func.HttpResponse or str, not {type(value).__name__}")


async def send_reply(send: Send, reply: Reply, *, head: bool = False) -> None:
    """Send ``reply`` over ASGI (content-length set, hop-by-hop headers dropped, no body for HEAD)."""
    drop = {"content-length", "transfer-encoding", "connection"}
    headers = [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers if k.lower() not in drop
    ]
    headers.append((b"content-length", str(len(reply.body)).encode()))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else reply.body})


def json_reply(status: int, payload: Any) -> Reply:
    """A JSON reply."""
    return Reply(status, [("content-type", "application/json; charset=utf-8")], json.dumps(payload).encode())

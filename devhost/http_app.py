"""The ASGI application: HTTP triggers under the route prefix, admin API, Durable webhooks."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from typing import Any

from devhost.admin import AdminApi
from devhost.asgi_types import Receive, Scope, Send
from devhost.durable import MANAGEMENT_PREFIX
from devhost.http_messages import (
    MAX_BODY_BYTES,
    BodyTooLarge,
    Reply,
    build_request,
    declared_length,
    header_map,
    query_map,
    read_body,
    send_reply,
    to_reply,
)
from devhost.keys import HostKeys
from devhost.loader import FunctionSpec, LoadedApp
from devhost.routes import best_match
from devhost.runner import FunctionRunner

log = logging.getLogger("devhost.http")


def presented_key(headers: Mapping[str, str], params: Mapping[str, str]) -> str | None:
    """The key a request carries: ``x-functions-key`` header, else ``code`` query parameter."""
    return headers.get("x-functions-key") or params.get("code")


def _from_loopback(scope: Scope) -> bool:
    client = scope.get("client")
    if not client:
        return False
    try:
        return ipaddress.ip_address(str(client[0])).is_loopback
    except ValueError:
        return False


class HttpApp:
    """Routes requests to HTTP-triggered functions, the admin API and the Durable runtime."""

    def __init__(
        self,
        app: LoadedApp,
        *,
        runner: FunctionRunner,
        keys: HostKeys,
        route_prefix: str,
        admin: AdminApi,
        durable: Any | None = None,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self.runner = runner
        self.keys = keys
        self.prefix = f"/{route_prefix}" if route_prefix else ""
        self.admin = admin
        self.durable = durable
        self.max_body = max_body
        # Disabled functions are not routed (the admin API can still run non-HTTP ones, as on Azure).
        self.http_functions = [f for f in app.functions if f.route is not None and f.name not in app.disabled]
        self.templates = [f.route for f in self.http_functions if f.route is not None]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        reply = await self._handle(scope, receive)
        await send_reply(send, reply, head=scope["method"].upper() == "HEAD")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _handle(self, scope: Scope, receive: Receive) -> Reply:
        headers = header_map(scope)
        params = query_map(scope)
        length = declared_length(headers)
        if length is not None and length > self.max_body:
            # Refuse before reading a byte of it.
            return Reply(413, [("connection", "close")])
        path: str = scope["path"]
        method = scope["method"].upper()
        key = presented_key(headers, params)
        try:
            if self.durable is not None and self.durable.handles(path):
                if path.startswith(MANAGEMENT_PREFIX):
                    if not self.keys.allows("system", key):
                        return Reply(401)
                elif not _from_loopback(scope):
                    return Reply(403)  # the SDK's RPC endpoint carries no key: loopback callers only
                body = await read_body(receive, self.max_body)
                status, out_headers, out_body = await self.durable.handle_http(
                    method, path, params, headers, body
                )
                return Reply(status, list(out_headers.items()), out_body)
            if AdminApi.handles(path):
                if not self.keys.allows("admin", key):
                    return Reply(401)
                return await self.admin.handle(method, path, await read_body(receive, self.max_body))
            return await self._trigger(scope, receive, path, method, headers, params, key)
        except BodyTooLarge:
            return Reply(413, [("connection", "close")])

    def _route(self, path: str, method: str) -> tuple[FunctionSpec, dict[str, str]] | None:
        if self.prefix:
            if path != self.prefix and not path.startswith(f"{self.prefix}/"):
                return None
            path = path[len(self.prefix) :]
        # Azure answers 404 (not 405) when the route exists but not for this method.
        for index, values in best_match(self.templates, path.lstrip("/")):
            spec = self.http_functions[index]
            if method in spec.methods:
                return spec, values
        return None

    async def _trigger(
        self,
        scope: Scope,
        receive: Receive,
        path: str,
        method: str,
        headers: dict[str, str],
        params: dict[str, str],
        key: str | None,
    ) -> Reply:
        # Match on the raw path: segments are split before percent-decoding, so %2F stays in one value.
        raw_path = scope.get("raw_path")
        found = self._route(raw_path.decode("latin-1").split("?", 1)[0] if raw_path else path, method)
        if found is None:
            return Reply(404)
        spec, route_values = found
        if not self.keys.allows(spec.auth_level, key):
            return Reply(401)
        body = await read_body(receive, self.max_body)
        request = build_request(scope, headers, params, route_values, body)
        try:
            result = await self.runner.run(
                spec, request, reason="This function was programmatically called via the host APIs."
            )
        except Exception:
            return Reply(500)
        http_out = next((b for b in spec.bindings if b.type == "http" and b.direction == "OUT"), None)
        value = (
            result.result
            if http_out is None or http_out.name == "$return"
            else result.outputs.get(http_out.name)
        )
        try:
            return to_reply(value)
        except TypeError as exc:
            log.error("function '%s': %s", spec.name, exc)
            return Reply(500)

"""Management API (``/runtime/webhooks/durabletask``) and the SDK client's RPC routes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

from devhost.durable.client_ops import InstanceConflictError
from devhost.durable.engine import Engine
from devhost.durable.entities import is_entity_id
from devhost.durable.entity_api import handle_entities
from devhost.durable.events import EventType
from devhost.durable.names import escape_key
from devhost.durable.query import QueryError, flag, instance_filter, positive_int
from devhost.durable.state import IN_PROGRESS, InstanceState, dump_json, load_json
from devhost.durable.status import status_json
from devhost.durable.urls import MANAGEMENT_PREFIX, RPC_PREFIX, UrlBuilder

Response = tuple[int, dict[str, str], bytes]
CONTINUATION = "x-ms-continuation-token"


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    out = {"Content-Type": "application/json; charset=utf-8"}
    out.update(headers or {})
    return status, out, json.dumps(body).encode("utf-8")


def _empty(status: int) -> Response:
    return status, {"Content-Type": "application/json; charset=utf-8"}, b""


def _error(status: int, message: str) -> Response:
    return _json(status, {"Message": message, "ExceptionMessage": message})


def _body_json_text(body: bytes) -> tuple[bool, str | None]:
    """(valid, normalized JSON text or None for an empty body) - the extension parses then re-serializes."""
    if not body.strip():
        return True, None
    try:
        return True, dump_json(json.loads(body.decode("utf-8")))
    except (ValueError, UnicodeDecodeError):
        return False, None


class DurableHttpApi:
    """Routes management/RPC requests to the engine."""

    def __init__(self, engine: Engine, urls: UrlBuilder) -> None:
        self.engine = engine
        self.urls = urls

    async def handle(
        self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> Response:
        """Dispatch one request."""
        for prefix in (MANAGEMENT_PREFIX, RPC_PREFIX):
            if path.startswith(prefix):
                rest = path[len(prefix) :]
                break
        else:
            return _error(404, "not a durable path")
        parts = [unquote(p) for p in rest.strip("/").split("/") if p != ""]
        try:
            return await self._route(method.upper(), path, parts, query, headers, body)
        except QueryError as exc:
            return _error(400, str(exc))

    async def _route(
        self,
        method: str,
        path: str,
        parts: list[str],
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Response:
        lowered = {k.lower(): v for k, v in headers.items()}
        if parts and parts[0] == "orchestrators" and method == "POST" and len(parts) in (2, 3):
            return await self._start(parts[1], parts[2] if len(parts) == 3 else None, body, query)
        if parts and parts[0] == "entities":
            return await handle_entities(self.engine, method, parts, query, lowered.get(CONTINUATION), body)
        if parts and parts[0] == "instances":
            if len(parts) == 1:
                if method == "GET":
                    return await self._list(query, lowered.get(CONTINUATION))
                if method == "DELETE":
                    return await self._purge_many(query)
            elif len(parts) == 2:
                if method == "GET":
                    return await self._status(parts[1], query)
                if method == "DELETE":
                    return await self._purge(parts[1])
            elif method == "POST":
                return await self._operation(parts[1], parts[2], parts[3:], query, body)
        return _error(404, f"No durable route for {method} {path}")

    async def _start(
        self, name: str, instance_id: str | None, body: bytes, query: Mapping[str, str]
    ) -> Response:
        version = query.get("version") or None
        # createAndWaitOnNewInstancePostUri: wait up to ``timeout`` s, polling every ``pollingInterval`` s
        timeout = positive_int(query, "timeout")
        polling = positive_int(query, "pollingInterval") or 1
        if self.engine.registry.lookup_orchestrator(name) is None:
            return _error(
                400, f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function."
            )
        valid, stored = _body_json_text(body)
        if not valid:
            return _error(400, "Only application/json request content is supported")
        try:
            instance_id = await self.engine.start_instance(
                name, instance_id, stored, self.engine.versions.version_for_new(version)
            )
        except InstanceConflictError as exc:
            return _error(409, str(exc))
        payload = self.urls.management_urls(instance_id)
        if timeout is not None:
            finished = await self._wait_terminal(instance_id, timeout, polling)
            if finished is not None:
                # the extension answers with the output when Completed, else with the status
                if finished.status == "Completed":
                    return _json(200, load_json(finished.output_text))
                return _json(200, status_json(finished))
        return _json(202, payload, {"Location": payload["statusQueryGetUri"], "Retry-After": "10"})

    async def _wait_terminal(self, instance_id: str, timeout: int, polling: int) -> InstanceState | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            state = await self.engine.get_state(instance_id)
            if state is not None and state.terminal:
                return state
            left = deadline - loop.time()
            if left <= 0:
                return None
            await asyncio.sleep(min(float(polling), left))

    async def _status(self, instance_id: str, query: Mapping[str, str]) -> Response:
        show_history = flag(query, "showHistory", False)
        state = await self.engine.get_state(instance_id, with_history=show_history)
        if state is None:
            return _empty(404)
        body = status_json(
            state,
            show_input=flag(query, "showInput", True),
            show_history=show_history,
            show_history_output=flag(query, "showHistoryOutput", False),
        )
        if state.status in IN_PROGRESS:
            location = self.urls.management_urls(instance_id)["statusQueryGetUri"]
            return _json(202, body, {"Location": location, "Retry-After": "10"})
        return _json(200, body)

    async def _list(self, query: Mapping[str, str], continuation: str | None) -> Response:
        top = positive_int(query, "top")
        show_input = flag(query, "showInput", True)
        prefix = query.get("instanceIdPrefix")
        clauses = [instance_filter(query)]
        if prefix:  # a key range, so top and continuation count matching instances only
            low = escape_key(prefix)
            high = low[:-1] + chr(ord(low[-1]) + 1)
            clauses.append(f"PartitionKey ge '{_odata(low)}' and PartitionKey lt '{_odata(high)}'")
        query_filter = " and ".join(c for c in clauses if c) or None
        rows, token = await self.engine.store.query_instances(query_filter, top, continuation)
        out = []
        for row in rows:
            state = InstanceState.from_row(row)
            if prefix and not state.instance_id.startswith(prefix):
                continue
            out.append(status_json(state, show_input=show_input))
        headers = {CONTINUATION: token} if token else {}
        return _json(200, out, headers)

    async def _purge(self, instance_id: str) -> Response:
        deleted = await self.engine.purge(instance_id)
        if not deleted:
            return _empty(404)
        return _json(200, {"instancesDeleted": deleted})

    async def _purge_many(self, query: Mapping[str, str]) -> Response:
        if not (query.get("createdTimeFrom") or "").strip():
            # the extension refuses a filtered purge without a lower time bound instead of purging everything
            return _error(400, "The query parameter 'createdTimeFrom' is required to purge by filter.")
        query_filter = instance_filter(query) or None
        deleted = 0
        token: str | None = None
        while True:
            rows, token = await self.engine.store.query_instances(query_filter, 1000, token)
            for row in rows:
                instance_id = str(row.get("InstanceId") or row["PartitionKey"])
                if not is_entity_id(instance_id):  # entity state goes only by its own id
                    deleted += await self.engine.purge(instance_id)
            if not token:
                break
        if not deleted:
            return _empty(404)
        return _json(200, {"instancesDeleted": deleted})

    async def _operation(
        self, instance_id: str, op: str, rest: list[str], query: Mapping[str, str], body: bytes
    ) -> Response:
        state = await self.engine.get_state(instance_id)
        if state is None:
            return _error(404, f"No instance with ID '{instance_id}' found.")
        reason = query.get("reason", "")
        if is_entity_id(instance_id):
            return _error(400, f"'{op}' applies to orchestrations; '{instance_id}' is an entity.")
        op = op.lower()
        if op == "restart":
            new_id = None if flag(query, "restartWithNewInstanceId", True) else instance_id
            try:
                started = await self.engine.start_instance(
                    state.name, new_id, state.input_text, state.version or None
                )
            except InstanceConflictError as exc:
                return _error(409, str(exc))
            payload = self.urls.management_urls(started)
            return _json(202, started, {"Location": payload["statusQueryGetUri"]})
        if op == "rewind":
            return _json(501, "devhost does not support rewind.")
        if state.terminal:
            return _error(410, f"Instance with ID {instance_id} is gone: either completed or failed")
        if op == "raiseevent" and rest:
            valid, data = _body_json_text(body)
            if not valid:
                return _error(400, "Only application/json request content is supported")
            await self.engine.send_event(instance_id, EventType.EventRaised, Name=rest[0], Input=data)
        elif op == "terminate":
            await self.engine.send_event(instance_id, EventType.ExecutionTerminated, Input=reason)
        elif op == "suspend":
            await self.engine.send_event(instance_id, EventType.ExecutionSuspended, Reason=reason)
        elif op == "resume":
            await self.engine.send_event(instance_id, EventType.ExecutionResumed, Reason=reason)
        else:
            return _error(404, f"Unknown operation '{op}'")
        return _empty(202)


def _odata(text: str) -> str:
    return text.replace("'", "''")


def instance_path(instance_id: str) -> str:
    """URL path segment for an instance id."""
    return quote(instance_id, safe="")

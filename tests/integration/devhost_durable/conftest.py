"""In-process harness: the test app's DurableRuntime on the session Azurite, served by a tiny uvicorn."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import uvicorn

from devhost.azurite import free_port
from devhost.durable import DurableRuntime

APP_DIR = Path(__file__).resolve().parents[2] / "apps" / "durable_app"
SYSTEM_KEY = "test-system-key"
STORAGE_SETTING = "AzureWebJobsStorage"


def load_app() -> ModuleType:
    """Import the test app once (module name ``durable_test_app``)."""
    name = "durable_test_app"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, APP_DIR / "function_app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    module.FUNCTIONS = module.app.get_functions()  # type: ignore[attr-defined]
    return module


class Harness:
    """One running DurableRuntime (own event loop thread) plus an HTTP client for its routes."""

    #: the harness whose loop the SDK client's shared aiohttp session belongs to
    _sdk_owner: Harness | None = None

    def __init__(
        self,
        connection_string: str,
        hub: str,
        durable_settings: dict[str, Any] | None = None,
        **runtime_kwargs: Any,
    ) -> None:
        self.app = load_app()
        self.connection_string = connection_string
        self.hub = hub
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        host_json = json.loads((APP_DIR / "host.json").read_text())
        host_json["extensions"]["durableTask"]["hubName"] = hub
        host_json["extensions"]["durableTask"].update(durable_settings or {})
        self.runtime = DurableRuntime(
            self.app.FUNCTIONS,
            connection_string=connection_string,
            host_json=host_json,
            base_url=self.base_url,
            system_key=SYSTEM_KEY,
            app_dir=APP_DIR,
            **runtime_kwargs,
        )
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.http = httpx.Client(base_url=self.base_url, timeout=60)
        self._server: uvicorn.Server | None = None
        self.stopped = False

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self) -> Harness:
        """Start the loop thread, the runtime and the server."""
        self._thread.start()
        self.call(self.runtime.start())
        config = uvicorn.Config(
            self._asgi,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            interface="asgi3",
        )
        self._server = uvicorn.Server(config)
        self.loop.call_soon_threadsafe(lambda: self.loop.create_task(self._server.serve()))  # type: ignore[union-attr]
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                httpx.get(f"{self.base_url}/healthz", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("test server did not start")

    def stop(self) -> None:
        """Stop the server, the runtime and the loop."""
        self.stopped = True
        if self._server is not None:
            self._server.should_exit = True
            time.sleep(0.3)
        self.call(self.runtime.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.http.close()

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 120) -> Any:
        """Run a coroutine on the harness loop and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _asgi(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        query = dict(parse_qsl(scope.get("query_string", b"").decode()))
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        if self.runtime.handles(path):
            status, out_headers, out = await self.runtime.handle_http(
                scope["method"], path, query, headers, body
            )
        else:
            status, out_headers, out = 200, {}, b"ok"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in out_headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": out})

    # ---- helpers -----------------------------------------------------------------------
    def start_orchestration(
        self, name: str, payload: Any = None, instance_id: str | None = None, *, raw: bool = False
    ) -> str:
        """POST the start route with the input encoded as the SDK client does (``raw``: plain JSON body)."""
        path = f"/runtime/webhooks/durabletask/orchestrators/{name}" + (
            f"/{instance_id}" if instance_id else ""
        )
        if payload is None:
            content = b""
        else:
            content = (json.dumps(payload) if raw else json.dumps(json.dumps(payload))).encode()
        response = self.http.post(path, content=content, params={"code": SYSTEM_KEY})
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    def status(self, instance_id: str, **params: str) -> httpx.Response:
        """GET the management API's status route."""
        return self.http.get(f"/runtime/webhooks/durabletask/instances/{instance_id}", params=params)

    def wait(
        self,
        instance_id: str,
        statuses: tuple[str, ...] = ("Completed", "Failed", "Terminated"),
        timeout: float = 60,
        custom: Any = None,
    ) -> dict[str, Any]:
        """Poll until the runtime status (and optionally custom status) matches."""
        deadline = time.time() + timeout
        body: dict[str, Any] = {}
        while time.time() < deadline:
            response = self.status(instance_id)
            if response.status_code in (200, 202):
                body = response.json()
                if body["runtimeStatus"] in statuses and (
                    custom is None or body.get("customStatus") == custom
                ):
                    return body
            time.sleep(0.05)
        raise AssertionError(f"{instance_id} did not reach {statuses}: {body}")

    def client_binding(self) -> str:
        """What a durableClient parameter receives."""
        return self.runtime.client_binding_value()

    def invoke_http(
        self, function_name: str, method: str, route_params: dict[str, str], body: Any = None
    ) -> Any:
        """Call one of the app's HTTP functions in-process with the durable client binding."""
        import azure.functions as func

        target = next(f for f in self.app.FUNCTIONS if f.get_function_name() == function_name)
        content = b"" if body is None else json.dumps(body).encode()
        request = func.HttpRequest(
            method=method, url=f"{self.base_url}/api/{function_name}", body=content, route_params=route_params
        )
        return self.sdk(target.get_user_function()(req=request, client=self.client_binding()))

    def sdk(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run SDK client code on this harness's loop.

        The SDK keeps one process-wide aiohttp session, bound to the loop that created it; each
        harness has its own loop, so the session is dropped when another harness used it last.
        """
        from azure.durable_functions.models.utils import http_utils

        if Harness._sdk_owner is not self:
            http_utils._client_session = None
            Harness._sdk_owner = self
        return self.call(coro)


@pytest.fixture(scope="module")
def harness(azurite_connection_string: str) -> Iterator[Harness]:
    """A running runtime with a hub of its own for the test module (the app's storage setting set)."""
    previous = os.environ.get(STORAGE_SETTING)
    os.environ[STORAGE_SETTING] = azurite_connection_string
    running = Harness(azurite_connection_string, f"It{uuid.uuid4().hex[:10]}").start()
    try:
        yield running
    finally:
        running.stop()
        if previous is None:
            os.environ.pop(STORAGE_SETTING, None)
        else:
            os.environ[STORAGE_SETTING] = previous


@pytest.fixture(scope="module")
def make_harness(azurite_connection_string: str) -> Iterator[Callable[..., Harness]]:
    """Start extra runtimes (own durable settings, or a given hub to restart on); stopped at the end."""
    previous = os.environ.get(STORAGE_SETTING)
    os.environ[STORAGE_SETTING] = azurite_connection_string
    started: list[Harness] = []

    def make(hub: str | None = None, **kwargs: Any) -> Harness:
        running = Harness(azurite_connection_string, hub or f"It{uuid.uuid4().hex[:10]}", **kwargs).start()
        started.append(running)
        return running

    try:
        yield make
    finally:
        for running in started:
            if not running.stopped:
                running.stop()
        if previous is None:
            os.environ.pop(STORAGE_SETTING, None)
        else:
            os.environ[STORAGE_SETTING] = previous

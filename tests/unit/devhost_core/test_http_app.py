"""The ASGI app in-process: route prefix, precedence, auth, admin and durable path handling."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from devhost.admin import AdminApi
from devhost.hostjson import read_host_json
from devhost.http_app import HttpApp
from devhost.keys import HostKeys
from devhost.loader import load_app
from devhost.runner import FunctionRunner

APP = """
import azure.functions as func
app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

@app.route(route="items/{id}", methods=["GET"])
def by_id(req: func.HttpRequest) -> str:
    return "id:" + req.route_params["id"]

@app.route(route="items/new", methods=["GET"])
def new(req: func.HttpRequest) -> str:
    return "new"

@app.route(route="", methods=["GET"])
def root(req: func.HttpRequest) -> str:
    return "root"

@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="t")
def yearly(t: func.TimerRequest) -> None:
    pass

@app.route(route="secret", auth_level=func.AuthLevel.FUNCTION)
def secret(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(status_code=204)
"""
KEYS = HostKeys(master="m", function="f", durable_system="s")


def build(tmp_path: Path, host_json: str) -> HttpApp:
    (tmp_path / "function_app.py").write_text(APP)
    (tmp_path / "host.json").write_text(host_json)
    loaded = load_app(tmp_path, {})
    parsed = read_host_json(tmp_path)
    runner = FunctionRunner(loaded, app_dir=tmp_path, values={}, queue_options=parsed.queues)
    admin = AdminApi(loaded, runner, "test-host", "0")
    return HttpApp(loaded, runner=runner, keys=KEYS, route_prefix=parsed.route_prefix, admin=admin)


def call(app: HttpApp, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


@pytest.fixture
def app(tmp_path: Path) -> HttpApp:
    return build(tmp_path, '{"version": "2.0"}')


def test_default_prefix_and_precedence(app: HttpApp) -> None:
    assert call(app, "GET", "/api/items/new").text == "new"
    assert call(app, "GET", "/api/items/7").text == "id:7"
    assert call(app, "GET", "/api/root").text == "root"  # an empty route means the function name
    assert call(app, "GET", "/api").status_code == 404
    assert call(app, "GET", "/items/7").status_code == 404
    assert call(app, "POST", "/api/items/7").status_code == 404


def test_empty_route_prefix(tmp_path: Path) -> None:
    app = build(tmp_path, '{"version": "2.0", "extensions": {"http": {"routePrefix": ""}}}')
    assert call(app, "GET", "/items/7").text == "id:7"
    assert call(app, "GET", "/root").text == "root"


def test_keys_and_admin(app: HttpApp) -> None:
    assert call(app, "GET", "/api/secret").status_code == 401
    assert call(app, "GET", "/api/secret", headers={"x-functions-key": "f"}).status_code == 204
    assert call(app, "GET", "/api/secret", params={"code": "s"}).status_code == 401
    assert call(app, "GET", "/admin/host/status", params={"code": "f"}).status_code == 401
    assert call(app, "GET", "/admin/host/status", params={"code": "m"}).json()["id"] == "test-host"
    assert call(app, "POST", "/admin/functions/by_id", params={"code": "m"}, json={}).status_code == 400
    assert call(app, "POST", "/admin/functions/missing", params={"code": "m"}, json={}).status_code == 404
    assert (
        call(app, "POST", "/admin/functions/yearly", params={"code": "m"}, json={"input": {}}).status_code
        == 400
    )
    assert call(app, "GET", "/admin/functions/yearly", params={"code": "m"}).status_code == 404


def test_declared_oversize_body(app: HttpApp) -> None:
    response = call(
        app, "POST", "/api/items/7", headers={"content-length": str(200 * 1024 * 1024)}, content=b""
    )
    assert response.status_code == 413


def test_durable_paths_without_runtime_are_404(app: HttpApp) -> None:
    assert (
        call(app, "GET", "/runtime/webhooks/durabletask/instances", params={"code": "m"}).status_code == 404
    )


def test_route_values_are_decoded_once(app: HttpApp) -> None:
    assert call(app, "GET", "/api/items/a%2Fb").text == "id:a/b"
    assert call(app, "GET", "/api/items/100%2541").text == "id:100%41"

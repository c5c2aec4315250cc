"""GET /api/health logic against real Azurite: 200 when all answer, 503 naming what failed."""

from __future__ import annotations

import json

import azure.functions as func
import pytest

from devhost.azurite import Azurite, free_port
from functions import deps
from functions.health import health
from shared.health import check_storage
from shared.settings import Settings, azurite_connection_string, load_settings

handler = health.build().get_user_function()  # the undecorated trigger function


def _call(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> tuple[int, dict[str, object]]:
    monkeypatch.setattr(deps, "settings", lambda: settings)
    req = func.HttpRequest(method="GET", url="http://localhost/api/health", body=b"")
    resp = handler(req)
    return resp.status_code, json.loads(resp.get_body())


def test_health_is_200_when_blob_queue_and_table_answer(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    status, body = _call(monkeypatch, settings)
    assert status == 200
    assert body["services"] == {"blob": "ok", "queue": "ok", "table": "ok"}


def test_health_is_503_naming_every_service_when_azurite_is_stopped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    azurite = Azurite()
    endpoints = azurite.start()
    stopped = load_settings(environ={"AzureWebJobsStorage": endpoints.connection_string})
    assert check_storage(stopped).healthy
    azurite.stop()
    status, body = _call(monkeypatch, stopped)
    assert status == 503
    assert body["failed"] == ["blob", "queue", "table"]


def test_health_names_only_the_service_that_is_down(
    monkeypatch: pytest.MonkeyPatch, azurite_connection_string: str
) -> None:
    parts = dict(p.split("=", 1) for p in azurite_connection_string.split(";") if "=" in p)
    blob_port = int(parts["BlobEndpoint"].rsplit(":", 1)[1].split("/")[0])
    queue_port = int(parts["QueueEndpoint"].rsplit(":", 1)[1].split("/")[0])
    dead_table = free_port()  # nothing listens there
    conn = azurite_connection_string_for(blob_port, queue_port, dead_table)
    status, body = _call(monkeypatch, load_settings(environ={"AzureWebJobsStorage": conn}))
    assert status == 503
    assert body["failed"] == ["table"]
    assert body["services"]["blob"] == "ok"


def azurite_connection_string_for(blob: int, queue: int, table: int) -> str:
    return azurite_connection_string("127.0.0.1", blob, queue, table)

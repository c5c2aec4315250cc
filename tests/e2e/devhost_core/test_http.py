"""HTTP triggers over real HTTP: auth levels, routing, errors, body limit, start-up printout."""

from __future__ import annotations

import socket
import stat
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e


def get(host: Any, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(f"{host.url}{path}", timeout=30, **kwargs)


def test_startup_printout_lists_functions_with_urls(devhost: Any) -> None:
    out = "".join(devhost.stdout)
    assert f"anon: [GET] {devhost.url}/api/anon" in out
    assert f"secure: [GET,POST] {devhost.url}/api/secure" in out
    assert f"items: [GET,HEAD] {devhost.url}/api/items/{{id:int}}/{{name?}}" in out
    assert "record_queue: queueTrigger" in out
    assert "tick: timerTrigger" in out
    keys = devhost.keys()
    assert keys["master"] in out and keys["function"] in out


@pytest.mark.parametrize(
    ("path", "key", "status"),
    [
        ("/api/anon", None, 200),
        ("/api/secure", None, 401),
        ("/api/secure", "wrong", 401),
        ("/api/secure", "function", 200),
        ("/api/secure", "master", 200),
        ("/api/admin-only", None, 401),
        ("/api/admin-only", "function", 401),
        ("/api/admin-only", "master", 200),
    ],
)
def test_auth_levels_with_header_and_code(devhost: Any, path: str, key: str | None, status: int) -> None:
    value = devhost.keys().get(key, key) if key else None
    by_header = get(devhost, path, headers={"x-functions-key": value} if value else {})
    by_code = get(devhost, path, params={"code": value} if value else {})
    assert by_header.status_code == status
    assert by_code.status_code == status


def test_unknown_route_and_wrong_method_are_404(devhost: Any) -> None:
    assert get(devhost, "/api/nope").status_code == 404
    assert get(devhost, "/anon").status_code == 404  # outside the route prefix
    # Azure answers 404, not 405, for a route that exists but not for this method.
    assert httpx.post(f"{devhost.url}/api/anon", timeout=30).status_code == 404
    assert httpx.delete(f"{devhost.url}/api/secure", timeout=30).status_code == 404
    assert get(devhost, "/api/items/notanint").status_code == 404  # {id:int} constraint


def test_route_params_query_and_headers(devhost: Any) -> None:
    response = get(devhost, "/api/items/42/bob", params={"q": "x"})
    assert response.status_code == 200
    assert response.headers["x-item"] == "1"
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["route"] == {"id": "42", "name": "bob"}
    assert body["params"] == {"q": "x"}
    assert body["method"] == "GET"
    assert body["url"] == f"{devhost.url}/api/items/42/bob?q=x"
    assert get(devhost, "/api/items/7").json()["route"] == {"id": "7"}
    head = httpx.head(f"{devhost.url}/api/items/7", timeout=30)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) > 0
    files = get(devhost, "/api/files/a/b/c.txt")
    assert files.text == "a/b/c.txt"
    assert files.headers["content-type"].startswith("text/plain")


def test_async_function_with_context(devhost: Any) -> None:
    response = httpx.post(f"{devhost.url}/api/echo", content=b"payload", headers={"x-test": "hi"}, timeout=30)
    assert response.status_code == 201
    body = response.json()
    assert body["body"] == "payload" and body["header"] == "hi" and body["function"] == "echo"
    assert len(body["invocation"]) == 36


def test_unhandled_exception_is_500_and_logged_without_keys(devhost: Any) -> None:
    master = devhost.keys()["master"]
    response = get(devhost, "/api/boom", params={"code": master})
    assert response.status_code == 500
    time.sleep(0.3)
    stderr = "".join(devhost.stderr)
    assert "RuntimeError: boom on purpose" in stderr and "Traceback" in stderr
    assert master not in stderr


def test_declared_body_over_100mb_is_413_without_reading_it(devhost: Any) -> None:
    with socket.create_connection(("127.0.0.1", devhost.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: 209715200\r\n\r\n" + b"x" * 1024
        )
        started = time.monotonic()
        answer = sock.recv(4096)
    # The answer comes at once although 200 MB were announced and only 1 KiB was sent.
    assert answer.startswith(b"HTTP/1.1 413")
    assert time.monotonic() - started < 5
    assert get(devhost, "/api/anon").status_code == 200  # still serving


def test_streamed_body_over_the_limit_is_413(devhost: Any) -> None:
    chunk = b"x" * (1024 * 1024)

    def body() -> Any:
        for _ in range(101):
            yield chunk

    try:
        response = httpx.post(f"{devhost.url}/api/echo", content=body(), timeout=60)
    except httpx.HTTPError:
        pytest.skip("server closed the connection before the client finished sending")
    assert response.status_code == 413


def test_keys_persist_across_restarts(app_copy: Path, app_env: dict[str, str], make_devhost: Any) -> None:
    first = make_devhost(app_copy, app_env)
    keys = first.keys()
    store = app_copy / ".devhost" / "keys.json"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert first.stop() == 0
    second = make_devhost(app_copy, app_env)
    assert second.keys() == keys
    assert keys["master"] in "".join(second.stdout)
    assert get(second, "/api/secure", headers={"x-functions-key": keys["function"]}).status_code == 200


def test_keys_from_settings(app_copy: Path, app_env: dict[str, str], make_devhost: Any) -> None:
    env = {**app_env, "DEVHOST_MASTER_KEY": "my-master", "DEVHOST_FUNCTION_KEY": "my-function"}
    host = make_devhost(app_copy, env)
    assert get(host, "/api/secure", params={"code": "my-function"}).status_code == 200
    assert get(host, "/api/admin-only", params={"code": "my-master"}).status_code == 200
    assert get(host, "/api/admin-only", params={"code": "my-function"}).status_code == 401


def test_unsupported_binding_fails_start(app_env: dict[str, str], make_devhost: Any) -> None:
    app_dir = Path(__file__).resolve().parents[2] / "apps" / "basic_app" / "unsupported"
    host = make_devhost(app_dir, app_env, start=False)
    host.start(wait=False)
    code = host.wait_exit()
    assert code != 0
    time.sleep(0.2)
    err = "".join(host.stderr)
    assert "on_upload" in err and "blobTrigger" in err and "'blob'" in err


def test_missing_app_folder_is_a_clear_error(
    tmp_path: Path, app_env: dict[str, str], make_devhost: Any
) -> None:
    host = make_devhost(tmp_path, app_env, start=False)
    host.start(wait=False)
    assert host.wait_exit() != 0
    time.sleep(0.2)
    assert "function_app.py" in "".join(host.stderr)


def test_disabled_function_is_not_served(app_copy: Path, app_env: dict[str, str], make_devhost: Any) -> None:
    host = make_devhost(app_copy, {**app_env, "AzureWebJobs.anon.Disabled": "true"})
    assert "anon: [GET]" in "".join(host.stdout) and "(disabled)" in "".join(host.stdout)
    assert get(host, "/api/anon").status_code == 404
    assert get(host, "/api/items/1").status_code == 200

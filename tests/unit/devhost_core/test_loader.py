"""Loading apps: bindings read from the SDK, unsupported bindings and bad apps refused by name."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from devhost.errors import AppLoadError, UnsupportedBindingError
from devhost.hostjson import read_host_json
from devhost.loader import load_app

APPS = Path(__file__).resolve().parents[2] / "apps"
SETTINGS = {
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "RECORD_TABLE": "t",
    "WORK_QUEUE": "work-q",
    "FAIL_QUEUE": "fail-q",
    "OUT_QUEUE": "out-q",
    "TICK_SCHEDULE": "*/1 * * * * *",
}


def write_app(tmp_path: Path, body: str, host_json: str = '{"version": "2.0"}') -> Path:
    (tmp_path / "function_app.py").write_text(
        "import azure.functions as func\napp = func.FunctionApp()\n" + textwrap.dedent(body)
    )
    (tmp_path / "host.json").write_text(host_json)
    return tmp_path


def test_basic_app_is_indexed(tmp_path: Path) -> None:
    app_dir = tmp_path / "app"
    shutil.copytree(APPS / "basic_app", app_dir)
    app = load_app(app_dir, SETTINGS)
    by_name = {f.name: f for f in app.functions}
    assert by_name["anon"].auth_level == "anonymous"
    assert by_name["secure"].auth_level == "function"
    assert by_name["admin_only"].auth_level == "admin"
    assert by_name["secure"].methods == ("GET", "POST")
    assert by_name["echo"].is_async
    assert by_name["record_queue"].trigger.get("queueName") == "work-q"  # %setting% resolved
    assert by_name["tick"].trigger.get("schedule") == "*/1 * * * * *"
    assert [b.name for b in by_name["enqueue"].outputs] == ["out"]
    assert not app.has_durable


def test_unsupported_binding_names_function_and_binding() -> None:
    with pytest.raises(UnsupportedBindingError, match=r"on_upload.*blobTrigger.*'blob'"):
        load_app(APPS / "basic_app" / "unsupported", {"AzureWebJobsStorage": "x"})


def test_unsupported_output_binding(tmp_path: Path) -> None:
    write_app(
        tmp_path,
        """
        @app.route(route="x")
        @app.table_output(arg_name="row", table_name="t", connection="AzureWebJobsStorage")
        def writer(req: func.HttpRequest, row: func.Out[str]) -> str:
            return "x"
        """,
    )
    with pytest.raises(UnsupportedBindingError, match=r"writer.*'table'.*'row'"):
        load_app(tmp_path, {})


def test_duplicate_routes_are_refused(tmp_path: Path) -> None:
    write_app(
        tmp_path,
        """
        @app.route(route="items/{id}", methods=["GET"])
        def one(req: func.HttpRequest) -> str:
            return "1"

        @app.route(route="Items/{other}", methods=["GET", "POST"])
        def two(req: func.HttpRequest) -> str:
            return "2"
        """,
    )
    with pytest.raises(AppLoadError, match=r"two.*conflicts.*one"):
        load_app(tmp_path, {})


def test_unbound_parameter_is_refused(tmp_path: Path) -> None:
    write_app(
        tmp_path,
        """
        @app.route(route="x")
        def f(req: func.HttpRequest, extra: str) -> str:
            return "x"
        """,
    )
    with pytest.raises(AppLoadError, match="extra"):
        load_app(tmp_path, {})


def test_missing_setting_in_binding_expression(tmp_path: Path) -> None:
    write_app(
        tmp_path,
        """
        @app.queue_trigger(arg_name="m", queue_name="%NOPE%", connection="AzureWebJobsStorage")
        def f(m: func.QueueMessage) -> None:
            pass
        """,
    )
    with pytest.raises(AppLoadError, match="NOPE"):
        load_app(tmp_path, {})


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(AppLoadError, match=r"function_app\.py"):
        load_app(tmp_path, {})
    # No host.json: the host's default ({"version": "2.0"}), as `func start` does; nothing is written.
    assert read_host_json(tmp_path).raw == {"version": "2.0"}
    assert not (tmp_path / "host.json").exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"extensions": {}}', "The host.json file is missing the required 'version' property."),
        ('{"version": ""}', "missing the required 'version' property"),
        ('{"version": "3.0"}', "'3.0' is an invalid value for host.json 'version' property."),
    ],
)
def test_host_json_version_is_required(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "host.json").write_text(body)
    with pytest.raises(AppLoadError) as caught:
        read_host_json(tmp_path)
    assert message in str(caught.value)


def test_host_json_queue_defaults(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text('{"version": "2.0", "extensions": {"http": {"routePrefix": ""}}}')
    host_json = read_host_json(tmp_path)
    assert host_json.route_prefix == ""
    assert host_json.queues.batch_size == 16
    assert host_json.queues.new_batch_threshold == 8
    assert host_json.queues.max_dequeue_count == 5
    assert host_json.queues.max_polling_interval.total_seconds() == 2


def test_reserved_routes_with_empty_prefix(tmp_path: Path) -> None:
    from devhost.loader import check_reserved_routes

    write_app(
        tmp_path,
        """
        @app.route(route="admin/things")
        def things(req: func.HttpRequest) -> str:
            return "x"
        """,
    )
    app = load_app(tmp_path, {})
    check_reserved_routes(app, "api")
    with pytest.raises(AppLoadError, match="built-in routes"):
        check_reserved_routes(app, "")


def test_invalid_function_name(tmp_path: Path) -> None:
    write_app(
        tmp_path,
        """
        @app.function_name("bad name!")
        @app.route(route="x")
        def f(req: func.HttpRequest) -> str:
            return "x"
        """,
    )
    with pytest.raises(AppLoadError, match="invalid"):
        load_app(tmp_path, {})

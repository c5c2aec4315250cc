"""devhost's entry point: storage, app loading, keys, then serve HTTP, queues, timers and Durable."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from devhost.admin import AdminApi
from devhost.azurite import Azurite
from devhost.durable import DurableRuntime
from devhost.environment import app_settings, expose_to_app, host_id
from devhost.errors import DevhostError
from devhost.hostjson import HostJson, read_host_json
from devhost.http_app import HttpApp
from devhost.keys import HostKeys, load_keys
from devhost.loader import LoadedApp, check_reserved_routes, load_app
from devhost.printout import function_lines, key_lines
from devhost.queue_listener import QueueListener
from devhost.runner import FunctionRunner
from devhost.storage import blob_service, expand_connection_string, unreachable_endpoints
from devhost.timers import HOSTS_CONTAINER, TimerJob, timer_schedule, timer_zone

log = logging.getLogger("devhost")
VERSION = "0.1.0"
STARTED_LINE = "Host started"


@dataclass(frozen=True)
class HostOptions:
    """Command-line options."""

    app_dir: Path
    host: str = "127.0.0.1"
    port: int = 7071


def _say(line: str = "") -> None:
    print(line, flush=True)


class _Server(uvicorn.Server):
    """uvicorn without its signal re-raising: devhost owns SIGINT/SIGTERM and cleans up first."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        def stop(sig: int, frame: FrameType | None) -> None:
            self.should_exit = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="[%(asctime)s] %(name)s: %(message)s")
    for noisy in ("azure", "uamqp", "urllib3", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class Host:
    """One running devhost."""

    def __init__(self, options: HostOptions, app: LoadedApp, host_json: HostJson, values: dict[str, str],
                 keys: HostKeys, connection_string: str) -> None:  # fmt: skip
        self.options = options
        self.app = app
        self.host_json = host_json
        self.keys = keys
        self.connection_string = connection_string
        self.base_url = f"http://{options.host}:{options.port}"
        self.host_id = host_id(options.app_dir, values)
        threads = values.get("PYTHON_THREADPOOL_THREAD_COUNT", "").strip()
        if threads and not (threads.isdigit() and 1 <= int(threads) <= 32):
            raise DevhostError("PYTHON_THREADPOOL_THREAD_COUNT must be an integer from 1 to 32")
        self.thread_count = int(threads) if threads else 0
        self.zone = timer_zone(values)
        self.runner = FunctionRunner(
            app, app_dir=options.app_dir, values=values, queue_options=host_json.queues
        )
        self.durable: Any | None = None
        if app.has_durable:
            try:
                self.durable = DurableRuntime(
                    app.raw_functions,
                    connection_string=connection_string,
                    host_json=host_json.raw,
                    base_url=self.base_url,
                    system_key=keys.durable_system,
                    app_dir=options.app_dir,
                )
            except NotImplementedError as exc:
                raise DevhostError(
                    f"the app uses Durable bindings but the durable runtime is unavailable: {exc}"
                ) from exc
            self.runner.durable_client = self.durable.client_binding_value
        self.admin = AdminApi(app, self.runner, self.host_id, VERSION)
        self.http = HttpApp(
            app,
            runner=self.runner,
            keys=keys,
            route_prefix=host_json.route_prefix,
            admin=self.admin,
            durable=self.durable,
        )

    def _listeners(self) -> list[Any]:
        container = blob_service(self.connection_string).get_container_client(HOSTS_CONTAINER)
        jobs: list[Any] = []
        for spec in self.app.functions:
            if spec.name in self.app.disabled:
                continue
            if spec.trigger.type == "queueTrigger":
                jobs.append(QueueListener(spec, self.runner, self.host_json.queues))
            elif spec.trigger.type == "timerTrigger":
                jobs.append(TimerJob(spec, self.runner, container, self.host_id, self.zone))
        return jobs

    async def serve(self, sock: socket.socket) -> None:
        """Serve on ``sock`` until SIGINT/SIGTERM; then stop listeners and the durable runtime."""
        config = uvicorn.Config(
            self.http, host=self.options.host, port=self.options.port, log_level="warning",
            access_log=False, lifespan="on", timeout_graceful_shutdown=10,
        )  # fmt: skip
        server = _Server(config)
        if self.thread_count:
            # PYTHON_THREADPOOL_THREAD_COUNT sizes the pool sync functions run in, as in the worker.
            asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(self.thread_count))
        tasks: list[asyncio.Task[None]] = []
        durable_started = False
        try:
            if self.durable is not None:
                await self.durable.start()
                durable_started = True
            serving = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started and not serving.done():
                await asyncio.sleep(0.05)
            if serving.done():
                serving.result()
                raise DevhostError(f"could not serve on {self.base_url}")
            tasks = [asyncio.create_task(job.run()) for job in self._listeners()]
            for task in tasks:
                task.add_done_callback(_report_crash)
            self.admin.state = "Running"
            _say(f"{STARTED_LINE} on {self.base_url} (host id {self.host_id})")
            await serving
        finally:
            self.admin.state = "Stopping"
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if durable_started and self.durable is not None:
                await self.durable.stop()


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a trigger listener stopped", exc_info=task.exception())


def _connection(values: dict[str, str]) -> str | None:
    value = values.get("AzureWebJobsStorage")
    if value:
        return expand_connection_string(value)
    if any(k.startswith("AzureWebJobsStorage__") for k in values):
        raise DevhostError(
            "identity-based AzureWebJobsStorage__* is not supported by devhost; set a connection string"
        )
    return None


def listen(host: str, port: int) -> socket.socket:
    """A bound listening socket (DevhostError naming the address when it is taken)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
    # IPPROTO_TCP, and without it Nagle holds each response body for the client's delayed ACK (~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise DevhostError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # a stop signal during start-up still runs the clean-up below


def index_app(app_dir: Path, host_json: HostJson, values: dict[str, str]) -> LoadedApp:
    """Import and index the app as the worker does at start; DevhostError on anything it would refuse."""
    expose_to_app(values)
    os.chdir(app_dir)  # the worker runs with the app root as working directory
    app = load_app(app_dir, values)
    check_reserved_routes(app, host_json.route_prefix)
    for spec in app.functions:
        if spec.trigger.type == "timerTrigger":
            timer_schedule(spec)  # invalid schedules fail at start, naming the function
    return app


def run(options: HostOptions) -> int:
    """Run devhost in the foreground; the process exit code."""
    _configure_logging()
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    azurite: Any = None
    sock: socket.socket | None = None
    try:
        app_dir = options.app_dir.resolve()
        options = HostOptions(app_dir=app_dir, host=options.host, port=options.port)
        if not (app_dir / "function_app.py").is_file():
            raise DevhostError(
                f"{app_dir} has no function_app.py: pass --app with a Python v2 Functions app folder"
            )
        host_json = read_host_json(app_dir)
        values = app_settings(app_dir)
        # Index before anything starts: an app Azure would refuse never gets a port or an Azurite.
        app = index_app(app_dir, host_json, values)
        sock = listen(options.host, options.port)
        connection = _connection(values)
        if connection is None:
            azurite = Azurite()
            try:
                connection = azurite.start().connection_string
            except Exception as exc:  # not installed, or it would not start
                raise DevhostError(
                    f"AzureWebJobsStorage is not set and Azurite could not start: {exc}"
                ) from exc
            _say("AzureWebJobsStorage is not set: started a private Azurite for this run")
            values["AzureWebJobsStorage"] = connection
        else:
            down = unreachable_endpoints(connection)
            if down:
                raise DevhostError(
                    f"AzureWebJobsStorage points at {', '.join(down)}, which does not answer "
                    "(start Azurite, or unset AzureWebJobsStorage to let devhost start its own)"
                )
        expose_to_app(values)  # the storage setting chosen above
        keys = load_keys(app_dir, values)
        host = Host(options, app, host_json, values, keys, connection)
        _say("Functions:")
        _say()
        for line in function_lines(app, host.base_url, host_json.route_prefix):
            _say(f"        {line}")
            _say()
        for line in key_lines(keys, str(app_dir / ".devhost" / "keys.json")):
            _say(line)
        asyncio.run(host.serve(sock))
        return 0
    except DevhostError as exc:
        print(f"devhost: error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if sock is not None:
            sock.close()
        if azurite is not None:
            azurite.stop()

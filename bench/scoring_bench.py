"""Scoring benchmark: the deployed breast-cancer model in-process and over HTTP through devhost.

Run from the repository root:

    .venv/bin/python -m bench.scoring_bench [--rate 200] [--seconds 30]

Starts a LocalStack (private Azurite in a temp dir + ``python -m devhost`` on this repo), runs the
breast-cancer pipeline over HTTP to deployment as scripts/demo.py does, then measures:

- in-process, batch 1: onnxruntime ``session.run``, ``LoadedModel.run`` and
  ``shared.models.scoring.score`` (request validation + predictions), then the HTTP trigger
  function itself called in-process (alias cache, inference log buffer, JSON in and out);
- over loopback HTTP: one-row scoring requests at a fixed open-loop arrival rate (latency counts
  from each request's scheduled send time, so client or server queueing shows), and the same
  schedule against ``/admin/host/status`` (host only, no function) and ``/api/health`` (a function
  that probes storage) to separate host overhead from scoring; each first unloaded, then loaded,
  with the CPU time devhost, Azurite and the load client spent per request;
- over loopback HTTP from ``wrk`` (a C load generator from the system's package manager, installed by
  scripts/bench_env.sh), so the client is not the bottleneck: closed loop at 1, 4 and 16
  connections (throughput, p50/p75/p90/p99 from ``--latency``, the saturation point) and paced
  rates (each connection waits a fixed think time between requests via the Lua ``delay()`` hook:
  Debian's wrk has no ``-R``, so this is a paced closed loop, not wrk2's open loop);
- two probes of where the time goes: a trivial uvicorn app on a listening socket made like
  devhost's vs with IPPROTO_TCP (TCP_NODELAY), and the CPU a default onnxruntime session spins
  away between paced runs vs ``intra_op_num_threads=1``.

Writes bench/results/scoring.json. Every load goes to 127.0.0.1 and is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import onnxruntime as ort
import yaml

from cli.client import ApiClient
from cli.local import ROOT, LocalStack
from scripts.demo import follow, holdout_rows

RESULTS = Path(__file__).resolve().parent / "results" / "scoring.json"
SPEC = ROOT / "examples" / "breast_cancer.yaml"
TARGET_P99_MS = 10.0


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    """p50/p90/p99/max (nearest rank) of latencies in milliseconds."""
    if not samples_ms:
        return {}
    ordered = sorted(samples_ms)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, int(np.ceil(q * len(ordered))) - 1))]

    return {
        "p50": round(rank(0.50), 3),
        "p90": round(rank(0.90), 3),
        "p99": round(rank(0.99), 3),
        "max": round(ordered[-1], 3),
        "n": len(ordered),
    }


def time_calls(call: Callable[[], Any], n: int, warmup: int = 50) -> dict[str, float]:
    """Latency percentiles (ms) of ``n`` sequential calls after a warm-up."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(n):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    return percentiles(samples)


def deploy(stack: LocalStack, spec: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run the pipeline over HTTP to deployment; the run record and a few holdout rows."""
    api = ApiClient(stack.url, stack.master_key)
    started = api.post(f"/api/pipelines/{spec['name']}/runs", {"spec": spec, "trigger": "bench"})
    run = follow(api, started["run_id"], timeout_s=600)
    if run["status"] != "Succeeded":
        raise RuntimeError(f"pipeline run ended {run['status']}: {run.get('error') or run.get('details')}")
    rows = holdout_rows(
        str(stack.connection_string), spec["name"], run["dataset_version"], spec["target"], 20
    )
    return run, rows


def in_process(stack: LocalStack, model: str, rows: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """Batch-1 latencies of the deployed ONNX: raw session, LoadedModel.run, score(), the trigger."""
    from shared.models.onnx_io import load_model
    from shared.models.scoring import build_matrix, score
    from shared.settings import load_settings
    from shared.storage.factory import Storage

    storage = Storage.from_settings(
        load_settings(environ={"AzureWebJobsStorage": str(stack.connection_string)})
    )
    pointer = storage.aliases.try_get(model, "production")
    assert pointer is not None and pointer.version
    record = storage.models.try_get(model, pointer.version)
    assert record is not None
    data = storage.blobs.get_bytes("models", record.onnx_blob, expected_sha256=record.sha256)
    began = time.perf_counter()
    loaded = load_model(data, expected_sha256=record.sha256)
    load_ms = (time.perf_counter() - began) * 1000
    payload = {"rows": [rows[0]]}
    matrix = build_matrix(payload, loaded.signature.features)
    feeds = loaded.feeds(matrix)  # one input per column for a raw-columns model
    names = loaded.signature.output_names
    section: dict[str, Any] = {
        "model_version": record.version,
        "model_bytes": len(data),
        "features": len(loaded.signature.features),
        "onnxruntime": ort.__version__,
        "load_model_ms": round(load_ms, 2),
        "calls": n,
        "session_run_ms": time_calls(lambda: loaded.session.run(names, feeds), n),
        "loaded_model_run_ms": time_calls(lambda: loaded.run(matrix), n),
        "build_matrix_ms": time_calls(lambda: build_matrix(payload, loaded.signature.features), n),
        "score_ms": time_calls(lambda: score(loaded, payload), n),
    }
    section["trigger_ms"] = _trigger_in_process(stack, model, payload, n)
    section["paced_cpu_cores"] = {
        "what": "process CPU / wall while calling session.run once every 50 ms (20 runs/s), 100 runs",
        "default_session": spin_probe(data, feeds, names, threads=0),
        "intra_op_num_threads_1": spin_probe(data, feeds, names, threads=1),
    }
    return section


def spin_probe(
    data: bytes, feeds: dict[str, Any], names: list[str], *, threads: int, runs: int = 100
) -> dict[str, float]:
    """CPU cores a session uses between paced batch-1 runs (onnxruntime's intra-op threads spin)."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads  # 0 = onnxruntime's default (one per physical core)
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    for _ in range(20):
        session.run(names, feeds)
    samples = []
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(runs):
        began = time.perf_counter()
        session.run(names, feeds)
        samples.append((time.perf_counter() - began) * 1000)
        time.sleep(0.05)
    cores = (time.process_time() - cpu) / (time.perf_counter() - wall)
    return {"cpu_cores": round(cores, 2), "run_p50_ms": percentiles(samples)["p50"]}


def _trigger_in_process(stack: LocalStack, model: str, payload: dict[str, Any], n: int) -> dict[str, Any]:
    """The scoring trigger function called in this process with a built HttpRequest (no host)."""
    import azure.functions as func

    # The trigger reads its settings through functions.deps (the settings loader reads the env).
    os.environ["AzureWebJobsStorage"] = str(stack.connection_string)  # noqa: SIM112 - Azure spelling
    from functions import deps, models_api

    handler = models_api.score._function._func
    body = json.dumps(payload).encode()

    def call() -> None:
        request = func.HttpRequest(
            method="POST", url=f"/api/models/{model}/score", body=body, route_params={"name": model}
        )
        response = handler(request)
        assert response.status_code == 200, response.get_body()

    result = time_calls(call, n)
    deps.server().log.flush()
    return result


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nodelay_probe(requests: int = 40) -> dict[str, float]:
    """p50 ms of a trivial uvicorn app served on a socket made with proto 0 vs IPPROTO_TCP.

    asyncio sets TCP_NODELAY on accepted connections only when the listening socket's proto is
    IPPROTO_TCP; uvicorn writes the response head and body separately, so without it Nagle holds
    the body until the client's delayed ACK (~40 ms on Linux).
    """
    import socket

    return {
        "proto_0_ms": _probe_one(0, requests),
        "proto_ipproto_tcp_ms": _probe_one(socket.IPPROTO_TCP, requests),
    }


def _probe_one(proto: int, requests: int) -> float:
    """p50 ms of GETs to a trivial ASGI app served by uvicorn on a listening socket of ``proto``."""
    import socket
    import threading

    import uvicorn

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        head = [(b"content-type", b"application/json"), (b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": head})
        await send({"type": "http.response.body", "body": b"{}"})

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    try:
        with httpx.Client() as client:
            deadline = time.monotonic() + 10
            while not server.started and time.monotonic() < deadline:
                time.sleep(0.01)
            return time_calls(lambda: client.get(url), requests, warmup=5)["p50"]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


async def open_loop(
    url: str,
    *,
    method: str,
    headers: dict[str, str],
    body: bytes | None,
    rate: float,
    seconds: float,
    pids: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Send at a fixed schedule (i / rate); latency runs from the scheduled time to the response."""
    total = int(rate * seconds)
    latencies: list[float] = []
    server_ms: list[float] = []
    errors: dict[str, int] = {}
    lag: list[float] = []
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
    async with httpx.AsyncClient(timeout=10.0, limits=limits) as client:
        for _ in range(20):  # open some keep-alive connections before the clock starts
            await client.request(method, url, headers=headers, content=body)

        async def one(scheduled: float) -> None:
            try:
                response = await client.request(method, url, headers=headers, content=body)
                done = time.perf_counter()
                if response.status_code >= 400:
                    errors[str(response.status_code)] = errors.get(str(response.status_code), 0) + 1
                    return
                latencies.append((done - scheduled) * 1000)
                if "score_ms" in response.text:
                    server_ms.append(float(response.json()["score_ms"]))
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

        pids = pids or {}
        cpu_before = {name: proc_cpu_s(pid) for name, pid in pids.items()}
        client_before = time.process_time()
        start = time.perf_counter() + 0.05
        tasks = []
        for i in range(total):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            lag.append((time.perf_counter() - scheduled) * 1000)
            tasks.append(asyncio.create_task(one(scheduled)))
        _, late = await asyncio.wait(tasks, timeout=30)
        for task in late:  # bounded: whatever is still pending 30 s after the last send is an error
            task.cancel()
        if late:
            errors["unfinished_after_30s"] = len(late)
        elapsed = time.perf_counter() - start
        cpu = {name: proc_cpu_s(pid) - cpu_before[name] for name, pid in pids.items()}
        cpu["load_client"] = time.process_time() - client_before
    done = max(1, len(latencies))
    return {
        "target_rate": rate,
        "seconds": seconds,
        "sent": total,
        "ok": len(latencies),
        "errors": errors,
        "achieved_rate": round(len(latencies) / elapsed, 1),
        "latency_ms": percentiles(latencies),
        "send_lag_ms": percentiles(lag),
        **({"score_ms_in_host": percentiles(server_ms)} if server_ms else {}),
        "cpu_ms_per_ok_request": {name: round(sec * 1000 / done, 3) for name, sec in cpu.items()},
        "cpu_share_of_wall": {name: round(sec / elapsed, 2) for name, sec in cpu.items()},
    }


WRK_SCRIPT = """
-- POST one scoring row; an optional think time (ms) per connection between requests paces the rate.
local pause = 0
function init(args)
  pause = tonumber(args[1] or "0") or 0
end
function delay()
  return pause
end
wrk.method = "{method}"
wrk.body = {body}
wrk.headers["content-type"] = "application/json"
wrk.headers["x-functions-key"] = "{key}"
"""


def _lua_string(text: str) -> str:
    """A Lua long-bracket string literal holding ``text`` verbatim."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def parse_wrk(text: str) -> dict[str, Any]:
    """Throughput, latency percentiles (ms) and errors from ``wrk --latency`` output."""
    out: dict[str, Any] = {"latency_ms": {}, "errors": {}}
    for pct, value, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M):
        out["latency_ms"][f"p{pct}"] = round(_ms(value, unit), 3)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    out["requests_per_s"] = float(rate.group(1)) if rate else None
    out["requests"] = int(total.group(1)) if total else None
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if bad:
        out["errors"]["non_2xx"] = int(bad.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sock:
        for name, value in zip(("connect", "read", "write", "timeout"), sock.groups(), strict=True):
            if int(value):
                out["errors"][name] = int(value)
    return out


def wrk_run(
    wrk: str,
    url: str,
    script: Path,
    *,
    connections: int,
    seconds: float,
    pause_ms: float = 0.0,
    pids: dict[str, int] | None = None,
) -> dict[str, Any]:
    """One wrk run: closed loop over ``connections`` (each waiting ``pause_ms`` between requests)."""
    threads = max(1, min(connections, 2))
    cmd = [
        wrk,
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds:g}s",
        "--latency",
        "--timeout",
        "5s",
    ]
    cmd += ["-s", str(script), url, "--", f"{pause_ms:g}"]
    pids = pids or {}
    before = {name: proc_cpu_s(pid) for name, pid in pids.items()}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=False)
    result = parse_wrk(done.stdout)
    served = max(1, result.get("requests") or 0)
    result.update(
        {
            "connections": connections,
            "threads": threads,
            "seconds": seconds,
            "pause_ms": pause_ms,
            "cpu_ms_per_request": {
                name: round((proc_cpu_s(pid) - before[name]) * 1000 / served, 3) for name, pid in pids.items()
            },
        }
    )
    if done.returncode != 0:
        result["errors"]["wrk_exit"] = done.returncode
        result["stderr"] = done.stderr[-500:]
    return result


def wrk_loads(
    url: str,
    status_url: str,
    key: str,
    body: bytes,
    *,
    seconds: float,
    rates: list[float],
    pids: dict[str, int],
) -> dict[str, Any]:
    """Closed loop at 1/4/16 connections, the saturation point, and paced rates; or why skipped."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return {"skipped": "wrk is not installed (scripts/bench_env.sh installs it with apt-get)"}
    with tempfile.TemporaryDirectory(prefix="wrk-") as tmp:
        score_lua = Path(tmp) / "score.lua"
        score_lua.write_text(WRK_SCRIPT.format(method="POST", body=_lua_string(body.decode()), key=key))
        status_lua = Path(tmp) / "status.lua"
        status_lua.write_text(WRK_SCRIPT.format(method="GET", body="nil", key=key))
        closed = {
            str(c): wrk_run(wrk, url, score_lua, connections=c, seconds=seconds, pids=pids)
            for c in (1, 4, 16)
        }
        host_only = wrk_run(wrk, status_url, status_lua, connections=4, seconds=seconds, pids=pids)
        paced = {}
        for rate in rates:
            connections = 4
            paced[f"{rate:g}"] = wrk_run(
                wrk, url, score_lua, connections=connections, seconds=seconds,
                pause_ms=connections * 1000.0 / rate, pids=pids,
            )  # fmt: skip
            paced[f"{rate:g}"]["target_rate"] = rate
    best = max(closed.values(), key=lambda r: r.get("requests_per_s") or 0.0)
    return {
        "tool": subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False).stdout.splitlines()[
            0:1
        ],
        "method": "closed loop (each connection sends its next request when the last answered); paced runs "
        "add a fixed think time per connection with Lua delay(), so the offered rate is about "
        "connections / (think time + latency): Debian's wrk has no -R (wrk2's open loop)",
        "closed_loop": closed,
        "host_status_closed_loop_4": host_only,
        "paced": paced,
        "saturation": {
            "requests_per_s": best.get("requests_per_s"),
            "at_connections": best.get("connections"),
            "p99_ms_there": best.get("latency_ms", {}).get("p99"),
        },
    }


def _wrk_target(wrk: dict[str, Any], rate: float) -> dict[str, Any]:
    """The p99 target checked on wrk's paced run at the target rate, when there is one."""
    run = wrk.get("paced", {}).get(f"{rate:g}")
    if not run:
        return {}
    p99 = run.get("latency_ms", {}).get("p99")
    return {"wrk_paced_p99_ms": p99, "wrk_met": p99 is not None and p99 <= TARGET_P99_MS}


def _wrk_summary(wrk: dict[str, Any]) -> dict[str, Any]:
    """Throughput and p50/p99 per wrk run, for the console."""
    if "skipped" in wrk:
        return wrk

    def line(r: dict[str, Any]) -> dict[str, Any]:
        lat = r.get("latency_ms", {})
        return {
            "rps": r.get("requests_per_s"),
            "p50": lat.get("p50"),
            "p99": lat.get("p99"),
            "errors": r.get("errors"),
        }

    return {
        "closed": {c: line(r) for c, r in wrk["closed_loop"].items()},
        "paced": {rate: line(r) for rate, r in wrk["paced"].items()},
        "host_status_c4": line(wrk["host_status_closed_loop_4"]),
        "saturation": wrk["saturation"],
    }


def _explain(
    local: dict[str, Any], light: dict[str, Any], loads: dict[str, Any], probe: dict[str, float]
) -> list[str]:
    """Plain-language attribution of the HTTP latency from the measured parts."""

    def p50(section: dict[str, Any], *keys: str) -> Any:
        for key in keys:
            section = section.get(key, {}) if isinstance(section, dict) else {}
        return section.get("p50") if isinstance(section, dict) else None

    paced = local.get("paced_cpu_cores", {})
    score_cpu = loads["score"].get("cpu_ms_per_ok_request", {})
    status_cpu = loads["host_status"].get("cpu_ms_per_ok_request", {})
    return [
        f"unloaded HTTP p50: score {p50(light, 'score', 'latency_ms')} ms, host status (no function) "
        f"{p50(light, 'host_status', 'latency_ms')} ms, health {p50(light, 'health', 'latency_ms')} ms",
        f"inside the host the scoring itself takes p50 {p50(light, 'score', 'score_ms_in_host')} ms; "
        f"in-process: trigger {p50(local, 'trigger_ms')} ms, score() {p50(local, 'score_ms')} ms, "
        f"onnxruntime session.run {p50(local, 'session_run_ms')} ms",
        f"the same trivial uvicorn app answers in {probe.get('proto_0_ms')} ms when its listening socket "
        f"is made with proto 0 (as devhost.host.listen did before it was fixed) and "
        f"{probe.get('proto_ipproto_tcp_ms')} ms "
        "with IPPROTO_TCP: asyncio then skips TCP_NODELAY on accepted connections, so Nagle + the "
        "client's delayed ACK add ~40 ms to every response",
        "onnxruntime's default session keeps intra-op threads spinning between runs: paced at 20 runs/s it "
        f"uses {_get(paced, 'default_session', 'cpu_cores')} cores vs "
        f"{_get(paced, 'intra_op_num_threads_1', 'cpu_cores')} with intra_op_num_threads=1; in devhost that "
        "spin competes with the GIL-bound event loop, Azurite and the load client for the 2 cores",
        f"CPU per scoring request at {loads['score'].get('target_rate')} req/s offered: {score_cpu} ms "
        f"(host status: {status_cpu} ms); with 2 shared cores this caps the rate the box sustains",
    ]


def settle(pid: int | None, *, quiet_share: float, timeout_s: float) -> float:
    """Wait (bounded) until ``pid`` uses under ``quiet_share`` of a core; seconds waited.

    The run's last steps (and what the deployment starts) keep the host busy for a while after
    the run reads Succeeded; measuring then would charge that work to the first load.
    """
    began = time.monotonic()
    if pid is None:
        return 0.0
    while time.monotonic() - began < timeout_s:
        before = proc_cpu_s(pid)
        time.sleep(1.0)
        if proc_cpu_s(pid) - before < quiet_share:
            break
    return round(time.monotonic() - began, 1)


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _pids(stack: LocalStack) -> dict[str, int]:
    """Process ids whose CPU time each load measures: devhost and (when this stack started it) Azurite."""
    pids = {"devhost": stack.process.pid} if stack.process is not None else {}
    azurite = getattr(getattr(stack, "_azurite", None), "_process", None)  # private: bench-only peek
    if azurite is not None:
        pids["azurite"] = azurite.pid
    return pids


def _machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Deploy, measure, write bench/results/scoring.json."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=200.0, help="open-loop requests per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the scoring load")
    parser.add_argument("--probe-seconds", type=float, default=6.0, help="length of each comparison load")
    parser.add_argument("--wrk-seconds", type=float, default=8.0, help="length of each wrk run")
    parser.add_argument("--wrk-rates", default="100,200,400,800", help="paced wrk rates (req/s)")
    parser.add_argument("--light-rate", type=float, default=20.0, help="rate of the unloaded baseline")
    parser.add_argument("--light-seconds", type=float, default=6.0, help="length of each unloaded baseline")
    parser.add_argument("--calls", type=int, default=2000, help="in-process calls per measurement")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    spec = yaml.safe_load(SPEC.read_text())
    model = spec["name"]
    with tempfile.TemporaryDirectory(prefix="scoring-bench-") as tmp:
        work = Path(tmp)
        stack = LocalStack(
            azurite_workspace=work / "azurite", work_dir=work / "work", log_path=work / "devhost.log"
        )
        with stack:
            began = time.perf_counter()
            run, rows = deploy(stack, spec)
            pipeline_s = time.perf_counter() - began
            keyed = {"x-functions-key": stack.master_key, "content-type": "application/json"}
            body = json.dumps({"rows": [rows[0]]}).encode()
            score_url = f"{stack.url}/api/models/{model}/score"
            endpoints: dict[str, tuple[str, str, dict[str, str], bytes | None]] = {
                "score": (score_url, "POST", keyed, body),
                "host_status": (f"{stack.url}/admin/host/status", "GET", keyed, None),
                "health": (f"{stack.url}/api/health", "GET", {}, None),
            }
            pids = _pids(stack)
            settle_s = settle(pids.get("devhost"), quiet_share=0.1, timeout_s=30.0)

            def load(name: str, rate: float, seconds: float) -> dict[str, Any]:
                url, method, headers, content = endpoints[name]
                return asyncio.run(
                    open_loop(
                        url,
                        method=method,
                        headers=headers,
                        body=content,
                        rate=rate,
                        seconds=seconds,
                        pids=pids,
                    )
                )

            light = {name: load(name, args.light_rate, args.light_seconds) for name in endpoints}
            loads = {
                name: load(name, args.rate, args.seconds if name == "score" else args.probe_seconds)
                for name in endpoints
            }
            settle(pids.get("devhost"), quiet_share=0.1, timeout_s=15.0)  # the log flush after the load
            wrk = wrk_loads(
                score_url,
                f"{stack.url}/admin/host/status",
                stack.master_key,
                body,
                seconds=args.wrk_seconds,
                rates=[float(r) for r in args.wrk_rates.split(",") if r],
                pids=pids,
            )
            local = in_process(stack, model, rows, args.calls)
    probe = nodelay_probe()
    p99 = loads["score"]["latency_ms"].get("p99", float("inf"))
    result: dict[str, Any] = {
        "where_the_time_goes": _explain(local, light, loads, probe),
        "benchmark": "breast-cancer scoring: in-process and HTTP through devhost",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": _machine(),
        "pipeline": {
            "run_id": run["run_id"],
            "status": run["status"],
            "model_version": run.get("model_version"),
            "metrics": run.get("metrics"),
            "seconds_to_deployed": round(pipeline_s, 1),
            "seconds_waited_for_idle_host": settle_s,
        },
        "in_process_batch1": local,
        "http_light_load": light,
        "http_open_loop": loads,
        "http_wrk": wrk,
        "tcp_nodelay_probe_p50_ms": probe,
        "target": {
            "http_p99_ms_max": TARGET_P99_MS,
            "met": p99 <= TARGET_P99_MS,
            **_wrk_target(wrk, args.rate),
        },
        "notes": [
            "percentiles are nearest-rank over every request; in-process numbers are of --calls "
            "sequential calls",
            "2 shared cores: the load generator (httpx, asyncio), devhost and Azurite all run on them, and "
            "other jobs ran alongside; see load_average_at_end",
            "open loop: request i is due at start + i/rate; latency = response time - due time, so a "
            "backlog in the client or the server counts; send_lag_ms is how late the client sent",
            "host_status = devhost HTTP + key check, no function; health = a function invocation that "
            "probes blob/queue/table storage in Azurite (so it is slower than a no-op function)",
            "score_ms_in_host is the score_ms the endpoint reports (validation + onnxruntime inside "
            "the host)",
            "http_light_load: each endpoint at --light-rate for --light-seconds before the loaded runs; "
            "cpu_ms_per_ok_request divides each process's CPU time during a load by its OK requests "
            "(background work of the host included)",
            "the scoring endpoint samples every row into the inference log buffer (written to Azurite as a "
            "Parquet part every 10 s or 50,000 rows)",
            "http_wrk: wrk (C) drives the same endpoint closed loop at 1/4/16 connections and at paced rates "
            "(4 connections, think time 4000/rate ms each); wrk reports p50/p75/p90/p99 with --latency; "
            "saturation = the best closed-loop throughput; http_open_loop (Python client) is kept for "
            "comparison but its client costs ~2 ms CPU per request on the same 2 cores",
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps(
            {
                "in_process": {k: v for k, v in local.items() if k.endswith("_ms")},
                "http": {
                    k: v["latency_ms"] | {"rate": v["achieved_rate"], "errors": v["errors"]}
                    for k, v in loads.items()
                },
                "wrk": _wrk_summary(wrk),
            },
            indent=2,
        )
    )
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)

"""Feedback benchmark: 1,000,000 labels joined to 1,000,000 predictions on the product's own path.

Run from the repository root:

    .venv/bin/python -m bench.feedback_bench [--rows 1000000] [--repeats 3]

Setup (timed separately, not part of the join): a private Azurite (or ``AZURITE_CONNECTION_STRING``),
the breast-cancer example trained in-process and deployed as the pipeline steps do
(``bench.drift_product.deploy``), then one day of predictions written through the serving path's
own writer (``PredictionLogBuffer``: one part per 10,000-row batch, 24 hours of ``--rows`` rows in
total, ids from ``generated_ids``, probabilities drawn from Beta(2, 2)) and a label for every one
of them sent through the feedback intake (``record_feedback``, the function behind
``POST /api/models/{name}/feedback``) in batches of 100,000 (the API's limit), shuffled so each
batch touches every hour, observed two days after the prediction (late labels).

Timed, each run in a fresh child process: ``shared.steps.feedback.joined_window`` over the day
(list + download + read both logs hour by hour, keep the newest label per id, join), and when the
model-quality monitor exists, ``shared.steps.monitoring_quality.run_quality_check`` on the same
day (join + metrics + label-free estimate + record). Peak RSS is the child's own high-water mark
(``VmHWM`` read at the end of the step, imports included): ``os.wait4``'s figure counts the pages the
child inherited from this parent before ``exec`` (the parent holds the day's ids), so it is not used.
Limits next to them, same parts: download alone, and polars reading the downloaded
parts and joining them in memory.

Writes bench/results/feedback.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "feedback.json"
FIRST_HOUR = datetime(2026, 1, 5, 0, tzinfo=UTC)
HOURS = 24
PART_ROWS = 10_000
FEEDBACK_BATCH = 100_000


def _rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_predictions(storage: Any, model: str, version: str, rows: int) -> dict[str, Any]:
    """``rows`` predictions over 24 hours through the serving writer; their ids and true labels."""
    from shared.steps.prediction_ids import generated_ids
    from shared.steps.prediction_log import PredictionLogBuffer

    rng = np.random.default_rng(13)
    writer = PredictionLogBuffer(storage, background=False)
    ids: list[str] = []
    labels: list[np.ndarray[Any, Any]] = []
    hour_of_row: list[int] = []
    began = time.perf_counter()
    per_hour = rows // HOURS
    for h in range(HOURS):
        count = per_hour + (1 if h < rows % HOURS else 0)
        for start in range(0, count, PART_ROWS):
            n = min(PART_ROWS, count - start)
            at = FIRST_HOUR + timedelta(hours=h, seconds=3600 * start / max(count, 1))
            batch = generated_ids(at, n)
            p1 = rng.beta(2.0, 2.0, n)
            probs = np.column_stack([1 - p1, p1])
            writer.add(
                model, version, at, batch, classes=[0, 1], class_index=(p1 > 0.5).astype(np.int64),
                probabilities=probs,
            )  # fmt: skip
            ids.extend(batch)
            labels.append((rng.random(n) < p1).astype(np.int64))  # calibrated: P(label 1) = p1
            hour_of_row.extend([h] * n)
    return {
        "ids": ids,
        "labels": np.concatenate(labels),
        "hours": np.array(hour_of_row),
        "write_s": round(time.perf_counter() - began, 2),
    }


def send_feedback(storage: Any, model: str, written: dict[str, Any]) -> dict[str, Any]:
    """A label for every prediction through the feedback intake, 100,000 rows per request."""
    from shared.steps.feedback_intake import record_feedback

    rng = np.random.default_rng(7)
    order = rng.permutation(len(written["ids"]))
    ids, labels, hours = written["ids"], written["labels"], written["hours"]
    stored = 0
    seconds: list[float] = []
    for start in range(0, len(order), FEEDBACK_BATCH):
        chunk = order[start : start + FEEDBACK_BATCH]
        rows = [
            {
                "id": ids[i],
                "label": int(labels[i]),
                "observed_at": (FIRST_HOUR + timedelta(days=2, hours=int(hours[i]))).isoformat(),
            }
            for i in chunk
        ]
        began = time.perf_counter()
        answer = record_feedback(storage, model, rows)
        seconds.append(time.perf_counter() - began)
        stored += answer["stored"]
    return {
        "rows": len(order),
        "stored": stored,
        "requests": len(seconds),
        "request_s_median": round(statistics.median(seconds), 3),
        "total_s": round(sum(seconds), 2),
        "rows_per_s": round(len(order) / sum(seconds)),
    }


def _storage(connection: str) -> Any:
    from shared.settings import load_settings
    from shared.storage.factory import Storage

    return Storage.from_settings(load_settings(environ={"AzureWebJobsStorage": connection}))


def join_step(connection: str, model: str) -> dict[str, Any]:
    """One ``joined_window`` of the day (in a fresh process)."""
    import polars as pl

    from shared.steps.feedback import joined_window

    storage = _storage(connection)
    rss_before = _rss_mb()
    cpu, began = time.process_time(), time.perf_counter()
    frame = joined_window(storage, model, FIRST_HOUR, FIRST_HOUR + timedelta(hours=HOURS))
    seconds = time.perf_counter() - began
    return {
        "seconds": seconds,
        "cpu_s": time.process_time() - cpu,
        "rss_before_mb": round(rss_before, 1),
        "rows": frame.height,
        "labelled": int(frame["label"].is_not_null().sum()),
        "accuracy": float(frame.select((pl.col("label") == pl.col("prediction")).mean()).item() or 0.0),
        "columns": frame.columns,
        "frame_mb": round(frame.estimated_size() / 2**20, 1),
        "peak_rss_self_mb": round(_rss_mb("VmHWM"), 1),
        "polars": pl.__version__,
    }


def quality_step(connection: str, model: str) -> dict[str, Any]:
    """One model-quality check of the day, as the monitor runs it (in a fresh process)."""
    from shared.steps.current_spec import current_specs
    from shared.steps.monitoring_quality import run_quality_check

    storage = _storage(connection)
    spec = current_specs(storage)[model]
    until = FIRST_HOUR + timedelta(hours=HOURS)
    rss_before = _rss_mb()
    cpu, began = time.process_time(), time.perf_counter()
    result = run_quality_check(storage, spec, model, until, f"{until:%Y-%m-%dT%H}")
    seconds = time.perf_counter() - began
    return {
        "seconds": seconds,
        "cpu_s": time.process_time() - cpu,
        "rss_before_mb": round(rss_before, 1),
        "status": result.get("status"),
        "rows": result.get("rows"),
        "labeled": result.get("labeled"),
        "metrics": result.get("metrics"),
        "estimate": result.get("estimate"),
        "peak_rss_self_mb": round(_rss_mb("VmHWM"), 1),
    }


def limits(connection: str, model: str) -> dict[str, Any]:
    """The same parts without our code: download alone, then polars reading + joining them in memory."""
    import io
    from concurrent.futures import ThreadPoolExecutor

    import polars as pl

    from shared.steps.prediction_log import part_names

    storage = _storage(connection)
    hours = [FIRST_HOUR + timedelta(hours=h) for h in range(HOURS)]
    began = time.perf_counter()
    fetched: dict[str, list[bytes]] = {}
    for container in ("predictions", "feedback"):
        names = [n for h in hours for n in part_names(storage, container, model, h)]
        client = storage.clients.blob.get_container_client(container)

        def get(name: str, client: Any = client) -> bytes:
            return bytes(client.get_blob_client(name).download_blob().readall())

        with ThreadPoolExecutor(4) as pool:
            fetched[container] = list(pool.map(get, names))
    download_s = time.perf_counter() - began
    began = time.perf_counter()
    predictions = pl.concat([pl.read_parquet(io.BytesIO(b)) for b in fetched["predictions"]])
    feedback = pl.concat([pl.read_parquet(io.BytesIO(b)) for b in fetched["feedback"]])
    read_s = time.perf_counter() - began
    began = time.perf_counter()
    joined = predictions.join(feedback.select("id", "label", "observed_at"), on="id", how="left")
    join_s = time.perf_counter() - began
    return {
        "list_download_s": round(download_s, 3),
        "polars_read_s": round(read_s, 3),
        "polars_join_s": round(join_s, 3),
        "rows": joined.height,
        "parts": {k: len(v) for k, v in fetched.items()},
        "bytes": {k: sum(len(b) for b in v) for k, v in fetched.items()},
    }


def _child(args: list[str]) -> tuple[dict[str, Any], float]:
    """This module with ``args`` in a fresh interpreter: its JSON answer and wall seconds."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.feedback_bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {args[:1]} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), time.perf_counter() - began


def _timed(mode: str, connection: str, model: str, repeats: int) -> dict[str, Any]:
    runs = [_child([mode, connection, model]) for _ in range(repeats)]
    last = runs[-1][0]
    return {
        "runs_s": [round(r[0]["seconds"], 3) for r in runs],
        "median_s": round(statistics.median(r[0]["seconds"] for r in runs), 3),
        "cpu_s_median": round(statistics.median(r[0]["cpu_s"] for r in runs), 3),
        "peak_rss_mb": max(r[0]["peak_rss_self_mb"] for r in runs),
        "rss_before_mb": last["rss_before_mb"],
        "child_wall_with_imports_s": round(statistics.median(r[1] for r in runs), 2),
        **{
            k: v
            for k, v in last.items()
            if k not in ("seconds", "cpu_s", "rss_before_mb", "peak_rss_self_mb")
        },
    }


def _quality_available() -> bool:
    try:
        from shared.steps import monitoring_quality  # noqa: F401
    except ImportError:
        return False
    return True


def run(rows: int, repeats: int) -> dict[str, Any]:
    """Azurite, the model, the day of predictions and labels; then the timed children."""
    from bench.drift_product import deploy
    from devhost.azurite import Azurite

    with tempfile.TemporaryDirectory(prefix="feedback-bench-") as tmp:
        work = Path(tmp)
        connection = os.environ.get("AZURITE_CONNECTION_STRING")
        azurite = None
        if not connection:
            azurite = Azurite(workspace=work / "azurite", log_path=work / "azurite.log")
            connection = azurite.start().connection_string
        try:
            storage = _storage(connection)
            spec, record, _ = deploy(storage, work / "train")
            written = write_predictions(storage, spec.name, record.version, rows)
            sent = send_feedback(storage, spec.name, written)
            out: dict[str, Any] = {
                "model": spec.name,
                "predictions": {
                    "rows": rows,
                    "hours": HOURS,
                    "part_rows": PART_ROWS,
                    "write_s": written["write_s"],
                },
                "feedback_intake": sent,
                "joined_window": _timed("--join", connection, spec.name, repeats),
                "limits": _child(["--limits", connection, spec.name])[0],
            }
            if _quality_available():
                out["quality_check"] = _timed("--quality", connection, spec.name, repeats)
            else:
                out["quality_check"] = {"not_run": "shared.steps.monitoring_quality is not there"}
            return out
        finally:
            if azurite is not None:
                azurite.stop()


def main(argv: list[str] | None = None) -> int:
    """Parent mode writes bench/results/feedback.json; --join / --quality / --limits are its children."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    for mode in ("--join", "--quality", "--limits"):
        parser.add_argument(mode, nargs=2, metavar=("CONN", "MODEL"))
    args = parser.parse_args(argv)
    for mode, fn in (("join", join_step), ("quality", quality_step), ("limits", limits)):
        values = getattr(args, mode)
        if values:
            print(json.dumps(fn(*values), default=str))
            return 0
    began = time.perf_counter()
    result = {
        "command": f"python -m bench.feedback_bench --rows {args.rows} --repeats {args.repeats}",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **run(args.rows, args.repeats),
        "bench_wall_s": None,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    result["bench_wall_s"] = round(time.perf_counter() - began, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The drift check on the product's own path: log parts in Blob (Azurite) -> drift report row.

Run by ``bench.drift_bench`` under the project's interpreter (the bench venv has no Azure SDK):

    .venv/bin/python -m bench.drift_product --rows 250000,1000000 --repeats 3
    .venv/bin/python -m bench.drift_product --rows 250000,1000000,4000000 --repeats 1 \
        --out bench/results/drift_scaling.json      # the scaling row (~7 minutes)

Setup (not timed): a private Azurite, the breast-cancer example trained in-process and deployed as
the pipeline steps do, its drift reference built; then, per size, a window of inference log written
through the serving path's own writer (``InferenceLogBuffer``, one part per ``--part-rows`` rows,
i.e. what a 10 s flush holds at ``--part-rows``/10 requests/s): rows resampled from the dataset with
noise, five features shifted, predictions from the deployed ONNX model.

Timed, each run in a fresh child process (``--step``): the product's drift step
``shared.steps.monitoring.run_drift_check`` for the window, as the drift timer calls it (list the
window's parts, download, scan, test, write JSON + HTML reports, the drift row and the retrain
decision). The parent reads the child's peak RSS with ``os.wait4``; the child reports the step's wall
time and its RSS before the step (imports). Limits next to it, same parts: listing + downloading the
bytes alone (what Azurite can serve), and polars reading the downloaded parts.
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
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "breast_cancer.yaml"
FIRST_HOUR = datetime(2026, 1, 5, 0, tzinfo=UTC)
SHIFTED = ["mean radius", "mean texture", "worst area", "worst smoothness", "mean concavity"]


def _rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _storage(connection: str, work: Path) -> Any:
    from shared.settings import load_settings
    from shared.storage.factory import Storage

    settings = load_settings(environ={"AzureWebJobsStorage": connection, "MLOPS_WORK_DIR": str(work)})
    return Storage.from_settings(settings)


def deploy(storage: Any, work: Path) -> tuple[Any, Any, dict[str, Any]]:
    """Train the breast-cancer example in-process and deploy it the way the pipeline's steps do."""
    from shared.pipeline.spec import load_spec_file
    from shared.steps import datasets, models, monitoring, pipelines
    from shared.steps.training import trainer_config
    from shared.training.folder import write_job_folder
    from shared.training.job import run_job
    from shared.training.spec import JobSpec

    spec = load_spec_file(SPEC)
    storage.ensure_all()
    pipelines.register_spec(storage, spec)
    dataset = datasets.validate(storage, spec, datasets.ingest(storage, spec)["version"])
    frames = {s: datasets.read_frame(storage, blob) for s, blob in dataset["splits"].items()}
    features = [c for c in frames["train"].columns if c != spec.target]
    job = JobSpec(
        target=spec.target,
        task=spec.task,
        features=features,
        trainer=trainer_config(spec),
        seed=spec.split.seed,
    )
    write_job_folder(work / "job", job, frames["train"], frames["validation"])
    result = run_job(work / "job", work / "out")
    ref = storage.blobs.put_file("models", f"candidates/{spec.name}/model.onnx", work / "out" / "model.onnx")
    candidate = {
        "blob": ref.name,
        "sha256": ref.sha256,
        "signature": {"sha256": result.sha256, **result.signature.model_dump(mode="json")},
        "metrics": {},
    }
    run_id = f"{spec.name}-bench"
    summary = models.register(storage, spec, run_id, dataset, candidate, {"metrics": {}})
    models.deploy(storage, spec, run_id, summary)
    record = models.champion_of(storage, spec.name, spec.deployment.alias)
    monitoring.build_drift_reference(storage, spec, record, dataset["splits"])
    pool = pl.concat([f.select(features) for f in frames.values()])
    return spec, record, {"features": features, "pool": pool}


def write_window(
    storage: Any, spec: Any, record: Any, setup: dict[str, Any], hour: datetime, rows: int, part_rows: int
) -> dict[str, Any]:
    """``rows`` log rows in ``hour`` through the serving path's writer; returns what was written."""
    from shared.steps.inference_log import InferenceLogBuffer, list_parts, prediction_column
    from shared.steps.models import load_version
    from shared.steps.monitoring_frames import with_predictions

    features: list[str] = setup["features"]
    pool: pl.DataFrame = setup["pool"]
    loaded = load_version(storage, record)
    prediction = prediction_column(features)
    rng = np.random.default_rng(rows)
    writer = InferenceLogBuffer(storage, background=False)
    began = time.perf_counter()
    for start in range(0, rows, part_rows):
        n = min(part_rows, rows - start)
        sample = pool[rng.integers(0, pool.height, n)]
        noise = rng.normal(1.0, 0.03, (n, len(features)))
        matrix = (sample.to_numpy() * noise).astype(np.float32)
        for name in SHIFTED:
            matrix[:, features.index(name)] *= 1.4
        scored = with_predictions(loaded, pl.DataFrame(matrix, schema=features, orient="row"), features)
        at = hour + timedelta(seconds=3600 * start / rows)
        writer.add(spec.name, record.version, features, prediction, matrix, scored[prediction].to_list(), at)
    parts = list_parts(storage, spec.name, hour, hour + timedelta(hours=1))
    sizes = [
        storage.clients.blob.get_blob_client("inference-logs", p.name).get_blob_properties().size
        for p in parts
    ]
    return {"write_s": round(time.perf_counter() - began, 2), "parts": len(parts), "bytes": int(sum(sizes))}


def step(connection: str, work: Path, model: str, hour: datetime) -> dict[str, Any]:
    """One drift check of the window as the drift timer runs it (in a fresh process)."""
    from shared.steps import monitoring
    from shared.steps.current_spec import current_specs

    storage = _storage(connection, work)
    spec = current_specs(storage)[model]  # the timer's own lookup, before it calls the step
    rss_before = _rss_mb()
    cpu = time.process_time()
    began = time.perf_counter()
    result = monitoring.run_drift_check(
        storage, spec, model, hour, hour + timedelta(hours=1), f"{hour:%Y-%m-%dT%H}"
    )
    seconds = time.perf_counter() - began
    return {
        "seconds": seconds,
        "cpu_s": time.process_time() - cpu,
        "rss_before_step_mb": round(rss_before, 1),
        "peak_rss_self_mb": round(_rss_mb("VmHWM"), 1),
        "status": result["status"],
        "rows": result["rows"],
        "drifted_share": result["drifted_share"],
    }


def breakdown(connection: str, work: Path, model: str, hour: datetime) -> dict[str, Any]:
    """One more step with its phases timed (wrapped, so not counted in the timed runs)."""
    import resource

    from shared.steps import inference_log, monitoring
    from shared.steps.current_spec import current_specs

    phases: dict[str, float] = {}

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - began

        return wrapper

    window = inference_log.LogWindow
    window._open = timed("list_download_count", window._open)  # type: ignore[method-assign]
    window.read = timed("scan_columns", window.read)  # type: ignore[method-assign]
    monitoring.compute_drift = timed("drift_tests_incl_scan", monitoring.compute_drift)
    storage = _storage(connection, work)
    spec = current_specs(storage)[model]
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    began = time.perf_counter()
    monitoring.run_drift_check(storage, spec, model, hour, hour + timedelta(hours=1), f"{hour:%Y-%m-%dT%H}")
    total = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_SELF)
    phases["drift_tests"] = phases.pop("drift_tests_incl_scan") - phases.get("scan_columns", 0.0)
    rest = total - sum(phases.values())
    return {
        "phases": {
            "total_s": round(total, 3),
            "cpu_s": round(after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime, 3),
            **{k: round(v, 3) for k, v in phases.items()},
            "reference_reports_row_retrain_s": round(rest, 3),
        },
        "limits": limits(connection, work, model, hour),  # same process: one interpreter start fewer
    }


def limits(connection: str, work: Path, model: str, hour: datetime) -> dict[str, Any]:
    """What the same parts cost without our code: list + download bytes, then polars reading them."""
    from concurrent.futures import ThreadPoolExecutor

    from shared.steps.inference_log import LOG_CONTAINER, list_parts

    storage = _storage(connection, work)
    container = storage.clients.blob.get_container_client(LOG_CONTAINER)
    began = time.perf_counter()
    parts = list_parts(storage, model, hour, hour + timedelta(hours=1))
    with ThreadPoolExecutor(4) as pool:
        blobs = list(pool.map(lambda p: container.get_blob_client(p.name).download_blob().readall(), parts))
    download_s = time.perf_counter() - began
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        paths = []
        for i, data in enumerate(blobs):
            path = Path(tmp) / f"{i}.parquet"
            path.write_bytes(data)
            paths.append(path)
        del blobs
        began = time.perf_counter()
        frame = pl.read_parquet(paths)
        read_s = time.perf_counter() - began
    return {"list_download_s": download_s, "polars_read_parts_s": read_s, "rows": frame.height}


def _child(args: list[str]) -> tuple[dict[str, Any], float, float]:
    """Run this module with ``args`` in a fresh interpreter: its JSON answer, wall s, peak RSS MB."""
    began = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.drift_product", *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - began
    if status != 0:
        raise RuntimeError(f"child {args[:2]} failed with status {status}")
    return json.loads(out.strip().splitlines()[-1]), wall, usage.ru_maxrss / 1024


def run(sizes: list[int], repeats: int, part_rows: int) -> dict[str, Any]:
    """Set up Azurite, the model and one window per size; time the step per size."""
    from devhost.azurite import Azurite

    with tempfile.TemporaryDirectory(prefix="drift-product-") as tmp:
        work = Path(tmp)
        connection = os.environ.get("AZURITE_CONNECTION_STRING")
        azurite = None
        if not connection:
            azurite = Azurite(workspace=work / "azurite", log_path=work / "azurite.log")
            connection = azurite.start().connection_string
        try:
            storage = _storage(connection, work)
            began = time.perf_counter()
            spec, record, setup = deploy(storage, work / "train")
            out: dict[str, Any] = {
                "model": spec.name,
                "features": len(setup["features"]),
                "reference_rows": None,
                "deploy_s": round(time.perf_counter() - began, 1),
                "part_rows": part_rows,
                "sizes": [],
            }
            for k, rows in enumerate(sizes):
                hour = FIRST_HOUR + timedelta(hours=k)
                written = write_window(storage, spec, record, setup, hour, rows, part_rows)
                args = [connection, str(work), spec.name, hour.isoformat()]
                runs = [_child(["--step", *args]) for _ in range(repeats)]
                measured = _child(["--breakdown", *args])[0]
                limit, phases = measured["limits"], measured["phases"]
                step_s = statistics.median(r[0]["seconds"] for r in runs)
                peak = max(r[2] for r in runs)
                out["sizes"].append(
                    {
                        "rows": rows,
                        "written": written,
                        "runs_s": [round(r[0]["seconds"], 3) for r in runs],
                        "median_s": round(step_s, 3),
                        "cpu_s_median": round(statistics.median(r[0]["cpu_s"] for r in runs), 3),
                        "child_wall_with_imports_s": round(statistics.median(r[1] for r in runs), 2),
                        "peak_rss_mb": round(peak, 1),
                        "rss_before_step_mb": runs[0][0]["rss_before_step_mb"],
                        "status": runs[-1][0]["status"],
                        "rows_checked": runs[-1][0]["rows"],
                        "drifted_share": runs[-1][0]["drifted_share"],
                        "limits": {k2: round(v, 3) if isinstance(v, float) else v for k2, v in limit.items()},
                        "ratio_vs_download": round(step_s / limit["list_download_s"], 2),
                        "breakdown_one_run": phases,
                        "goal": {
                            "seconds_max": 3.0,
                            "peak_rss_mb_max": 1024,
                            "met_time": step_s < 3.0,
                            "met_rss": peak <= 1024,
                        },
                    }
                )
            out["reference_rows"] = _reference_rows(storage, spec.name, record.version)
            return out
        finally:
            if azurite is not None:
                azurite.stop()


def _reference_rows(storage: Any, model: str, version: str) -> int:
    from shared.monitoring import ReferenceProfile
    from shared.steps.monitoring import PROFILES, reference_blob_name

    return ReferenceProfile.from_json(
        storage.blobs.get_bytes(PROFILES, reference_blob_name(model, version))
    ).n_rows


def main(argv: list[str] | None = None) -> int:
    """Parent mode prints the product-path section as JSON; --step / --breakdown are its children."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows", default="1000000", help="comma-separated window sizes (250000,1000000,4000000)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--part-rows", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--step", nargs=4, metavar=("CONN", "WORK", "MODEL", "HOUR"))
    parser.add_argument("--breakdown", nargs=4, metavar=("CONN", "WORK", "MODEL", "HOUR"))
    args = parser.parse_args(argv)
    for mode, fn in (("step", step), ("breakdown", breakdown)):
        values = getattr(args, mode)
        if values:
            conn, work, model, hour = values
            print(json.dumps(fn(conn, Path(work), model, datetime.fromisoformat(hour))))
            return 0
    sizes = [int(x) for x in args.rows.split(",") if x]
    result = {
        "command": f"python -m bench.drift_product --rows {args.rows} --repeats {args.repeats}",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **run(sizes, args.repeats, args.part_rows),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

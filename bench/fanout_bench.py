"""Fan-out ingest (issue 16 item 4): the parts' activities in worker processes against Azurite.

Each activity of the fan-out (plan, a survey per part, the survey merge, typing + validation per
part, the final merge) runs as the Durable worker runs it: its step function in a fresh
interpreter, so its peak RSS (VmHWM) is the activity's own. Per-part activities run ``--workers``
at a time (the instances Flex Consumption would start); the wall time is the fan-out's, from the
plan's start to the merge's end. In the same run, on the same blob, the single-activity path
(ingest, then validate) for comparison, and a check that both give the same version and counts.

``python -m bench.fanout_bench [--rows 4000000] [--parts 4] [--workers 2]``; the CSV is the
ingest bench's (bench/ingest_bench.py, cached under the temp dir). Writes bench/results/fanout.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def _settings(connection: str) -> Any:
    from shared.settings import load_settings

    return load_settings(environ={"AzureWebJobsStorage": connection})


def _spec(name: str, blob: str, parts: int | None) -> Any:
    from bench.ingest_product import spec_for
    from shared.pipeline.spec import load_spec

    body = spec_for(name, blob).model_dump(mode="json", exclude_none=True)
    if parts:
        body["ingest"] = {"parts": parts}
    return load_spec(body)


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def activity(kind: str, connection: str, name: str, blob: str, parts: int, payload: dict[str, Any]) -> Any:
    """One activity's step in this process (the child), as functions/activities.py calls it."""
    from shared.contracts import DatasetPlan, PartOutput, PartSurvey, PartTyping
    from shared.steps import dataset_merge, dataset_parts, datasets
    from shared.storage.factory import Storage

    settings = _settings(connection)
    storage = Storage.from_settings(settings)
    spec = _spec(name, blob, parts)
    plan = DatasetPlan.model_validate(payload["plan"]) if "plan" in payload else None
    typing = PartTyping.model_validate(payload["typing"]) if "typing" in payload else None
    if kind == "plan":
        return dataset_parts.plan(storage, spec, settings)
    if kind == "single_ingest":
        return datasets.ingest(storage, spec, settings)
    if kind == "single_validate":
        return datasets.validate(storage, spec, payload["version"])
    assert plan is not None
    if kind == "survey":
        return dataset_parts.survey_part(storage, spec, plan, payload["index"], settings)
    if kind == "merge_surveys":
        surveys = [PartSurvey.model_validate(s) for s in payload["surveys"]]
        return dataset_merge.merge_surveys(storage, spec, plan, surveys)
    assert typing is not None
    if kind == "part":
        return dataset_parts.process_part(storage, spec, plan, typing, payload["index"], settings)
    if kind == "merge":
        outputs = [PartOutput.model_validate(p) for p in payload["parts"]]
        return dataset_merge.merge_parts(storage, spec, plan, typing, outputs)
    raise SystemExit(f"unknown activity {kind}")


def _child(
    kind: str, connection: str, name: str, blob: str, parts: int, payload: dict[str, Any]
) -> dict[str, Any]:
    """One activity in a fresh interpreter: its answer, seconds, CPU seconds and peak RSS."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(payload, handle)
    began = time.perf_counter()
    args = ["--activity", kind, connection, name, blob, str(parts), handle.name]
    done = subprocess.run(
        [sys.executable, "-m", "bench.fanout_bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    os.unlink(handle.name)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} failed: {done.stderr[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["wall_s"] = round(time.perf_counter() - began, 2)
    return out


def _pool(workers: int, jobs: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda job: _child(*job), jobs))


def _summary(step: dict[str, Any]) -> dict[str, Any]:
    return {k: step[k] for k in ("wall_s", "seconds", "cpu_s", "peak_rss_mb")}


def run(connection: str, path: Path, parts: int, workers: int) -> dict[str, Any]:
    """Upload the CSV, run the fan-out then the single path on it; timings, RSS and agreement."""
    from shared.storage.factory import Storage

    storage = Storage.from_settings(_settings(connection))
    storage.ensure_all()
    blob = f"bench/{path.name}"
    began = time.perf_counter()
    storage.blobs.put_file("data", blob, path)
    upload_s = time.perf_counter() - began
    tag = time.time_ns()
    fan, single = f"fan-{tag}", f"one-{tag}"

    began = time.perf_counter()
    plan = _child("plan", connection, fan, blob, parts, {})
    assert plan["answer"]["fan_out"], plan["answer"]["reason"]
    n = len(plan["answer"]["parts"])
    with_plan = {"plan": plan["answer"]}
    surveys = _pool(
        workers, [("survey", connection, fan, blob, parts, {**with_plan, "index": i}) for i in range(n)]
    )
    merging = {**with_plan, "surveys": [s["answer"] for s in surveys]}
    typing = _child("merge_surveys", connection, fan, blob, parts, merging)
    with_typing = {**with_plan, "typing": typing["answer"]}
    jobs = [("part", connection, fan, blob, parts, {**with_typing, "index": i}) for i in range(n)]
    typed = _pool(workers, jobs)
    merged = _child(
        "merge", connection, fan, blob, parts, {**with_typing, "parts": [t["answer"] for t in typed]}
    )
    fan_wall = time.perf_counter() - began

    began = time.perf_counter()
    ingest = _child("single_ingest", connection, single, blob, 0, {})
    version = {"version": ingest["answer"]["version"]}
    validate = _child("single_validate", connection, single, blob, 0, version)
    single_wall = time.perf_counter() - began

    steps = [plan, *surveys, typing, *typed, merged]
    a, b = merged["answer"], validate["answer"]
    keys = ("version", "rows_read", "rows_accepted", "rows_quarantined", "split_rows", "failures")
    return {
        "bytes": path.stat().st_size,
        "upload_s": round(upload_s, 1),
        "parts": n,
        "workers": workers,
        "fan_out": {
            "wall_s": round(fan_wall, 1),
            "cpu_s": round(sum(s["cpu_s"] for s in steps), 1),
            "peak_rss_mb_max": round(max(s["peak_rss_mb"] for s in steps)),
            "plan": _summary(plan),
            "surveys": [_summary(s) for s in surveys],
            "merge_surveys": _summary(typing),
            "parts": [_summary(t) for t in typed],
            "merge": _summary(merged),
        },
        "single": {
            "wall_s": round(single_wall, 1),
            "cpu_s": round(ingest["cpu_s"] + validate["cpu_s"], 1),
            "ingest": _summary(ingest),
            "validate": _summary(validate),
        },
        "speedup_wall": round(single_wall / fan_wall, 2),
        "same_result": {k: a[k] == b[k] for k in keys},
        "rows_read": a["rows_read"],
        "rows_accepted": a["rows_accepted"],
        "rows_quarantined": a["rows_quarantined"],
    }


def _child_main(argv: list[str]) -> None:
    kind, connection, name, blob, parts, payload_path = argv
    payload = json.loads(Path(payload_path).read_text())
    began = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    answer = activity(kind, connection, name, blob, int(parts), payload)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    seconds = round(time.perf_counter() - began, 2)
    print(
        json.dumps(
            {"answer": answer, "seconds": seconds, "cpu_s": round(cpu, 2), "peak_rss_mb": round(_peak_mb())}
        )
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the fan-out bench against a private Azurite and write bench/results/fanout.json."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--activity":
        _child_main(argv[1:])
        return {}
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--parts", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "durable-mlops-bench")
    parser.add_argument("--out", type=Path, default=RESULTS / "fanout.json")
    args = parser.parse_args(argv)
    from bench.ingest_bench import scaled_csv
    from devhost.azurite import Azurite

    path = scaled_csv(args.cache_dir, args.rows)
    with tempfile.TemporaryDirectory(prefix="fanout-bench-") as tmp:
        azurite = Azurite(workspace=Path(tmp) / "azurite", log_path=Path(tmp) / "azurite.log")
        connection = azurite.start().connection_string
        try:
            result = run(connection, path, args.parts, args.workers)
        finally:
            azurite.stop()
    report = {
        "benchmark": "fan-out ingest + validate (an activity per part) vs the single-activity path",
        "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ"),
        "command": f"python -m bench.fanout_bench --rows {args.rows} --parts {args.parts} "
        f"--workers {args.workers}",
        "machine": {"cpus": os.cpu_count(), "load_average": [round(x, 1) for x in os.getloadavg()]},
        "data": "bench/ingest_bench.py's CSV: 50 columns + target, injected bad values, 10 ragged records",
        "rows": args.rows,
        "result": result,
    }
    existing: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    existing[str(args.rows)] = report
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(existing, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()

"""Ingest + validate on the product's own path: the step functions against Azurite, one child each.

Each step runs in a fresh interpreter (``--step ingest|validate``), so its peak RSS (getrusage of
the child, via wait4) is the activity's own; the parent uploads the CSV to a private Azurite
(streamed, not timed). Next to it, in one run and on the same file: polars' own typed
``read_csv`` plus the same checks (the library limit), also in a child with its peak RSS.
Used by bench/ingest_bench.py (``--product``); the generated CSVs are cached and reused.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _storage(connection: str) -> Any:
    from shared.settings import load_settings
    from shared.storage.factory import Storage

    return Storage.from_settings(load_settings(environ={"AzureWebJobsStorage": connection}))


def spec_for(name: str, blob: str) -> Any:
    """The pipeline spec the steps run with: the bench's expectations, types inferred."""
    from bench.ingest_bench import EXPECTATIONS
    from shared.pipeline.spec import load_spec

    return load_spec(
        {
            "name": name,
            "source": f"blob:data/{blob}",
            "target": "target",
            "task": "classification",
            "trainer": {"kind": "sklearn", "model": "logistic_regression"},
            "compute": {"kind": "local"},
            "reject_threshold": 0.05,
            "expectations": {"columns": EXPECTATIONS, "min_rows": 1},
        }
    )


def step(kind: str, connection: str, name: str, blob: str, version: str) -> dict[str, Any]:
    """One step in this process (the child): its seconds and answer."""
    from shared.steps import datasets

    storage = _storage(connection)
    spec = spec_for(name, blob)
    began = time.perf_counter()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    ingesting = kind == "ingest"
    answer = datasets.ingest(storage, spec) if ingesting else datasets.validate(storage, spec, version)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "seconds": time.perf_counter() - began,
        "cpu_s": after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime,
        "version": answer["version"],
        "rows_read": answer["rows_read"],
        "rows_accepted": answer["rows_accepted"],
        "rows_quarantined": answer["rows_quarantined"],
        "rejected": answer["rejected"],
        "reused": answer["reused"],
    }


def polars_limit(path: str) -> dict[str, Any]:
    """polars' own typed read_csv (declared dtypes, bad values to null) + the same checks, counted."""
    import polars as pl

    from bench.ingest_bench import EXPECTATIONS, column_types

    dtypes = {"float": pl.Float64, "int": pl.Int64, "category": pl.String}
    schema = {c: dtypes[k] for c, k in column_types().items()}
    began = time.perf_counter()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    frame = pl.read_csv(path, schema_overrides=schema, ignore_errors=True, truncate_ragged_lines=True)
    read_s = time.perf_counter() - began
    masks = []
    for name, rule in EXPECTATIONS.items():
        c = pl.col(name)
        if rule.get("not_null"):
            masks.append(c.is_null())
        if "min" in rule:
            masks.append(c < rule["min"])
        if "max" in rule:
            masks.append(c > rule["max"])
        if "allowed" in rule:
            masks.append(c.is_not_null() & ~c.is_in(rule["allowed"]))
    failed = frame.select(pl.any_horizontal(m.fill_null(False) for m in masks).sum()).item()
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "cpu_s": cpu_s, "read_s": read_s, "rows": frame.height, "failed": failed}


def _child(args: list[str]) -> tuple[dict[str, Any], float]:
    """This module with ``args`` in a fresh interpreter: its JSON answer and its own peak RSS (MB)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.ingest_product", *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise RuntimeError(f"child {args[:1]} failed with status {status}")
    del usage  # ru_maxrss would include this parent's RSS at fork; the child reports VmHWM
    answer = json.loads(out.strip().splitlines()[-1])
    return answer, float(answer.pop("peak_rss_mb"))


def run_size(connection: str, path: Path, tag: str) -> dict[str, Any]:
    """Upload ``path``, then ingest and validate it in children; polars' limit on the same file."""
    storage = _storage(connection)
    storage.ensure_all()
    blob = f"bench/{path.name}"
    began = time.perf_counter()
    storage.blobs.put_file("data", blob, path)
    upload_s = time.perf_counter() - began
    name = f"bench-{tag}"
    ingest, ingest_rss = _child(["--step", "ingest", connection, name, blob, ""])
    validate, validate_rss = _child(["--step", "validate", connection, name, blob, ingest["version"]])
    limit, limit_rss = _child(["--polars", str(path)])
    product_s = ingest["seconds"] + validate["seconds"]
    return {
        "bytes": path.stat().st_size,
        "upload_s": round(upload_s, 2),
        "ingest": {**_rounded(ingest), "peak_rss_mb": round(ingest_rss)},
        "validate": {**_rounded(validate), "peak_rss_mb": round(validate_rss)},
        "product_s": round(product_s, 2),
        "polars_typed_read_plus_checks": {**_rounded(limit), "peak_rss_mb": round(limit_rss)},
        "ratio_vs_polars": round(product_s / limit["seconds"], 2),
        # The box is shared: wall time waits on a CPU-starved Azurite; CPU seconds compare the work.
        "cpu_ratio_vs_polars": round((ingest["cpu_s"] + validate["cpu_s"]) / limit["cpu_s"], 2),
        "goal": {
            "peak_rss_mb_max": 1024,
            "met_rss": max(ingest_rss, validate_rss) <= 1024,
            "ratio_vs_polars_max": 1.5,
            "met_ratio": product_s / limit["seconds"] <= 1.5,
        },
    }


def _rounded(d: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in d.items()}


def _peak_mb() -> float:
    """This process's own peak RSS (VmHWM): getrusage of a child also counts its parent's RSS at fork."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> None:
    """Child entry points (``--step``, ``--polars``)."""
    if argv[0] == "--step":
        print(json.dumps({**step(*argv[1:6]), "peak_rss_mb": _peak_mb()}))
    elif argv[0] == "--polars":
        print(json.dumps({**polars_limit(argv[1]), "peak_rss_mb": _peak_mb()}))
    else:
        raise SystemExit("usage: --step KIND CONN NAME BLOB VERSION | --polars CSV")


if __name__ == "__main__":
    main(sys.argv[1:])

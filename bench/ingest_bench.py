"""Ingest benchmark: our ingest + validate vs pandera vs a numpy byte scan, on one synthetic CSV;
the product path (the steps against Azurite, peak RSS per step) at 250 k, 1 M and 4 M rows.

Run from the repository root:

    .venv/bin/python -m bench.ingest_bench            # ours, numpy and (when installed) pandera

The CSV (1,000,000 rows x 50 columns, ~0.4 GB) is generated once and cached under the system
temp dir (``--cache-dir``); it is never written into the repository. Pandera runs in the bench
venv (the repository's ``.venv-bench``, see bench/README.md) as a subprocess of this module started with
``--pandera-worker``; that worker imports only numpy, pandas/polars and pandera. Every variant
includes reading the CSV from disk (page cache after the first run). Writes
bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

RESULTS = Path(__file__).resolve().parent / "results" / "ingest.json"
ROOT = Path(__file__).resolve().parent.parent
BENCH_PYTHON = Path(os.environ.get("BENCH_PYTHON", str(ROOT / ".venv-bench" / "bin" / "python")))
N_FLOAT, N_INT, N_CAT = 40, 7, 3
CATEGORIES = {
    "cat_0": ["red", "green", "blue", "yellow"],
    "cat_1": ["north", "south", "east", "west", "centre"],
    "cat_2": ["small", "medium", "large"],
}
#: The declared expectations, identical in ours and pandera's schema.
EXPECTATIONS: dict[str, dict[str, Any]] = {
    "target": {"not_null": True, "allowed": [0, 1]},
    "f_0": {"not_null": True, "min": -10.0, "max": 10.0},
    "i_0": {"min": 0, "max": 1000},
    "cat_0": {"allowed": CATEGORIES["cat_0"]},
}
#: Injected problems: (column, count, value written); None writes an empty (null) cell.
INJECTED: list[tuple[str, int, str | None]] = [
    ("f_0", 20, None),
    ("f_0", 20, "50.0"),
    ("f_3", 20, "bad"),
    ("i_0", 20, "-5"),
    ("cat_0", 20, "zzz"),
    ("target", 10, None),
]
RAGGED_ROWS = 10  # records with one field too many, appended at the end
BLOCK = 16 * 1024 * 1024


def column_types() -> dict[str, str]:
    """Declared type of every column, in file order."""
    kinds = {f"f_{i}": "float" for i in range(N_FLOAT)}
    kinds |= {f"i_{i}": "int" for i in range(N_INT)}
    kinds |= {name: "category" for name in CATEGORIES}
    return kinds | {"target": "int"}


def make_csv(path: Path, rows: int, seed: int = 7) -> None:
    """Write the synthetic CSV with its injected bad values and ragged records."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for i in range(N_FLOAT):
        data[f"f_{i}"] = np.round(rng.normal(0.0, 1.0 + i % 5, rows), 4).astype(str)
    data["i_0"] = rng.integers(0, 1001, rows).astype(str)
    for i in range(1, N_INT):
        data[f"i_{i}"] = rng.integers(0, 100_000, rows).astype(str)
    for name, values in CATEGORIES.items():
        data[name] = np.array(values)[rng.integers(0, len(values), rows)]
    data["target"] = (rng.random(rows) < 0.3).astype(int).astype(str)
    frame = pl.DataFrame(data)
    for column, count, value in INJECTED:
        at = pl.Series(rng.choice(rows, count, replace=False))
        frame = frame.with_columns(
            pl.when(pl.int_range(pl.len()).is_in(at.implode()))
            .then(pl.lit(value, dtype=pl.String))
            .otherwise(pl.col(column))
            .alias(column)
        )
    tmp = path.with_suffix(".part")
    frame.write_csv(tmp, null_value="")
    with open(tmp, "ab") as handle:
        for k in range(RAGGED_ROWS):
            handle.write((",".join(["1"] * (frame.width + 1)) + f"{k}\n").encode())
    tmp.replace(path)


def cached_csv(cache_dir: Path, rows: int) -> Path:
    """The cached CSV for ``rows``, generated on first use."""
    path = cache_dir / f"ingest_{rows}x50.csv"
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        began = time.perf_counter()
        make_csv(path, rows)
        print(f"generated {path} in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    return path


def scaled_csv(cache_dir: Path, rows: int) -> Path:
    """A CSV of ``rows`` data records: generated up to 1 M; beyond, the cached 1 M file's records
    repeated (generating 4 M x 51 at once needs several GB of memory), so a scaling row is cheap."""
    base = 1_000_000
    if rows <= base:
        return cached_csv(cache_dir, rows)
    path = cache_dir / f"ingest_{rows}x50.csv"
    if path.exists():
        return path
    source = cached_csv(cache_dir, base)
    tmp = path.with_suffix(".part")
    with open(source, "rb") as head:
        header = head.readline()
    with open(tmp, "wb") as out:
        out.write(header)
        for _ in range(rows // base):
            with open(source, "rb") as body:
                body.readline()
                while block := body.read(BLOCK):
                    out.write(block)
    tmp.replace(path)
    return path


def run_product(cache_dir: Path, sizes: list[int]) -> dict[str, Any]:
    """The ingest and validate steps against a private Azurite, per size (bench/ingest_product.py)."""
    from bench.ingest_product import run_size
    from devhost.azurite import Azurite

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ingest-product-") as tmp:
        azurite = Azurite(workspace=Path(tmp) / "azurite", log_path=Path(tmp) / "azurite.log")
        connection = azurite.start().connection_string
        try:
            for rows in sizes:
                path = scaled_csv(cache_dir, rows)
                out[str(rows)] = run_size(connection, path, f"r{rows}-{time.time_ns()}")
        finally:
            azurite.stop()
    return out


def run_ours(path: Path, *, declared: bool = False) -> dict[str, Any]:
    """shared.data ingest (sha256; types inferred in a first pass unless declared) + validate_frame."""
    from shared.data.ingest import ingest
    from shared.data.validate import validate_frame
    from shared.pipeline.sections import ColumnExpectation, Expectations

    expectations = Expectations(
        columns={name: ColumnExpectation(**rule) for name, rule in EXPECTATIONS.items()}, min_rows=1
    )
    began = time.perf_counter()
    overrides: dict[str, Any] = dict(column_types()) if declared else {"target": "int"}
    ingested = ingest(path, format="csv", overrides=overrides)
    read_s = time.perf_counter() - began
    result = validate_frame(
        ingested.frame,
        target="target",
        expectations=expectations,
        reject_threshold=0.05,
        issues=ingested.issues,
        rows_read=ingested.rows_read,
        dataset_reasons=ingested.reasons,
        dataset_version=ingested.dataset_version,
        declared=overrides,
    )
    total = time.perf_counter() - began
    return {
        "seconds": total,
        "ingest_s": read_s,
        "validate_s": total - read_s,
        "rows_read": result.rows_read,
        "rows_quarantined": result.rows_quarantined,
        "failure_counts": result.failure_counts,
        "dtypes": {k: v for k, v in ingested.dtypes.items() if k in ("f_0", "f_3", "i_0", "cat_0", "target")},
    }


def run_numpy(path: Path) -> dict[str, Any]:
    """Single-core floor: read every byte once in 16 MiB blocks and count newlines with numpy."""
    buffer = bytearray(BLOCK)
    view = memoryview(buffer)
    lines = size = 0
    began = time.perf_counter()
    with open(path, "rb", buffering=0) as handle:
        while n := handle.readinto(view):
            lines += int(np.count_nonzero(np.frombuffer(buffer, np.uint8, n) == 10))
            size += n
    return {"seconds": time.perf_counter() - began, "lines": lines, "bytes": size}


def run_sha256(path: Path) -> dict[str, Any]:
    """Single-core sha256 of every byte (ingest hashes the source into its dataset version)."""
    import hashlib

    sha = hashlib.sha256()
    buffer = bytearray(BLOCK)
    view = memoryview(buffer)
    began = time.perf_counter()
    with open(path, "rb", buffering=0) as handle:
        while n := handle.readinto(view):
            sha.update(view[:n])
    return {"seconds": time.perf_counter() - began}


def ours_breakdown(path: Path) -> dict[str, float]:
    """Seconds of ingest's building blocks, once each: reader, + clean_text, the type-inference pass."""
    from shared.data.csv_reader import read_csv_chunks
    from shared.data.types import clean_text

    out: dict[str, float] = {}
    for label, clean in (("read_csv_chunks_as_text_s", False), ("read_chunks_plus_clean_text_s", True)):
        began = time.perf_counter()
        with open(path, "rb") as stream:
            header, chunks = read_csv_chunks(stream, chunk_bytes=BLOCK, on_block=lambda _: None)
            assert header is not None
            for chunk in chunks:
                if clean:
                    chunk.frame.with_columns(clean_text(c) for c in header.columns)
        out[label] = round(time.perf_counter() - began, 3)
    from shared.data.inference import TypeEvidence

    began = time.perf_counter()
    evidence = TypeEvidence()
    with open(path, "rb") as stream:
        header, chunks = read_csv_chunks(stream, chunk_bytes=BLOCK, on_block=lambda _: None)
        assert header is not None
        for chunk in chunks:
            text = [c for c in header.columns if c != "target"]
            evidence.add(chunk.frame.select(clean_text(c) for c in text), text)
    out["type_inference_pass_s"] = round(time.perf_counter() - began, 3)
    began = time.perf_counter()
    pl.read_csv(path, infer_schema=False, truncate_ragged_lines=True)
    out["polars_read_csv_whole_file_as_text_s"] = round(time.perf_counter() - began, 3)
    return out


# --- pandera (runs in the bench venv) -------------------------------------------------------


def _pandera_pandas(path: Path) -> dict[str, Any]:
    import pandas as pd
    import pandera.pandas as pa

    dtypes = {"float": "float64", "int": "Int64", "category": "str"}
    columns = {}
    for name, kind in column_types().items():
        rule = EXPECTATIONS.get(name, {})
        checks = []
        if "min" in rule:
            checks.append(pa.Check.ge(rule["min"]))
        if "max" in rule:
            checks.append(pa.Check.le(rule["max"]))
        if "allowed" in rule:
            checks.append(pa.Check.isin(rule["allowed"]))
        columns[name] = pa.Column(dtypes[kind], checks=checks, nullable=not rule.get("not_null"), coerce=True)
    schema = pa.DataFrameSchema(columns)
    began = time.perf_counter()
    frame = pd.read_csv(path, on_bad_lines="skip", low_memory=False)
    read_s = time.perf_counter() - began
    failures = 0
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        failures = int(exc.failure_cases["index"].dropna().nunique())
    total = time.perf_counter() - began
    return {
        "seconds": total,
        "read_s": read_s,
        "validate_s": total - read_s,
        "rows_failed": failures,
        "rows_read": len(frame),
    }


def _pandera_polars(path: Path) -> dict[str, Any]:
    import pandera.polars as pa

    dtypes = {"float": pl.Float64, "int": pl.Int64, "category": pl.String}
    kinds = column_types()
    columns = {}
    for name, kind in kinds.items():
        rule = EXPECTATIONS.get(name, {})
        checks = []
        if "min" in rule:
            checks.append(pa.Check.ge(rule["min"]))
        if "max" in rule:
            checks.append(pa.Check.le(rule["max"]))
        if "allowed" in rule:
            checks.append(pa.Check.isin(rule["allowed"]))
        columns[name] = pa.Column(dtypes[kind], checks=checks, nullable=not rule.get("not_null"))
    schema = pa.DataFrameSchema(columns)
    began = time.perf_counter()
    # polars refuses "bad" in a float column, and pandera-polars' coerce is all-or-nothing for the
    # frame (one bad value leaves every column String and the range checks then error out), so
    # read text and cast leniently here, counting values that do not parse as type failures.
    text = pl.read_csv(path, infer_schema=False, truncate_ragged_lines=True)
    casts = [pl.col(c).cast(dtypes[k], strict=False) for c, k in kinds.items() if k != "category"]
    frame = text.with_columns(casts)
    type_failed = text.select(
        pl.any_horizontal(
            pl.col(c).is_not_null() & frame[c].is_null() for c, k in kinds.items() if k != "category"
        ).arg_true()
    ).to_series()
    read_s = time.perf_counter() - began
    failed = set(type_failed.to_list())
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        failed |= set(exc.failure_cases["index"].drop_nulls().to_list())
    total = time.perf_counter() - began
    return {
        "seconds": total,
        "read_s": read_s,
        "validate_s": total - read_s,
        "rows_failed": len(failed),
        "rows_read": frame.height,
    }


def pandera_worker(path: Path, api: str, repeats: int) -> dict[str, Any]:
    """Time pandera ``repeats`` times with one API; called inside the bench venv."""
    import importlib.metadata

    run = _pandera_pandas if api == "pandas" else _pandera_polars
    samples = [run(path) for _ in range(repeats)]
    times = [s["seconds"] for s in samples]
    return {
        "api": api,
        "version": importlib.metadata.version("pandera"),
        "backend_version": importlib.metadata.version("pandas" if api == "pandas" else "polars"),
        "runs_s": times,
        "median_s": statistics.median(times),
        "last": samples[-1],
    }


def run_pandera(path: Path, api: str, repeats: int, timeout_s: float) -> dict[str, Any]:
    """Run the pandera worker in the bench venv; a dict with 'skipped' when it cannot run."""
    if not BENCH_PYTHON.exists():
        return {"api": api, "skipped": f"bench venv python not found at {BENCH_PYTHON}"}
    cmd = [
        str(BENCH_PYTHON),
        "-m",
        "bench.ingest_bench",
        "--pandera-worker",
        api,
        "--csv",
        str(path),
        "--repeats",
        str(repeats),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"api": api, "skipped": f"timed out after {timeout_s:.0f} s"}
    if done.returncode != 0:
        return {"api": api, "skipped": f"worker failed ({done.returncode}): {done.stderr.strip()[-800:]}"}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _rates(seconds: float, rows: int, size: int) -> dict[str, float]:
    return {
        "median_s": round(seconds, 3),
        "rows_per_s": round(rows / seconds),
        "mb_per_s": round(size / 1e6 / seconds, 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and write bench/results/ingest.json."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each variant (median)")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "durable-mlops-bench")
    parser.add_argument("--pandera-api", choices=["pandas", "polars", "both"], default="both")
    parser.add_argument("--pandera-timeout", type=float, default=900.0, help="seconds per pandera API")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--product-sizes",
        default="250000,1000000,4000000",
        help="rows per product-path case (the steps against Azurite); empty to skip",
    )
    parser.add_argument("--pandera-worker", choices=["pandas", "polars"], help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.pandera_worker:
        measured = pandera_worker(args.csv, args.pandera_worker, args.repeats)
        print(json.dumps(measured))
        return measured

    path = cached_csv(args.cache_dir, args.rows)
    size = path.stat().st_size
    run_numpy(path)  # warm the page cache so every variant reads from memory
    numpy_runs = [run_numpy(path) for _ in range(args.repeats)]
    sha_runs = [run_sha256(path) for _ in range(args.repeats)]
    ours_runs = [run_ours(path) for _ in range(args.repeats)]
    declared_runs = [run_ours(path, declared=True) for _ in range(args.repeats)]
    breakdown = ours_breakdown(path)
    apis = ["pandas", "polars"] if args.pandera_api == "both" else [args.pandera_api]
    pandera = {api: run_pandera(path, api, args.repeats, args.pandera_timeout) for api in apis}
    sizes = [int(n) for n in args.product_sizes.split(",") if n.strip()]
    product = run_product(args.cache_dir, sizes) if sizes else {}

    rows = args.rows + RAGGED_ROWS
    ours_s = statistics.median(r["seconds"] for r in ours_runs)
    declared_s = statistics.median(r["seconds"] for r in declared_runs)
    numpy_s = statistics.median(r["seconds"] for r in numpy_runs)
    timed = {api: p for api, p in pandera.items() if "median_s" in p}
    best = min(timed, key=lambda api: timed[api]["median_s"]) if timed else None
    result: dict[str, Any] = {
        "benchmark": "CSV ingest + validate",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "numpy": np.__version__,
            "polars": pl.__version__,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "data": {
            "rows": rows,
            "columns": len(column_types()),
            "bytes": size,
            "mix": f"{N_FLOAT} float, {N_INT} int, {N_CAT} categorical, 1 binary target",
            "injected": [{"column": c, "rows": n, "value": v} for c, n, v in INJECTED],
            "ragged_records": RAGGED_ROWS,
            "expectations": EXPECTATIONS,
        },
        "repeats": args.repeats,
        "ours": {
            **_rates(ours_s, rows, size),
            "what": "shared.data.ingest.ingest (16 MiB chunks, sha256, two passes: infer types then cast) "
            "+ validate_frame (expectations, quarantine, baseline inference)",
            "runs_s": [round(r["seconds"], 3) for r in ours_runs],
            "ingest_median_s": round(statistics.median(r["ingest_s"] for r in ours_runs), 3),
            "validate_median_s": round(statistics.median(r["validate_s"] for r in ours_runs), 3),
            **{k: v for k, v in ours_runs[-1].items() if k not in ("seconds", "ingest_s", "validate_s")},
        },
        "ours_declared_types": {
            **_rates(declared_s, rows, size),
            "what": "the same with every column's type declared (as pandera's schema does; a run with a "
            "stored baseline does this): one pass, no type inference",
            "runs_s": [round(r["seconds"], 3) for r in declared_runs],
            "ingest_median_s": round(statistics.median(r["ingest_s"] for r in declared_runs), 3),
            "validate_median_s": round(statistics.median(r["validate_s"] for r in declared_runs), 3),
            "rows_quarantined": declared_runs[-1]["rows_quarantined"],
        },
        "ours_breakdown_once": breakdown,
        "product_path": {
            "what": "shared.steps.datasets.ingest then .validate, each in a fresh child against a private "
            "Azurite (source uploaded as a blob first, not timed); peak_rss_mb is the child's own VmHWM "
            "(~225 MB of it is imports); next to it polars' typed read_csv (declared dtypes, bad values "
            "to null) + the same expectation checks, in a child of its own",
            "sizes": product,
        },
        "numpy_floor": {
            **_rates(numpy_s, rows, size),
            "what": "one core: readinto a 16 MiB buffer + np.count_nonzero(block == b'\\n'); the floor for "
            "touching every byte once (from page cache)",
            "runs_s": [round(r["seconds"], 3) for r in numpy_runs],
            "lines": numpy_runs[-1]["lines"],
        },
        "sha256_floor": {
            **_rates(statistics.median(r["seconds"] for r in sha_runs), rows, size),
            "what": "one core: hashlib.sha256 over every byte (ingest does this for the dataset version)",
        },
        "pandera": {
            api: {**p, **(_rates(p["median_s"], rows, size) if "median_s" in p else {})}
            for api, p in pandera.items()
        },
        "ratios": {
            "ours_vs_numpy_floor_x_slower": round(ours_s / numpy_s, 1),
            **{f"speedup_vs_pandera_{api}": round(p["median_s"] / ours_s, 2) for api, p in timed.items()},
            **{
                f"declared_speedup_vs_pandera_{api}": round(p["median_s"] / declared_s, 2)
                for api, p in timed.items()
            },
            **(
                {
                    "speedup_vs_pandera_best": round(timed[best]["median_s"] / ours_s, 2),
                    "pandera_best_api": best,
                }
                if best
                else {}
            ),
        },
        "goal": {"speedup_vs_pandera_min": 5},
        "notes": [
            "medians of the repeats; 2 shared cores (other jobs ran alongside): see load_average_at_end",
            "every variant includes the CSV read; the file is in the page cache (warmed once first)",
            "pandera schema: every column's dtype with coerce=True, nullable unless not_null, plus the same "
            "min/max/isin checks; validate(lazy=True) collects all failures",
            "pandas.read_csv(on_bad_lines='skip') drops the ragged records silently; ours reports them",
            "pandera polars: pl.read_csv(infer_schema=False) as text, lenient casts (unparseable values "
            "count as type failures), then pandera dtype + checks; pandera-polars' own coerce=True fails "
            "the whole frame on one bad value and its range checks then error out instead of running",
            "ours does more work than pandera: sha256 of the bytes, type inference (two passes), a "
            "quarantine frame with row numbers and values, and an inferred baseline schema",
        ],
    }
    b = breakdown
    cleaning = round(b["read_chunks_plus_clean_text_s"] - b["read_csv_chunks_as_text_s"], 3)
    result["where_the_time_goes"] = [
        f"type inference pass (read + clean_text + int/float/bool trial parses of every value): "
        f"{b['type_inference_pass_s']} s, once; ours' ingest median {result['ours']['ingest_median_s']} s "
        f"vs {result['ours_declared_types']['ingest_median_s']} s with declared types (no inference pass)",
        f"reader alone (16 MiB chunks -> String frames): {b['read_csv_chunks_as_text_s']} s vs polars' "
        f"whole-file read as text {b['polars_read_csv_whole_file_as_text_s']} s; clean_text (strip + null "
        f"tokens on all 50 columns) adds {cleaning} s",
        f"sha256 of the bytes: {result['sha256_floor']['median_s']} s (one core)",
    ]
    if best:
        result["goal"]["met"] = timed[best]["median_s"] / ours_s >= 5
    same = product.get(str(args.rows))
    if same is not None:
        for api, p in timed.items():
            result["ratios"][f"product_path_vs_pandera_{api}"] = round(same["product_s"] / p["median_s"], 2)
        result["ratios"]["product_path_vs_polars_typed"] = same["ratio_vs_polars"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    shown = ("ours", "ours_declared_types", "ours_breakdown_once", "numpy_floor", "ratios", "product_path")
    print(json.dumps({k: result[k] for k in shown}, indent=2))
    return result


if __name__ == "__main__":
    main()

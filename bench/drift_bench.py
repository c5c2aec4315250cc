"""Drift benchmark: the product's drift step on Azurite, and shared.monitoring vs Evidently's
DataDriftPreset on the same synthetic frames.

Run from the repository root:

    .venv/bin/python -m bench.drift_bench                      # ours only (Evidently not installed)
    PYTHONPATH=. .venv-bench/bin/python -m bench.drift_bench   # ours + Evidently

Evidently lives in its own venv (its pins must not touch the project's); see the bench notes in
the JSON output. Writes bench/results/drift.json. ``--evidently-rows`` runs Evidently on a
subsample (ours is then also run on that subsample for the decision comparison) and extrapolates
its full-size time linearly, labelled as such (default 100,000 rows: Evidently takes ~5 minutes at
1M rows on the 2-core box, which would not fit a bounded ``make bench``).

``product``: the drift step on its real path (``bench.drift_product``, run under the project's
interpreter because the bench venv has no Azure SDK): inference-log parts written to Azurite by the
serving writer, then ``run_drift_check`` timed in fresh child processes with their peak RSS, next to
the limits of the same parts (download alone, polars read alone). Peak RSS of the library cases is
the process high-water mark during each case (reset through /proc/self/clear_refs), frames included.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from shared.monitoring import DriftConfig, ReferenceProfile, compute_drift
from shared.monitoring.report import DriftReport

RESULTS = Path(__file__).resolve().parent / "results" / "drift.json"
ROOT = Path(__file__).resolve().parent.parent
PROJECT_PYTHON = Path(os.environ.get("PROJECT_PYTHON", ROOT / ".venv" / "bin" / "python"))
N_NUMERIC = 40
N_CATEGORICAL = 8
CATEGORY_SHARES = [0.25, 0.2, 0.15, 0.12, 0.1, 0.08, 0.06, 0.04]
#: Numeric columns moved in the current window: column -> (mean shift in std, scale factor).
NUMERIC_SHIFTS = {0: (0.5, 1.0), 1: (0.3, 1.0), 2: (0.2, 1.0), 3: (0.15, 1.0), 4: (0.05, 1.0), 5: (0.0, 1.5)}
EVIDENTLY_METHODS = {
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "K-S p_value": "ks",
    "chi-square p_value": "chi2",
    "Z-test p_value": "z",
    "PSI": "psi",
}


def make_frame(rows: int, seed: int, *, drifted: bool) -> pl.DataFrame:
    """50 columns: 40 numeric (4 shapes), 8 categorical, 1 binary, 1 prediction score."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for i in range(N_NUMERIC):
        shift, scale = NUMERIC_SHIFTS.get(i, (0.0, 1.0)) if drifted else (0.0, 1.0)
        shape = i % 4
        if shape == 0:
            base = rng.normal(0.0, 1.0, rows)
        elif shape == 1:
            base = (rng.lognormal(0.0, 0.5, rows) - 1.133) / 0.604  # standardised lognormal
        elif shape == 2:
            base = rng.uniform(-1.732, 1.732, rows)
        else:
            base = rng.standard_t(5, rows) / 1.291
        data[f"num_{i}"] = base * scale + shift
    labels = np.array([f"cat_{k}" for k in range(len(CATEGORY_SHARES))])
    for j in range(N_CATEGORICAL):
        shares = np.array(CATEGORY_SHARES)
        if drifted and j == 0:
            shares = shares[::-1]  # a strong share change
        elif drifted and j == 1:
            shares = shares + np.array([0.03, -0.03, 0, 0, 0, 0, 0, 0])  # a mild one
        data[f"cat_{j}"] = labels[rng.choice(len(shares), rows, p=shares / shares.sum())]
    data["flag"] = rng.random(rows) < (0.45 if drifted else 0.3)
    data["prediction"] = rng.beta(2.6 if drifted else 2.0, 5.0, rows)
    return pl.DataFrame(data)


def time_ours(
    profile: ReferenceProfile, current: pl.DataFrame, repeats: int
) -> tuple[list[float], DriftReport]:
    """Wall times of compute_drift and its last report."""
    config = DriftConfig(prediction_column="prediction")
    times = []
    report = None
    for _ in range(repeats):
        start = time.perf_counter()
        report = compute_drift(profile, current, config).report
        times.append(time.perf_counter() - start)
    assert report is not None
    return times, report


def time_evidently(reference: pl.DataFrame, current: pl.DataFrame, repeats: int) -> dict[str, Any]:
    """Wall times of Evidently's DataDriftPreset (Dataset.from_pandas + Report.run) and its values."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numeric = [c for c in reference.columns if c.startswith("num_") or c == "prediction"]
    categorical = [c for c in reference.columns if c not in numeric]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    ref_pd, cur_pd = reference.to_pandas(), current.to_pandas()
    times = []
    snapshot: Any = None
    for _ in range(repeats):
        start = time.perf_counter()
        snapshot = Report([DataDriftPreset()]).run(
            current_data=Dataset.from_pandas(cur_pd, data_definition=definition),
            reference_data=Dataset.from_pandas(ref_pd, data_definition=definition),
        )
        times.append(time.perf_counter() - start)
    columns: dict[str, dict[str, Any]] = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if not config["type"].endswith("ValueDrift"):
            continue
        test = EVIDENTLY_METHODS.get(config["method"], config["method"])
        value, threshold = float(metric["value"]), float(config["threshold"])
        is_p_value = test in ("ks", "chi2", "z")
        drifted = value < threshold if is_p_value else value >= threshold
        columns[config["column"]] = {"test": test, "value": value, "threshold": threshold, "drifted": drifted}
    return {
        "version": importlib.metadata.version("evidently"),
        "runs_s": times,
        "median_s": statistics.median(times),
        "columns": columns,
    }


def compare(report: DriftReport, evidently: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per-column decisions and values where both ran the same test."""
    rows = [*report.columns, *([report.prediction] if report.prediction else [])]
    same, agree, within_bound = 0, 0, 0
    diffs: list[float] = []
    disagreements: list[dict[str, Any]] = []
    for row in rows:
        theirs = evidently.get(row.column)
        if theirs is None or theirs["test"] != row.test:
            continue
        same += 1
        ours_value = row.p_value if row.p_value is not None else row.distance
        diff = abs((ours_value or 0.0) - theirs["value"])
        diffs.append(diff)
        # Our value differs from the exact one by at most the reference sketch's stated bound.
        within_bound += diff <= (row.error_bound or 0.0) + 1e-9
        if row.drifted == theirs["drifted"]:
            agree += 1
        else:
            disagreements.append({"column": row.column, "ours": ours_value, "evidently": theirs["value"]})
    return {
        "same_test_columns": same,
        "decisions_agree": agree,
        "disagreements": disagreements,
        "max_abs_value_diff": max(diffs) if diffs else None,
        "value_diff_within_sketch_bound": within_bound,
    }


def reset_peak_rss() -> None:
    """Start a new high-water mark for this process's RSS (Linux: 5 > /proc/self/clear_refs)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mb() -> float | None:
    """This process's RSS high-water mark since the last reset, in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def product_section(rows: str, repeats: int, timeout_s: float) -> dict[str, Any]:
    """The drift step on the product path, run by bench.drift_product under the project's interpreter."""
    python = PROJECT_PYTHON if PROJECT_PYTHON.exists() else Path(sys.executable)
    cmd = [str(python), "-m", "bench.drift_product", "--rows", rows, "--repeats", str(repeats)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        return {"skipped": f"timed out after {timeout_s:.0f} s"}
    if done.returncode != 0:
        return {"skipped": f"bench.drift_product failed ({done.returncode}): {done.stderr[-800:]}"}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _product_ratios(result: dict[str, Any]) -> dict[str, Any]:
    """The product path's 1M-row step next to the library path and Evidently (different frames: labelled)."""
    sizes = {s["rows"]: s for s in result.get("product", {}).get("sizes", [])}
    product = sizes.get(result["rows"])
    if product is None:
        return {}
    ev = result.get("evidently", {})
    evidently_s = ev.get("median_s") if "speedup" in ev else ev.get("extrapolated_full_s")
    return {
        "rows": result["rows"],
        "note": "product: breast-cancer's 30 features + prediction read from Blob; library: a ready "
        "50-column frame; Evidently: the library frames (extrapolated when subsampled)",
        "product_step_s": product["median_s"],
        "product_over_library": round(product["median_s"] / result["ours"]["median_s"], 2),
        "evidently_over_product": round(evidently_s / product["median_s"], 1) if evidently_s else None,
        "product_over_download_limit": product.get("ratio_vs_download"),
        "product_peak_rss_mb": product["peak_rss_mb"],
    }


def _plain(value: Any) -> Any:
    """JSON fallback for numpy scalars."""
    return value.item() if isinstance(value, np.generic) else str(value)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and write bench/results/drift.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of reference and current")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of our drift")
    parser.add_argument("--evidently-rows", type=int, default=100_000, help="Evidently subsample (0: all)")
    parser.add_argument("--evidently-repeats", type=int, default=1, help="timed runs of Evidently")
    parser.add_argument("--skip-evidently", action="store_true", help="time ours only")
    parser.add_argument("--out", type=Path, default=RESULTS, help="result JSON path")
    parser.add_argument("--product-rows", default="1000000", help="product-path window sizes")
    parser.add_argument("--product-repeats", type=int, default=3, help="timed product-path runs per size")
    parser.add_argument("--skip-product", action="store_true", help="library comparison only")
    args = parser.parse_args(argv)
    product = (
        {"skipped": "--skip-product"}
        if args.skip_product
        else product_section(args.product_rows, args.product_repeats, timeout_s=900)
    )

    reference, current = make_frame(args.rows, 1, drifted=False), make_frame(args.rows, 2, drifted=True)
    start = time.perf_counter()
    profile = ReferenceProfile.from_frame(reference)
    build_s = time.perf_counter() - start
    profile_json = profile.model_dump_json()
    profile = ReferenceProfile.from_json(profile_json)  # drift runs from the stored form
    reset_peak_rss()
    times, report = time_ours(profile, current, args.repeats)
    ours_peak = peak_rss_mb()
    result: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "polars": pl.__version__,
        },
        "rows": args.rows,
        "columns": current.width,
        "ours": {
            "runs_s": times,
            "median_s": statistics.median(times),
            "reference_build_s": build_s,
            "reference_json_mb": len(profile_json) / 1e6,
            "peak_rss_mb_with_frames": ours_peak,
            "status": report.status,
            "n_drifted": report.n_drifted,
            "prediction_drift": report.prediction_drift,
            "drifted_columns": [r.column for r in report.columns if r.drifted],
        },
    }
    if not args.skip_evidently:
        result["evidently"] = _evidently_section(args, reference, current, report, statistics.median(times))
    result["product"] = product
    result["ratios"] = _product_ratios(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=_plain) + "\n")
    summary = {
        **result,
        "evidently": {k: v for k, v in result.get("evidently", {}).items() if k != "per_column"},
    }
    print(json.dumps(summary, indent=2, default=_plain))
    return result


def _evidently_section(
    args: argparse.Namespace,
    reference: pl.DataFrame,
    current: pl.DataFrame,
    full_report: DriftReport,
    ours_full: float,
) -> dict[str, Any]:
    """Evidently's timing, extrapolation and agreement, or why it did not run."""
    try:
        importlib.metadata.version("evidently")
    except importlib.metadata.PackageNotFoundError:
        return {"skipped": "evidently is not installed in this interpreter (see module docstring)"}
    rows = min(args.evidently_rows or args.rows, args.rows)
    section: dict[str, Any] = {"rows": rows}
    reset_peak_rss()
    if rows < args.rows:
        ref_sub, cur_sub = reference.head(rows), current.head(rows)
        sub_profile = ReferenceProfile.from_frame(ref_sub)
        sub_times, report = time_ours(sub_profile, cur_sub, args.repeats)
        section["ours_on_subsample_median_s"] = statistics.median(sub_times)
    else:
        ref_sub, cur_sub, report = reference, current, full_report
    reset_peak_rss()
    measured = time_evidently(ref_sub, cur_sub, args.evidently_repeats)
    section.update({k: v for k, v in measured.items() if k != "columns"})
    section["peak_rss_mb_with_frames"] = peak_rss_mb()
    if rows < args.rows:
        section["extrapolated_full_s"] = measured["median_s"] * args.rows / rows
        section["extrapolation"] = "linear in rows from the subsample (not measured at full size)"
        section["speedup_full_extrapolated"] = section["extrapolated_full_s"] / ours_full
        section["speedup_on_subsample"] = measured["median_s"] / section["ours_on_subsample_median_s"]
    else:
        section["speedup"] = measured["median_s"] / ours_full
    section["agreement"] = compare(report, measured["columns"])
    section["per_column"] = {
        row.column: {
            "ours_test": row.test,
            "ours_value": row.p_value if row.p_value is not None else row.distance,
            "ours_drifted": row.drifted,
            **{f"evidently_{k}": v for k, v in measured["columns"].get(row.column, {}).items()},
        }
        for row in [*report.columns, *([report.prediction] if report.prediction else [])]
    }
    return section


if __name__ == "__main__":
    main()

"""Cold-start benchmark: what a fresh Flex Consumption instance pays before its first answer.

Two measurements, each against its baseline, medians over fresh processes:

- **import**: ``import function_app`` (this app, unchanged) vs a bare ``DFApp`` (azure-functions +
  azure-functions-durable only), each in its own fresh interpreter: wall time of the import and
  peak RSS, plus which heavy libraries (onnxruntime, polars, scikit-learn, scipy, onnx, torch,
  numpy, pyarrow) the import pulled in. Goal (issue 8): time <= 2x the bare DFApp, RSS <= 100 MB.
- **first scoring request**: the breast-cancer pipeline is run to deployment through devhost once;
  then the host process is restarted several times and each time we measure the host's start
  (process start to serving), the first ``POST /api/models/{name}/score`` (lazy imports + model
  download, sha256 check and session load + predict) and warm requests after it.

Writes bench/results/coldstart.json. All traffic goes to 127.0.0.1 and is bounded.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "coldstart.json"
ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("onnxruntime", "polars", "sklearn", "scipy", "onnx", "torch", "numpy", "pyarrow", "skl2onnx")
GOAL_IMPORT_RATIO = 2.0
GOAL_RSS_MB = 100.0

#: Run in a fresh interpreter: time one import statement, report time, peak RSS and heavy modules.
_PROBE = """
import json, resource, sys, time
t0 = time.perf_counter()
{statement}
seconds = time.perf_counter() - t0
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
heavy = [m for m in {heavy!r} if m in sys.modules]
print(json.dumps({{"seconds": seconds, "rss_mb": rss_mb, "heavy": heavy}}))
"""
APP_IMPORT = "import function_app"
BARE_IMPORT = (
    "import azure.durable_functions as df, azure.functions as func\n"
    "app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)"
)


def probe(statement: str) -> dict[str, Any]:
    """One fresh interpreter importing ``statement`` from the repo root."""
    code = _PROBE.format(statement=statement, heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def median_of(samples: list[dict[str, Any]], key: str) -> float:
    """Median of one numeric key over samples."""
    return statistics.median(float(s[key]) for s in samples)


def import_section(rounds: int) -> dict[str, Any]:
    """App vs bare DFApp import, interleaved so machine noise hits both alike."""
    app: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []
    for _ in range(rounds):
        bare.append(probe(BARE_IMPORT))
        app.append(probe(APP_IMPORT))
    app_s, bare_s = median_of(app, "seconds"), median_of(bare, "seconds")
    app_rss, bare_rss = median_of(app, "rss_mb"), median_of(bare, "rss_mb")
    return {
        "rounds": rounds,
        "app": {
            "seconds_median": round(app_s, 3),
            "rss_mb_median": round(app_rss, 1),
            "heavy": app[-1]["heavy"],
        },
        "bare_dfapp": {"seconds_median": round(bare_s, 3), "rss_mb_median": round(bare_rss, 1)},
        "ratio_time": round(app_s / bare_s, 2),
        "goal_ratio_time": GOAL_IMPORT_RATIO,
        "goal_rss_mb": GOAL_RSS_MB,
        "meets_goal": app_s <= GOAL_IMPORT_RATIO * bare_s and app_rss <= GOAL_RSS_MB,
        "samples": {"app": app, "bare_dfapp": bare},
    }


def first_request_section(rounds: int, warm_calls: int) -> dict[str, Any]:
    """Deploy once, then restart the host ``rounds`` times: start, first score, warm scores."""
    import httpx
    import yaml

    from cli.client import ApiClient
    from cli.local import LocalStack
    from scripts.demo import follow, holdout_rows

    spec = yaml.safe_load((ROOT / "examples" / "breast_cancer.yaml").read_text())
    with tempfile.TemporaryDirectory(prefix="coldstart-bench-") as tmp:
        work = Path(tmp)
        stack = LocalStack(
            azurite_workspace=work / "azurite", work_dir=work / "work", log_path=work / "devhost.log"
        )
        with stack:
            api = ApiClient(stack.url, stack.master_key)
            started = api.post(f"/api/pipelines/{spec['name']}/runs", {"spec": spec})
            run = follow(api, started["run_id"], timeout_s=600)
            if run["status"] != "Succeeded":
                raise RuntimeError(f"pipeline run ended {run['status']}")
            rows = holdout_rows(
                str(stack.connection_string), spec["name"], run["dataset_version"], spec["target"], 1
            )
            body = {"rows": rows}
            samples: list[dict[str, float]] = []
            for _ in range(rounds):
                stack.stop_host()
                began = time.perf_counter()
                stack.start_host()
                host_start_s = time.perf_counter() - began
                url = f"{stack.url}/api/models/{spec['name']}/score"
                headers = {"x-functions-key": stack.master_key}
                with httpx.Client(timeout=120) as http:
                    t0 = time.perf_counter()
                    first = http.post(url, json=body, headers=headers)
                    first_ms = (time.perf_counter() - t0) * 1000
                    first.raise_for_status()
                    warm: list[float] = []
                    for _ in range(warm_calls):
                        t1 = time.perf_counter()
                        http.post(url, json=body, headers=headers).raise_for_status()
                        warm.append((time.perf_counter() - t1) * 1000)
                samples.append(
                    {
                        "host_start_s": host_start_s,
                        "first_request_ms": first_ms,
                        "warm_request_ms_median": statistics.median(warm),
                    }
                )
    first_ms = median_of(samples, "first_request_ms")
    warm_ms = median_of(samples, "warm_request_ms_median")
    return {
        "rounds": rounds,
        "host_start_s_median": round(median_of(samples, "host_start_s"), 2),
        "first_request_ms_median": round(first_ms, 1),
        "warm_request_ms_median": round(warm_ms, 2),
        "ratio_first_to_warm": round(first_ms / warm_ms, 1),
        "samples": samples,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Measure and write bench/results/coldstart.json."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5, help="fresh processes per import measurement")
    parser.add_argument("--host-rounds", type=int, default=3, help="host restarts for the first request")
    parser.add_argument("--warm-calls", type=int, default=50)
    parser.add_argument("--skip-host", action="store_true", help="import measurement only")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    result: dict[str, Any] = {
        "benchmark": "cold start: import function_app vs a bare DFApp; first scoring request on a fresh host",
        "imports": import_section(args.rounds),
    }
    if not args.skip_host:
        result["first_request"] = first_request_section(args.host_rounds, args.warm_calls)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    app, bare = result["imports"]["app"], result["imports"]["bare_dfapp"]
    print(
        f"import function_app {app['seconds_median']} s / {app['rss_mb_median']} MB vs bare DFApp "
        f"{bare['seconds_median']} s / {bare['rss_mb_median']} MB (x{result['imports']['ratio_time']}); "
        f"heavy modules at import: {app['heavy']}"
    )
    if "first_request" in result:
        fr = result["first_request"]
        print(
            f"fresh host: start {fr['host_start_s_median']} s, "
            f"first score {fr['first_request_ms_median']} ms, warm {fr['warm_request_ms_median']} ms"
        )
    return result


if __name__ == "__main__":
    main()

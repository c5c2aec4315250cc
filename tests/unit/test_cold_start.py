"""Importing function_app stays light: a cold Flex Consumption instance pays for every import.

The worker imports function_app before the instance answers its first request, so the ML stack
(onnxruntime, polars, scikit-learn, scipy, onnx, torch, ...) must load on first use, inside the
functions that need it. Times and memory are measured by `make bench` (bench/coldstart_bench.py);
this test pins the cause: which modules the import pulls in.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "onnxruntime",
    "polars",
    "sklearn",
    "scipy",
    "onnx",
    "torch",
    "numpy",
    "pyarrow",
    "skl2onnx",
    "azure.ai.ml",
)

PROBE = f"""
import json, sys
import function_app
names = [f.get_function_name() for f in function_app.app.get_functions()]
print(json.dumps({{"heavy": [m for m in {HEAVY!r} if m in sys.modules], "functions": len(names)}}))
"""


def test_import_function_app_loads_no_ml_library() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["functions"] > 20  # the app really registered its functions
    assert result["heavy"] == [], f"import function_app loaded {result['heavy']}; import them on first use"

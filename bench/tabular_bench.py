"""Mixed-type tabular quality and scoring cost: ``python -m bench.tabular_bench [--rows 5000]``.

On the churn example's table (examples/churn_data.py: id, date, 3 categoricals, 6 numbers,
1-5 % missing), in one process and on one split:

* **quality**: the platform's builtin gradient boosting (the real training job: roles decided as
  submit decides them, preprocessing inside the ONNX graph, holdout AUC from the ONNX model)
  against a hand-built scikit-learn pipeline (SimpleImputer + OneHotEncoder + the same estimator
  and parameters, dates turned into days by hand) - the bar is |AUC difference| <= 0.01; and the
  numeric-only model of before (numeric columns, rows with a missing value dropped from training).
* **scoring latency** in process (``shared.models.scoring.score`` on JSON-like rows, p50/p99) at
  batch 1 and batch 1,000: raw-columns model (preprocessing in the graph) vs the numeric-only
  matrix model.

Writes bench/results/tabular.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "tabular.json"
TARGET = "churned"
PARAMS = {"n_estimators": 150, "max_depth": 3, "learning_rate": 0.05}
SEED = 7


def churn_csv(rows: int) -> bytes:
    """The example's table as CSV bytes (generated, no download)."""
    spec = importlib.util.spec_from_file_location("churn_data", ROOT / "examples" / "churn_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return bytes(module.churn_frame(rows, seed=SEED).write_csv().encode())


def platform_model(
    train: pl.DataFrame, val: pl.DataFrame, holdout: pl.DataFrame, work: Path
) -> dict[str, Any]:
    """Train with the platform's own job (roles, raw-columns ONNX); holdout AUC from the ONNX."""
    from shared.models.evaluate import prediction_metrics
    from shared.models.onnx_io import load_model
    from shared.training.features import FeatureRules, decide_roles
    from shared.training.folder import write_job_folder
    from shared.training.job import run_job
    from shared.training.spec import JobSpec

    roles = decide_roles(train, TARGET, FeatureRules())
    spec = JobSpec(
        target=TARGET,
        task="classification",
        features=list(roles.features),
        feature_types=dict(roles.features),
        dropped=dict(roles.dropped),
        trainer={"type": "sklearn", "model": "gradient_boosting", **PARAMS},
        seed=SEED,
    )
    started = time.perf_counter()
    result = run_job(write_job_folder(work / "data", spec, train, val, holdout), work / "out")
    seconds = time.perf_counter() - started
    model = load_model((work / "out" / "model.onnx").read_bytes(), expected_sha256=result.sha256)
    auc = prediction_metrics(model, holdout, TARGET, "holdout")["auc"]
    return {
        "model": model,
        "auc": auc,
        "train_s": seconds,
        "features": roles.features,
        "dropped": roles.dropped,
    }


def _days(values: list[Any]) -> np.ndarray[Any, Any]:
    """Datetimes to days since 1970 by hand (NaN for missing), independent of the platform code."""
    epoch = datetime(1970, 1, 1)
    return np.array([np.nan if v is None else (v - epoch).total_seconds() / 86400 for v in values])


def hand_built_auc(train: pl.DataFrame, holdout: pl.DataFrame, features: dict[str, str]) -> dict[str, Any]:
    """A plain scikit-learn pipeline: imputers + one-hot + the same gradient boosting."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    names = list(features)
    numeric = [i for i, n in enumerate(names) if features[n] != "category"]
    categorical = [i for i, n in enumerate(names) if features[n] == "category"]

    def matrix(frame: pl.DataFrame) -> np.ndarray[Any, Any]:
        out = np.empty((frame.height, len(names)), dtype=object)
        for j, name in enumerate(names):
            values = frame[name].to_list()
            if features[name] == "datetime":
                out[:, j] = _days(values)
            elif features[name] == "category":
                out[:, j] = [np.nan if v is None else v for v in values]
            else:
                out[:, j] = [np.nan if v is None else float(v) for v in values]
        return out

    pipeline = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        ("num", SimpleImputer(strategy="median"), numeric),
                        (
                            "cat",
                            make_pipeline(
                                SimpleImputer(strategy="most_frequent"),
                                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                            ),
                            categorical,
                        ),
                    ],
                    sparse_threshold=0.0,
                ),
            ),
            ("model", GradientBoostingClassifier(random_state=SEED, **PARAMS)),
        ]
    )
    started = time.perf_counter()
    pipeline.fit(matrix(train), train[TARGET].to_numpy())
    seconds = time.perf_counter() - started
    proba = pipeline.predict_proba(matrix(holdout))[:, 1]
    return {"auc": float(roc_auc_score(holdout[TARGET].to_numpy(), proba)), "train_s": seconds}


def numeric_only_model(train: pl.DataFrame, holdout: pl.DataFrame, numeric: list[str]) -> dict[str, Any]:
    """Before this change: numeric columns only, rows with a missing value dropped, one float matrix."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline

    from shared.models.onnx_io import load_model, sha256_hex
    from shared.models.signature import INPUT_NAME, metadata_for
    from shared.training.onnx_stamp import stamp

    complete = train.drop_nulls(numeric)
    x = complete.select(numeric).cast(pl.Float32).to_numpy()
    # The imputer only serves the holdout's missing numbers (the old contract refused them).
    pipeline = make_pipeline(
        SimpleImputer(strategy="median"), GradientBoostingClassifier(random_state=SEED, **PARAMS)
    )
    pipeline.fit(x, complete[TARGET].to_numpy())
    holdout_x = holdout.select(numeric).cast(pl.Float32).to_numpy()
    auc = float(roc_auc_score(holdout[TARGET].to_numpy(), pipeline.predict_proba(holdout_x)[:, 1]))
    final = pipeline.steps[-1][1]
    proto: Any = to_onnx(
        pipeline,
        initial_types=[(INPUT_NAME, FloatTensorType([None, len(numeric)]))],
        options={id(final): {"zipmap": False}},
    )
    meta = metadata_for(
        features=numeric, task="classification", target=TARGET, classes=[0, 1], trainer="sklearn"
    )
    data = stamp(bytes(proto.SerializeToString()), meta)
    return {
        "model": load_model(data, expected_sha256=sha256_hex(data)),
        "auc": auc,
        "train_rows": complete.height,
        "train_rows_dropped": train.height - complete.height,
    }


def _requests(frame: pl.DataFrame, features: list[str], batch: int) -> list[dict[str, Any]]:
    """Rows as a client sends them: ISO dates, strings, numbers, nulls."""
    rows = frame.select(features).head(batch).to_dicts()
    for row in rows:
        for key, value in row.items():
            if isinstance(value, datetime):
                row[key] = value.replace(tzinfo=UTC).isoformat()
    return rows


def _timed(call: Callable[[], Any], reps: int) -> dict[str, float]:
    for _ in range(min(20, reps)):
        call()
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "p50": round(statistics.median(samples), 4),
        "p99": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 4),
        "reps": reps,
    }


def latency(model: Any, frame: pl.DataFrame, features: list[str], reps: dict[int, int]) -> dict[str, Any]:
    """p50/p99 ms of score() at each batch size, and of the bare session run under it."""
    from shared.models.scoring import prepare, score

    out: dict[str, Any] = {}
    for batch, n in reps.items():
        rows = _requests(frame, features, batch)
        if len(rows) < batch:  # repeat rows to reach the batch size
            rows = (rows * (batch // max(len(rows), 1) + 1))[:batch]
        payload = {"rows": rows}
        inputs, _ = prepare(model.signature, payload)
        out[f"batch_{batch}"] = {
            "score_ms": _timed(lambda p=payload: score(model, p), n),
            "onnx_run_ms": _timed(lambda i=inputs: model.run(i), n),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--reps-1", type=int, default=2000)
    parser.add_argument("--reps-1000", type=int, default=100)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))

    from shared.data.ingest import ingest
    from shared.training.folder import split_frame

    frame = ingest(churn_csv(args.rows), format="csv").frame.drop("__row__")
    train, val, holdout = split_frame(frame, seed=SEED, fractions=(0.7, 0.15))
    with tempfile.TemporaryDirectory(prefix="tabular-bench-") as tmp:
        ours = platform_model(train, val, holdout, Path(tmp))
    hand = hand_built_auc(train, holdout, ours["features"])
    numeric = [n for n, k in ours["features"].items() if k == "numeric"]
    before = numeric_only_model(train, holdout, numeric)
    reps = {1: args.reps_1, 1000: args.reps_1000}
    result = {
        "rows": frame.height,
        "split": {"train": train.height, "validation": val.height, "holdout": holdout.height},
        "estimator": {"model": "gradient_boosting", **PARAMS, "random_state": SEED},
        "features": ours["features"],
        "dropped": ours["dropped"],
        "auc": {
            "platform": round(ours["auc"], 4),
            "hand_built_sklearn": round(hand["auc"], 4),
            "difference": round(ours["auc"] - hand["auc"], 4),
            "within_0_01": abs(ours["auc"] - hand["auc"]) <= 0.01,
            "numeric_only_before": round(before["auc"], 4),
            "numeric_only_train_rows_dropped": before["train_rows_dropped"],
        },
        "train_seconds": {
            "platform_job": round(ours["train_s"], 2),
            "hand_built_fit": round(hand["train_s"], 2),
        },
        "latency_ms": {
            "raw_columns_in_graph": latency(ours["model"], holdout, list(ours["features"]), reps),
            "numeric_only_matrix": latency(before["model"], holdout.drop_nulls(numeric), numeric, reps),
        },
        "machine": {"python": sys.version.split()[0]},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("auc", "latency_ms")}, indent=2))
    return 0 if result["auc"]["within_0_01"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""Shipped trainer script: a linear model (logistic regression or ridge) exported to ONNX.

Run by the ``command`` trainer as ``trainer: {kind: command, script: linear.py, args: [...]}``.
Reads ``job.json`` and ``train.parquet`` from ``MLOPS_DATA_DIR`` and writes ``model.onnx`` and
``metrics.json`` into ``MLOPS_OUTPUT_DIR``. Arguments: ``--c FLOAT`` (inverse regularisation,
default 1.0), ``--max-iter N`` (default 5000); trailing DATA OUT arguments are ignored.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import polars as pl
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LogisticRegression, Ridge


def main() -> None:
    """Fit the model on the training split and write the ONNX model and its metrics."""
    parser = argparse.ArgumentParser(prog="linear.py")
    parser.add_argument("--c", type=float, default=1.0)
    parser.add_argument("--max-iter", type=int, default=5000)
    args, _ = parser.parse_known_args()
    data, out = Path(os.environ["MLOPS_DATA_DIR"]), Path(os.environ["MLOPS_OUTPUT_DIR"])
    job = json.loads((data / "job.json").read_text(encoding="utf-8"))
    train = pl.read_parquet(data / "train.parquet")
    x = train.select(job["features"]).to_numpy().astype("float32")
    y = train[job["target"]].to_numpy()
    if job["task"] == "classification":
        model = LogisticRegression(C=args.c, max_iter=args.max_iter).fit(x, y)
        extra: dict[str, object] = {"options": {id(model): {"zipmap": False}}}
    else:
        model = Ridge(alpha=1.0 / args.c).fit(x, y.astype("float64"))
        extra = {"final_types": [("value", FloatTensorType([None, 1]))]}  # the contract's output name
    onnx = to_onnx(model, initial_types=[("input", FloatTensorType([None, x.shape[1]]))], **extra)
    (out / "model.onnx").write_bytes(onnx.SerializeToString())
    (out / "metrics.json").write_text(json.dumps({"epochs": 1, "c": args.c}), encoding="utf-8")


if __name__ == "__main__":
    main()

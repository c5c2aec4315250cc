"""Shipped trainer script: a scikit-learn pipeline on the raw columns (categories one-hot encoded).

Run by the ``command`` trainer as ``trainer: {kind: command, script: onehot.py, inputs: raw}``
(examples/churn_command.yaml). Reads ``schema.json`` (column kinds and categories) and
``train.parquet`` from ``MLOPS_DATA_DIR``; fits impute + scale for numbers, booleans and dates
(as days since 1970-01-01 UTC) and a one-hot encoder for categories (a null is its own category
``""``, an unseen one scores as none of the known), then logistic regression or ridge; exports the
whole pipeline with skl2onnx to the raw-column contract: one ``[batch, 1]`` input per feature,
named after it, string for categories and float otherwise. Writes ``model.onnx`` and
``metrics.json`` into ``MLOPS_OUTPUT_DIR``. Arguments: ``--c FLOAT`` (inverse regularisation,
default 1.0), ``--max-iter N`` (default 2000); trailing DATA OUT arguments are ignored.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import polars as pl
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

MICROSECONDS_PER_DAY = 86_400e6


def model_frame(frame: pl.DataFrame, kinds: dict[str, str]) -> pl.DataFrame:
    """The features as the ONNX inputs carry them: strings (null -> "") or float32 (null -> NaN)."""
    exprs = []
    for name, kind in kinds.items():
        col = pl.col(name)
        if kind == "category":
            exprs.append(col.cast(pl.String).fill_null("").alias(name))
            continue
        if kind == "datetime":
            col = col.cast(pl.Datetime("us")).dt.epoch("us").cast(pl.Float64) / MICROSECONDS_PER_DAY
        exprs.append(col.cast(pl.Float32).fill_null(float("nan")).alias(name))
    return frame.select(exprs)


def build(kinds: dict[str, str], task: str, c: float, max_iter: int) -> Pipeline:
    """Impute + scale the float columns, one-hot the categories, then a linear model."""
    floats = [n for n, k in kinds.items() if k != "category"]
    categories = [n for n, k in kinds.items() if k == "category"]
    parts: list[tuple[str, Any, list[str]]] = []
    if floats:
        imputer = SimpleImputer(strategy="median", keep_empty_features=True)
        parts.append(("numeric", make_pipeline(imputer, StandardScaler()), floats))
    if categories:
        parts.append(("category", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categories))
    model = LogisticRegression(C=c, max_iter=max_iter) if task == "classification" else Ridge(alpha=1.0 / c)
    return Pipeline([("preprocess", ColumnTransformer(parts, sparse_threshold=0.0)), ("model", model)])


def main() -> None:
    """Fit on the training split; write the raw-column ONNX model and its metrics."""
    parser = argparse.ArgumentParser(prog="onehot.py")
    parser.add_argument("--c", type=float, default=1.0)
    parser.add_argument("--max-iter", type=int, default=2000)
    args, _ = parser.parse_known_args()
    data, out = Path(os.environ["MLOPS_DATA_DIR"]), Path(os.environ["MLOPS_OUTPUT_DIR"])
    schema = json.loads((data / "schema.json").read_text(encoding="utf-8"))
    if schema["inputs"] != "raw":
        raise SystemExit("onehot.py exports raw-column models: set trainer.inputs: raw")
    kinds = {f["name"]: f["kind"] for f in schema["features"]}
    train = pl.read_parquet(data / "train.parquet")
    x, y = model_frame(train, kinds), train[schema["target"]].to_numpy()
    task = schema["task"]
    pipeline = build(kinds, task, args.c, args.max_iter).fit(x, y if task == "classification" else y * 1.0)
    types = [
        (n, StringTensorType([None, 1]) if k == "category" else FloatTensorType([None, 1]))
        for n, k in kinds.items()
    ]
    final = pipeline.named_steps["model"]
    if task == "classification":
        proto: Any = to_onnx(pipeline, initial_types=types, options={id(final): {"zipmap": False}})
    else:  # the contract's regression output is named "value"
        proto = to_onnx(pipeline, initial_types=types, final_types=[("value", FloatTensorType([None, 1]))])
    # The categories seen in training, so scoring can count unseen ones.
    encoders = [t for t in pipeline.named_steps["preprocess"].transformers_ if t[0] == "category"]
    seen = {
        str(col): [str(v) for v in cats]
        for _, encoder, cols in encoders
        for col, cats in zip(cols, encoder.categories_, strict=True)
    }
    proto.metadata_props.add(key="mlops.categories", value=json.dumps(seen))
    (out / "model.onnx").write_bytes(proto.SerializeToString())
    metrics = {"epochs": 1, "c": args.c, "features": len(kinds), "categories": len(seen)}
    (out / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")


if __name__ == "__main__":
    main()

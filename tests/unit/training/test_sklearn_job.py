"""The sklearn trainer through the job contract: ONNX matches sklearn, metrics are sane."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import polars as pl
import pytest

from shared.models.frames import model_inputs
from shared.models.onnx_io import load_model, sha256_hex
from shared.models.predict import predict_matrix
from shared.training.dataset import load_training_data
from shared.training.features import to_model_frame
from shared.training.job import main, run_job
from shared.training.trainers import sklearn_trainer

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("model", ["logistic_regression", "gradient_boosting"])
def test_classifier_onnx_matches_sklearn(
    breast_cancer: pl.DataFrame, make_job, tmp_path: Path, model: str
) -> None:
    data_dir = make_job(
        breast_cancer, "classification", {"type": "sklearn", "model": model, "n_estimators": 40}
    )
    result = run_job(data_dir, tmp_path / "out")

    data = load_training_data(data_dir)
    x_val = to_model_frame(data.validation, data.spec.feature_kinds())
    expected = sklearn_trainer.fit(data).predict_proba(x_val)
    onnx_bytes = (tmp_path / "out" / "model.onnx").read_bytes()
    loaded = load_model(onnx_bytes, expected_sha256=result.sha256)
    raw = predict_matrix(loaded, model_inputs(data.validation, loaded.signature))
    np.testing.assert_allclose(raw.probabilities, expected, atol=1e-4)
    # An all-numeric float32 matrix still scores a raw-columns model (column j -> input j).
    out = loaded.run(x_val.to_numpy())
    assert set(out) == {"label", "probabilities"}  # zipmap disabled: plain tensors
    np.testing.assert_array_equal(out["label"], np.argmax(expected, axis=1))

    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["validation"]["auc"] > 0.95
    assert metrics["validation"]["accuracy"] > 0.9
    assert metrics["classes"] == [0, 1]
    assert metrics["sha256"] == sha256_hex(onnx_bytes)
    assert metrics["features"] == data.spec.features
    assert metrics["device"] == "cpu" and metrics["seconds"] > 0


@pytest.mark.parametrize("model", ["linear", "gradient_boosting"])
def test_regressor_onnx_matches_sklearn(diabetes: pl.DataFrame, make_job, tmp_path: Path, model: str) -> None:
    data_dir = make_job(diabetes, "regression", {"type": "sklearn", "model": model, "n_estimators": 40})
    result = run_job(data_dir, tmp_path / "out")

    data = load_training_data(data_dir)
    expected = sklearn_trainer.fit(data).predict(to_model_frame(data.validation, data.spec.feature_kinds()))
    loaded = load_model((tmp_path / "out" / "model.onnx").read_bytes(), expected_sha256=result.sha256)
    raw = predict_matrix(loaded, model_inputs(data.validation, loaded.signature))
    np.testing.assert_allclose(raw.values, expected, rtol=1e-4, atol=1e-2)
    assert loaded.signature.output_names == ["value"]
    validation = result.metrics["validation"]
    assert validation["r2"] > 0.3 and 30 < validation["rmse"] < 80 and validation["mae"] < validation["rmse"]


def test_signature_is_recorded_in_onnx_and_json(
    breast_cancer: pl.DataFrame, make_job, tmp_path: Path
) -> None:
    data_dir = make_job(breast_cancer, "classification", {"type": "sklearn"})
    result = run_job(data_dir, tmp_path / "out")
    proto = onnx.load(str(tmp_path / "out" / "model.onnx"))
    meta = {p.key: p.value for p in proto.metadata_props}
    features = [c for c in breast_cancer.columns if c != "target"]
    assert json.loads(meta["mlops.features"]) == features
    assert meta["mlops.task"] == "classification"
    signature = json.loads((tmp_path / "out" / "signature.json").read_text())
    assert signature["features"] == features and signature["sha256"] == result.sha256
    assert signature["inputs"] == [{"name": f, "type": "float", "shape": [None, 1]} for f in features]
    assert signature["columns"] == dict.fromkeys(features, "numeric")
    assert json.loads(meta["mlops.columns"]) == signature["columns"]


def test_job_entry_point_runs_as_a_process(diabetes: pl.DataFrame, make_job, tmp_path: Path) -> None:
    data_dir = make_job(diabetes, "regression", {"type": "sklearn"})
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "shared.training.job", "--data", str(data_dir), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["sha256"] == sha256_hex((out / "model.onnx").read_bytes())
    assert json.loads((out / "metrics.json").read_text())["validation"]["r2"] > 0.3


def test_job_entry_point_reports_invalid_input(
    diabetes: pl.DataFrame, make_job, tmp_path: Path, capsys
) -> None:
    data_dir = make_job(diabetes, "regression", {"type": "nope"})
    assert main(["--data", str(data_dir), "--out", str(tmp_path / "o")]) == 2
    error = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert error["error"] == "ValidationError" and error["field"] == "job.trainer.type"
    assert not (tmp_path / "o" / "model.onnx").exists()

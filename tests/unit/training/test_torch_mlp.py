"""The torch MLP trainer: ONNX equals torch, checkpoints every epoch, exact resume after a crash."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from shared.models.onnx_io import load_model
from shared.models.predict import predict_matrix
from shared.training.dataset import load_training_data
from shared.training.job import run_job
from shared.training.trainers.torch_mlp import CHECKPOINT, TabularMLP, load_checkpoint, prepared

MLP = {"type": "torch_mlp", "hidden": [16], "epochs": 3, "batch_size": 32, "lr": 0.01, "device": "cpu"}


class Crash(Exception):
    """Stands in for the process dying."""


def crash_after(epoch: int):
    def hook(done: int) -> None:
        if done == epoch:
            raise Crash(f"killed after epoch {done}")

    return hook


def test_classifier_onnx_matches_torch_and_checkpoints(
    breast_cancer: pl.DataFrame, make_job, tmp_path: Path
) -> None:
    data_dir = make_job(breast_cancer, "classification", MLP)
    result = run_job(data_dir, tmp_path / "out", tmp_path / "ckpt")

    state = load_checkpoint(tmp_path / "ckpt" / CHECKPOINT, torch.device("cpu"))
    assert state is not None and state["epoch"] == 3 and len(state["history"]) == 3
    assert set(state) >= {"model", "optimizer", "epoch"}
    _, data = prepared(load_training_data(data_dir))  # the network's inputs: preprocessed columns
    model = TabularMLP(30, [16], 2, "classification", 0.0)
    model.load_state_dict(state["model"])
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(data.x_val)).numpy()
    loaded = load_model((tmp_path / "out" / "model.onnx").read_bytes(), expected_sha256=result.sha256)
    np.testing.assert_allclose(predict_matrix(loaded, data.x_val).probabilities, expected, atol=1e-5)
    # One input per raw column, with a dynamic batch axis, in front of the network.
    assert len(loaded.signature.inputs) == 30 and not isinstance(loaded.signature.inputs[0].shape[0], int)
    assert result.metrics["validation"]["auc"] > 0.9
    assert result.metrics["epochs"] == 3 and result.metrics["device"] == "cpu"


def test_resume_continues_from_next_epoch_and_matches_uninterrupted(
    breast_cancer: pl.DataFrame, make_job, tmp_path: Path
) -> None:
    data_dir = make_job(breast_cancer, "classification", MLP)
    epochs_run: list[int] = []
    with pytest.raises(Crash):
        run_job(data_dir, tmp_path / "out", tmp_path / "ckpt", on_epoch_end=crash_after(2))
    state = load_checkpoint(tmp_path / "ckpt" / CHECKPOINT, torch.device("cpu"))
    assert state is not None and state["epoch"] == 2
    assert not (tmp_path / "out" / "metrics.json").exists()

    resumed = run_job(data_dir, tmp_path / "out", tmp_path / "ckpt", on_epoch_end=epochs_run.append)
    assert epochs_run == [3]  # only epoch k+1 ran
    assert resumed.metrics["resumed_from_epoch"] == 2 and resumed.metrics["epochs"] == 3
    assert len(resumed.metrics["train_loss"]) == 3

    straight = run_job(data_dir, tmp_path / "out2", tmp_path / "ckpt2")
    assert straight.metrics["resumed_from_epoch"] == 0
    _, data = prepared(load_training_data(data_dir))
    a = load_model((tmp_path / "out" / "model.onnx").read_bytes(), expected_sha256=resumed.sha256)
    b = load_model((tmp_path / "out2" / "model.onnx").read_bytes(), expected_sha256=straight.sha256)
    np.testing.assert_allclose(
        predict_matrix(a, data.x_val).probabilities, predict_matrix(b, data.x_val).probabilities, atol=1e-6
    )


def test_regressor_bakes_standardisation_into_the_model(
    diabetes: pl.DataFrame, make_job, tmp_path: Path
) -> None:
    trainer = {**MLP, "epochs": 2, "hidden": [32]}
    data_dir = make_job(diabetes, "regression", trainer)
    result = run_job(data_dir, tmp_path / "out")
    loaded = load_model((tmp_path / "out" / "model.onnx").read_bytes(), expected_sha256=result.sha256)
    values = predict_matrix(loaded, prepared(load_training_data(data_dir))[1].x_val).values
    assert values is not None
    assert 50 < float(values.mean()) < 250  # raw features in, target units out
    assert result.metrics["validation"]["rmse"] < 120


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # loading this pickle would create the marker file
        return (Path.touch, (self.marker,))


def test_checkpoint_loading_refuses_arbitrary_pickled_objects(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    torch.save({"epoch": 1, "model": _Evil(marker)}, tmp_path / CHECKPOINT)
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(tmp_path / CHECKPOINT, torch.device("cpu"))
    assert not marker.exists()

"""A local torch job mirrors its checkpoint to Blob every epoch; an empty folder restores from it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shared.compute.local import LocalCompute
from shared.settings import load_settings
from shared.storage.factory import Storage
from shared.training.blob_checkpoints import BlobCheckpoints
from shared.training.files import sha256_file
from shared.training.folder import split_frame, write_job_folder
from shared.training.spec import JobSpec


def test_every_epoch_reaches_blob_and_a_new_machine_restores_it(
    azurite_connection_string: str,
    monkeypatch: pytest.MonkeyPatch,
    wait_terminal,
    tmp_path: Path,
    unique: str,
) -> None:
    monkeypatch.setenv(
        "AzureWebJobsStorage", azurite_connection_string
    )  # the job inherits it, as under devhost
    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 6))
    frame = pl.DataFrame(x, schema=[f"f{i}" for i in range(6)]).with_columns(
        pl.Series("target", (x[:, 0] > 0).astype(np.int64))
    )
    trainer = {"type": "torch_mlp", "hidden": [8], "epochs": 3, "batch_size": 64, "device": "cpu"}
    spec = JobSpec(target="target", task="classification", features=frame.columns[:-1], trainer=trainer)
    data = write_job_folder(tmp_path / "data", spec, *split_frame(frame, seed=1))
    job = f"ckpt-{unique}"
    compute = LocalCompute(tmp_path / "work")
    compute.submit(job, data, tmp_path / "out")
    status, _ = wait_terminal(compute, job)
    assert status.state == "succeeded", status.log_tail

    storage = Storage.from_settings(load_settings(environ={"AzureWebJobsStorage": azurite_connection_string}))
    local = compute.job_dir(job) / "checkpoints" / "last.pt"
    assert storage.blobs.sha256_of("checkpoints", f"{job}/last.pt") == sha256_file(local)
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["epochs"] == 3

    elsewhere = tmp_path / "other-machine"
    assert BlobCheckpoints(storage, job).restore(elsewhere) == 1
    assert sha256_file(elsewhere / "last.pt") == sha256_file(local)
    assert BlobCheckpoints(storage, job).restore(elsewhere) == 0, "a folder with checkpoints is left alone"

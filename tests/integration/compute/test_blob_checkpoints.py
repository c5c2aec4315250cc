"""A local torch job mirrors its checkpoint to Blob every epoch; a new machine (a new attempt
under another job name, as after a preemption) restores it from there and resumes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from shared.compute.handoff import JobHandoff, read_outputs, stage_inputs
from shared.compute.local import LocalCompute
from shared.storage.factory import Storage
from shared.training.blob_checkpoints import BlobCheckpoints
from shared.training.files import sha256_file
from shared.training.folder import split_frame, write_job_folder
from shared.training.spec import JobSpec


def _torch_job(storage: Storage, tmp_path: Path, job: str, epochs: int) -> JobHandoff:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 6))
    frame = pl.DataFrame(x, schema=[f"f{i}" for i in range(6)]).with_columns(
        pl.Series("target", (x[:, 0] > 0).astype(np.int64))
    )
    trainer = {"type": "torch_mlp", "hidden": [8], "epochs": epochs, "batch_size": 64, "device": "cpu"}
    spec = JobSpec(target="target", task="classification", features=frame.columns[:-1], trainer=trainer)
    handoff = JobHandoff(job=job)
    stage_inputs(
        storage, handoff, write_job_folder(tmp_path / f"data-{epochs}", spec, *split_frame(frame, seed=1))
    )
    return handoff


def test_every_epoch_reaches_blob_and_a_new_attempt_resumes_from_it(
    storage: Storage, wait_terminal, tmp_path: Path, unique: str
) -> None:
    handoff = _torch_job(storage, tmp_path, f"ckpt-{unique}", epochs=3)
    compute = LocalCompute(tmp_path / "work")
    compute.submit("attempt-1", handoff)
    status, _ = wait_terminal(compute, "attempt-1")
    assert status.state == "succeeded", status.log_tail

    local = compute.job_dir("attempt-1") / "checkpoints" / "last.pt"
    assert storage.blobs.sha256_of(handoff.container, f"{handoff.checkpoints}last.pt") == sha256_file(local)
    assert read_outputs(storage, handoff).metrics["epochs"] == 3

    elsewhere = tmp_path / "other-machine"
    mirror = BlobCheckpoints(storage, handoff.container, handoff.checkpoints)
    assert mirror.restore(elsewhere) == 1
    assert sha256_file(elsewhere / "last.pt") == sha256_file(local)
    assert mirror.restore(elsewhere) == 0, "a folder with checkpoints is left alone"

    # A second attempt (another job name, a fresh work folder: another machine) with more epochs
    # to go starts from the checkpoint in Blob instead of epoch 0.
    longer = _torch_job(storage, tmp_path, handoff.job, epochs=5)
    storage.blobs.delete(longer.container, f"{longer.out}metrics.json")
    other = LocalCompute(tmp_path / "work-2")
    other.submit("attempt-2", longer)
    status, _ = wait_terminal(other, "attempt-2")
    assert status.state == "succeeded" and "restored 1 checkpoint file(s) from Blob" in status.log_tail
    metrics = read_outputs(storage, longer).metrics
    assert metrics["resumed_from_epoch"] == 3 and metrics["epochs"] == 5

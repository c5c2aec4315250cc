"""LocalCompute through the Blob hand-off: detached idempotent jobs, state transitions, crash
restarts, cancel. Inputs come from and outputs go to Azurite, never a folder the test hands over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shared.compute.base import attempt_name, check_job_name, job_name_for
from shared.compute.handoff import JobHandoff, job_error, read_outputs, stage_inputs
from shared.compute.local import LocalCompute
from shared.compute.process import is_alive
from shared.errors import IntegrityError, NotFoundError, ValidationError
from shared.storage.factory import Storage
from shared.training.folder import split_frame, write_job_folder
from shared.training.spec import JobSpec

ROOT = Path(__file__).resolve().parents[3]


def _launches(compute: LocalCompute, name: str) -> list[dict]:
    job_dir = compute.job_dir(name)
    return [json.loads(p.read_text()) for p in sorted(job_dir.glob("attempt-*.json"))]


def test_concurrent_submits_start_one_process(
    make_job, wait_terminal, storage: Storage, tmp_path: Path
) -> None:
    compute = LocalCompute(tmp_path / "work")
    handoff = make_job(sleep_s=0.5)
    with ThreadPoolExecutor(4) as pool:
        handles = list(pool.map(lambda _: compute.submit("job-a", handoff), range(4)))
    assert sum(h.created for h in handles) == 1
    again = compute.submit("job-a", handoff)
    assert not again.created and again.location == handles[0].location

    status, seen = wait_terminal(compute, "job-a")
    assert status.state == "succeeded" and status.exit_code == 0 and status.attempt == 1
    assert set(seen) <= {"queued", "running", "succeeded"} and seen[-1] == "succeeded"
    assert seen == sorted(seen, key=["queued", "running", "succeeded"].index)
    assert len(_launches(compute, "job-a")) == 1
    assert "[runner] succeeded" in status.log_tail and "downloaded" in status.log_tail
    outputs = read_outputs(storage, handoff)  # from Blob, model sha256 checked against metrics.json
    assert outputs.metrics["trainer"] == "command" and outputs.signature["sha256"] == outputs.sha256
    assert not compute.submit("job-a", handoff).created  # still one job after it finished


def test_collect_refuses_a_model_that_is_not_the_one_the_job_recorded(
    make_job, wait_terminal, storage: Storage, tmp_path: Path
) -> None:
    compute = LocalCompute(tmp_path / "work")
    handoff = make_job()
    compute.submit("job-sha", handoff)
    assert wait_terminal(compute, "job-sha")[0].state == "succeeded"
    storage.blobs.put_bytes(handoff.container, f"{handoff.out}model.onnx", b"not the trained model")
    with pytest.raises(IntegrityError):
        read_outputs(storage, handoff)


def test_job_survives_the_parent_that_submitted_it(
    make_job, wait_terminal, storage: Storage, tmp_path: Path
) -> None:
    work, handoff = tmp_path / "work", make_job(sleep_s=2)
    parent = (
        "from pathlib import Path\nfrom shared.compute.local import LocalCompute\n"
        "from shared.compute.handoff import JobHandoff\n"
        f"LocalCompute(Path({str(work)!r})).submit('job-b', JobHandoff(job={handoff.job!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", parent], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    compute = LocalCompute(work)
    [launch] = _launches(compute, "job-b")
    assert is_alive(launch["pid"], launch["token"])  # the parent is gone, the job is not
    assert not compute.status("job-b").terminal
    status, _ = wait_terminal(compute, "job-b")
    assert status.state == "succeeded" and storage.blobs.exists(handoff.container, f"{handoff.out}model.onnx")


def test_crashed_job_is_restarted_and_resumes(
    make_job, wait_terminal, storage: Storage, tmp_path: Path
) -> None:
    compute = LocalCompute(tmp_path / "work")
    handoff = make_job(crash_first=True)
    compute.submit("job-c", handoff)
    status, _ = wait_terminal(compute, "job-c")
    assert status.state == "succeeded" and status.attempt == 2
    assert "died without a result; restarted" in status.log_tail
    assert len(_launches(compute, "job-c")) == 2
    metrics = read_outputs(storage, handoff).metrics
    assert metrics["command_metrics"] == {"resumed": True}  # second attempt saw the first one's checkpoint
    assert job_error(storage, handoff) is None


def test_crash_without_attempts_left_is_failed(
    make_job, wait_terminal, storage: Storage, tmp_path: Path
) -> None:
    compute = LocalCompute(tmp_path / "work")
    handoff = make_job(crash_first=True)
    compute.submit("job-d", handoff, {"max_attempts": 1})
    status, _ = wait_terminal(compute, "job-d")
    assert status.state == "failed" and status.exit_code is None
    assert "died without a result after 1 attempt" in (status.message or "")
    assert job_error(storage, handoff) is None  # killed: it recorded nothing, like a preempted node


def test_invalid_job_fails_with_exit_code_and_reason(
    make_job, wait_terminal, storage: Storage, tmp_path: Path
) -> None:
    compute = LocalCompute(tmp_path / "work")
    handoff = make_job(trainer_type="bogus")
    compute.submit("job-e", handoff)
    status, _ = wait_terminal(compute, "job-e")
    assert status.state == "failed" and status.exit_code == 2 and status.attempt == 1
    assert "trainer type 'bogus' is unknown" in (status.message or "")
    stored = json.loads((compute.job_dir("job-e") / "state.json").read_text())
    assert stored["exit_code"] == 2 and "[runner] failed: ValidationError" in stored["log_tail"]
    error = job_error(storage, handoff)  # the job's own failure is in Blob: not a lost machine
    assert error is not None and error["exit_code"] == 2 and "bogus" in error["message"]


def test_a_job_without_inputs_in_blob_fails_clearly(
    wait_terminal, storage: Storage, tmp_path: Path, unique: str
) -> None:
    compute = LocalCompute(tmp_path / "work")
    compute.submit("job-empty", JobHandoff(job=f"never-staged-{unique}"))
    status, _ = wait_terminal(compute, "job-empty")
    assert status.state == "failed" and status.exit_code == 2
    assert f"no inputs in training-jobs/never-staged-{unique}/data/" in (status.message or "")


def test_cancel_stops_the_process_group(make_job, wait_terminal, tmp_path: Path) -> None:
    compute = LocalCompute(tmp_path / "work")
    compute.submit("job-f", make_job(sleep_s=60))
    deadline = time.monotonic() + 30
    while compute.status("job-f").state != "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    [launch] = _launches(compute, "job-f")
    status = compute.cancel("job-f")
    assert status.state == "cancelled"
    assert not is_alive(launch["pid"], launch["token"])
    time.sleep(0.2)
    assert compute.status("job-f").state == "cancelled"
    assert len(_launches(compute, "job-f")) == 1  # a cancelled job is not restarted


def test_names_and_unknown_jobs(tmp_path: Path) -> None:
    name = job_name_for("Training-Pipeline:Run/42")
    assert name == job_name_for("Training-Pipeline:Run/42") and check_job_name(name) == name
    assert name != job_name_for("training-pipeline-run-42")  # the digest keeps distinct ids apart
    assert attempt_name(name, 1) == name and attempt_name(name, 3) == f"{name}-a3"
    with pytest.raises(ValidationError):
        check_job_name("../escape")
    with pytest.raises(ValidationError):
        attempt_name(name, 0)
    with pytest.raises(NotFoundError):
        LocalCompute(tmp_path).status("never-submitted")


def test_killed_torch_job_resumes_from_its_last_checkpoint(
    wait_terminal, storage: Storage, tmp_path: Path, unique: str
) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 8))
    frame = pl.DataFrame(x, schema=[f"f{i}" for i in range(8)]).with_columns(
        pl.Series("target", (x[:, 0] + x[:, 1] > 0).astype(np.int64))
    )
    trainer = {"type": "torch_mlp", "hidden": [32], "epochs": 4, "batch_size": 16, "device": "cpu"}
    spec = JobSpec(target="target", task="classification", features=frame.columns[:-1], trainer=trainer)
    handoff = JobHandoff(job=f"torch-{unique}")
    stage_inputs(storage, handoff, write_job_folder(tmp_path / "data", spec, *split_frame(frame, seed=2)))
    compute = LocalCompute(tmp_path / "work")
    compute.submit("job-t", handoff)
    checkpoint = compute.job_dir("job-t") / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    [launch] = _launches(compute, "job-t")
    os.killpg(launch["pid"], signal.SIGKILL)  # a crash: no chance to record anything
    while is_alive(launch["pid"], launch["token"]):
        time.sleep(0.05)

    status, _ = wait_terminal(compute, "job-t")
    assert status.state == "succeeded" and status.attempt == 2, status.log_tail
    metrics = read_outputs(storage, handoff).metrics
    assert 1 <= metrics["resumed_from_epoch"] < 4 and metrics["epochs"] == 4
    assert len(metrics["train_loss"]) == 4

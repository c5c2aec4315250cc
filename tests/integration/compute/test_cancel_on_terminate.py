"""Terminating a run cancels its training job: the local job's process group is gone, the run row
is Cancelled and records the job's final state. The job is started exactly as the submit activity
starts it (training.submit through the Blob hand-off), from a registered script that never ends."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shared.compute.local import LocalCompute
from shared.compute.process import is_alive
from shared.contracts import TrainingJob
from shared.pipeline.spec import load_spec
from shared.settings import load_settings
from shared.steps import reconcile, runs, scripts, training
from shared.storage.factory import Storage

SLEEPER = "import time\nwhile True:\n    time.sleep(1)\n"


def test_a_terminated_run_cancels_its_local_training_job(
    azurite_connection_string: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, unique: str
) -> None:
    monkeypatch.setenv("AzureWebJobsStorage", azurite_connection_string)  # the job inherits it
    settings = load_settings(
        environ={"AzureWebJobsStorage": azurite_connection_string, "MLOPS_WORK_DIR": str(tmp_path)}
    )
    storage = Storage.from_settings(settings)
    storage.ensure_all()
    script = f"sleeper-{unique}.py"
    scripts.register_script(storage, script, SLEEPER.encode(), "principal:test")
    spec_json = {
        "name": f"cancel-{unique}",
        "source": "sklearn:breast_cancer",
        "target": "target",
        "task": "classification",
        "trainer": {"kind": "command", "script": script},
    }
    spec = load_spec(spec_json)
    rng = np.random.default_rng(0)
    frame = pl.DataFrame(rng.normal(size=(30, 3)), schema=["a", "b", "c"]).with_columns(
        pl.Series("target", [0, 1] * 15)
    )
    splits = {}
    for split, part in (("train", frame[:20]), ("validation", frame[20:])):
        path = tmp_path / f"{split}.parquet"
        part.write_parquet(path)
        splits[split] = storage.blobs.put_file("datasets", f"cancel/{unique}/{split}.parquet", path).name

    run_id = f"cancel-{unique}-run"
    runs.create_pending(storage, spec.name, run_id)
    runs.start_run(storage, spec.name, run_id)

    def submit(detail: dict[str, object]) -> TrainingJob:  # what the submit activity records
        handle = training.submit(storage, settings, spec, run_id, {"splits": splits})
        detail.update(handle)
        runs.begin_step(storage, spec.name, run_id, "train", restart=False)
        return TrainingJob.model_validate(handle)

    job = runs.recorded(storage, spec.name, run_id, "submit", submit).value
    assert job is not None
    compute = LocalCompute(Path(settings.work_dir or "") / "jobs")
    deadline = time.monotonic() + 60
    while compute.status(job["name"]).state != "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    launch = json.loads((compute.job_dir(job["name"]) / "attempt-0001.json").read_text())
    assert is_alive(launch["pid"], launch["token"])

    record = storage.runs.get(spec.name, run_id)[0]
    ended = reconcile.end_from_runtime(storage, settings, record, "Terminated", "stopped by ops", spec_json)
    assert ended.status == "Cancelled"
    assert ended.details["training_job"] == {"name": job["name"], "state": "cancelled"}
    assert not is_alive(launch["pid"], launch["token"]), "the job's process outlived its run"
    assert compute.status(job["name"]).state == "cancelled"
    attempts = training.attempts_of(storage, spec.name, run_id)
    assert [(a["name"], a["backend"]) for a in attempts] == [(job["name"], "local")]

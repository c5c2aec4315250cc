"""A tiny synthetic job whose user script can sleep or crash on demand, for LocalCompute tests.

Jobs get their inputs and give their outputs through Blob (the session's Azurite), as in
production: ``make_job`` stages the job folder under ``training-jobs/<job>/data/`` and returns
the hand-off; the child process inherits the storage connection from the environment.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shared.compute.base import JobStatus
from shared.compute.handoff import JobHandoff, stage_inputs
from shared.compute.local import LocalCompute
from shared.settings import load_settings
from shared.storage.factory import Storage
from shared.training.folder import split_frame, write_job_folder
from shared.training.spec import JobSpec
from shared.training.trainers.command import SCRIPT_FILE

# A "user" trainer that writes a fixed softmax-regression ONNX with onnx.helper: no heavy imports.
USER_SCRIPT = """
import json, os, signal, sys, time
from pathlib import Path
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

data, out = Path(sys.argv[1]), Path(sys.argv[2])
ckpt = Path(os.environ["MLOPS_CHECKPOINT_DIR"])
behaviour = json.loads((data / "behaviour.json").read_text())
if behaviour.get("crash_first") and not (ckpt / "attempted").exists():
    (ckpt / "attempted").write_text("1")
    os.killpg(os.getpgid(0), signal.SIGKILL)  # the whole job dies, runner included, like a lost VM
time.sleep(behaviour.get("sleep_s", 0))
w = numpy_helper.from_array(np.array([[1, -1]] * 4, dtype=np.float32), "w")
graph = helper.make_graph(
    [helper.make_node("MatMul", ["input", "w"], ["z"]),
     helper.make_node("Softmax", ["z"], ["probabilities"])],
    "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 4])],
    [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])], [w],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
(out / "model.onnx").write_bytes(model.SerializeToString())
(out / "metrics.json").write_text(json.dumps({"resumed": (ckpt / "attempted").exists()}))
"""

MakeJob = Callable[..., JobHandoff]


@pytest.fixture
def storage(azurite_connection_string: str, monkeypatch: pytest.MonkeyPatch) -> Storage:
    """Storage on the session's Azurite; job processes inherit its connection (as under devhost)."""
    monkeypatch.setenv("AzureWebJobsStorage", azurite_connection_string)
    return Storage.from_settings(load_settings(environ={"AzureWebJobsStorage": azurite_connection_string}))


@pytest.fixture
def make_job(tmp_path: Path, storage: Storage, unique: str) -> MakeJob:
    """Factory: the tiny user script's job with the given behaviour, staged in Blob; its hand-off."""

    def make(name: str = "data", trainer_type: str = "command", **behaviour: object) -> JobHandoff:
        rng = np.random.default_rng(0)
        x = rng.normal(size=(40, 4))
        frame = pl.DataFrame(x, schema=["a", "b", "c", "d"]).with_columns(
            pl.Series("target", (x[:, 0] > 0).astype(np.int64))
        )
        train, val, holdout = split_frame(frame, seed=1)
        sha = hashlib.sha256(USER_SCRIPT.encode()).hexdigest()
        trainer = {"type": trainer_type, "script": "train.py", "sha256": sha}
        spec = JobSpec(target="target", task="classification", features=["a", "b", "c", "d"], trainer=trainer)
        folder = write_job_folder(tmp_path / name, spec, train, val, holdout)
        (folder / SCRIPT_FILE).write_text(USER_SCRIPT)
        (folder / "behaviour.json").write_text(json.dumps(behaviour))
        handoff = JobHandoff(job=f"{name}-{unique}")
        stage_inputs(storage, handoff, folder)
        return handoff

    return make


def _wait_terminal(
    compute: LocalCompute, job_name: str, timeout_s: float = 90.0
) -> tuple[JobStatus, list[str]]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = compute.status(job_name)
        if not seen or seen[-1] != status.state:
            seen.append(status.state)
        if status.terminal:
            return status, seen
        time.sleep(0.1)
    raise AssertionError(f"{job_name} not finished after {timeout_s}s; states {seen}")


@pytest.fixture
def wait_terminal() -> Callable[..., tuple[JobStatus, list[str]]]:
    """Poll ``status`` until the job is terminal; returns the final status and every state seen."""
    return _wait_terminal

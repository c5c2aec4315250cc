"""The command trainer: only a staged script with the recorded sha256 runs, as
``[interpreter, script, *args]``, in its own folder with a minimal environment; its model is
validated, stamped and measured like a builtin one."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import polars as pl
import pytest

from shared.errors import IntegrityError, ValidationError
from shared.models.onnx_io import load_model
from shared.steps.scripts import SHIPPED_DIR
from shared.training.errors import TrainingFailedError
from shared.training.job import run_job
from shared.training.trainers.command import SCRIPT_FILE, script_argv

USER_SCRIPT = """
import json, os, sys
ENV = dict(os.environ)  # before any library adds its own variables
from pathlib import Path
import polars as pl
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LogisticRegression

data, out = Path(sys.argv[1]), Path(sys.argv[2])
assert os.environ["MLOPS_DATA_DIR"] == str(data) and os.environ["MLOPS_OUTPUT_DIR"] == str(out)
job = json.loads((data / "job.json").read_text())
train = pl.read_parquet(data / "train.parquet")
x = train.select(job["features"]).to_numpy().astype("float32")
clf = LogisticRegression(max_iter=5000).fit(x, train[job["target"]].to_numpy())
model = to_onnx(clf, initial_types=[("input", FloatTensorType([None, x.shape[1]]))],
                options={id(clf): {"zipmap": False}})
(out / "model.onnx").write_bytes(model.SerializeToString())
(out / "metrics.json").write_text(json.dumps({"epochs": 1, "note": "user", "argv": sys.argv[1:],
                                              "env": ENV, "cwd": os.getcwd()}))
"""


def _job(
    make_job, frame: pl.DataFrame, script: str, args: list[str] | None = None, sha: str | None = None
) -> Path:
    digest = hashlib.sha256(script.encode()).hexdigest()
    trainer = {"type": "command", "script": "train.py", "sha256": sha or digest, "args": args or []}
    data_dir = make_job(frame, "classification", trainer)
    (data_dir / SCRIPT_FILE).write_text(script)
    return data_dir


def test_user_script_model_is_validated_and_stamped(
    breast_cancer: pl.DataFrame, make_job, tmp_path: Path
) -> None:
    data_dir = _job(make_job, breast_cancer, USER_SCRIPT)
    result = run_job(data_dir, tmp_path / "out")
    assert result.metrics["validation"]["auc"] > 0.9
    assert result.metrics["command_metrics"]["note"] == "user"
    loaded = load_model((tmp_path / "out" / "model.onnx").read_bytes(), expected_sha256=result.sha256)
    assert loaded.signature.trainer == "command"
    assert loaded.signature.features == [c for c in breast_cancer.columns if c != "target"]


def test_script_gets_a_minimal_environment_and_its_own_folder(
    breast_cancer: pl.DataFrame, make_job, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AzureWebJobsStorage", "DefaultEndpointsProtocol=https;AccountKey=c2VjcmV0")
    monkeypatch.setenv("MLOPS_SECRET_THING", "x")
    monkeypatch.setenv("DEVHOST_MASTER_KEY", "master")
    data_dir = _job(make_job, breast_cancer, USER_SCRIPT)
    seen = run_job(data_dir, tmp_path / "out").metrics["command_metrics"]
    env, cwd = seen["env"], Path(seen["cwd"])
    mlops = {k for k in env if k.startswith("MLOPS_")}
    assert mlops == {"MLOPS_DATA_DIR", "MLOPS_OUTPUT_DIR", "MLOPS_CHECKPOINT_DIR"}
    assert not [k for k in env if k.startswith(("AzureWebJobs", "DEVHOST_"))]
    assert "AccountKey" not in json.dumps(env) and "master" not in env.values()
    assert set(env) <= mlops | {
        "PATH",
        "HOME",
        "TMPDIR",
        "LANG",
        "LANGUAGE",
        "LC_ALL",
        "LC_CTYPE",
        "TZ",
        "CUDA_VISIBLE_DEVICES",
        "PYTHONNOUSERSITE",
        "PYTHONUNBUFFERED",
    }
    assert env["HOME"] == str(cwd) and cwd != data_dir and not cwd.is_relative_to(SHIPPED_DIR.parent)


def test_placeholders_are_plain_text_and_args_follow_the_script(
    breast_cancer: pl.DataFrame, make_job, tmp_path: Path
) -> None:
    script = USER_SCRIPT.replace(
        "Path(sys.argv[1]), Path(sys.argv[2])", "Path(sys.argv[2]), Path(sys.argv[4])"
    )
    args = ["--data", "{data}", "--out", "{out}", "{data.__class__}"]
    result = run_job(_job(make_job, breast_cancer, script, args), tmp_path / "out")
    argv = result.metrics["command_metrics"]["argv"]
    assert argv[0] == "--data" and argv[-1] == "{data.__class__}"  # no format-string evaluation


def test_argv_is_interpreter_then_script(tmp_path: Path) -> None:
    argv = script_argv(tmp_path / "s.py", ["-c", "print(1)"], tmp_path, tmp_path / "o", tmp_path / "c")
    assert argv[1] == str(tmp_path / "s.py") and argv[2:4] == ["-c", "print(1)"]  # script args, not flags


def test_tampered_script_is_refused_before_it_runs(
    breast_cancer: pl.DataFrame, make_job, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    script = f"open({str(marker)!r}, 'w').write('x')\n"
    data_dir = _job(make_job, breast_cancer, script, sha="0" * 64)
    with pytest.raises(IntegrityError, match="refused to run"):
        run_job(data_dir, tmp_path / "out")
    assert not marker.exists()


def test_command_trainer_refuses_to_run_inside_a_function_app(
    breast_cancer: pl.DataFrame, make_job, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBSITE_SITE_NAME", "my-app")
    with pytest.raises(ValidationError) as err:
        run_job(_job(make_job, breast_cancer, USER_SCRIPT), tmp_path / "out")
    assert err.value.field == "compute.kind"


def test_old_command_shape_is_refused(breast_cancer: pl.DataFrame, make_job, tmp_path: Path) -> None:
    data_dir = make_job(
        breast_cancer, "classification", {"type": "command", "command": ["python", "-c", "1"]}
    )
    with pytest.raises(ValidationError, match=r"job\.trainer"):
        run_job(data_dir, tmp_path / "out")


def test_failing_script_raises_with_its_output(breast_cancer: pl.DataFrame, make_job, tmp_path: Path) -> None:
    data_dir = _job(make_job, breast_cancer, "import sys\nprint('boom: bad column')\nsys.exit(3)\n")
    with pytest.raises(TrainingFailedError, match=r"(?s)code 3.*boom: bad column"):
        run_job(data_dir, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_outputs_are_named(breast_cancer: pl.DataFrame, make_job, tmp_path: Path) -> None:
    data_dir = _job(make_job, breast_cancer, "print('forgot to write anything')\n")
    with pytest.raises(ValidationError) as err:
        run_job(data_dir, tmp_path / "out")
    assert err.value.field == "model.onnx"


def test_pickled_model_from_script_is_refused(breast_cancer: pl.DataFrame, make_job, tmp_path: Path) -> None:
    script = (
        "import pickle, sys, pathlib\nout = pathlib.Path(sys.argv[2])\n"
        f"(out / 'model.onnx').write_bytes({pickle.dumps({'weights': [1, 2]})!r})\n"
        "(out / 'metrics.json').write_text('{}')\n"
    )
    with pytest.raises(ValidationError, match="pickle: refused"):
        run_job(_job(make_job, breast_cancer, script), tmp_path / "out")


@pytest.mark.parametrize(
    ("frame_name", "task", "metric"),
    [("breast_cancer", "classification", "auc"), ("diabetes", "regression", "r2")],
)
def test_shipped_linear_trainer(
    frame_name: str, task: str, metric: str, make_job, tmp_path: Path, request
) -> None:
    script = (SHIPPED_DIR / "linear.py").read_text()
    frame = request.getfixturevalue(frame_name)
    trainer = {
        "type": "command",
        "script": "linear.py",
        "sha256": hashlib.sha256(script.encode()).hexdigest(),
        "args": ["--c", "0.5"],
    }
    data_dir = make_job(frame, task, trainer)
    (data_dir / SCRIPT_FILE).write_text(script)
    result = run_job(data_dir, tmp_path / "out")
    assert result.metrics["validation"][metric] > 0.3
    assert result.metrics["command_metrics"]["c"] == 0.5

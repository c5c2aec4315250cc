"""The command trainer: a user script's model is validated, stamped and measured like a builtin one."""

from __future__ import annotations

import pickle
from pathlib import Path

import polars as pl
import pytest

from shared.errors import ValidationError
from shared.models.onnx_io import load_model
from shared.training.errors import TrainingFailedError
from shared.training.job import run_job

USER_SCRIPT = """
import json, os, sys
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
(out / "metrics.json").write_text(json.dumps({"epochs": 1, "note": "user"}))
"""


def _job(
    make_job, frame: pl.DataFrame, tmp_path: Path, script: str, command: list[str] | None = None
) -> Path:
    data_dir = make_job(
        frame, "classification", {"type": "command", "command": command or ["python", "train.py"]}
    )
    (data_dir / "train.py").write_text(script)
    return data_dir


def test_user_script_model_is_validated_and_stamped(
    breast_cancer: pl.DataFrame, make_job, tmp_path: Path
) -> None:
    data_dir = _job(make_job, breast_cancer, tmp_path, USER_SCRIPT)
    result = run_job(data_dir, tmp_path / "out")
    assert result.metrics["validation"]["auc"] > 0.9
    assert result.metrics["command_metrics"] == {"epochs": 1, "note": "user"}
    loaded = load_model((tmp_path / "out" / "model.onnx").read_bytes(), expected_sha256=result.sha256)
    assert loaded.signature.trainer == "command"
    assert loaded.signature.features == [c for c in breast_cancer.columns if c != "target"]


def test_placeholders_and_env_reach_the_script(breast_cancer: pl.DataFrame, make_job, tmp_path: Path) -> None:
    script = USER_SCRIPT.replace(
        "Path(sys.argv[1]), Path(sys.argv[2])", "Path(sys.argv[2]), Path(sys.argv[4])"
    )
    command = ["python", "train.py", "--data", "{data}", "--out", "{out}"]
    result = run_job(_job(make_job, breast_cancer, tmp_path, script, command), tmp_path / "out")
    assert result.metrics["trainer"] == "command"


def test_failing_script_raises_with_its_output(breast_cancer: pl.DataFrame, make_job, tmp_path: Path) -> None:
    data_dir = _job(make_job, breast_cancer, tmp_path, "import sys\nprint('boom: bad column')\nsys.exit(3)\n")
    with pytest.raises(TrainingFailedError, match=r"(?s)code 3.*boom: bad column"):
        run_job(data_dir, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_outputs_are_named(breast_cancer: pl.DataFrame, make_job, tmp_path: Path) -> None:
    data_dir = _job(make_job, breast_cancer, tmp_path, "print('forgot to write anything')\n")
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
        run_job(_job(make_job, breast_cancer, tmp_path, script), tmp_path / "out")

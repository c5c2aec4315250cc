"""The command trainer's raw-column contract: the shipped ``trainers/onehot.py`` trains on the churn
table's categoricals from ``schema.json`` and its ONNX scores raw records (category strings, a null,
an unseen category) through the same scoring path as the builtin trainers' models."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from shared.errors import ValidationError
from shared.models.onnx_io import load_model
from shared.models.scoring import score
from shared.pipeline.spec import load_spec_file
from shared.steps.scripts import SHIPPED_DIR
from shared.steps.training import column_roles, trainer_config
from shared.training.folder import split_frame, write_job_folder
from shared.training.job import run_job
from shared.training.spec import JobSpec
from shared.training.trainers.command import SCHEMA_FILE, SCRIPT_FILE
from tests.unit.training.test_features import _churn_frame

ROOT = Path(__file__).resolve().parents[3]
SPEC = ROOT / "examples" / "churn_command.yaml"


#: Ignores the contract: one float matrix over the numeric features instead of one input per column.
MATRIX_SCRIPT = """
import json, os
from pathlib import Path
import polars as pl
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LogisticRegression

data, out = Path(os.environ["MLOPS_DATA_DIR"]), Path(os.environ["MLOPS_OUTPUT_DIR"])
schema = json.loads((data / "schema.json").read_text())
names = [f["name"] for f in schema["features"] if f["kind"] == "numeric"]
train = pl.read_parquet(data / "train.parquet").fill_null(0)
x = train.select(names).to_numpy().astype("float32")
clf = LogisticRegression(max_iter=2000).fit(x, train[schema["target"]].to_numpy())
model = to_onnx(clf, initial_types=[("input", FloatTensorType([None, x.shape[1]]))],
                options={id(clf): {"zipmap": False}})
(out / "model.onnx").write_bytes(model.SerializeToString())
(out / "metrics.json").write_text("{}")
"""


@pytest.fixture(scope="module")
def churn() -> pl.DataFrame:
    """1,500 rows of the example's generated table, typed by the platform's ingest."""
    return _churn_frame(1500)


def _job(churn: pl.DataFrame, root: Path, inputs: str, script: bytes) -> Path:
    """A job folder staged as submit stages it for examples/churn_command.yaml (inputs overridden)."""
    spec = load_spec_file(SPEC)
    spec = spec.model_copy(update={"trainer": spec.trainer.model_copy(update={"inputs": inputs})})
    train, val, holdout = split_frame(churn, seed=5)
    roles = column_roles(spec, train)
    trainer: dict[str, Any] = {**trainer_config(spec), "sha256": hashlib.sha256(script).hexdigest()}
    job = JobSpec(
        target=spec.target,
        task=spec.task,
        features=list(roles.features),
        feature_types=dict(roles.features),
        dropped=dict(roles.dropped),
        trainer=trainer,
    )
    folder = write_job_folder(root / "data", job, train, val, holdout)
    (folder / SCRIPT_FILE).write_bytes(script)
    return folder


@pytest.fixture(scope="module")
def trained(churn: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The example's command job run with the shipped script."""
    root = tmp_path_factory.mktemp("command-raw")
    folder = _job(churn, root, "raw", (SHIPPED_DIR / "onehot.py").read_bytes())
    result = run_job(folder, root / "out")
    model = load_model((root / "out" / "model.onnx").read_bytes(), expected_sha256=result.sha256)
    return {"folder": folder, "result": result, "model": model}


def test_categoricals_and_date_are_features_of_a_raw_command_trainer(trained: dict[str, Any]) -> None:
    kinds = trained["result"].metrics["feature_types"]
    assert kinds["plan"] == kinds["region"] == kinds["payment_method"] == "category"
    assert kinds["signup_date"] == "datetime"
    assert set(trained["result"].metrics["dropped"]) == {"customer_id"}
    assert trained["result"].metrics["validation"]["auc"] > 0.65


def test_schema_file_lists_roles_kinds_and_categories(trained: dict[str, Any]) -> None:
    schema = json.loads((trained["folder"] / SCHEMA_FILE).read_text())
    assert schema["target"] == "churned" and schema["inputs"] == "raw" and schema["classes"] == [0, 1]
    by_name = {f["name"]: f for f in schema["features"]}
    assert by_name["signup_date"]["kind"] == "datetime"
    assert by_name["plan"]["kind"] == "category" and len(by_name["plan"]["categories"]) >= 2
    assert "" not in by_name["plan"]["categories"]  # the seen values only; null is the model's business
    assert "customer_id" in schema["dropped"]


def test_model_scores_raw_records_with_a_null_and_an_unseen_category(
    trained: dict[str, Any], churn: pl.DataFrame
) -> None:
    model = trained["model"]
    sig = model.signature
    assert sig.columns is not None and sig.columns["plan"] == "category"
    row = {k: v for k, v in churn.row(0, named=True).items() if k != "churned"}
    row["signup_date"] = str(row["signup_date"])
    row["age"] = None
    unseen = {**row, "plan": "platinum-enterprise"}
    answer = score(model, {"rows": [row, unseen]})
    assert len(answer.predictions) == 2
    assert all(0.0 <= (p.probability or -1) <= 1.0 for p in answer.predictions)
    assert answer.nulls == {"age": 2}
    assert answer.unseen_categories == {"plan": 1}
    assert answer.ignored_fields == ["customer_id"]


def test_matrix_command_trainer_still_drops_categoricals_with_the_reason(
    churn: pl.DataFrame, tmp_path: Path
) -> None:
    spec = load_spec_file(SPEC)
    spec = spec.model_copy(update={"trainer": spec.trainer.model_copy(update={"inputs": "matrix"})})
    roles = column_roles(spec, split_frame(churn, seed=5)[0])
    assert "numeric matrix" in roles.dropped["plan"] and "plan" not in roles.features


def test_raw_command_model_with_a_matrix_input_is_refused(churn: pl.DataFrame, tmp_path: Path) -> None:
    folder = _job(churn, tmp_path, "raw", MATRIX_SCRIPT.encode())
    with pytest.raises(ValidationError, match="one input per feature"):
        run_job(folder, tmp_path / "out")

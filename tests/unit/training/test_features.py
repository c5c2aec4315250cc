"""Column roles and raw-column preprocessing inside the sklearn trainer's ONNX (mixed-type table)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from shared.data.ingest import ingest
from shared.errors import ValidationError
from shared.models.evaluate import prediction_metrics
from shared.models.onnx_io import load_model
from shared.models.scoring import score
from shared.training.dataset import load_training_data
from shared.training.features import FeatureRules, decide_roles, to_model_frame
from shared.training.folder import split_frame, write_job_folder
from shared.training.job import run_job
from shared.training.spec import JobSpec
from shared.training.trainers import sklearn_trainer

ROOT = Path(__file__).resolve().parents[3]


def _churn_frame(rows: int) -> pl.DataFrame:
    """The example's generated table, typed by the platform's own CSV ingest."""
    spec = importlib.util.spec_from_file_location("churn_data", ROOT / "examples" / "churn_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    csv = module.churn_frame(rows, seed=11).write_csv().encode()
    return ingest(csv, format="csv").frame.drop("__row__")


@pytest.fixture(scope="module")
def churn() -> pl.DataFrame:
    """2,000 rows: id, date, 3 categoricals, 6 numbers, 1-5 % missing, binary target."""
    return _churn_frame(2000)


@pytest.fixture(scope="module")
def churn_job(churn: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A gradient boosting job on the churn table, roles decided as submit decides them."""
    root = tmp_path_factory.mktemp("churn")
    train, val, holdout = split_frame(churn, seed=5)
    roles = decide_roles(train, "churned", FeatureRules())
    spec = JobSpec(
        target="churned",
        task="classification",
        features=list(roles.features),
        feature_types=dict(roles.features),
        dropped=dict(roles.dropped),
        trainer={"type": "sklearn", "model": "gradient_boosting", "n_estimators": 60},
    )
    folder = write_job_folder(root / "data", spec, train, val, holdout)
    result = run_job(folder, root / "out")
    data = (root / "out" / "model.onnx").read_bytes()
    return {
        "folder": folder,
        "result": result,
        "model": load_model(data, expected_sha256=result.sha256),
        "holdout": holdout,
        "roles": roles,
    }


def test_roles_use_every_non_id_column(churn: pl.DataFrame) -> None:
    roles = decide_roles(churn, "churned", FeatureRules())
    assert roles.dropped == {"customer_id": pytest.approx(roles.dropped["customer_id"])}
    assert roles.dropped["customer_id"].startswith("id-like")
    assert roles.features == {
        "signup_date": "datetime",
        "plan": "category",
        "region": "category",
        "payment_method": "category",
        "tenure_months": "numeric",
        "monthly_charges": "numeric",
        "support_calls": "numeric",
        "data_usage_gb": "numeric",
        "age": "numeric",
        "discount": "numeric",
    }


def test_every_drop_has_its_reason() -> None:
    n = 100
    frame = pl.DataFrame(
        {
            "row_id": list(range(n)),
            "code": [f"c{i % 60}" for i in range(n)],
            "constant": ["x"] * n,
            "empty": pl.Series([None] * n, dtype=pl.Float64),
            "keep": [float(i % 7) for i in range(n)],
            "noise": [float(i) for i in range(n)],
            "y": [i % 2 for i in range(n)],
        }
    )
    roles = decide_roles(frame, "y", FeatureRules(exclude=["noise"]))
    assert roles.features == {"keep": "numeric"}
    assert roles.dropped["row_id"] == "id-like: a distinct integer in every row"
    assert roles.dropped["code"] == "60 categories, more than features.max_categories=50"
    assert roles.dropped["constant"] == "constant: one distinct value"
    assert roles.dropped["empty"] == "all values are missing"
    assert roles.dropped["noise"] == "excluded by features.exclude"
    assert set(roles.dropped) | set(roles.features) | {"y"} == set(frame.columns), "nothing dropped silently"
    # include forces a column in past the heuristics (but never an all-null or constant one)
    forced = decide_roles(frame, "y", FeatureRules(include=["code", "row_id", "empty"]))
    assert forced.features == {"row_id": "numeric", "code": "category"}
    assert forced.dropped["keep"] == "not in features.include"
    assert forced.dropped["empty"] == "all values are missing"
    with pytest.raises(ValidationError, match="max_categories") as err:
        decide_roles(frame, "y", FeatureRules(too_many_categories="reject"))
    assert err.value.field == "features.code"
    with pytest.raises(ValidationError, match="lacks") as err:
        decide_roles(frame, "y", FeatureRules(exclude=["nope"]))
    assert err.value.field == "features"


def test_model_takes_raw_columns_and_matches_sklearn(churn_job: dict[str, Any]) -> None:
    model = churn_job["model"]
    sig = model.signature
    assert sig.columns == dict(churn_job["roles"].features)
    assert sig.dropped == dict(churn_job["roles"].dropped)
    assert {t.name: t.type for t in sig.inputs}["plan"] == "string"
    assert {t.name: t.type for t in sig.inputs}["signup_date"] == "float"
    assert set(sig.categories or {}) == {"plan", "region", "payment_method"}
    assert "" in (sig.categories or {})["plan"], "nulls are learnt as the missing category"
    # The ONNX graph (impute + one-hot + trees) scores like the fitted sklearn pipeline.
    data = load_training_data(churn_job["folder"])
    pipeline = sklearn_trainer.fit(data)
    frame = churn_job["holdout"]
    expected = pipeline.predict_proba(to_model_frame(frame, data.spec.feature_kinds()))[:, 1]
    metrics = prediction_metrics(model, frame, "churned", "holdout")
    assert metrics["auc"] == pytest.approx(roc_auc_score(frame["churned"].to_numpy(), expected), abs=1e-4)
    assert metrics["auc"] > 0.65
    recorded = churn_job["result"].metrics
    assert recorded["dropped"] == sig.dropped and recorded["feature_types"] == sig.columns


def _raw(frame: pl.DataFrame, n: int) -> list[dict[str, Any]]:
    """Rows as a caller sends them: ISO dates, strings, numbers, nulls (and the id)."""
    rows = frame.head(n).drop("churned").to_dicts()
    for row in rows:
        if row["signup_date"] is not None:
            row["signup_date"] = row["signup_date"].date().isoformat()
    return rows


def test_scoring_raw_records_with_unseen_category_null_and_id(churn_job: dict[str, Any]) -> None:
    model = churn_job["model"]
    rows = _raw(churn_job["holdout"], 4)
    rows[0]["plan"] = "enterprise"  # never seen in training
    rows[1]["monthly_charges"] = None
    rows[2].pop("region")  # left out = missing
    rows[3]["signup_date"] = "2024-02-29T13:45:00+02:00"
    response = score(model, {"rows": rows})
    assert len(response.predictions) == 4
    assert all(0.0 <= (p.probability or 0) <= 1.0 for p in response.predictions)
    assert response.ignored_fields == ["customer_id"]
    assert response.unseen_categories == {"plan": 1}
    nulls = response.nulls or {}
    assert nulls.get("monthly_charges", 0) >= 1 and nulls.get("region", 0) >= 1
    with pytest.raises(ValidationError, match="unknown feature 'customer_id'") as err:
        score(model, {"rows": rows, "strict": True})
    assert err.value.field == "rows[0].customer_id"


def test_scoring_matches_the_frame_path(churn_job: dict[str, Any]) -> None:
    model = churn_job["model"]
    frame = churn_job["holdout"].head(50)
    response = score(model, _raw(frame, 50))
    from shared.models.frames import model_inputs

    expected = model.run(model_inputs(frame, model.signature))["probabilities"]
    got = np.array([[p.probabilities or {} for p in response.predictions][i]["1"] for i in range(50)])
    assert got == pytest.approx(expected[:, 1], abs=1e-6)


def test_bad_rows_are_all_reported_and_partial_scores_the_rest(churn_job: dict[str, Any]) -> None:
    model = churn_job["model"]
    rows = _raw(churn_job["holdout"], 5)
    rows[1]["age"] = "forty"
    rows[3]["signup_date"] = "2024-13-45"
    rows[3]["discount"] = float("nan")
    rows[4]["plan"] = {"nested": 1}
    with pytest.raises(ValidationError) as err:
        score(model, rows)
    message = err.value.message
    assert err.value.field == "rows[1].age"
    assert message.startswith("3 bad rows")
    for part in (
        "rows[1].age: must be a number",
        "rows[3].signup_date: is not an ISO 8601 date",
        "rows[3].discount: must be finite",
        "rows[4].plan: must be a string category",
    ):
        assert part in message
    response = score(model, {"rows": rows, "partial": True})
    assert response.rows == [0, 2] and len(response.predictions) == 2
    assert [(e.row, e.field) for e in response.errors or []] == [
        (1, "age"),
        (3, "signup_date"),
        (3, "discount"),
        (4, "plan"),
    ]
    with pytest.raises(ValidationError):
        score(model, {"rows": [rows[1]], "partial": True})  # nothing good left: still a 400


def test_torch_mlp_takes_the_same_raw_columns(churn: pl.DataFrame, tmp_path: Path) -> None:
    train, val, holdout = split_frame(churn.head(1200), seed=5)
    roles = decide_roles(train, "churned", FeatureRules())
    spec = JobSpec(
        target="churned",
        task="classification",
        features=list(roles.features),
        feature_types=dict(roles.features),
        dropped=dict(roles.dropped),
        trainer={"type": "torch_mlp", "hidden": [16], "epochs": 8, "lr": 0.005, "device": "cpu"},
    )
    result = run_job(write_job_folder(tmp_path / "data", spec, train, val, holdout), tmp_path / "out")
    model = load_model((tmp_path / "out" / "model.onnx").read_bytes(), expected_sha256=result.sha256)
    assert model.signature.columns == dict(roles.features) and model.signature.trainer == "torch_mlp"
    assert [t.type for t in model.signature.inputs][:2] == ["float", "string"]
    rows = _raw(holdout, 3)
    rows[0]["plan"], rows[1]["age"] = "enterprise", None
    response = score(model, rows)
    assert len(response.predictions) == 3 and response.unseen_categories == {"plan": 1}
    assert result.metrics["validation"]["auc"] > 0.6  # it learnt from the encoded columns


SKLEARN = {"kind": "sklearn", "model": "gradient_boosting"}


def _spec(trainer: dict[str, Any], **changes: Any) -> Any:
    from shared.pipeline.spec import load_spec

    return load_spec(
        {"name": "churn", "source": "blob:data/churn.csv", "target": "churned", "task": "classification",
         "trainer": trainer, **changes}
    )  # fmt: skip


def test_each_trainer_gets_its_roles(churn: pl.DataFrame) -> None:
    from shared.steps.training import column_roles

    sklearn = column_roles(_spec(SKLEARN), churn)
    torch = column_roles(_spec({"kind": "torch_mlp"}), churn)
    assert sklearn.features == torch.features and len(sklearn.features) == 10
    command = column_roles(_spec({"kind": "command", "script": "train.py"}), churn)
    assert set(command.features) == {"tenure_months", "monthly_charges", "support_calls", "data_usage_gb",
                                     "age", "discount"}  # fmt: skip
    for name in ("signup_date", "plan", "region", "payment_method"):
        assert command.dropped[name] == (
            "a category or date: this command trainer takes the numeric matrix (inputs: raw takes them)"
        )
    raw_command = column_roles(_spec({"kind": "command", "script": "train.py", "inputs": "raw"}), churn)
    assert raw_command.features == sklearn.features and raw_command.dropped == sklearn.dropped
    rules = {"exclude": ["age"], "max_categories": 5}
    narrowed = column_roles(_spec(SKLEARN, features=rules), churn)
    assert narrowed.dropped["age"] == "excluded by features.exclude"
    assert narrowed.dropped["region"] == "6 categories, more than features.max_categories=5"


def test_the_spec_features_section_is_checked() -> None:
    with pytest.raises(ValidationError) as err:
        _spec(SKLEARN, features={"max_categories": 1})
    assert err.value.field == "features.max_categories"
    with pytest.raises(ValidationError) as err:
        _spec(SKLEARN, features={"drop": ["x"]})
    assert err.value.field == "features.drop"

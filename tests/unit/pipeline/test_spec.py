"""The pipeline spec: the examples load, and each kind of mistake names its field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.errors import ValidationError
from shared.models.metrics import direction_of
from shared.pipeline.spec import PipelineSpec, load_spec, load_spec_file

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"


def _example(name: str) -> dict[str, Any]:
    data = yaml.safe_load((EXAMPLES / name).read_text())
    assert isinstance(data, dict)
    return data


def test_breast_cancer_example_loads_as_binary_classifier() -> None:
    spec = load_spec_file(EXAMPLES / "breast_cancer.yaml")
    assert spec.task == "classification"
    assert spec.source.kind == "bundled" and spec.source.location == "breast_cancer"
    assert spec.source.resolved_format() == "csv"
    assert spec.trainer.kind == "sklearn"
    assert spec.gates.absolute["auc"].min == 0.95
    assert spec.deployment.alias == "production"


def test_diabetes_example_loads_as_regressor() -> None:
    spec = load_spec_file(EXAMPLES / "diabetes.yaml")
    assert spec.task == "regression"
    assert spec.split.train == 0.8
    assert spec.gates.champion_challenger is not None
    assert direction_of(spec.gates.champion_challenger.metric) == "lower"


def test_yaml_text_and_dict_give_the_same_spec() -> None:
    text = (EXAMPLES / "diabetes.yaml").read_text()
    assert load_spec(text) == load_spec(yaml.safe_load(text))


def test_defaults_fill_optional_sections() -> None:
    spec = load_spec(
        {
            "name": "mini",
            "source": "data/train.parquet",
            "target": "y",
            "task": "regression",
            "trainer": {"kind": "torch_mlp"},
        }
    )
    assert spec.source.kind == "blob" and spec.source.resolved_format() == "parquet"
    assert spec.reject_threshold == 0.05
    assert spec.compute.kind == "local"
    assert spec.deployment.alias == "production"
    assert spec.schedule is None and spec.budget is None


@pytest.mark.parametrize(
    ("text", "kind", "fmt"),
    [
        ("sklearn:diabetes", "bundled", "csv"),
        ("blob:raw/x.csv", "blob", "csv"),
        ("raw/nested/x.pq", "blob", "parquet"),
        ("./local/x.csv", "file", "csv"),
        ("/abs/x.parquet", "file", "parquet"),
        ("file:rel/x.csv", "file", "csv"),
    ],
)
def test_source_shorthand(text: str, kind: str, fmt: str) -> None:
    base = _example("diabetes.yaml")
    base["source"] = text
    spec = load_spec(base)
    assert (spec.source.kind, spec.source.resolved_format()) == (kind, fmt)


Mutation = Callable[[dict[str, Any]], None]

BAD_SPECS: list[tuple[str, Mutation, str]] = [
    ("unknown trainer", lambda d: d["trainer"].update(kind="xgboost"), "trainer.kind"),
    ("unknown sklearn model", lambda d: d["trainer"].update(model="svm"), "trainer.model"),
    ("missing target", lambda d: d.pop("target"), "target"),
    ("reject threshold above 1", lambda d: d.update(reject_threshold=1.5), "reject_threshold"),
    ("negative reject threshold", lambda d: d.update(reject_threshold=-0.1), "reject_threshold"),
    (
        "negative latency budget",
        lambda d: d["gates"].update(latency_budget_ms_p95=-5),
        "gates.latency_budget_ms_p95",
    ),
    ("zero model size", lambda d: d["gates"].update(max_model_bytes=0), "gates.max_model_bytes"),
    ("fractions not summing to 1", lambda d: d["split"].update(train=0.8), "split"),
    ("auc bound beyond 1", lambda d: d["gates"]["absolute"]["auc"].update(min=1.5), "gates.absolute.auc.min"),
    (
        "regression metric on classifier",
        lambda d: d["gates"]["absolute"].update(rmse={"max": 3}),
        "gates.absolute.rmse",
    ),
    (
        "champion metric not for task",
        lambda d: d["gates"]["champion_challenger"].update(metric="r2"),
        "gates.champion_challenger.metric",
    ),
    ("gate without bounds", lambda d: d["gates"]["absolute"].update(f1={}), "gates.absolute.f1"),
    ("unknown top-level key", lambda d: d.update(colour="red"), "colour"),
    ("unknown nested key", lambda d: d["split"].update(test=0.1), "split.test"),
    ("unknown compute", lambda d: d.update(compute={"kind": "k8s"}), "compute.kind"),
    ("azureml without cluster", lambda d: d.update(compute={"kind": "azureml"}), "compute.cluster"),
    ("bad schedule", lambda d: d.update(schedule="0 0 * *"), "schedule"),
    (
        "bad monitoring schedule",
        lambda d: d["monitoring"].update(schedule="0 61 * * * *"),
        "monitoring.schedule",
    ),
    ("unknown bundled dataset", lambda d: d.update(source="sklearn:iris"), "source"),
    ("source without format", lambda d: d.update(source="raw/data.txt"), "source"),
    (
        "bad regex",
        lambda d: d["expectations"]["columns"]["target"].update(regex="("),
        "expectations.columns.target",
    ),
    (
        "min above max",
        lambda d: d["expectations"]["columns"]["target"].update(min=5, max=1),
        "expectations.columns.target",
    ),
    ("bad task", lambda d: d.update(task="ranking"), "task"),
    ("bad name", lambda d: d.update(name="Has Spaces"), "name"),
    (
        "canary share of 1",
        lambda d: d["deployment"].update(canary={"traffic": 1.0}),
        "deployment.canary.traffic",
    ),
    ("negative cooldown", lambda d: d["monitoring"].update(cooldown_hours=-1), "monitoring.cooldown_hours"),
    (
        "inline code as a script",
        lambda d: d.update(trainer={"kind": "command", "script": "-c", "args": ["import os"]}),
        "trainer.script",
    ),
    (
        "script path instead of a name",
        lambda d: d.update(trainer={"kind": "command", "script": "../../etc/evil.py"}),
        "trainer.script",
    ),
    (
        "old interpreter-command shape",
        lambda d: d.update(trainer={"kind": "command", "script": "t.py", "command": ["python", "-c"]}),
        "trainer.command",
    ),
    (
        "script pin not a sha256",
        lambda d: d.update(trainer={"kind": "command", "script": "t.py", "sha256": "abc"}),
        "trainer.sha256",
    ),
    (
        "NUL in a script argument",
        lambda d: d.update(trainer={"kind": "command", "script": "t.py", "args": ["a\x00b"]}),
        "trainer.args",
    ),
]


def test_command_trainer_names_a_script_and_pins_it() -> None:
    data = copy.deepcopy(_example("breast_cancer.yaml"))
    data["trainer"] = {"kind": "command", "script": "linear.py", "sha256": "a" * 64, "args": ["--c", "2"]}
    trainer = load_spec(data).trainer
    assert trainer.kind == "command" and trainer.script == "linear.py" and trainer.args == ["--c", "2"]


@pytest.mark.parametrize(("case", "mutate", "field"), BAD_SPECS, ids=[c[0] for c in BAD_SPECS])
def test_bad_spec_raises_validation_error_naming_the_field(case: str, mutate: Mutation, field: str) -> None:
    data = copy.deepcopy(_example("breast_cancer.yaml"))
    mutate(data)
    with pytest.raises(ValidationError) as caught:
        load_spec(data)
    assert caught.value.field == field, caught.value.message
    assert field in caught.value.message


def test_not_a_mapping_and_bad_yaml_are_validation_errors() -> None:
    with pytest.raises(ValidationError) as caught:
        load_spec("- just\n- a list\n")
    assert caught.value.field == "spec"
    with pytest.raises(ValidationError):
        load_spec("name: [unclosed")


def test_spec_is_immutable() -> None:
    spec = load_spec_file(EXAMPLES / "diabetes.yaml")
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises its own ValidationError type
        spec.target = "other"  # type: ignore[misc]
    assert isinstance(spec, PipelineSpec)


@pytest.mark.parametrize("example", ["breast_cancer.yaml", "diabetes.yaml"])
def test_json_dump_loads_back_to_the_same_spec(example: str) -> None:
    spec = load_spec_file(EXAMPLES / example)
    assert load_spec(spec.model_dump(mode="json")) == spec


@pytest.mark.parametrize(("example", "metric"), [("breast_cancer.yaml", "rmse"), ("diabetes.yaml", "auc")])
def test_a_quality_metric_of_the_other_task_is_refused_at_submission(example: str, metric: str) -> None:
    data = _example(example)
    data["monitoring"] = {"quality": {"metric": metric}}
    with pytest.raises(ValidationError) as err:
        load_spec(data)
    assert err.value.field == "monitoring.quality.metric" and metric in err.value.message
    data["monitoring"]["quality"]["metric"] = "accuracy" if example == "breast_cancer.yaml" else "mae"
    assert load_spec(data).monitoring.quality.metric == data["monitoring"]["quality"]["metric"]

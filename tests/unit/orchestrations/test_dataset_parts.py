"""Replay tests of the fan-out ingest: the exact activities per path, and every failure ends the run."""

from __future__ import annotations

from typing import Any

from orchestrations import names
from orchestrations.training import training_pipeline
from shared.contracts import DatasetPart, DatasetPlan, PartCut, RunStatus, StepFailure

RUN = "iris-20260101000000-abcd"
SPEC: dict[str, Any] = {"name": "iris", "target": "species", "ingest": {"parts": 3}}
PARTS = 3
PLAN = DatasetPlan(
    fan_out=True,
    version="v1",
    size=300,
    location="data/iris.csv",
    columns=["a", "species"],
    parts=[
        DatasetPart(
            index=i, start=10 + 90 * i, end=100 + 90 * i, cuts=[PartCut(start=10, end=100, kind="plain")]
        )
        for i in range(PARTS)
    ],
    folder="iris/v1/abc",
).to_payload()
TYPING = {"dtypes": {"a": "float", "species": "string"}, "first_rows": [1, 51, 101], "rows_read": 150}
VALIDATED = {
    "version": "v1",
    "dataset": "iris",
    "rows_read": 150,
    "rows_accepted": 150,
    "splits": {"train": "t", "validation": "v"},
    "status": "validated",
}
CANDIDATE = {"blob": "candidates/x/model.onnx", "sha256": "ab" * 32, "size": 10, "job": "job-x"}
MODEL = {"model": "iris", "version": "0000000003", "sha256": "ab" * 32, "onnx_blob": "iris/3/model.onnx"}
DEPLOYMENT = {"model": "iris", "alias": "production", "version": "0000000003"}
AFTER = [
    names.TRAINING_JOB,
    names.EVALUATE_MODEL,
    names.REGISTER_MODEL,
    names.DEPLOY_MODEL,
    names.FINISH_RUN,
]


def ok(value: dict[str, Any]) -> Any:
    """A responder whose activity succeeds with ``value``."""
    return lambda _data: {"value": value}


def survey(data: dict[str, Any]) -> dict[str, Any]:
    """Each part's survey: 50 records."""
    return {"value": {"index": data["index"], "records": 50}}


def part(data: dict[str, Any]) -> dict[str, Any]:
    """Each part typed and validated."""
    i = data["index"]
    state = f"iris/v1/abc/parts/{i:04d}/state.json"
    return {
        "value": {"index": i, "records": 50, "rows_accepted": 50, "rows_quarantined": 0, "state_blob": state}
    }


def responders(**overrides: Any) -> dict[str, Any]:
    """Every activity succeeding, except the overrides."""
    ids = {"pipeline": "iris", "run_id": RUN}
    base = {
        names.START_RUN: ok(ids),
        names.PLAN_DATASET_PARTS: ok(PLAN),
        names.SURVEY_DATASET_PART: survey,
        names.MERGE_DATASET_SURVEYS: ok(TYPING),
        names.VALIDATE_DATASET_PART: part,
        names.MERGE_DATASET_PARTS: ok(VALIDATED),
        names.INGEST_DATASET: ok({"version": "v1", "dataset": "iris", "rows_read": 150}),
        names.VALIDATE_DATASET: ok(VALIDATED),
        names.EVALUATE_MODEL: ok({"passed": True, "metrics": {"accuracy": 0.97}, "decisions": []}),
        names.REGISTER_MODEL: ok(MODEL),
        names.DEPLOY_MODEL: ok(DEPLOYMENT),
        names.FINISH_RUN: ok(ids),
    }
    base.update({getattr(names, k.upper()): v for k, v in overrides.items()})
    return base


def pipeline(replay: Any, spec: dict[str, Any] | None = None, **overrides: Any) -> Any:
    """A replay of the training pipeline whose spec asks for parts."""
    request = {"pipeline": "iris", "spec": spec or SPEC, "trigger": "http", "poll_seconds": 2}
    return replay(
        training_pipeline,
        request,
        activities=responders(**overrides),
        subs={names.TRAINING_JOB: lambda _data: {"value": CANDIDATE}},
        instance_id=RUN,
    )


def outcome_of(host: Any) -> dict[str, Any]:
    """The outcome the single finish step recorded."""
    assert host.activity_names()[-1] == names.FINISH_RUN
    finishes = host.inputs(names.FINISH_RUN)
    assert len(finishes) == 1
    outcome: dict[str, Any] = finishes[0]["outcome"]
    return outcome


def test_parts_are_surveyed_then_validated_in_parallel_and_merged(replay: Any) -> None:
    host = pipeline(replay)
    output = host.run()
    assert host.activity_names() == [
        names.START_RUN,
        names.PLAN_DATASET_PARTS,
        *[names.SURVEY_DATASET_PART] * PARTS,
        names.MERGE_DATASET_SURVEYS,
        *[names.VALIDATE_DATASET_PART] * PARTS,
        names.MERGE_DATASET_PARTS,
        *AFTER,
    ]
    assert output["status"] == "Succeeded"
    assert [d["index"] for d in host.inputs(names.SURVEY_DATASET_PART)] == [0, 1, 2]
    assert all(d["plan"] == PLAN for d in host.inputs(names.SURVEY_DATASET_PART))
    merged = host.inputs(names.MERGE_DATASET_SURVEYS)[0]
    assert [s["records"] for s in merged["surveys"]] == [50, 50, 50]
    typed = host.inputs(names.VALIDATE_DATASET_PART)
    assert [d["index"] for d in typed] == [0, 1, 2] and typed[0]["typing"]["first_rows"] == [1, 51, 101]
    final = host.inputs(names.MERGE_DATASET_PARTS)[0]
    assert [p["state_blob"] for p in final["parts"]] == [
        part({"index": i})["value"]["state_blob"] for i in range(3)
    ]
    assert host.inputs(names.TRAINING_JOB)[0]["dataset"]["splits"] == {"train": "t", "validation": "v"}
    # the run's custom status says how many parts it is working on
    assert any(s and s.get("parts") == PARTS for s in host.statuses)


def test_a_plan_without_parts_runs_the_single_activities(replay: Any) -> None:
    host = pipeline(replay, plan_dataset_parts=ok({"fan_out": False, "reason": "fits in one part"}))
    host.run()
    assert host.activity_names() == [
        names.START_RUN,
        names.PLAN_DATASET_PARTS,
        names.INGEST_DATASET,
        names.VALIDATE_DATASET,
        *AFTER,
    ]


def test_a_spec_without_ingest_never_plans(replay: Any) -> None:
    host = pipeline(replay, spec={"name": "iris", "target": "species"})
    host.run()
    assert host.activity_names()[:3] == [names.START_RUN, names.INGEST_DATASET, names.VALIDATE_DATASET]


def test_a_version_typed_before_is_validated_as_stored(replay: Any) -> None:
    reused = {**TYPING, "reused": {"version": "v1", "dataset": "iris", "rows_read": 150, "reused": True}}
    host = pipeline(replay, merge_dataset_surveys=ok(reused))
    host.run()
    names_ = host.activity_names()
    assert names.VALIDATE_DATASET_PART not in names_ and names.MERGE_DATASET_PARTS not in names_
    assert names_[names_.index(names.MERGE_DATASET_SURVEYS) + 1] == names.VALIDATE_DATASET
    assert host.inputs(names.VALIDATE_DATASET)[0]["dataset"]["version"] == "v1"


def test_a_part_failing_permanently_ends_the_run_naming_the_part(replay: Any) -> None:
    def second_fails(data: dict[str, Any]) -> dict[str, Any]:
        if data["index"] != 1:
            return part(data)
        label = DatasetPlan.model_validate(data["plan"]).label(1)
        failure = StepFailure(step="validate", error="ValidationError", message=f"{label}: read 49 records")
        return {"failure": failure.to_payload()}

    host = pipeline(replay, validate_dataset_part=second_fails)
    output = host.run()
    assert names.MERGE_DATASET_PARTS not in host.activity_names()
    assert len(host.inputs(names.VALIDATE_DATASET_PART)) == PARTS, "a permanent failure is not retried"
    outcome = outcome_of(host)
    assert outcome["status"] == RunStatus.FAILED and outcome["step"] == "validate"
    assert (
        outcome["reason"] == "validate failed: part 2 of 3 (bytes 100-190 of data/iris.csv): read 49 records"
    )
    assert output["status"] == "Failed"


def test_a_part_failing_every_retry_ends_the_run_naming_the_part(replay: Any, transient: Any) -> None:
    def third_breaks(data: dict[str, Any]) -> dict[str, Any]:
        if data["index"] == 2:
            raise transient(
                "part 3 of 3 (bytes 190-280 of data/iris.csv): StorageUnavailableError: no answer"
            )
        return survey(data)

    host = pipeline(replay, survey_dataset_part=third_breaks)
    host.run()
    assert names.MERGE_DATASET_SURVEYS not in host.activity_names()
    assert host.inputs(names.SURVEY_DATASET_PART)[2]["_failed_attempts"] == 3
    outcome = outcome_of(host)
    assert outcome["status"] == RunStatus.FAILED and outcome["step"] == "ingest"
    assert "part 3 of 3 (bytes 190-280 of data/iris.csv)" in outcome["reason"]
    assert outcome["reason"].startswith("ingest failed: Activity function 'survey_dataset_part' failed")

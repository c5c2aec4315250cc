"""Run rows on a real Azurite: the end of a run, approval records, and reconciling ended instances."""

from __future__ import annotations

import json

import pytest

from shared.contracts import Evaluation, RunOutcome, RunStatus
from shared.errors import NotFoundError, StateConflictError, ValidationError
from shared.settings import Settings, load_settings
from shared.steps import approvals, reconcile, runs
from shared.storage.factory import Storage


@pytest.fixture
def settings_(azurite_connection_string: str) -> Settings:
    return load_settings(environ={"AzureWebJobsStorage": azurite_connection_string})


@pytest.fixture
def storage(settings_: Settings) -> Storage:
    built = Storage.from_settings(settings_)
    built.ensure_all()
    return built


def running(storage: Storage, unique: str) -> tuple[str, str]:
    pipeline, run_id = f"p{unique}", f"p{unique}-run"
    runs.create_pending(storage, pipeline, run_id)
    runs.start_run(storage, pipeline, run_id)
    return pipeline, run_id


def test_recorded_step_turns_permanent_errors_into_failures_and_lets_transient_ones_raise(
    storage: Storage, unique: str
) -> None:
    pipeline, run_id = running(storage, unique)

    def missing(_detail: dict[str, object]) -> Evaluation:
        raise ValidationError("target 'y' is not a column", field="target")

    reply = runs.recorded(storage, pipeline, run_id, "ingest", missing)
    assert reply.value is None and reply.failure is not None
    assert (reply.failure.step, reply.failure.error, reply.failure.field) == (
        "ingest",
        "ValidationError",
        "target",
    )
    step = storage.runs.get(pipeline, run_id)[0].steps[0]
    assert step["status"] == "Failed" and "target 'y'" in step["detail"]

    def flaky(_detail: dict[str, object]) -> Evaluation:
        raise ConnectionError("socket closed")

    with pytest.raises(ConnectionError):
        runs.recorded(storage, pipeline, run_id, "validate", flaky)


def test_finish_run_sets_reason_closes_open_steps_and_the_first_end_wins(
    storage: Storage, unique: str
) -> None:
    pipeline, run_id = running(storage, unique)
    runs.begin_step(storage, pipeline, run_id, "train")
    failed = RunOutcome(status=RunStatus.FAILED, reason="train failed: exit 1", step="train")
    record = runs.finish_run(storage, pipeline, run_id, failed)
    assert (record.status, record.reason, record.error) == (
        "Failed",
        "train failed: exit 1",
        "train failed: exit 1",
    )
    assert record.details["failed_step"] == "train" and record.finished_at is not None
    assert record.steps[0]["status"] == "Failed" and record.steps[0]["detail"] == "train failed: exit 1"
    later = RunOutcome(status=RunStatus.CANCELLED, reason="instance terminated: late")
    assert runs.finish_run(storage, pipeline, run_id, later).status == "Failed"


def test_decisions_are_recorded_once_and_only_while_waiting(storage: Storage, unique: str) -> None:
    pipeline, run_id = running(storage, unique)
    with pytest.raises(StateConflictError):
        approvals.record_decision(storage, run_id, "approve", "", "admin")
    with pytest.raises(NotFoundError):
        approvals.record_decision(storage, f"{run_id}-nope", "approve", "", "admin")
    evaluation = Evaluation(passed=True, metrics={"auc": 0.99})
    waiting = approvals.await_approval(storage, pipeline, run_id, evaluation, 2.0)
    assert waiting.status == "AwaitingApproval" and waiting.details["awaiting_approval"]["metrics"] == {
        "auc": 0.99
    }

    first = approvals.record_decision(storage, run_id, "reject", "bad drift", "principal:ann (id-1)")
    assert approvals.record_decision(storage, run_id, "reject", "again", "principal:bob (id-2)") == first
    with pytest.raises(StateConflictError):
        approvals.record_decision(storage, run_id, "approve", "", "principal:bob (id-2)")
    audit = [e for e in storage.audit.query(pk=f"run:{run_id}") if e.action == "reject"]
    assert len(audit) == 1 and audit[0].actor == "principal:ann (id-1)" and audit[0].reason == "bad drift"

    # Only the event naming the recorded decision counts; the SDK client's JSON text is decoded.
    forged = approvals.verify(storage, pipeline, run_id, {"approved": True})
    wrong = approvals.verify(storage, pipeline, run_id, {"decision_id": "f" * 32})
    real = approvals.verify(storage, pipeline, run_id, json.dumps({"decision_id": first.decision_id}))
    assert forged.decision is None and wrong.decision is None
    assert real.decision == first
    notes = storage.runs.get(pipeline, run_id)[0].details["ignored_approval_events"]
    assert len(notes) == 2


def test_ended_instances_end_their_open_rows(storage: Storage, settings_: Settings, unique: str) -> None:
    pipeline, run_id = running(storage, unique)
    open_rows = [r.run_id for r in storage.runs.query(filter="status eq @s", parameters={"s": "Running"})]
    assert run_id in open_rows, "the reconciler finds open rows by their status column"
    record = storage.runs.get(pipeline, run_id)[0]
    assert reconcile.end_from_runtime(storage, settings_, record, "Running", None, None) == record
    ended = reconcile.end_from_runtime(storage, settings_, record, "Terminated", "stopped by ops", None)
    assert (ended.status, ended.reason) == ("Cancelled", "instance terminated: stopped by ops")

    pipeline2, run2 = running(storage, unique + "b")
    crashed = storage.runs.get(pipeline2, run2)[0]
    output = "Orchestrator function 'training_pipeline' failed: boom\n  Traceback ..."
    failed = reconcile.end_from_runtime(storage, settings_, crashed, "Failed", output, None)
    assert failed.status == "Failed"
    assert failed.reason == "orchestration failed: Orchestrator function 'training_pipeline' failed: boom"


def test_identical_or_tied_candidates_are_no_change(storage: Storage, unique: str) -> None:
    import yaml

    from cli.local import ROOT
    from shared.pipeline.spec import load_spec
    from shared.steps import champion_guard
    from shared.storage.records import ModelRecord

    data = yaml.safe_load((ROOT / "examples" / "breast_cancer.yaml").read_text())
    data["name"] = f"guard-{unique}"
    spec = load_spec(data)  # champion_challenger on auc with min_improvement 0
    champion_sha = "a" * 64
    storage.models.insert(
        ModelRecord(model=spec.name, version="000001", onnx_blob="x/model.onnx", sha256=champion_sha)
    )

    def evaluation(auc: float) -> Evaluation:
        return Evaluation(
            passed=True, metrics={"auc": auc}, champion_version="000001", champion_metrics={"auc": 0.98}
        )

    same_bytes = champion_guard.no_change_reason(storage, spec, champion_sha, evaluation(0.99))
    assert same_bytes == "the candidate is byte-identical (sha256) to champion version 000001"
    tie = champion_guard.no_change_reason(storage, spec, "b" * 64, evaluation(0.98))
    assert tie is not None and "does not beat champion version 000001" in tie
    assert champion_guard.no_change_reason(storage, spec, "b" * 64, evaluation(0.985)) is None
    first = Evaluation(passed=True, metrics={"auc": 0.9})
    assert champion_guard.no_change_reason(storage, spec, champion_sha, first) is None  # no champion yet

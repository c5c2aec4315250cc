"""Activity triggers: each parses its small JSON input and calls one step in shared/steps."""

from __future__ import annotations

from typing import Any, Dict  # noqa: UP035 - see Payload

import azure.durable_functions as df

from functions import deps
from orchestrations import names
from shared.pipeline.spec import load_spec
from shared.steps import datasets, models, monitoring, runs, training

bp = df.Blueprint()

#: What an activity receives and returns. Spelled with ``typing.Dict`` on purpose: the Functions
#: Python worker refuses PEP 585 generics (``dict[str, Any]``) on binding parameters as a
#: "non-type annotation", and then indexes no function of the app at all.
Payload = Dict[str, Any]  # noqa: UP006


def _ids(payload: Payload) -> tuple[str, str]:
    return payload["pipeline"], payload["run_id"]


@bp.activity_trigger(input_name="payload", activity=names.START_RUN)
def start_run(payload: Payload) -> Payload:
    """Create the run row (status Running)."""
    pipeline, run_id = _ids(payload)
    record = runs.start_run(deps.storage(), pipeline, run_id, payload.get("trigger", "http"))
    return {"run_id": record.run_id, "status": record.status}


@bp.activity_trigger(input_name="payload", activity=names.INGEST_DATASET)
def ingest_dataset(payload: Payload) -> Payload:
    """Read the source and version it by content."""
    storage = deps.storage()
    with runs.step(storage, *_ids(payload), "ingest") as detail:
        result = datasets.ingest(storage, load_spec(payload["spec"]))
        detail.update(version=result["version"], rows_read=result["rows_read"], reused=result["reused"])
    runs.update_run(storage, *_ids(payload), dataset_version=result["version"])
    return result


@bp.activity_trigger(input_name="payload", activity=names.VALIDATE_DATASET)
def validate_dataset(payload: Payload) -> Payload:
    """Validate, quarantine, split and profile the dataset version."""
    storage = deps.storage()
    with runs.step(storage, *_ids(payload), "validate") as detail:
        result = datasets.validate(storage, load_spec(payload["spec"]), payload["dataset"]["version"])
        keys = ("rows_read", "rows_accepted", "rows_quarantined", "rejected", "reasons")
        detail.update({k: result[k] for k in keys})
    runs.update_run(storage, *_ids(payload), details={"validation": {k: result[k] for k in keys}})
    return result


@bp.activity_trigger(input_name="payload", activity=names.SUBMIT_TRAINING_JOB)
def submit_training_job(payload: Payload) -> Payload:
    """Submit the training job (idempotent by run id)."""
    storage, spec = deps.storage(), load_spec(payload["spec"])
    with runs.step(storage, *_ids(payload), "submit") as detail:
        handle = training.submit(storage, deps.settings(), spec, payload["run_id"], payload["dataset"])
        detail.update(handle)
    runs.begin_step(storage, *_ids(payload), "train")  # spans submit -> collect: the job's wall time
    return handle


@bp.activity_trigger(input_name="payload", activity=names.GET_TRAINING_JOB_STATUS)
def get_training_job_status(payload: Payload) -> Payload:
    """Poll the job (and mirror its checkpoints to Blob)."""
    spec = load_spec(payload["spec"])
    return training.status(deps.storage(), deps.settings(), spec, payload["job"])


@bp.activity_trigger(input_name="payload", activity=names.CANCEL_TRAINING_JOB)
def cancel_training_job(payload: Payload) -> Payload:
    """Cancel the job."""
    return training.cancel(deps.settings(), load_spec(payload["spec"]), payload["job"])


@bp.activity_trigger(input_name="payload", activity=names.COLLECT_TRAINING_OUTPUT)
def collect_training_output(payload: Payload) -> Payload:
    """Upload the trained ONNX as the run's candidate."""
    storage = deps.storage()
    result = training.collect(storage, deps.settings(), payload["run_id"], payload["job"])
    detail = {"job": result["job"], "sha256": result["sha256"], "size": result["size"]}
    runs.end_step(storage, *_ids(payload), "train", detail)
    return result


@bp.activity_trigger(input_name="payload", activity=names.EVALUATE_MODEL)
def evaluate_model(payload: Payload) -> Payload:
    """Candidate vs champion on the holdout; gate decisions stored on the run."""
    storage = deps.storage()
    with runs.step(storage, *_ids(payload), "evaluate") as detail:
        spec = load_spec(payload["spec"])
        result = models.evaluate(storage, spec, payload["dataset"], payload["candidate"])
        detail.update(passed=result["passed"], champion_version=result["champion_version"])
    runs.update_run(
        storage,
        *_ids(payload),
        metrics=result["metrics"],
        gate_decisions=result["decisions"],
        details={
            "champion_version": result["champion_version"],
            "champion_metrics": result["champion_metrics"],
        },
    )
    return result


@bp.activity_trigger(input_name="payload", activity=names.REGISTER_MODEL)
def register_model(payload: Payload) -> Payload:
    """Registry row + ONNX blob with lineage."""
    storage = deps.storage()
    with runs.step(storage, *_ids(payload), "register") as detail:
        spec = load_spec(payload["spec"])
        result = models.register(
            storage, spec, payload["run_id"], payload["dataset"], payload["candidate"], payload["evaluation"]
        )
        detail.update(version=result["version"])
    runs.update_run(storage, *_ids(payload), model_version=result["version"])
    return result


@bp.activity_trigger(input_name="payload", activity=names.DEPLOY_MODEL)
def deploy_model(payload: Payload) -> Payload:
    """Move the production alias."""
    storage = deps.storage()
    with runs.step(storage, *_ids(payload), "deploy") as detail:
        spec = load_spec(payload["spec"])
        result = models.deploy(storage, spec, payload["run_id"], payload["model"])
        record = storage.models.get(spec.name, result["version"])[0]
        # the drift monitor's reference: training features + this model's predictions on them
        result["drift_reference"] = monitoring.build_drift_reference(
            storage, spec, record, payload["dataset"]["splits"]
        )
        detail.update(result)
    return result


@bp.activity_trigger(input_name="payload", activity=names.FINISH_RUN)
def finish_run(payload: Payload) -> Payload:
    """Final status and the details that explain it."""
    record = runs.finish_run(deps.storage(), *_ids(payload), payload["status"], payload.get("details", {}))
    return {"run_id": record.run_id, "status": record.status}

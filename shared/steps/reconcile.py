"""Runs whose orchestration ended without ending the run row: terminated, crashed, or purged.

An orchestrator ends its own run on every path it controls; this covers the paths it does not
(the instance was terminated, or the orchestrator itself failed, e.g. its finish step kept
failing). The trigger layer reads the Durable runtime status and passes it in as plain values.
"""

from __future__ import annotations

import logging
from typing import Any

from shared.contracts import RunOutcome, RunStatus, is_terminal
from shared.errors import MlopsError
from shared.pipeline.spec import load_spec
from shared.settings import Settings
from shared.steps import rollout, runs, training
from shared.storage.factory import Storage
from shared.storage.records import RunRecord

log = logging.getLogger("mlops.reconcile")

#: Durable runtime statuses of an instance that will not run again.
ENDED = {"Completed", "Failed", "Terminated", "Canceled"}
MAX_REASON = 500


def _text(value: Any) -> str:
    text = str(value or "").strip().splitlines()
    return text[0][:MAX_REASON] if text else ""


def outcome_from_runtime(runtime_status: str, output: Any) -> RunOutcome | None:
    """How a run ended, judged from its instance (None while the instance may still run)."""
    if runtime_status not in ENDED:
        return None
    if runtime_status in ("Terminated", "Canceled"):
        why = _text(output) or "no reason given"
        return RunOutcome(status=RunStatus.CANCELLED, reason=f"instance terminated: {why}", step="terminate")
    if runtime_status == "Completed" and isinstance(output, dict) and output.get("status"):
        try:
            return RunOutcome.model_validate(output)
        except ValueError:
            pass
    why = _text(output) or "no error text"
    return RunOutcome(
        status=RunStatus.FAILED, reason=f"orchestration {runtime_status.lower()}: {why}", step="orchestration"
    )


def _training_job(record: RunRecord) -> dict[str, Any] | None:
    """The job a run submitted and did not collect (None when none is in flight)."""
    by_name = {s.get("name"): s for s in record.steps}
    train, submit = by_name.get("train"), by_name.get("submit")
    if train is None or train.get("status") != "Running" or submit is None:
        return None
    detail = submit.get("detail")
    return detail if isinstance(detail, dict) and detail.get("name") else None


def end_from_runtime(
    storage: Storage,
    settings: Settings,
    record: RunRecord,
    runtime_status: str,
    output: Any,
    spec_json: dict[str, Any] | None,
) -> RunRecord:
    """End a run row whose instance ended (cancelling its training job); other rows come back as they are."""
    if is_terminal(record.status):
        return record
    outcome = outcome_from_runtime(runtime_status, output)
    if outcome is None:
        return record
    job = _training_job(record)
    if job is not None and spec_json is not None:
        try:
            state = training.cancel(settings, load_spec(spec_json), job)
            outcome = outcome.model_copy(
                update={"details": {**outcome.details, "training_job": {"name": job["name"], **state}}}
            )
        except MlopsError as exc:  # the run still ends; the job's fate is recorded
            log.warning("could not cancel training job %s: %s", job["name"], exc.message)
            outcome = outcome.model_copy(
                update={"details": {**outcome.details, "training_job_cancel_error": exc.message}}
            )
    rollout.abandon(storage, record.pipeline, record.run_id, outcome.reason)  # no split nobody watches
    return runs.finish_run(storage, record.pipeline, record.run_id, outcome)

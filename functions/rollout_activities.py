"""Rollout activities: start, check a bake period, decide (advance, promote, roll back)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import azure.durable_functions as df

from functions.activities import Payload, _activity
from orchestrations import names
from shared.rollout_contracts import RolloutCheck, RolloutDecide, RolloutInput, RolloutRef, RolloutState

if TYPE_CHECKING:
    from shared.storage.factory import Storage

# Steps are imported inside each activity: importing function_app must stay light (cold start).

bp = df.Blueprint()


def _note(storage: Storage, pipeline: str, run_id: str, state: RolloutState) -> None:
    """Show where the rollout stands on the run row."""
    from shared.steps import runs

    runs.update_run(storage, pipeline, run_id, details={"rollout": state.to_payload()})


@bp.activity_trigger(input_name="payload", activity=names.START_ROLLOUT)
def start_rollout(payload: Payload) -> Payload:
    """Verify the candidate and start routing its first share (a first deployment switches directly)."""
    from shared.pipeline.spec import load_spec
    from shared.steps import models, monitoring, rollout

    def body(storage: Storage, r: RolloutInput, detail: dict[str, Any]) -> RolloutState:
        spec = load_spec(r.spec)
        alias = spec.deployment.alias
        record = models.verified(storage, r.model.model_dump())
        # Built now, so promotion is quick: the drift monitor's reference for the candidate.
        reference = monitoring.build_drift_reference(storage, spec, record, r.dataset.splits)
        pointer = storage.aliases.try_get(record.model, alias)
        if pointer is None or not pointer.version or pointer.version == record.version:
            moved = models.deploy(storage, spec, r.run_id, r.model.model_dump())
            state = RolloutState(
                status=rollout.PROMOTED,
                model=record.model,
                alias=alias,
                candidate=record.version,
                production=moved["previous"],
                share=1.0,
                reason="no production version to compare with: switched directly",
                actor="pipeline",
                drift_reference=reference,
            )
        else:
            started = rollout.start(
                storage,
                pipeline=r.pipeline,
                rollout_id=r.run_id,
                model=record.model,
                alias=alias,
                candidate=record.version,
                strategy=r.strategy,
                share=r.steps[0].share,
                steps=len(r.steps),
            )
            state = rollout.state(started, reference)
        detail.update(status=state.status, candidate=state.candidate, production=state.production)
        _note(storage, r.pipeline, r.run_id, state)
        return state

    return _activity(payload, RolloutInput, "rollout-start", body)


@bp.activity_trigger(input_name="payload", activity=names.CHECK_ROLLOUT)
def check_rollout(payload: Payload) -> Payload:
    """Candidate vs production on this step's live traffic; ``ended`` when a decision was already made."""
    from shared.pipeline.spec import load_spec
    from shared.steps import rollout
    from shared.steps import rollout_telemetry as telemetry

    def body(storage: Storage, r: RolloutRef, _: dict[str, Any]) -> RolloutCheck:
        record = rollout.repository(storage).try_get(r.model, r.alias)
        if record is None or record.rollout_id != r.rollout_id or not record.active:
            why = record.reason if record is not None and record.rollout_id == r.rollout_id else "replaced"
            return RolloutCheck(verdict="ended", reason=why or "ended")
        spec = load_spec(r.spec)
        checks = spec.deployment.checks
        result = telemetry.check(storage, spec, record)  # live telemetry, and quality where labeled
        numbers = {**result.numbers, "step": r.step + 1, "share": r.share}
        if result.verdict == "insufficient" and checks.allow_insufficient_traffic:
            return RolloutCheck(
                verdict="pass", reason=f"{result.reason} (allowed by the spec)", numbers=numbers
            )
        return result.model_copy(update={"numbers": numbers})

    return _activity(payload, RolloutRef, None, body)


@bp.activity_trigger(input_name="payload", activity=names.DECIDE_ROLLOUT)
def decide_rollout(payload: Payload) -> Payload:
    """Raise the share, promote or roll back; a rollout already decided keeps its decision."""
    from shared.pipeline.spec import load_spec
    from shared.steps import monitoring, rollout

    def body(storage: Storage, r: RolloutDecide, detail: dict[str, Any]) -> RolloutState:
        if r.action == "advance":
            record = rollout.advance(storage, r.model, r.alias, r.rollout_id, r.share, r.numbers)
        else:
            record, _ = rollout.end(
                storage,
                r.model,
                r.alias,
                r.rollout_id,
                promote=r.action == "promote",
                reason=r.reason,
                actor="pipeline",
                numbers=r.numbers,
            )
        reference = None
        if record.status == rollout.PROMOTED:
            version = storage.models.get(record.model, record.candidate)[0]
            reference = monitoring.build_drift_reference(storage, load_spec(r.spec), version, r.splits)
        state = rollout.state(record, reference)
        detail.update(action=r.action, status=state.status, share=state.share, reason=state.reason)
        _note(storage, r.pipeline, r.run_id, state)
        return state

    return _activity(payload, RolloutDecide, "rollout-decide", body)

"""Rollouts: the ETag-guarded record serving routes by, and the one decision that ends each rollout.

A rollout record (table ``rollouts``: model / alias) says, while its status is ``Baking``, that the
alias serves ``production`` to most requests and ``candidate`` to ``share`` of them (or, for a
shadow test, mirrors ``share`` of them to the candidate in the background). The alias row itself
keeps pointing at production until promotion, so a rollback never touches it: ending the record
restores production's full share at once.

Every end is claimed first (Baking -> Promoted/RolledBack under If-Match), then applied: a lost
race sees the other decision and keeps it, and a retried promotion re-applies its alias move
idempotently, so each rollout ends with exactly one decision.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.errors import NotFoundError, StateConflictError, ValidationError
from shared.rollout_contracts import RolloutState
from shared.storage.factory import Storage
from shared.storage.records import AliasRecord, DeploymentRecord, Record
from shared.storage.tables import TableRepository

BAKING, PROMOTED, ROLLED_BACK = "Baking", "Promoted", "RolledBack"
#: Checks kept on the record (the audit keeps every one).
MAX_CHECKS = 50


class RolloutRecord(Record):
    """A model alias's rollout (rollouts: model / alias); ETag-guarded."""

    model: str
    """Model name (PartitionKey)."""
    alias: str
    """The alias being rolled out (RowKey)."""
    rollout_id: str
    """The run that started it."""
    pipeline: str = ""
    """The run's pipeline."""
    strategy: str = "canary"
    """canary, linear or shadow."""
    candidate: str = ""
    """Version under test."""
    production: str | None = None
    """Version at the alias when the rollout started."""
    share: float = 0.0
    """Candidate's share of requests (shadow: share mirrored)."""
    step: int = 0
    """Index of the current step."""
    steps: int = 1
    """Number of steps."""
    status: str = BAKING
    """Baking, Promoted or RolledBack."""
    reason: str = ""
    """Why it ended."""
    actor: str = ""
    """Who ended it (pipeline, or the caller of a manual promote/rollback)."""
    numbers: dict[str, Any] = {}
    """The numbers behind the end."""
    checks: list[dict[str, Any]] = []
    """The bake checks so far (newest last)."""
    started_at: datetime | None = None
    """Start (UTC)."""
    step_started_at: datetime | None = None
    """Start of the current step (UTC): a check reads telemetry from here on."""
    ended_at: datetime | None = None
    """End (UTC)."""

    @property
    def mirror(self) -> bool:
        """True for a shadow test: callers never get the candidate's answers."""
        return self.strategy == "shadow"

    @property
    def active(self) -> bool:
        """True while the rollout routes traffic."""
        return self.status == BAKING and bool(self.candidate)


class RolloutRepository(TableRepository[RolloutRecord]):
    """Rollout records."""

    table_name = "rollouts"
    model = RolloutRecord
    partition_key_field = "model"
    row_key_field = "alias"


def repository(storage: Storage) -> RolloutRepository:
    """The rollouts table on ``storage``'s clients."""
    return RolloutRepository(storage.clients.table, storage.blobs)


def _now() -> datetime:
    return datetime.now(UTC)


def state(record: RolloutRecord, drift_reference: str | None = None) -> RolloutState:
    """The contract view of a record."""
    return RolloutState(
        status=record.status,
        model=record.model,
        alias=record.alias,
        candidate=record.candidate,
        production=record.production,
        share=record.share,
        reason=record.reason,
        actor=record.actor,
        drift_reference=drift_reference,
    )


def _audit(
    storage: Storage, record: RolloutRecord, action: str, reason: str, actor: str, **data: Any
) -> None:
    from shared.steps import audit  # local: serving imports this module and never audits

    payload = {"alias": record.alias, "rollout_id": record.rollout_id, "candidate": record.candidate}
    audit.record(storage, f"model:{record.model}", action, reason, {**payload, **data}, actor=actor)


def active(storage: Storage, model: str, alias: str) -> RolloutRecord | None:
    """The rollout routing traffic at ``model``/``alias`` now (None when there is none)."""
    record = repository(storage).try_get(model, alias)
    return record if record is not None and record.active else None


def start(
    storage: Storage,
    *,
    pipeline: str,
    rollout_id: str,
    model: str,
    alias: str,
    candidate: str,
    strategy: str,
    share: float,
    steps: int,
) -> RolloutRecord:
    """Begin routing ``share`` to ``candidate`` (idempotent for the same rollout id).

    StateConflictError when another rollout of the alias is still baking; the alias must already
    point at a production version (a first deployment has nothing to compare with).
    """
    pointer = storage.aliases.try_get(model, alias)
    production = pointer.version if pointer is not None and pointer.version else None
    now = _now()
    fresh = RolloutRecord(
        model=model,
        alias=alias,
        rollout_id=rollout_id,
        pipeline=pipeline,
        strategy=strategy,
        candidate=candidate,
        production=production,
        share=share,
        steps=steps,
        started_at=now,
        step_started_at=now,
    )
    created = {"new": False}

    def begin(current: RolloutRecord) -> RolloutRecord:
        if current.rollout_id == rollout_id:
            created["new"] = False
            return current  # a retried start: keep what the first attempt wrote
        if current.active:
            raise StateConflictError(
                f"model {model} alias {alias} is already rolling out version {current.candidate} "
                f"(run {current.rollout_id}); promote or roll it back first",
                field="deployment",
            )
        created["new"] = True
        return fresh

    placeholder = RolloutRecord(model=model, alias=alias, rollout_id="", status="None")
    record, _ = repository(storage).create_or_update(model, alias, placeholder, begin)
    if created["new"]:
        storage.deployments.upsert(
            DeploymentRecord(
                model=model,
                deployment_id=rollout_id,
                version=candidate,
                strategy=strategy,
                status=BAKING,
                reason=f"{strategy} of {candidate} against {production} at {share:.0%}",
                started_at=now,
            )
        )
        _audit(
            storage,
            record,
            "rollout-start",
            f"{strategy} of {candidate} at {share:.0%}",
            "pipeline",
            production=production,
            share=share,
        )
    return record


def _claim(
    storage: Storage, model: str, alias: str, rollout_id: str | None, mutate: Any
) -> tuple[RolloutRecord, bool]:
    """Apply ``mutate`` to a baking record of ``rollout_id`` (any id when None); (record, applied)."""
    applied = {"yes": False}

    def change(current: RolloutRecord) -> RolloutRecord:
        applied["yes"] = False
        if rollout_id is not None and current.rollout_id != rollout_id:
            raise StateConflictError(
                f"rollout {rollout_id} of {model}/{alias} was replaced by {current.rollout_id}",
                field="rollout",
            )
        if not current.active:
            return current  # already decided: that decision stands
        applied["yes"] = True
        new: RolloutRecord = mutate(current)
        return new

    try:
        record, _ = repository(storage).update(model, alias, change)
    except NotFoundError:
        raise StateConflictError(f"model {model} has no rollout at alias {alias}", field="model") from None
    return record, applied["yes"]


def advance(
    storage: Storage, model: str, alias: str, rollout_id: str, share: float, check: dict[str, Any]
) -> RolloutRecord:
    """Next step: the candidate's share becomes ``share`` (a decided rollout is returned unchanged)."""
    now = _now()

    def step(current: RolloutRecord) -> RolloutRecord:
        checks = [*current.checks, check][-MAX_CHECKS:]
        return current.model_copy(
            update={"share": share, "step": current.step + 1, "step_started_at": now, "checks": checks}
        )

    record, applied = _claim(storage, model, alias, rollout_id, step)
    if applied:
        _audit(
            storage,
            record,
            "rollout-step",
            f"share {share:.0%} after a passing check",
            "pipeline",
            share=share,
            check=check,
        )
    return record


def end(
    storage: Storage,
    model: str,
    alias: str,
    rollout_id: str | None,
    *,
    promote: bool,
    reason: str,
    actor: str,
    numbers: dict[str, Any] | None = None,
) -> tuple[RolloutRecord, bool]:
    """Claim the rollout's one decision, then apply it; (record, whether this call decided).

    A promotion moves the alias to the candidate (If-Match, only from the version the rollout
    started against); a rollback leaves the alias alone: production never changed.
    """
    now = _now()
    status = PROMOTED if promote else ROLLED_BACK

    def decide(current: RolloutRecord) -> RolloutRecord:
        checks = current.checks
        if numbers:
            checks = [*checks, {"decision": status, **numbers}][-MAX_CHECKS:]
        return current.model_copy(
            update={
                "status": status,
                "reason": reason,
                "actor": actor,
                "numbers": numbers or {},
                "checks": checks,
                "ended_at": now,
            }
        )

    record, decided = _claim(storage, model, alias, rollout_id, decide)
    if record.status == PROMOTED:
        _move_alias(storage, record)  # idempotent: a retried promotion finishes the move
    if decided:
        storage.deployments.upsert(
            DeploymentRecord(
                model=model,
                deployment_id=record.rollout_id,
                version=record.candidate,
                strategy=record.strategy,
                status=status,
                reason=reason,
                started_at=record.started_at,
            )
        )
        action = "rollout-promote" if promote else "rollout-rollback"
        _audit(storage, record, action, reason, actor, production=record.production, numbers=numbers or {})
    return record, decided


def _move_alias(storage: Storage, record: RolloutRecord) -> None:
    now = _now()

    def move(current: AliasRecord) -> AliasRecord:
        if current.version == record.candidate:
            return current
        if current.version != (record.production or ""):
            raise StateConflictError(
                f"alias {record.alias} of {record.model} moved to {current.version} during the rollout; "
                f"not promoting {record.candidate} over it",
                field="alias",
            )
        return current.model_copy(
            update={"version": record.candidate, "traffic_share": 1.0, "updated_at": now}
        )

    default = AliasRecord(
        model=record.model, alias=record.alias, version="", traffic_share=1.0, updated_at=now
    )
    storage.aliases.create_or_update(record.model, record.alias, default, move)


def rollback_to(
    storage: Storage, model: str, alias: str, version: str, actor: str, comment: str = ""
) -> dict[str, Any]:
    """Point production itself back at an older registered version (never during a rollout)."""
    from shared.steps.models import load_version  # the scoring stack loads only for this admin path

    baking = active(storage, model, alias)
    if baking is not None:
        raise StateConflictError(
            f"model {model} is rolling out {baking.candidate}: use rollout rollback first", field="model"
        )
    record = storage.models.try_get(model, version)
    if record is None:
        raise NotFoundError(f"model {model} version {version} is not registered", field="to")
    load_version(storage, record)  # only a version that verifies and loads may serve
    now = _now()
    previous: dict[str, str | None] = {"version": None}

    def move(current: AliasRecord) -> AliasRecord:
        previous["version"] = current.version or None
        return current.model_copy(update={"version": version, "traffic_share": 1.0, "updated_at": now})

    try:
        storage.aliases.update(model, alias, move)
    except NotFoundError:
        raise StateConflictError(f"model {model} has nothing deployed at {alias}", field="model") from None
    storage.deployments.upsert(
        DeploymentRecord(
            model=model,
            deployment_id=f"rollback-{now:%Y%m%dT%H%M%S%f}",
            version=version,
            strategy="rollback",
            status=PROMOTED,
            reason=comment or f"rolled back to {version}",
            started_at=now,
        )
    )
    from shared.steps import audit

    reason = f"alias {alias} rolled back to {version}" + (f": {comment}" if comment else "")
    data = {"alias": alias, "version": version, "previous": previous["version"]}
    audit.record(storage, f"model:{model}", "rollback", reason, data, actor=actor)
    return {"model": model, "alias": alias, "version": version, "previous": previous["version"]}


def describe(storage: Storage, model: str, alias: str) -> dict[str, Any]:
    """What ``mlops rollout status`` shows: the alias's version and its latest rollout."""
    pointer = storage.aliases.try_get(model, alias)
    record = repository(storage).try_get(model, alias)
    if pointer is None and record is None:
        raise NotFoundError(f"model {model!r} has nothing deployed at {alias!r}", field="model")
    return {
        "model": model,
        "alias": alias,
        "production": pointer.version if pointer is not None else None,
        "rollout": record.model_dump(mode="json") if record is not None else None,
    }


def check_action(action: object) -> str:
    """A manual action's name, or 400 naming the field."""
    if action not in ("promote", "rollback"):
        raise ValidationError(f"action must be promote or rollback, got {str(action)[:40]!r}", field="action")
    return str(action)


def abandon(storage: Storage, model: str, run_id: str, why: str) -> RolloutRecord | None:
    """Roll back the rollout a run started when the run ended without deciding it (terminated, crashed):
    otherwise serving would keep splitting traffic for a rollout nobody watches."""
    for record in repository(storage).query(pk=model):
        if record.rollout_id == run_id and record.active:
            ended, _ = end(
                storage,
                model,
                record.alias,
                run_id,
                promote=False,
                reason=f"the run ended without a decision: {why}",
                actor="reconciler",
            )
            return ended
    return None

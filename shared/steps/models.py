"""Evaluate, register and deploy steps: gates on the holdout, registry row + ONNX blob, alias move."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.errors import (
    AlreadyExistsError,
    ConcurrencyConflictError,
    IntegrityError,
    NotFoundError,
    StateConflictError,
)
from shared.models.evaluate import evaluate_candidate
from shared.models.gates import parse_gates
from shared.models.onnx_io import LoadedModel, load_model
from shared.pipeline.spec import PipelineSpec
from shared.steps import audit, rollout
from shared.steps.datasets import read_frame
from shared.steps.pipelines import spec_version
from shared.storage.factory import Storage
from shared.storage.records import AliasRecord, DeploymentRecord, ModelRecord, version_key


def gate_specs(spec: PipelineSpec) -> list[dict[str, Any]]:
    """The spec's gates section as the evaluator's gate declarations."""
    g = spec.gates
    gates: list[dict[str, Any]] = [
        {"kind": "threshold", "metric": metric, "min": bound.min, "max": bound.max}
        for metric, bound in g.absolute.items()
    ]
    if g.champion_challenger is not None:
        cc = g.champion_challenger
        gates.append(
            {
                "kind": "champion",
                "metric": cc.metric,
                "min_improvement": cc.min_improvement,
                "relative": cc.relative,
            }
        )
    if g.latency_budget_ms_p95 is not None:
        gates.append({"kind": "latency", "max_p95_ms": g.latency_budget_ms_p95})
    if g.max_model_bytes is not None:
        gates.append({"kind": "size", "max_bytes": g.max_model_bytes})
    return gates


def load_version(storage: Storage, record: ModelRecord) -> LoadedModel:
    """A registered version's ONNX, sha256-verified against the registry before use."""
    data = storage.blobs.get_bytes("models", record.onnx_blob, expected_sha256=record.sha256)
    return load_model(data, expected_sha256=record.sha256, field=f"models/{record.model}/{record.version}")


def champion_of(storage: Storage, model: str, alias: str) -> ModelRecord | None:
    """The version an alias points at (None when the alias does not exist yet)."""
    pointer = storage.aliases.try_get(model, alias)
    if pointer is None:
        return None
    return storage.models.try_get(model, pointer.version)


def evaluate(
    storage: Storage, spec: PipelineSpec, dataset: dict[str, Any], candidate: dict[str, Any]
) -> dict[str, Any]:
    """Candidate vs champion on the same holdout; every gate decision with its numbers."""
    holdout_blob = dataset["splits"].get("holdout") or dataset["splits"]["validation"]
    holdout = read_frame(storage, holdout_blob)
    data = storage.blobs.get_bytes("models", candidate["blob"], expected_sha256=candidate["sha256"])
    cand = load_model(data, expected_sha256=candidate["sha256"], field="candidate")
    champion_record = champion_of(storage, spec.name, spec.deployment.alias)
    champion = load_version(storage, champion_record) if champion_record else None
    report = evaluate_candidate(cand, holdout, parse_gates(gate_specs(spec)), champion, target=spec.target)
    return {
        "passed": report.passed,
        "metrics": report.candidate.values,
        "champion_version": champion_record.version if champion_record else None,
        "champion_metrics": report.champion.values if report.champion else None,
        "decisions": [d.model_dump(mode="json") for d in report.decisions],
        "holdout_rows": report.candidate.rows,
    }


def _audit(storage: Storage, entity: str, action: str, reason: str, data: dict[str, Any]) -> None:
    audit.record(storage, entity, action, reason, data, actor="pipeline")


#: How many version numbers one registration tries before giving up (transient: retried later).
MAX_VERSION_ATTEMPTS = 64


def version_blob_name(model: str, version: str, sha256: str) -> str:
    """Where a version's ONNX lives: the sha256 is part of the name, so a name only ever holds one content."""
    return f"{model}/{version}/sha256-{sha256}.onnx"


def _write_version_blob(storage: Storage, record: ModelRecord, data: bytes) -> None:
    """Create the version's blob (If-None-Match: *); a blob already there must hold exactly these bytes."""
    try:
        storage.blobs.put_bytes("models", record.onnx_blob, data, overwrite=False)
    except AlreadyExistsError:
        # An earlier attempt of this activity got this far: keep its blob only if it verifies.
        storage.blobs.get_bytes("models", record.onnx_blob, expected_sha256=record.sha256)


def register(
    storage: Storage,
    spec: PipelineSpec,
    run_id: str,
    dataset: dict[str, Any],
    candidate: dict[str, Any],
    evaluation: dict[str, Any],
) -> dict[str, Any]:
    """Reserve the next version (create-only row), then write its blob create-only.

    Nothing is ever overwritten: the row insert decides who owns a version number, the blob name
    carries the sha256 and is written with If-None-Match. A retried activity with the same bytes
    finds its own row and returns it (finishing the blob if the first attempt died before it);
    different bytes for the same run take a new version.
    """
    model = spec.name
    data = storage.blobs.get_bytes("models", candidate["blob"], expected_sha256=candidate["sha256"])
    digest = str(candidate["sha256"]).lower()
    existing = list(storage.models.query(pk=model))
    for record in existing:
        if record.run_id == run_id and record.sha256 == digest:
            _write_version_blob(storage, record, data)
            return _model_summary(record)
    number = max((int(r.version) for r in existing), default=0) + 1
    for _ in range(MAX_VERSION_ATTEMPTS):
        version = version_key(number)
        record = ModelRecord(
            model=model,
            version=version,
            onnx_blob=version_blob_name(model, version, digest),
            sha256=digest,
            metrics=dict(evaluation.get("metrics", {})),
            run_id=run_id,
            dataset_version=dataset["version"],
            spec_version=spec_version(spec),
            input_schema=dict(candidate.get("signature", {})),
            registered_at=datetime.now(UTC),
        )
        try:
            storage.models.insert(record)
        except AlreadyExistsError:
            number += 1  # another run reserved this number between our read and insert
            continue
        _write_version_blob(storage, record, data)
        _audit(
            storage,
            f"model:{model}",
            "register",
            f"run {run_id} passed its gates",
            {"version": version, "run_id": run_id, "dataset_version": dataset["version"], "sha256": digest},
        )
        return _model_summary(record)
    raise ConcurrencyConflictError(
        f"could not reserve a version of model {model!r} in {MAX_VERSION_ATTEMPTS} tries; retry later"
    )


def _model_summary(record: ModelRecord) -> dict[str, Any]:
    return {
        "model": record.model,
        "version": record.version,
        "sha256": record.sha256,
        "onnx_blob": record.onnx_blob,
        "metrics": record.metrics,
    }


def verified(storage: Storage, model: dict[str, Any]) -> ModelRecord:
    """The registered version a run means to deploy, only if its blob verifies and loads."""
    name, version = model["model"], model["version"]
    record = storage.models.try_get(name, version)
    if record is None:
        raise NotFoundError(f"model {name} version {version} is not registered", field="version")
    if model.get("sha256") and str(model["sha256"]).lower() != record.sha256:
        raise IntegrityError(
            f"model {name} version {version} holds sha256 {record.sha256}, not the {model['sha256']} "
            "this run registered",
            field="version",
        )
    # Only a version whose blob verifies (and loads) may take the alias: production must score.
    load_version(storage, record)
    return record


def deploy(storage: Storage, spec: PipelineSpec, run_id: str, model: dict[str, Any]) -> dict[str, Any]:
    """Move the spec's alias to the new version (ETag-guarded) and record it in deployments + audit."""
    name, version, alias = model["model"], model["version"], spec.deployment.alias
    verified(storage, model)
    baking = rollout.active(storage, name, alias)
    if baking is not None:  # moving production under a rollout would void its comparison
        raise StateConflictError(
            f"model {name} alias {alias} is rolling out version {baking.candidate} (run "
            f"{baking.rollout_id}); promote or roll it back first",
            field="deployment",
        )
    now = datetime.now(UTC)
    previous: dict[str, str | None] = {"version": None}

    def move(current: AliasRecord) -> AliasRecord:
        previous["version"] = current.version or None
        return current.model_copy(update={"version": version, "traffic_share": 1.0, "updated_at": now})

    default = AliasRecord(model=name, alias=alias, version="", traffic_share=1.0, updated_at=now)
    storage.aliases.create_or_update(name, alias, default, move)
    deployment_id = f"{run_id}"
    storage.deployments.upsert(
        DeploymentRecord(
            model=name,
            deployment_id=deployment_id,
            version=version,
            strategy="direct",
            status="Promoted",
            reason=f"alias {alias} -> {version}",
            started_at=now,
        )
    )
    _audit(
        storage,
        f"model:{name}",
        "deploy",
        f"alias {alias} moved to {version}",
        {"alias": alias, "version": version, "previous": previous["version"], "run_id": run_id},
    )
    return {"model": name, "alias": alias, "version": version, "previous": previous["version"]}

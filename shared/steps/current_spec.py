"""The one "current spec" rule: retraining uses the spec version behind the model at the deployment alias.

An experiment (an inline spec sent with a run) is registered like any spec, but it becomes current
only when the model it produced is deployed: a failed or rejected experiment never changes what
scheduled, drift or queued retraining runs. Before anything is deployed (or for a model registered
before models recorded their spec version) the newest registered spec is the only candidate.
"""

from __future__ import annotations

from datetime import UTC, datetime

from shared.pipeline.operations import Deployment
from shared.pipeline.spec import PipelineSpec, load_spec
from shared.storage.factory import Storage
from shared.storage.records import AliasRecord, PipelineRecord

_FLOOR = datetime.min.replace(tzinfo=UTC)


def current_deployment(storage: Storage, name: str) -> tuple[PipelineSpec, AliasRecord] | None:
    """The deployed model's spec and its alias: the alias whose model's spec declares that alias.

    Several aliases may exist (an old ``production`` left behind when a spec moved to ``live``);
    the one named by the deployed model's own spec and most recently moved wins.
    """
    aliases = sorted(storage.aliases.query(pk=name), key=lambda a: a.updated_at or _FLOOR, reverse=True)
    for alias in aliases:
        if not alias.version:
            continue
        model = storage.models.try_get(name, alias.version)
        if model is None or not model.spec_version:
            continue
        record = storage.pipelines.try_get(name, model.spec_version)
        if record is None:
            continue
        spec = load_spec(record.spec)
        if spec.deployment.alias == alias.alias:
            return spec, alias
    return None


def _newest(records: list[PipelineRecord]) -> PipelineRecord:
    return max(records, key=lambda r: r.registered_at or _FLOOR)


def current_spec(
    storage: Storage, name: str, registered: list[PipelineRecord] | None = None
) -> PipelineSpec | None:
    """The spec retraining of ``name`` uses (None when no spec of it was ever registered)."""
    deployed = current_deployment(storage, name)
    if deployed is not None:
        return deployed[0]
    records = list(storage.pipelines.query(pk=name)) if registered is None else registered
    return load_spec(_newest(records).spec) if records else None


def current_specs(storage: Storage) -> dict[str, PipelineSpec]:
    """The current spec of every registered pipeline."""
    by_name: dict[str, list[PipelineRecord]] = {}
    for record in storage.pipelines.query():
        by_name.setdefault(record.pipeline, []).append(record)
    out: dict[str, PipelineSpec] = {}
    for name, records in sorted(by_name.items()):
        spec = current_spec(storage, name, records)
        if spec is not None:
            out[name] = spec
    return out


def deployment_alias(storage: Storage, name: str) -> str:
    """The alias scoring and listings of ``name`` read: the current spec's ``deployment.alias``.

    A model without a registered spec (registered by hand) uses the spec's default alias.
    """
    spec = current_spec(storage, name)
    return (spec.deployment if spec is not None else Deployment()).alias


def model_listing(storage: Storage) -> list[dict[str, str | None]]:
    """Each model's latest version and the version at its deployment alias (``production`` kept as
    the key clients read, whatever the alias is called; ``alias`` names it)."""
    latest: dict[str, str] = {}
    for record in storage.models.query():
        latest[record.model] = max(latest.get(record.model, ""), record.version)
    items: list[dict[str, str | None]] = []
    for name, version in sorted(latest.items()):
        alias = deployment_alias(storage, name)
        pointer = storage.aliases.try_get(name, alias)
        deployed = pointer.version if pointer is not None and pointer.version else None
        items.append({"name": name, "latest_version": version, "alias": alias, "production": deployed})
    return items

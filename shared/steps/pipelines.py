"""Pipeline specs: resolve one (inline, registered, or a bundled example) and register it."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.compute.placement import check_placement
from shared.errors import NotFoundError, ValidationError
from shared.pipeline.spec import PipelineSpec, load_spec, load_spec_file
from shared.settings import Settings
from shared.steps import scripts, sources
from shared.steps.current_spec import current_spec
from shared.storage.factory import Storage
from shared.storage.records import PipelineRecord

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"


def spec_version(spec: PipelineSpec) -> str:
    """Content hash of the canonical spec JSON (same spec -> same version)."""
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def register_spec(storage: Storage, spec: PipelineSpec) -> PipelineRecord:
    """Store a spec version in `pipelines` (idempotent: same content, same row)."""
    record = PipelineRecord(
        pipeline=spec.name,
        spec_version=spec_version(spec),
        spec=spec.model_dump(mode="json"),
        registered_at=datetime.now(UTC),
    )
    existing = storage.pipelines.try_get(record.pipeline, record.spec_version)
    if existing is not None:
        return existing
    storage.pipelines.upsert(record)
    return record


def bundled_example(name: str) -> PipelineSpec | None:
    """The example spec shipped in examples/ whose name is ``name`` (None when there is none)."""
    for path in sorted(EXAMPLES_DIR.glob("*.yaml")):
        spec = load_spec_file(path)
        if spec.name == name:
            return spec
    return None


def check_runnable(spec: PipelineSpec) -> PipelineSpec:
    """Refuse what the spec can declare but this version cannot do yet, instead of ignoring it."""
    return spec  # rollouts (deployment.canary/linear/shadow) are run by orchestrations/rollout.py


def check_submission(storage: Storage, settings: Settings, spec: PipelineSpec) -> PipelineSpec:
    """Refuse at submission (400 naming the field) what would fail the run: untrusted or misplaced
    trainer code, a source outside the data roots/containers or missing, a target not in its header."""
    check_placement(spec, settings)
    if spec.trainer.kind == "command":
        scripts.resolve_trainer_script(storage, spec.trainer)
    sources.check_source(
        storage, spec.source, spec.target, settings, max_columns=spec.expectations.max_columns
    )
    return spec


def resolve_spec(
    storage: Storage, name: str, inline: Any = None, settings: Settings | None = None
) -> PipelineSpec:
    """An inline spec (validated; its name must match), else the current one, else an example.

    Given ``settings`` (a run is being requested), the spec also passes ``check_submission``.
    """
    if inline is not None:
        spec = load_spec(inline)
        if spec.name != name:
            raise ValidationError(f"spec name {spec.name!r} does not match the URL's {name!r}", field="name")
    else:
        found = current_spec(storage, name) or bundled_example(name)
        if found is None:
            raise NotFoundError(f"no pipeline named {name!r}: send the spec inline", field="name")
        spec = found
    check_runnable(spec)
    return spec if settings is None else check_submission(storage, settings, spec)

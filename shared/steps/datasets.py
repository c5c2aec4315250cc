"""Ingest and validate steps: read the source, version it by content, validate, split, profile.

Blob layout (containers from DESIGN section 4):
  datasets/<pipeline>/<version>/ingested.parquet, issues.parquet, ingest.json,
  datasets/<pipeline>/<version>/<rules>/<split>.parquet
  quarantine/<pipeline>/<version>/<rules>.csv   profiles/<pipeline>/<version>/<rules>.json, baseline.json
Same bytes -> same version -> the ingested rows are reused. A validation is reused only for the same
version AND the same data rules (``rules_key``): changing the target or an expectation on the same
file validates again, into its own ``<rules>`` folder, so earlier runs' splits stay readable.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import polars as pl

from shared.data.ingest import IngestResult, ingest_source
from shared.data.prepare import ingest_overrides, prepare_dataset
from shared.data.schema import BaselineSchema
from shared.data.split import to_parquet_bytes
from shared.errors import NotFoundError
from shared.pipeline.sections import Source
from shared.pipeline.spec import PipelineSpec
from shared.settings import Settings, load_settings
from shared.steps import sources
from shared.storage.factory import Storage
from shared.storage.records import DatasetRecord


def _prefix(spec: PipelineSpec, version: str) -> str:
    return f"{spec.name}/{version}"


def read_frame(storage: Storage, blob: str) -> pl.DataFrame:
    """A Parquet frame from the datasets container (splits, ingested rows), sha256-verified."""
    return pl.read_parquet(io.BytesIO(storage.blobs.get_bytes("datasets", blob)))


def load_baseline(storage: Storage, pipeline: str) -> BaselineSchema | None:
    """The pipeline's stored baseline schema (None before its first accepted dataset)."""
    name = f"{pipeline}/baseline.json"
    if not storage.blobs.exists("profiles", name):
        return None
    return BaselineSchema.from_json(storage.blobs.get_bytes("profiles", name))


def _confined_source(storage: Storage, spec: PipelineSpec, settings: Settings) -> tuple[Source, bytes | None]:
    """The source checked against the data roots/containers (file: resolved path; blob: its bytes)."""
    source = sources.confine(spec.source, settings)
    return source, sources.read_blob_source(storage, source, settings) if source.kind == "blob" else None


def dataset_summary(record: DatasetRecord, reused: bool) -> dict[str, Any]:
    """The small dict activities return about a dataset version."""
    return {
        "version": record.content_hash,
        "dataset": record.dataset,
        "rows_read": record.rows_read,
        "rows_accepted": record.rows,
        "rows_quarantined": record.rows_quarantined,
        "status": record.status,
        "rejected": record.status == "rejected",
        "splits": record.splits,
        "split_rows": record.split_rows,
        "profile_blob": record.profile_blob,
        "quarantine_blob": record.quarantine_blob,
        "reasons": record.reasons,
        "reused": reused,
    }


def ingest(storage: Storage, spec: PipelineSpec, settings: Settings | None = None) -> dict[str, Any]:
    """Read and type the source; a version seen before is reused without new writes."""
    baseline = load_baseline(storage, spec.name)
    source, data = _confined_source(storage, spec, settings or load_settings())
    result = ingest_source(source, data=data, overrides=ingest_overrides(spec, baseline))
    version = result.dataset_version
    existing = storage.datasets.try_get(spec.name, version)
    if existing is not None and _typed_alike(storage, existing, result):
        return dataset_summary(existing, reused=True)
    # New bytes, or the same bytes typed differently (schema_overrides changed): the typed rows
    # are rewritten and the record goes back to "ingested", so validation runs on them again.
    prefix = _prefix(spec, version)
    ingested = storage.blobs.put_bytes(
        "datasets", f"{prefix}/ingested.parquet", to_parquet_bytes(result.frame)
    )
    issues = storage.blobs.put_bytes("datasets", f"{prefix}/issues.parquet", to_parquet_bytes(result.issues))
    meta = result.model_dump_json().encode()
    storage.blobs.put_bytes("datasets", f"{prefix}/ingest.json", meta, content_type="application/json")
    record = DatasetRecord(
        dataset=spec.name,
        content_hash=version,
        rows=0,
        bytes=result.source_bytes,
        source=spec.source.location,
        rows_read=result.rows_read,
        status="ingested",
        ingested_blob=ingested.name,
        issues_blob=issues.name,
    )
    storage.datasets.upsert(record)
    return dataset_summary(record, reused=False)


def _typed_alike(storage: Storage, record: DatasetRecord, result: IngestResult) -> bool:
    """Whether the stored typed rows of a version have the column types this ingest decided."""
    meta = json.loads(
        storage.blobs.get_bytes("datasets", f"{record.dataset}/{record.content_hash}/ingest.json")
    )
    return bool(meta.get("dtypes") == result.dtypes)


def rules_key(spec: PipelineSpec) -> str:
    """Hash of everything in the spec that decides a validation's outcome (same rules, same key)."""
    rules = spec.model_dump(
        mode="json",
        include={"target", "task", "schema_overrides", "expectations", "split", "reject_threshold"},
    )
    canonical = json.dumps(rules, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _load_ingested(storage: Storage, record: DatasetRecord) -> IngestResult:
    prefix = f"{record.dataset}/{record.content_hash}"
    meta = json.loads(storage.blobs.get_bytes("datasets", f"{prefix}/ingest.json"))
    frame = read_frame(storage, f"{prefix}/ingested.parquet")
    issues = read_frame(storage, f"{prefix}/issues.parquet")
    return IngestResult(**meta, frame=frame, issues=issues)


def validate(storage: Storage, spec: PipelineSpec, version: str) -> dict[str, Any]:
    """Validate a version against the baseline + expectations; quarantine, split and profile it."""
    record = storage.datasets.try_get(spec.name, version)
    if record is None:
        raise NotFoundError(f"dataset {spec.name}/{version} was not ingested", field="dataset")
    key = rules_key(spec)
    if record.status in ("validated", "rejected") and record.rules_key == key:
        return dataset_summary(record, reused=True)
    baseline = load_baseline(storage, spec.name)
    prepared = prepare_dataset(_load_ingested(storage, record), spec, baseline)
    v = prepared.validation
    prefix = f"{_prefix(spec, version)}/{key}"
    quarantine = storage.blobs.put_bytes(
        "quarantine", f"{prefix}.csv", v.quarantine_csv(), content_type="text/csv"
    )
    splits: dict[str, str] = {}
    for split, data in prepared.splits.items():
        splits[split] = storage.blobs.put_bytes("datasets", f"{prefix}/{split}.parquet", data).name
    profile_blob = None
    if prepared.profile is not None:
        profile_blob = storage.blobs.put_bytes(
            "profiles", f"{prefix}.json", prepared.profile.to_json().encode(), content_type="application/json"
        ).name
    if v.baseline_inferred and not v.rejected:
        storage.blobs.put_bytes(
            "profiles",
            f"{spec.name}/baseline.json",
            v.baseline.to_json().encode(),
            content_type="application/json",
        )
    updated = record.model_copy(
        update={
            "rows": v.rows_accepted,
            "rows_read": v.rows_read,
            "rows_quarantined": v.rows_quarantined,
            "status": "rejected" if v.rejected else "validated",
            "reasons": list(v.reasons),
            "splits": splits,
            "split_rows": dict(prepared.split_rows),
            "profile_blob": profile_blob,
            "quarantine_blob": quarantine.name,
            "schema_": json.loads(v.baseline.to_json()),
            "rules_key": key,
        }
    )
    storage.datasets.upsert(updated)
    return {**dataset_summary(updated, reused=False), "notes": list(v.notes), "failures": v.failure_counts}

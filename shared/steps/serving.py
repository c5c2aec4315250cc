"""Serving: score rows with an alias's model (cached per version, sha256-verified) and log them.

The inference log is an append blob per model and hour (``inference-logs/<model>/<day>/<hour>.jsonl``),
one JSON line per sampled row with its features and prediction; the drift monitor reads it.
Append blobs grow, so unlike every other blob they carry no sha256.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceModifiedError

from shared.errors import NotFoundError
from shared.models.onnx_io import ModelCache
from shared.models.scoring import score
from shared.steps.models import PRODUCTION
from shared.storage.errors import mapped_errors
from shared.storage.factory import Storage
from shared.storage.names import validate_blob_name

LOG_CONTAINER = "inference-logs"


def _rows(payload: Any) -> Any:
    return payload.get("rows", payload) if isinstance(payload, dict) else payload


def score_rows(
    storage: Storage,
    cache: ModelCache,
    model: str,
    payload: Any,
    *,
    alias: str = PRODUCTION,
    sample_rate: float = 1.0,
) -> dict[str, Any]:
    """Predictions for the request's rows from the alias's version; 404 when nothing is deployed."""
    pointer = storage.aliases.try_get(model, alias)
    if pointer is None or not pointer.version:
        raise NotFoundError(f"model {model!r} has no {alias!r} version deployed", field="model")
    record = storage.models.try_get(model, pointer.version)
    if record is None:
        raise NotFoundError(f"model {model!r} version {pointer.version} is not registered", field="version")

    def fetch() -> bytes:
        return storage.blobs.get_bytes("models", record.onnx_blob, expected_sha256=record.sha256)

    loaded = cache.get(model, record.version, record.sha256, fetch)
    started = time.perf_counter()
    result = score(loaded, _rows(payload))
    elapsed_ms = (time.perf_counter() - started) * 1000
    predictions = [p.model_dump(exclude_none=True) for p in result.predictions]
    rows = _rows(payload)
    if sample_rate > 0 and isinstance(rows, list):
        append_inference_log(storage, model, record.version, rows, predictions, sample_rate)
    return {
        "model": model,
        "version": record.version,
        "predictions": predictions,
        "score_ms": round(elapsed_ms, 3),
    }


def log_blob_name(model: str, at: datetime) -> str:
    """The inference-log blob of a model for the hour ``at`` falls in."""
    return validate_blob_name(f"{model}/{at:%Y-%m-%d}/{at:%H}.jsonl")


def append_inference_log(
    storage: Storage,
    model: str,
    version: str,
    rows: list[Any],
    predictions: list[dict[str, Any]],
    sample_rate: float,
    at: datetime | None = None,
) -> int:
    """Append the sampled rows as JSON lines; returns how many were logged."""
    now = at or datetime.now(UTC)
    lines = []
    for row, prediction in zip(rows, predictions, strict=False):
        if sample_rate >= 1.0 or random.random() < sample_rate:
            lines.append(
                json.dumps(
                    {"ts": now.isoformat(), "version": version, "features": row, "prediction": prediction}
                )
            )
    if not lines:
        return 0
    name = log_blob_name(model, now)
    storage.blobs.ensure_container(LOG_CONTAINER)
    client = storage.clients.blob.get_blob_client(LOG_CONTAINER, name)
    with mapped_errors("blob", f"{LOG_CONTAINER}/{name}"):
        with contextlib.suppress(ResourceExistsError, ResourceModifiedError):
            client.create_append_blob(if_none_match="*")
        client.append_block(("\n".join(lines) + "\n").encode())
    return len(lines)


def read_inference_log(
    storage: Storage, model: str, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Logged rows of a model between two times (whole hours), oldest first."""
    out: list[dict[str, Any]] = []
    prefix = f"{model}/"
    for name in sorted(storage.blobs.list_names(LOG_CONTAINER, prefix)):
        try:
            hour = datetime.strptime(name[len(prefix) :], "%Y-%m-%d/%H.jsonl").replace(tzinfo=UTC)
        except ValueError:
            continue
        if hour < since.replace(minute=0, second=0, microsecond=0) or hour >= until:
            continue
        text = storage.blobs.get_bytes(LOG_CONTAINER, name, verify=False).decode()
        out.extend(json.loads(line) for line in text.splitlines() if line.strip())
    return out

"""Serving: score rows with an alias's model (cached per version, sha256-verified) and log them.

The inference log is an append blob per model and hour (``inference-logs/<model>/<day>/<hour>.jsonl``),
one JSON line per sampled row with its features and prediction; the drift monitor reads it.
Append blobs grow, so unlike every other blob they carry no sha256.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import random
import threading
import time
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceModifiedError

from shared.errors import NotFoundError
from shared.models.onnx_io import ModelCache
from shared.models.scoring import score
from shared.steps.current_spec import deployment_alias
from shared.storage.errors import mapped_errors
from shared.storage.factory import Storage
from shared.storage.names import validate_blob_name
from shared.storage.records import ModelRecord

LOG_CONTAINER = "inference-logs"
log = logging.getLogger(__name__)


def _rows(payload: Any) -> Any:
    return payload.get("rows", payload) if isinstance(payload, dict) else payload


class InferenceLogBuffer:
    """Buffers logged rows and appends them per blob in one call: every ``max_age_s`` or ``max_lines``.

    Scoring never waits on the log. Rows still buffered when a process dies are lost, which a
    sampled log tolerates; ``flush()`` writes them now (the host calls it on shutdown via atexit).
    """

    def __init__(
        self, storage: Storage, max_lines: int = 256, max_age_s: float = 1.0, *, background: bool = True
    ) -> None:
        self.storage = storage
        self.max_lines = max_lines
        self.max_age_s = max_age_s
        self.background = background
        self._pending: dict[str, list[str]] = {}
        self._created: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        if background:  # one-off callers (scripts, tests) write on every add instead
            threading.Thread(target=self._run, name="inference-log-flusher", daemon=True).start()
            atexit.register(self.flush)

    def add(self, name: str, lines: list[str]) -> None:
        """Queue lines for the blob ``name`` (written at once when not buffering in the background)."""
        if not self.background:
            self._append(name, lines)
            return
        with self._lock:
            bucket = self._pending.setdefault(name, [])
            bucket.extend(lines)
            full = len(bucket) >= self.max_lines
        if full:
            self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.max_age_s)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # keep the flusher alive; the rows stay queued for the next try
                log.exception("inference log flush failed")

    def flush(self) -> int:
        """Append everything queued; returns the number of lines written."""
        with self._lock:
            pending, self._pending = self._pending, {}
        written = 0
        for name, lines in pending.items():
            try:
                self._append(name, lines)
                written += len(lines)
            except Exception:
                with self._lock:  # put them back in front of anything queued since
                    self._pending[name] = lines + self._pending.get(name, [])
                raise
        return written

    def _append(self, name: str, lines: list[str]) -> None:
        client = self.storage.clients.blob.get_blob_client(LOG_CONTAINER, name)
        with mapped_errors("blob", f"{LOG_CONTAINER}/{name}"):
            if name not in self._created:
                self.storage.blobs.ensure_container(LOG_CONTAINER)
                with contextlib.suppress(ResourceExistsError, ResourceModifiedError):
                    client.create_append_blob(if_none_match="*")
                self._created.add(name)
            client.append_block(("\n".join(lines) + "\n").encode())


class Server:
    """Per-process serving state: loaded sessions, a short alias cache, the inference-log buffer."""

    def __init__(
        self, storage: Storage, *, alias_ttl_s: float = 2.0, log_buffer: InferenceLogBuffer | None = None
    ):
        self.storage = storage
        self.models = ModelCache()
        self.alias_ttl_s = alias_ttl_s
        self._aliases: dict[tuple[str, str], tuple[float, ModelRecord]] = {}
        self._deployed: dict[str, tuple[float, str]] = {}
        self.log = log_buffer or InferenceLogBuffer(storage)

    def alias_of(self, model: str) -> str:
        """The alias a model is served from: its current spec's ``deployment.alias`` (cached like aliases)."""
        now = time.monotonic()
        hit = self._deployed.get(model)
        if hit is not None and hit[0] > now:
            return hit[1]
        alias = deployment_alias(self.storage, model)
        self._deployed[model] = (now + self.alias_ttl_s, alias)
        return alias

    def resolve(self, model: str, alias: str | None = None) -> ModelRecord:
        """The version an alias (default: the deployment's) points at; cached for ``alias_ttl_s``."""
        alias = alias or self.alias_of(model)
        now = time.monotonic()
        hit = self._aliases.get((model, alias))
        if hit is not None and hit[0] > now:
            return hit[1]
        pointer = self.storage.aliases.try_get(model, alias)
        if pointer is None or not pointer.version:
            raise NotFoundError(f"model {model!r} has no {alias!r} version deployed", field="model")
        record = self.storage.models.try_get(model, pointer.version)
        if record is None:
            raise NotFoundError(
                f"model {model!r} version {pointer.version} is not registered", field="version"
            )
        self._aliases[(model, alias)] = (now + self.alias_ttl_s, record)
        return record

    def score(
        self, model: str, payload: Any, *, alias: str | None = None, sample_rate: float = 1.0
    ) -> dict[str, Any]:
        """Predictions for the request's rows; sampled rows go to the inference log."""
        record = self.resolve(model, alias)

        def fetch() -> bytes:
            return self.storage.blobs.get_bytes("models", record.onnx_blob, expected_sha256=record.sha256)

        loaded = self.models.get(model, record.version, record.sha256, fetch)
        started = time.perf_counter()
        result = score(loaded, _rows(payload))
        elapsed_ms = (time.perf_counter() - started) * 1000
        predictions = [p.model_dump(exclude_none=True) for p in result.predictions]
        rows = _rows(payload)
        if sample_rate > 0 and isinstance(rows, list):
            lines = log_lines(record.version, rows, predictions, sample_rate)
            if lines:
                self.log.add(log_blob_name(model, datetime.now(UTC)), lines)
        return {
            "model": model,
            "version": record.version,
            "predictions": predictions,
            "score_ms": round(elapsed_ms, 3),
        }


def log_lines(
    version: str, rows: list[Any], predictions: list[dict[str, Any]], sample_rate: float
) -> list[str]:
    """JSON lines of the sampled rows."""
    now = datetime.now(UTC).isoformat()
    out = []
    for row, prediction in zip(rows, predictions, strict=False):
        if sample_rate >= 1.0 or random.random() < sample_rate:
            out.append(json.dumps({"ts": now, "version": version, "features": row, "prediction": prediction}))
    return out


def log_blob_name(model: str, at: datetime) -> str:
    """The inference-log blob of a model for the hour ``at`` falls in."""
    return validate_blob_name(f"{model}/{at:%Y-%m-%d}/{at:%H}.jsonl")


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

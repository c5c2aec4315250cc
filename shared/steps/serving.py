"""Serving: score rows with an alias's model (cached per version, sha256-verified) and log them.

Every scored row gets a prediction id in the answer (generated, or the caller's key named by
``id_field``: ``shared.steps.prediction_ids``) and goes to the predictions log
(``shared.steps.prediction_log``) for feedback to join. Sampled rows also go to the inference log
(``shared.steps.inference_log``) with their features and ids: buffered per model version and hour,
written as Parquet parts the drift monitor scans without touching a row in Python. Every request a
served version answers or refuses row by row also adds its offered/refused/type-error row counts to
the inference log, sampled or not (the type-error rate: ``shared.steps.inference_log``).
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np

from shared.errors import NotFoundError, ValidationError
from shared.models.onnx_io import ModelCache
from shared.models.predict import RawPredictions
from shared.models.scoring import RowTally, score
from shared.models.signature import ModelSignature
from shared.steps import prediction_ids, rollout, routing
from shared.steps.current_spec import deployment_alias
from shared.steps.inference_log import (
    LOG_CONTAINER,
    InferenceLogBuffer,
    prediction_column,
    read_inference_log,
    row_quality,
)
from shared.steps.prediction_log import PredictionLogBuffer
from shared.steps.rollout import RolloutRecord
from shared.steps.rollout_telemetry import RolloutTelemetry
from shared.steps.routing import Route, ShadowPool
from shared.storage.factory import Storage
from shared.storage.records import ModelRecord

__all__ = ["LOG_CONTAINER", "InferenceLogBuffer", "Server", "log_rows", "read_inference_log", "sampled"]


def _rows(payload: Any) -> Any:
    return payload.get("rows", payload) if isinstance(payload, dict) else payload


class Server:
    """Per-process serving state: loaded sessions, a short alias cache, the inference-log buffer."""

    def __init__(
        self,
        storage: Storage,
        *,
        alias_ttl_s: float = 2.0,
        log_buffer: InferenceLogBuffer | None = None,
        telemetry: RolloutTelemetry | None = None,
        predictions: PredictionLogBuffer | None = None,
    ):
        self.storage = storage
        self.models = ModelCache()
        self.alias_ttl_s = alias_ttl_s
        self._aliases: dict[tuple[str, str], tuple[float, ModelRecord]] = {}
        self._deployed: dict[str, tuple[float, str]] = {}
        self._rollouts: dict[tuple[str, str], tuple[float, RolloutRecord | None]] = {}
        self._versions: dict[tuple[str, str], ModelRecord] = {}
        self.log = log_buffer or InferenceLogBuffer(storage)
        # Written the way the inference log is (a one-off caller's synchronous log: synchronous too).
        self.predictions = predictions or PredictionLogBuffer(storage, background=self.log.background)
        self.telemetry = telemetry or RolloutTelemetry(storage)
        self.shadows = ShadowPool()

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

    def rollout_of(self, model: str, alias: str) -> RolloutRecord | None:
        """The rollout routing ``model``/``alias`` now, if any (cached like aliases)."""
        now = time.monotonic()
        hit = self._rollouts.get((model, alias))
        if hit is not None and hit[0] > now:
            return hit[1]
        record = rollout.active(self.storage, model, alias)
        self._rollouts[(model, alias)] = (now + self.alias_ttl_s, record)
        return record

    def _version(self, model: str, version: str) -> ModelRecord | None:
        """A registered version's record; versions never change, so it is kept once read."""
        hit = self._versions.get((model, version))
        if hit is None:
            hit = self.storage.models.try_get(model, version)
            if hit is not None:
                self._versions[(model, version)] = hit
        return hit

    def route(self, model: str, alias: str | None = None, key: str | None = None) -> Route:
        """Which version serves this request, and which one (if any) scores a shadow copy."""
        alias = alias or self.alias_of(model)
        production = self.resolve(model, alias)
        baking = self.rollout_of(model, alias)
        if baking is None or baking.production != production.version:
            return Route(served=production, production=production)
        if not routing.to_candidate(baking.rollout_id, baking.share, key):
            return Route(served=production, production=production, rollout_id=baking.rollout_id)
        candidate = self._version(model, baking.candidate)
        if candidate is None:
            return Route(served=production, production=production, rollout_id=baking.rollout_id)
        if baking.mirror:
            return Route(
                served=production, production=production, rollout_id=baking.rollout_id, shadow=candidate
            )
        return Route(served=candidate, production=production, rollout_id=baking.rollout_id)

    def _run(
        self,
        model: str,
        record: ModelRecord,
        payload: Any,
        sample_rate: float,
        rollout_id: str | None,
        ids: list[str],
        at: datetime,
        *,
        served: bool = True,
    ) -> tuple[list[dict[str, Any]], float, dict[str, Any]]:
        """Score with one version; log its answered rows and the sampled rows; note rollout evidence.

        ``ids`` pairs with the request's rows. The third value is what scoring noted besides
        predictions (ignored fields, nulls, unseen categories, refused rows under ``partial``).
        A shadow copy (``served=False``) is kept out of the predictions log: feedback joins to the
        answer the caller got.
        """

        def fetch() -> bytes:
            return self.storage.blobs.get_bytes("models", record.onnx_blob, expected_sha256=record.sha256)

        loaded = self.models.get(model, record.version, record.sha256, fetch)
        started = time.perf_counter()
        tally = RowTally()
        try:
            result = score(loaded, payload, tally=tally)
        except Exception as exc:
            if served and tally.offered and isinstance(exc, ValidationError):
                # Rows refused (a 400 naming them): the type-error rate counts them too.
                self.log.count(model, record.version, at, tally.offered, tally.refused, tally.type_errors)
            if rollout_id is not None and not isinstance(exc, ValidationError):
                elapsed = (time.perf_counter() - started) * 1000
                self.telemetry.add(
                    model, rollout_id, record.version, ok=False, latency_ms=elapsed, predictions=[]
                )
            raise
        elapsed_ms = (time.perf_counter() - started) * 1000
        if served:
            self.log.count(model, record.version, at, tally.offered, tally.refused, tally.type_errors)
        rows = _rows(payload)
        if result.rows is not None and isinstance(rows, list):
            rows = [rows[i] for i in result.rows]  # partial: only the scored rows pair with predictions
            ids = [ids[i] for i in result.rows]
        predictions = [
            {"id": i, **p.model_dump(exclude_none=True)} for i, p in zip(ids, result.predictions, strict=True)
        ]
        if served and result._raw is not None:
            log_predictions(self.predictions, model, record.version, at, ids, result._raw)
        if sample_rate > 0 and isinstance(rows, list):
            # Raw-columns models: the log keeps the plain numeric features (nulls as NaN).
            features = loaded.signature.numeric_features
            log_rows(
                self.log,
                model,
                record.version,
                features,
                rows,
                predictions,
                sample_rate,
                at,
                signature=loaded.signature,
                ids=ids,
            )
        if rollout_id is not None:
            outputs = [p.get("label", p.get("value")) for p in predictions]
            self.telemetry.add(
                model, rollout_id, record.version, ok=True, latency_ms=elapsed_ms, predictions=outputs
            )
        return predictions, elapsed_ms, result.model_dump(exclude_none=True, exclude={"predictions"})

    def score(
        self,
        model: str,
        payload: Any,
        *,
        alias: str | None = None,
        sample_rate: float = 1.0,
        routing_key: str | None = None,
    ) -> dict[str, Any]:
        """Predictions (each with its id) for the request's rows from the version its route picks.

        Every answered row goes to the predictions log, sampled rows to the inference log. Under a
        shadow test the candidate scores a copy in the background: the caller only ever
        gets production's answer, the candidate's go to the log and the rollout's evidence.
        """
        key = routing.routing_key(payload, routing_key)
        at = datetime.now(UTC)
        ids = request_ids(payload, at)
        route = self.route(model, alias, key)
        served = route.served
        predictions, elapsed_ms, noted = self._run(
            model, served, payload, sample_rate, route.rollout_id, ids, at
        )
        shadow, rollout_id = route.shadow, route.rollout_id
        if shadow is not None and rollout_id is not None:
            copy = copy_payload(payload)
            self.shadows.submit(
                lambda: self._run(model, shadow, copy, 1.0, rollout_id, ids, at, served=False) and None
            )
        return {
            "model": model,
            "version": route.served.version,
            "predictions": predictions,
            "score_ms": round(elapsed_ms, 3),
            **noted,
        }


def request_ids(payload: Any, at: datetime) -> list[str]:
    """One prediction id per request row: the caller's keys (``id_field``) or generated ones.

    Empty when the request has no row list (scoring then refuses it with its own message).
    """
    rows = _rows(payload)
    if not isinstance(rows, list):
        return []
    field = prediction_ids.id_field_of(payload)
    if field is not None:
        return prediction_ids.caller_keys(rows, field)
    return prediction_ids.generated_ids(at, len(rows))


def log_predictions(
    buffer: PredictionLogBuffer, model: str, version: str, at: datetime, ids: list[str], raw: RawPredictions
) -> None:
    """Queue every answered row's id and prediction (class probabilities, or the value)."""
    if raw.class_index is not None and raw.probabilities is not None and raw.classes is not None:
        buffer.add(
            model,
            version,
            at,
            ids,
            classes=raw.classes,
            class_index=raw.class_index,
            probabilities=raw.probabilities,
        )
    elif raw.values is not None:
        buffer.add(model, version, at, ids, values=raw.values)


def copy_payload(payload: Any) -> Any:
    """A deep copy of the request's rows for the shadow (the caller's objects are never shared)."""
    rows = _rows(payload)
    return [dict(r) if isinstance(r, dict) else r for r in rows] if isinstance(rows, list) else rows


def sampled(count: int, sample_rate: float) -> list[int]:
    """Indices of the rows that go to the inference log."""
    if sample_rate >= 1.0:
        return list(range(count))
    return [i for i in range(count) if random.random() < sample_rate]


def log_rows(
    buffer: InferenceLogBuffer,
    model: str,
    version: str,
    features: list[str],
    rows: list[Any],
    predictions: list[dict[str, Any]],
    sample_rate: float,
    at: datetime | None = None,
    signature: ModelSignature | None = None,
    ids: list[str] | None = None,
) -> int:
    """Queue the sampled rows (already validated by scoring) with their predictions (and ids); how many."""
    keep = sampled(min(len(rows), len(predictions)), sample_rate)
    if not keep:
        return 0
    # Scoring accepted these rows: each feature is a finite number, or (raw-columns models) a
    # null or left out, which becomes NaN here.
    matrix = np.array([[rows[i].get(name) for name in features] for i in keep], dtype=np.float32)
    outputs = [predictions[i].get("label", predictions[i].get("value")) for i in keep]
    # Raw-columns models: per-row null and unseen-category counts (data quality, not drift features).
    quality = row_quality(signature, [rows[i] for i in keep]) if signature is not None else None
    kept_ids = [ids[i] for i in keep] if ids is not None else None
    buffer.add(model, version, features, prediction_column(features), matrix, outputs, at, quality, kept_ids)
    return len(keep)

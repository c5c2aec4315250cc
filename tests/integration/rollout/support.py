"""Test support for rollout tests: the trained models and a server that flushes evidence on demand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.pipeline.spec import PipelineSpec
from shared.steps.inference_log import InferenceLogBuffer
from shared.steps.rollout_telemetry import RolloutTelemetry
from shared.steps.serving import Server
from shared.storage.factory import Storage


@dataclass(frozen=True)
class Models:
    """Storage, the base spec, candidates by label (good, other, constant) and feature rows to score."""

    storage: Storage
    spec: PipelineSpec
    candidates: dict[str, dict[str, Any]]
    rows: list[dict[str, Any]]


def server(storage: Storage, ttl: float = 0.0, *, sync_log: bool = True) -> Server:
    """A Server reading aliases and rollouts afresh after ``ttl`` seconds.

    Its logs are synchronous (each request's rows in Blob before it returns) unless ``sync_log`` is
    False: tests that send thousands of requests and read no log use the buffered writer, as a host does.
    """
    return Server(
        storage,
        alias_ttl_s=ttl,
        log_buffer=InferenceLogBuffer(storage, background=not sync_log),
        telemetry=RolloutTelemetry(storage, flush_s=0.2),
    )

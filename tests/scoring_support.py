"""Test support: one-off scoring through the real ``Server`` that has written its log lines on return."""

from __future__ import annotations

from typing import Any

from shared.models.onnx_io import ModelCache
from shared.steps.serving import InferenceLogBuffer, Server
from shared.storage.factory import Storage


def score_rows(
    storage: Storage,
    cache: ModelCache,
    model: str,
    payload: Any,
    *,
    alias: str | None = None,
    sample_rate: float = 1.0,
) -> dict[str, Any]:
    """Score with no alias cache and a synchronous inference log (tests read the log right after)."""
    server = Server(storage, alias_ttl_s=0.0, log_buffer=InferenceLogBuffer(storage, background=False))
    server.models = cache
    return server.score(model, payload, alias=alias, sample_rate=sample_rate)

"""Test support for the drift monitor tests: the trained model and a deployed copy of it."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from shared.models.onnx_io import ModelCache
from shared.models.scoring import score
from shared.pipeline.spec import PipelineSpec
from shared.steps import serving
from shared.storage.factory import Storage
from shared.storage.records import ModelRecord


@dataclass(frozen=True)
class Trained:
    """The storage, the base spec and a trained candidate (uploaded once for the module)."""

    storage: Storage
    spec: PipelineSpec
    candidate: dict[str, Any]


@dataclass(frozen=True)
class Deployed:
    """A model deployed to production under a name of its own, with its validated dataset."""

    storage: Storage
    spec: PipelineSpec
    record: ModelRecord
    dataset: dict[str, Any]

    @property
    def name(self) -> str:
        """Model (= pipeline) name."""
        return self.spec.name

    def split(self, name: str) -> pl.DataFrame:
        """A dataset split as a frame."""
        blob = self.dataset["splits"][name]
        return pl.read_parquet(io.BytesIO(self.storage.blobs.get_bytes("datasets", blob)))

    def feature_rows(self, split: str = "holdout") -> list[dict[str, Any]]:
        """Feature dicts of a split's rows (the target dropped), as a scoring client sends them."""
        return self.split(split).drop(self.spec.target).to_dicts()

    def write_log(
        self, hour: datetime, rows: list[dict[str, Any]], scored: list[dict[str, Any]] | None = None
    ) -> None:
        """Append rows to the model's inference log for ``hour`` with the predictions for ``scored``."""
        if not rows:
            return
        data = self.storage.blobs.get_bytes("models", self.record.onnx_blob)
        loaded = ModelCache().get(self.name, self.record.version, self.record.sha256, lambda: data)
        predictions = [p.model_dump(exclude_none=True) for p in score(loaded, scored or rows).predictions]
        lines = serving.log_lines(self.record.version, rows, predictions, 1.0)
        lines = [json.dumps({**json.loads(line), "ts": hour.isoformat()}) for line in lines]
        name = serving.log_blob_name(self.name, hour)
        client = self.storage.clients.blob.get_blob_client(serving.LOG_CONTAINER, name)
        if not client.exists():
            client.create_append_blob()
        client.append_block(("\n".join(lines) + "\n").encode())

    def messages(self) -> list[dict[str, Any]]:
        """Retrain-request messages on the queue for this model."""
        found = [m.json() for m in self.storage.retrain_requests.peek(32)]
        return [m for m in found if isinstance(m, dict) and m.get("model") == self.name]

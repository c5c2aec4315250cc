"""Test support for the drift monitor tests: the trained model and a deployed copy of it."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from shared.models.onnx_io import ModelCache
from shared.models.scoring import score
from shared.pipeline.spec import PipelineSpec
from shared.steps.inference_log import InferenceLogBuffer, prediction_column
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
        """Write rows as a log part at ``hour`` with the predictions for ``scored``.

        The part's features are the first row's keys, so rows without a feature stand for a part
        written under an older signature; values are written as given (NaN and inf included).
        """
        if not rows:
            return
        data = self.storage.blobs.get_bytes("models", self.record.onnx_blob)
        loaded = ModelCache().get(self.name, self.record.version, self.record.sha256, lambda: data)
        predictions = [p.model_dump(exclude_none=True) for p in score(loaded, scored or rows).predictions]
        features = list(rows[0])
        matrix = np.array([[row[f] for f in features] for row in rows], dtype=np.float32)
        outputs = [p.get("label", p.get("value")) for p in predictions]
        prediction = prediction_column(list(self.record.input_schema["features"]))
        buffer = InferenceLogBuffer(self.storage, background=False)
        buffer.add(self.name, self.record.version, features, prediction, matrix, outputs, at=hour)

    def messages(self) -> list[dict[str, Any]]:
        """Retrain-request messages on the queue for this model."""
        found = [m.json() for m in self.storage.retrain_requests.peek(32)]
        return [m for m in found if isinstance(m, dict) and m.get("model") == self.name]

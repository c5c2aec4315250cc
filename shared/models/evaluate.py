"""Evaluate ONNX models on a holdout with onnxruntime and decide the gates for a candidate."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from pydantic import BaseModel, Field

from shared.errors import ValidationError
from shared.models.frames import class_indices, model_inputs, regression_target, target_column
from shared.models.gates import GateDecision, GateSpec, all_passed, apply_gates
from shared.models.metrics import classification_metrics, regression_metrics
from shared.models.onnx_io import LoadedModel
from shared.models.predict import predict_matrix

DEFAULT_LATENCY_RUNS = 200


class ModelMetrics(BaseModel):
    """A model's metrics on one holdout, plus p95 batch-1 latency and file size."""

    task: str
    rows: int
    values: dict[str, float] = Field(
        description="Every metric of the task in shared.models.metrics.REGISTRY + latency_p95_ms, size_bytes."
    )


class EvaluationReport(BaseModel):
    """Candidate (and champion) metrics with every gate decision; ``passed`` = no gate failed."""

    candidate: ModelMetrics
    champion: ModelMetrics | None
    decisions: list[GateDecision]
    passed: bool


#: Rounds of ``runs`` timed calls; the gate takes the best round's p95.
LATENCY_ROUNDS = 3


def latency_p95_ms(
    model: LoadedModel, matrix: np.ndarray[Any, Any], runs: int = DEFAULT_LATENCY_RUNS
) -> float:
    """p95 wall time in ms of single-row ``session.run`` calls cycling over the matrix rows.

    The lowest p95 of ``LATENCY_ROUNDS`` rounds: a busy neighbour on a shared machine stalls
    some calls of one round, not the model; a model that is really slow is slow in every round.
    """
    if runs < 1 or len(matrix) == 0:
        raise ValidationError("latency needs at least one run and one row", field="latency_runs")
    for i in range(min(5, runs)):  # warm-up: first runs allocate and are not representative
        model.run(matrix[i % len(matrix) : i % len(matrix) + 1])
    best = float("inf")
    for _ in range(LATENCY_ROUNDS):
        timings = np.empty(runs)
        for i in range(runs):
            row = matrix[i % len(matrix) : i % len(matrix) + 1]
            start = time.perf_counter()
            model.run(row)
            timings[i] = time.perf_counter() - start
        best = min(best, float(np.percentile(timings, 95) * 1000.0))
    return best


def prediction_metrics(model: LoadedModel, frame: pl.DataFrame, target: str, where: str) -> dict[str, float]:
    """Task metrics of ``model`` on ``frame`` (no latency, no size)."""
    sig = model.signature
    matrix = model_inputs(frame, sig, where)
    y = target_column(frame, target, where)
    raw = predict_matrix(model, matrix)
    if raw.probabilities is not None:
        return classification_metrics(class_indices(y, sig.classes or [], where), raw.probabilities)
    assert raw.values is not None
    return regression_metrics(regression_target(y, where), raw.values)


def evaluate_model(
    model: LoadedModel,
    holdout: pl.DataFrame,
    target: str | None = None,
    latency_runs: int = DEFAULT_LATENCY_RUNS,
) -> ModelMetrics:
    """Metrics, p95 latency and size of ``model`` on ``holdout`` (target defaults to the model's)."""
    target = target or model.signature.target
    if not target:
        raise ValidationError("no target column given and the model metadata names none", field="target")
    if holdout.height == 0:
        raise ValidationError("holdout is empty", field="holdout")
    values = prediction_metrics(model, holdout, target, "holdout")
    matrix = model_inputs(holdout, model.signature, "holdout")
    values["latency_p95_ms"] = latency_p95_ms(model, matrix, latency_runs)
    values["size_bytes"] = float(model.size_bytes)
    return ModelMetrics(task=model.signature.task, rows=holdout.height, values=values)


def evaluate_candidate(
    candidate: LoadedModel,
    holdout: pl.DataFrame,
    gates: Sequence[GateSpec],
    champion: LoadedModel | None = None,
    target: str | None = None,
    latency_runs: int = DEFAULT_LATENCY_RUNS,
) -> EvaluationReport:
    """Score candidate and champion on the same holdout and decide every gate."""
    if champion is not None and champion.signature.task != candidate.signature.task:
        message = f"champion is a {champion.signature.task} model, candidate {candidate.signature.task}"
        raise ValidationError(message, field="champion")
    target = target or candidate.signature.target
    cand = evaluate_model(candidate, holdout, target, latency_runs)
    champ = evaluate_model(champion, holdout, target, latency_runs) if champion else None
    decisions = apply_gates(gates, cand.values, champ.values if champ else None)
    return EvaluationReport(candidate=cand, champion=champ, decisions=decisions, passed=all_passed(decisions))

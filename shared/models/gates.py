"""Evaluation gates: declarations (pydantic) and their decisions, direction-aware per metric."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from shared.errors import GateRejectedError, ValidationError
from shared.models.metrics import direction_of

GateStatus = Literal["passed", "failed", "skipped"]


class ThresholdGate(BaseModel):
    """Absolute bound on a metric: ``min``/``max``, or ``threshold`` on the metric's good side."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["threshold"] = "threshold"
    metric: str
    threshold: float | None = Field(None, description="Lower bound if higher is better, else upper bound.")
    min: float | None = Field(None, description="Candidate value must be >= min.")
    max: float | None = Field(None, description="Candidate value must be <= max.")


class ChampionGate(BaseModel):
    """Candidate must beat the champion by ``min_improvement`` (absolute, or relative to the champion)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["champion"] = "champion"
    metric: str
    min_improvement: float = Field(0.0, description="Required gain in the good direction; < 0 = tolerance.")
    relative: bool = Field(False, description="min_improvement is a fraction of |champion value|.")


class LatencyGate(BaseModel):
    """p95 per-row latency (ms, onnxruntime batch 1) must be within budget."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["latency"] = "latency"
    max_p95_ms: float = Field(gt=0)


class SizeGate(BaseModel):
    """The ONNX file must be at most ``max_bytes``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["size"] = "size"
    max_bytes: int = Field(gt=0)


GateSpec = Annotated[ThresholdGate | ChampionGate | LatencyGate | SizeGate, Field(discriminator="kind")]
_GATES: TypeAdapter[list[GateSpec]] = TypeAdapter(list[GateSpec])


class GateDecision(BaseModel):
    """One gate's verdict with the numbers behind it."""

    gate: str
    status: GateStatus
    metric: str
    value: float | None
    threshold: float | None
    champion_value: float | None = None
    reason: str


def parse_gates(raw: Sequence[Mapping[str, Any]]) -> list[GateSpec]:
    """Gate declarations from plain dicts; ValidationError naming the bad gate."""
    try:
        gates = _GATES.validate_python(list(raw))
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ValidationError(f"invalid gate: {err['msg']}", field=f"gates.{loc}") from exc
    for i, gate in enumerate(gates):
        if isinstance(gate, ThresholdGate | ChampionGate):
            direction_of(gate.metric, field=f"gates.{i}.metric")
        if isinstance(gate, ThresholdGate) and (gate.threshold, gate.min, gate.max) == (None, None, None):
            raise ValidationError("threshold gate needs threshold, min or max", field=f"gates.{i}")
    return gates


def _threshold(gate: ThresholdGate, metrics: Mapping[str, float]) -> GateDecision:
    name = f"threshold:{gate.metric}"
    lo, hi = gate.min, gate.max
    if gate.threshold is not None:
        if direction_of(gate.metric) == "higher":
            lo = gate.threshold if lo is None else max(lo, gate.threshold)
        else:
            hi = gate.threshold if hi is None else min(hi, gate.threshold)
    value = metrics.get(gate.metric)

    def decide(status: GateStatus, reason: str, bound: float | None) -> GateDecision:
        return GateDecision(
            gate=name, status=status, metric=gate.metric, value=value, threshold=bound, reason=reason
        )

    if value is None:
        return decide(
            "failed", f"{gate.metric} was not computed for this model/holdout", lo if lo is not None else hi
        )
    if lo is not None and value < lo:
        return decide("failed", f"{gate.metric} {value:.6g} < min {lo:.6g}", lo)
    if hi is not None and value > hi:
        return decide("failed", f"{gate.metric} {value:.6g} > max {hi:.6g}", hi)
    bounds = [f">= {lo:.6g}" if lo is not None else "", f"<= {hi:.6g}" if hi is not None else ""]
    return decide(
        "passed",
        f"{gate.metric} {value:.6g} {' and '.join(b for b in bounds if b)}",
        lo if lo is not None else hi,
    )


def _champion(
    gate: ChampionGate, metrics: Mapping[str, float], champion: Mapping[str, float] | None
) -> GateDecision:
    name = f"champion:{gate.metric}"
    value = metrics.get(gate.metric)

    def decide(status: GateStatus, reason: str, champ: float | None = None) -> GateDecision:
        return GateDecision(
            gate=name,
            status=status,
            metric=gate.metric,
            value=value,
            threshold=gate.min_improvement,
            champion_value=champ,
            reason=reason,
        )

    if champion is None:
        return decide("skipped", "no champion model to compare with")
    champ = champion.get(gate.metric)
    if value is None or champ is None:
        missing = "candidate" if value is None else "champion"
        return decide("failed", f"{gate.metric} was not computed for the {missing}", champ)
    higher = direction_of(gate.metric) == "higher"
    gain = value - champ if higher else champ - value
    if gate.relative:
        # A zero champion makes any gain infinitely large in relative terms (and any loss too).
        gain = gain / abs(champ) if champ != 0 else math.copysign(math.inf, gain) if gain else 0.0
    unit = " (relative)" if gate.relative else ""
    word = "higher" if higher else "lower"
    # A hair of tolerance: "improve by 0.01" must pass at exactly 0.01 despite float rounding.
    verdict: GateStatus = "passed" if gain >= gate.min_improvement - 1e-12 else "failed"
    reason = (
        f"{gate.metric} {value:.6g} vs champion {champ:.6g} ({word} is better): improvement "
        f"{gain:.6g}{unit} {'>=' if verdict == 'passed' else '<'} required {gate.min_improvement:.6g}"
    )
    return decide(verdict, reason, champ)


def _bound(name: str, metric: str, value: float | None, limit: float) -> GateDecision:
    if value is None:
        return GateDecision(
            gate=name,
            status="failed",
            metric=metric,
            value=None,
            threshold=limit,
            reason=f"{metric} was not measured",
        )
    ok = value <= limit
    reason = f"{metric} {value:.6g} {'<=' if ok else '>'} budget {limit:.6g}"
    return GateDecision(
        gate=name,
        status="passed" if ok else "failed",
        metric=metric,
        value=value,
        threshold=limit,
        reason=reason,
    )


def apply_gates(
    gates: Sequence[GateSpec], candidate: Mapping[str, float], champion: Mapping[str, float] | None = None
) -> list[GateDecision]:
    """Decide every gate for the candidate's metrics (and the champion's, when there is one)."""
    decisions = []
    for gate in gates:
        if isinstance(gate, ThresholdGate):
            decisions.append(_threshold(gate, candidate))
        elif isinstance(gate, ChampionGate):
            decisions.append(_champion(gate, candidate, champion))
        elif isinstance(gate, LatencyGate):
            latency = candidate.get("latency_p95_ms")
            decisions.append(_bound("latency", "latency_p95_ms", latency, gate.max_p95_ms))
        else:
            decisions.append(_bound("size", "size_bytes", candidate.get("size_bytes"), float(gate.max_bytes)))
    return decisions


def all_passed(decisions: Sequence[GateDecision]) -> bool:
    """True when no gate failed (skipped gates do not block)."""
    return not any(d.status == "failed" for d in decisions)


def raise_if_rejected(decisions: Sequence[GateDecision]) -> None:
    """GateRejectedError listing every failed gate's reason, if any failed."""
    failed = [d for d in decisions if d.status == "failed"]
    if failed:
        reasons = "; ".join(f"{d.gate}: {d.reason}" for d in failed)
        raise GateRejectedError(f"{len(failed)} gate(s) failed: {reasons}", field=failed[0].gate)

"""What crosses the Durable boundary for a rollout (pure: pydantic and shared.contracts only).

Kept apart from ``shared.contracts`` so the rollout's models live next to each other; the same
rules hold: immutable, unknown keys ignored, ``to_payload()`` at the edge.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from shared.contracts import Contract, DeployInput, RunIds

Strategy = Literal["canary", "linear", "shadow"]
Verdict = Literal["pass", "breach", "insufficient", "ended"]
Action = Literal["advance", "promote", "rollback"]


class RolloutStep(Contract):
    """One step of a rollout: the candidate's share and how long it bakes."""

    share: float
    seconds: float


class RolloutInput(DeployInput):
    """Input of the rollout sub-orchestration and of the activity that starts it."""

    strategy: Strategy
    steps: list[RolloutStep]
    check_seconds: float = 60.0


class RolloutRef(RunIds):
    """Which rollout an activity works on, and where it stands."""

    model: str
    alias: str
    rollout_id: str
    step: int = 0
    share: float = 0.0
    strategy: str = "canary"
    spec: dict[str, Any] = Field(default_factory=dict, description="The run's spec (the check's thresholds).")


class RolloutCheck(Contract):
    """A bake check's verdict with its numbers (per version: requests, errors, p95, distance)."""

    verdict: Verdict
    reason: str
    numbers: dict[str, Any] = Field(default_factory=dict)


class RolloutDecide(RolloutRef):
    """Input of the activity that moves a rollout on: next step, promote or roll back."""

    action: Action
    reason: str
    numbers: dict[str, Any] = Field(default_factory=dict)
    splits: dict[str, str] = Field(default_factory=dict)


class RolloutState(Contract):
    """A rollout after a decision: its status (Baking, Promoted, RolledBack) and why."""

    status: str
    model: str
    alias: str
    candidate: str
    production: str | None = None
    share: float = 0.0
    reason: str = ""
    actor: str = ""
    drift_reference: str | None = None

    @property
    def ended(self) -> bool:
        """True once promoted or rolled back."""
        return self.status in ("Promoted", "RolledBack")

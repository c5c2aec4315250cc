"""The parts of a pipeline spec about what happens after training: gates, deployment, monitoring."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from shared.ncrontab import check_ncrontab

Ncrontab = Annotated[str, AfterValidator(check_ncrontab)]


class _Strict(BaseModel):
    """Base of every spec section: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AbsoluteGate(_Strict):
    """Bounds one metric of the candidate must stay within (on the holdout)."""

    min: float | None = Field(default=None, description="The metric must be at least this.")
    max: float | None = Field(default=None, description="The metric must be at most this.")

    @model_validator(mode="after")
    def _check(self) -> AbsoluteGate:
        if self.min is None and self.max is None:
            raise ValueError("set min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class ChampionChallenger(_Strict):
    """The candidate must beat the production model on ``metric`` by ``min_improvement``."""

    metric: str = Field(description="Metric compared; its direction comes from the task's metric table.")
    min_improvement: float = Field(default=0.0, ge=0, description="Smallest improvement that counts.")
    relative: bool = Field(default=False, description="Improvement as a fraction of the champion's value.")


class Gates(_Strict):
    """Checks a candidate must pass before it may be registered and deployed."""

    absolute: dict[str, AbsoluteGate] = Field(
        default_factory=dict, description="Per-metric absolute bounds, keyed by metric name."
    )
    champion_challenger: ChampionChallenger | None = Field(
        default=None, description="Comparison with the current production model (skipped when none)."
    )
    latency_budget_ms_p95: float | None = Field(
        default=None, gt=0, description="p95 scoring latency per row, in milliseconds (onnxruntime)."
    )
    max_model_bytes: int | None = Field(default=None, gt=0, description="Largest allowed ONNX size in bytes.")


class Approval(_Strict):
    """Optional human approval between gates and registration."""

    required: bool = Field(default=False, description="Wait for an approve/reject event.")
    timeout_hours: float = Field(default=24.0, gt=0, description="Reject when nobody answers in time.")


class Canary(_Strict):
    """Canary rollout: a share of traffic on the candidate for a bake window."""

    traffic: float = Field(gt=0, lt=1, description="Share of scoring requests sent to the canary.")
    bake_minutes: int = Field(default=30, gt=0, description="How long the canary runs before a decision.")


class Deployment(_Strict):
    """Where an approved model goes."""

    alias: str = Field(
        default="production", pattern=r"^[a-z][a-z0-9-]{0,62}$", description="Alias moved to the new version."
    )
    canary: Canary | None = Field(default=None, description="Canary rollout instead of a direct switch.")


class MonitoringThresholds(_Strict):
    """When the drift monitor calls a dataset drifted."""

    p_value: float = Field(default=0.05, gt=0, lt=1, description="Per-column test level (before correction).")
    drift_share: float = Field(
        default=0.3, gt=0, le=1, description="Share of drifted columns that makes the dataset drifted."
    )
    psi: float = Field(
        default=0.2, gt=0, description="PSI above which a large-sample column counts as drifted."
    )


class Monitoring(_Strict):
    """Drift monitoring of the deployed model."""

    schedule: Ncrontab = Field(default="0 0 * * * *", description="NCRONTAB of the drift check (6 fields).")
    thresholds: MonitoringThresholds = Field(
        default_factory=MonitoringThresholds, description="Drift decision thresholds."
    )
    auto_retrain: bool = Field(default=False, description="Queue a retrain request when drift is found.")
    cooldown_hours: float = Field(
        default=24.0, ge=0, description="Least time between two retrains of a model."
    )


class Budget(_Strict):
    """Cost limits that raise alerts in the daily cost report."""

    monthly_usd: float = Field(gt=0, description="Alert when the month's cost passes this.")
    per_run_usd: float | None = Field(default=None, gt=0, description="Alert when one run costs more.")

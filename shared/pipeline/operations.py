"""The parts of a pipeline spec about what happens after training: gates, deployment, monitoring."""

from __future__ import annotations

from typing import Annotated, Literal

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
    """Canary rollout: a share of traffic on the candidate for one bake period, then promote."""

    traffic: float = Field(gt=0, lt=1, description="Share of scoring requests sent to the canary.")
    bake_minutes: float = Field(
        default=30, gt=0, description="How long the canary runs before a decision (fractions allowed)."
    )


class Linear(_Strict):
    """Linear rollout: the candidate's share grows by ``step`` every ``interval_minutes``."""

    step: float = Field(gt=0, lt=1, description="Share added at each step (the last step stays below 1).")
    interval_minutes: float = Field(default=10, gt=0, description="Bake time of each step.")


class Shadow(_Strict):
    """Shadow test: the candidate scores a copy of live requests; callers only get production's answers."""

    traffic: float = Field(
        default=1.0, gt=0, le=1, description="Share of requests mirrored to the candidate."
    )
    duration_minutes: float = Field(default=30, gt=0, description="How long the shadow test runs.")


class RolloutChecks(_Strict):
    """What a bake check compares, candidate vs production on the same live traffic; a breach rolls back."""

    max_error_rate_increase: float = Field(
        default=0.02, ge=0, le=1, description="Candidate error rate minus production's, at most."
    )
    max_latency_p95_ratio: float = Field(
        default=2.0, gt=0, description="Candidate scoring p95 over production's, at most."
    )
    latency_slack_ms: float = Field(
        default=5.0, ge=0, description="p95 differences below this many ms never count as a breach."
    )
    max_prediction_distance: float = Field(
        default=0.2,
        gt=0,
        le=1,
        description="Jensen-Shannon distance between the two prediction distributions, at most.",
    )
    min_requests: int = Field(
        default=30, ge=1, description="Requests each version must have scored for a check to count."
    )
    interval_seconds: float = Field(
        default=60,
        gt=0,
        description="Seconds between checks in a bake period: a breach rolls back at once, a pass waits.",
    )
    allow_insufficient_traffic: bool = Field(
        default=False, description="Treat a check without enough traffic as a pass (never by default)."
    )
    quality_metric: str | None = Field(
        default=None,
        description="Metric compared on labeled feedback: accuracy, auc or f1 (classification), rmse or "
        "mae (regression); default monitoring.quality.metric, else accuracy / rmse.",
    )
    max_quality_drop: float = Field(
        default=0.05,
        gt=0,
        description="How much worse than production's the candidate's metric may be on labeled feedback "
        "(metric units, or a fraction of production's value when relative).",
    )
    quality_relative: bool | None = Field(
        default=None,
        description="max_quality_drop as a fraction of production's value; default: yes for rmse/mae, "
        "no for bounded metrics.",
    )
    min_labeled: int = Field(
        default=50,
        ge=1,
        description="Labeled rows each version needs for a quality decision; fewer is no decision, "
        "never a breach and never required for a pass (labels are often late).",
    )

    @model_validator(mode="after")
    def _check_quality_metric(self) -> RolloutChecks:
        known = ("accuracy", "auc", "f1", "rmse", "mae")
        if self.quality_metric is not None and self.quality_metric not in known:
            raise ValueError(f"quality_metric must be one of {', '.join(known)}, not {self.quality_metric!r}")
        return self


Strategy = Literal["direct", "canary", "linear", "shadow"]


class Deployment(_Strict):
    """Where an approved model goes, and how traffic moves to it."""

    alias: str = Field(
        default="production", pattern=r"^[a-z][a-z0-9-]{0,62}$", description="Alias moved to the new version."
    )
    strategy: Strategy | None = Field(
        default=None,
        description="direct, canary, linear or shadow (default: the one section given, else direct).",
    )
    canary: Canary | None = Field(default=None, description="Canary rollout instead of a direct switch.")
    linear: Linear | None = Field(default=None, description="Linear rollout in equal steps.")
    shadow: Shadow | None = Field(default=None, description="Shadow test before the switch.")
    checks: RolloutChecks = Field(
        default_factory=RolloutChecks, description="Automatic rollback thresholds of every bake check."
    )

    @model_validator(mode="after")
    def _one_strategy(self) -> Deployment:
        given = [name for name in ("canary", "linear", "shadow") if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError(f"give one rollout section, not {' and '.join(given)}")
        if self.strategy is None:
            object.__setattr__(self, "strategy", given[0] if given else "direct")
        elif self.strategy != "direct" and getattr(self, self.strategy) is None:
            raise ValueError(f"strategy {self.strategy} needs a {self.strategy} section")
        elif given and given[0] != self.strategy:
            raise ValueError(f"a {given[0]} section does not fit strategy {self.strategy}")
        return self

    def plan(self) -> list[tuple[float, float]]:
        """The rollout's steps as (candidate share, bake seconds); empty for a direct switch."""
        if self.canary is not None:
            return [(self.canary.traffic, self.canary.bake_minutes * 60)]
        if self.shadow is not None:
            return [(self.shadow.traffic, self.shadow.duration_minutes * 60)]
        if self.linear is not None:
            steps: list[tuple[float, float]] = []
            count = 1
            while count * self.linear.step < 1 - 1e-9:
                steps.append((round(count * self.linear.step, 6), self.linear.interval_minutes * 60))
                count += 1
            return steps
        return []


class MonitoringThresholds(_Strict):
    """When the drift monitor calls a dataset drifted."""

    p_value: float = Field(default=0.05, gt=0, lt=1, description="Per-column test level (before correction).")
    drift_share: float = Field(
        default=0.3, gt=0, le=1, description="Share of drifted columns that makes the dataset drifted."
    )
    psi: float = Field(
        default=0.2, gt=0, description="PSI above which a large-sample column counts as drifted."
    )


class QualityMonitoring(_Strict):
    """Model-quality monitor: the task's metric on labeled predictions vs the training holdout."""

    enabled: bool = Field(default=True, description="Check model quality where drift is checked.")
    metric: str | None = Field(
        default=None,
        description="Metric decided on: accuracy, auc or f1 (classification), rmse or mae (regression); "
        "default accuracy / rmse.",
    )
    max_drop: float = Field(
        default=0.05,
        gt=0,
        description="Largest drop below the holdout baseline that is not an alarm (metric units, or a "
        "fraction of the baseline when relative).",
    )
    relative: bool | None = Field(
        default=None,
        description="max_drop as a fraction of the baseline; default: yes for rmse/mae, "
        "no for bounded metrics.",
    )
    min_rows: int = Field(default=200, ge=1, description="Fewest labeled rows a decision needs.")
    lookback_hours: float = Field(
        default=24.0,
        gt=0,
        description="Predictions of this many hours before a check's end are joined with every label "
        "arrived so far (late labels count in their prediction's window).",
    )

    @model_validator(mode="after")
    def _check_metric(self) -> QualityMonitoring:
        if self.metric is not None and self.metric not in ("accuracy", "auc", "f1", "rmse", "mae"):
            raise ValueError(f"metric {self.metric!r} is not monitored; use accuracy, auc, f1, rmse or mae")
        return self


class Monitoring(_Strict):
    """Drift and model-quality monitoring of the deployed model."""

    schedule: Ncrontab = Field(default="0 0 * * * *", description="NCRONTAB of the drift check (6 fields).")
    thresholds: MonitoringThresholds = Field(
        default_factory=MonitoringThresholds, description="Drift decision thresholds."
    )
    auto_retrain: bool = Field(default=False, description="Queue a retrain request when drift is found.")
    cooldown_hours: float = Field(
        default=24.0, ge=0, description="Least time between two retrains of a model."
    )
    quality: QualityMonitoring = Field(
        default_factory=QualityMonitoring,
        description="Model-quality monitor on labeled feedback (same retrain queue and cooldown as drift).",
    )


class Budget(_Strict):
    """Cost limits that raise alerts in the daily cost report."""

    monthly_usd: float = Field(gt=0, description="Alert when the month's cost passes this.")
    per_run_usd: float | None = Field(default=None, gt=0, description="Alert when one run costs more.")

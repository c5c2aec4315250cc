"""Declarations for drift monitoring: what to store as reference and how to test each column."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ColumnKind = Literal["numeric", "categorical", "binary"]
TestName = Literal["ks", "chi2", "z", "wasserstein", "jensenshannon", "psi"]
PVALUE_TESTS: frozenset[str] = frozenset({"ks", "chi2", "z"})
NUMERIC_TESTS: frozenset[str] = frozenset({"ks", "wasserstein", "psi"})
CATEGORICAL_TESTS: frozenset[str] = frozenset({"chi2", "z", "jensenshannon", "psi"})


class ReferenceConfig(BaseModel):
    """How a reference profile is built from training data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    columns: list[str] | None = Field(
        default=None, description="Columns to profile, in order; None profiles every supported column."
    )
    kinds: dict[str, ColumnKind] = Field(
        default_factory=dict, description="Per-column kind overrides; others are inferred from dtype."
    )
    max_quantiles: int = Field(
        default=10_000,
        ge=2,
        description="Most ECDF knots kept per numeric column; KS error <= about 1/max_quantiles.",
    )
    histogram_bins: int = Field(default=20, ge=1, description="Equal-width bins over [min, max] for charts.")
    psi_bins: int = Field(default=10, ge=2, description="Equal-mass reference bins used by PSI.")
    max_categories: int = Field(
        default=1_000, ge=1, description="Most categories kept per column; the rest pool into 'other'."
    )
    categorical_max_unique: int = Field(
        default=5,
        ge=0,
        description="Numeric columns with at most this many distinct values are treated as categorical.",
    )


class ColumnDriftSpec(BaseModel):
    """Per-column overrides of the drift test and its threshold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    test: TestName | None = Field(default=None, description="Test to run; None picks by kind and size.")
    threshold: float | None = Field(
        default=None, gt=0, description="p-value (drift if below) or distance (drift if at or above)."
    )


class DriftConfig(BaseModel):
    """How a current window is compared with a reference profile."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    columns: list[str] | None = Field(
        default=None, description="Feature columns to test; None tests every reference column."
    )
    prediction_column: str | None = Field(
        default=None, description="Model output column; tested like a feature but reported apart."
    )
    specs: dict[str, ColumnDriftSpec] = Field(
        default_factory=dict, description="Per-column test and threshold overrides."
    )
    small_sample_rows: int = Field(
        default=1_000,
        ge=0,
        description="Reference sizes up to this use KS / chi-square / z-test, larger ones distances.",
    )
    numeric_distance: Literal["wasserstein", "psi"] = Field(
        default="wasserstein", description="Default test for numeric columns with a large reference."
    )
    p_value_threshold: float = Field(default=0.05, gt=0, lt=1, description="Drift when p-value < this.")
    distance_threshold: float = Field(
        default=0.1, gt=0, description="Drift when normalised Wasserstein / Jensen-Shannon >= this."
    )
    psi_threshold: float = Field(default=0.1, gt=0, description="Drift when PSI >= this.")
    drift_share: float = Field(
        default=0.5, ge=0, le=1, description="Dataset drift when the drifted share of columns is > this."
    )
    min_rows: int = Field(
        default=30,
        ge=1,
        description="Fewer current rows (or finite values in a column) is insufficient_data.",
    )
    multiple_testing: Literal["benjamini_hochberg", "none"] = Field(
        default="benjamini_hochberg",
        description="Correction over the features' p-value tests; BH-adjusted p-values meet each threshold.",
    )
    max_workers: int | None = Field(
        default=None, ge=1, description="Threads over columns; None uses the machine's CPU count."
    )
    batch_bytes: int = Field(
        default=256 * 2**20,
        ge=1,
        description="Most current values read at once from a column source, as 8 bytes per value "
        "(bounds memory for any window size); a frame already in memory is used as it is.",
    )

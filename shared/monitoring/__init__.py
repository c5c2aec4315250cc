"""Drift monitoring: reference profiles, per-column drift tests, JSON and HTML reports.

Declarations live in ``config`` (what to store, which test and threshold), computation in
``reference`` (profile training data once), ``stats`` (the statistics) and ``drift`` (run them on
a current window); ``report`` holds the result models and the HTML page.
"""

from __future__ import annotations

from shared.monitoring.config import ColumnDriftSpec, DriftConfig, ReferenceConfig
from shared.monitoring.drift import DriftResult, compute_drift
from shared.monitoring.reference import (
    CategoricalReference,
    NumericReference,
    ReferenceProfile,
    build_reference,
)
from shared.monitoring.report import ColumnDrift, ColumnSummary, CurrentSummary, DriftReport, render_html

__all__ = [
    "CategoricalReference",
    "ColumnDrift",
    "ColumnDriftSpec",
    "ColumnSummary",
    "CurrentSummary",
    "DriftConfig",
    "DriftReport",
    "DriftResult",
    "NumericReference",
    "ReferenceConfig",
    "ReferenceProfile",
    "build_reference",
    "compute_drift",
    "render_html",
]

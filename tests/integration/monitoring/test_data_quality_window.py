"""Data-quality rates of a small seeded drift window (Azurite), against a count made by hand from
the training split: the check's result, its row, and its JSON and HTML reports all carry them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from shared.steps import monitoring
from tests.integration.monitoring.support import Deployed

HOUR = datetime(2026, 11, 24, 8, tzinfo=UTC)


def test_out_of_range_and_null_rates_match_a_hand_count(deploy: Callable[..., Deployed]) -> None:
    d = deploy()
    train = d.split("train")
    rows = d.feature_rows("holdout")[:12]
    # Seeded damage: three values far above the training maximum, one far below the minimum.
    rows[0]["mean radius"] = 1000.0
    rows[3]["worst area"] = 1e6
    rows[5]["mean texture"] = 500.0
    rows[7]["mean smoothness"] = -1.0
    d.write_log(HOUR, rows)
    # Hand count: every logged value outside [min, max] of its training column (float32 bounds).
    features = list(rows[0])
    outside = 0
    for name in features:
        low, high = np.float32(train[name].min()), np.float32(train[name].max())
        values = np.array([r[name] for r in rows], dtype=np.float32)
        outside += int(((values < low) | (values > high)).sum())
    assert outside >= 4  # the seeded four, plus whatever holdout rows lie outside training anyway

    result = monitoring.run_drift_check(d.storage, d.spec, d.name, HOUR, HOUR + timedelta(hours=1), "w1")
    quality = result["data_quality"]
    assert quality["rows"] == 12
    assert quality["out_of_range"] == outside and quality["range_checked"] == 12 * len(features)
    assert quality["out_of_range_rate"] == pytest.approx(outside / (12 * len(features)))
    assert quality["out_of_range_columns"]["mean radius"] >= 1
    assert quality["nulls"] == 0 and quality["null_rate"] == 0.0
    assert quality["type_error_rate"] is None and quality["unseen_category_rate"] is None

    (row,) = [c for c in monitoring.latest_drift(d.storage, d.name) if c["window"] == "w1"]
    assert row["data_quality"] == quality
    report = json.loads(d.storage.blobs.get_bytes("reports", result["report_json"]))
    assert report["data_quality"]["out_of_range"] == outside
    page = d.storage.blobs.get_bytes("reports", result["report_html"]).decode()
    assert "Data quality (12 rows)" in page and "out of training range" in page

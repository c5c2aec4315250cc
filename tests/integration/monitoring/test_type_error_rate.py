"""Type-error rate of a drift window (Azurite): rows scoring refuses for a wrong type never reach the
sampled log, but every served request's offered/refused counts do, in a counts part the drift
features never see; the check's data quality reports type_errors / rows offered."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.errors import ValidationError
from shared.models.onnx_io import ModelCache
from shared.steps import monitoring
from shared.steps.inference_log import LOG_CONTAINER, LogWindow, hour_prefix, list_parts
from tests.integration.monitoring.support import Deployed
from tests.scoring_support import score_rows


def _bad(row: dict[str, Any], value: Any) -> dict[str, Any]:
    """The row with its first feature replaced by ``value``."""
    first = next(iter(row))
    return {**row, first: value}


def _window(before: datetime) -> tuple[datetime, datetime, str]:
    since = before.replace(minute=0, second=0, microsecond=0)
    return since, datetime.now(UTC) + timedelta(seconds=1), f"{since:%Y-%m-%dT%H}"


def test_refused_rows_give_the_window_its_type_error_rate(deploy: Callable[..., Deployed]) -> None:
    d = deploy()
    good = d.feature_rows("holdout")[:20]
    bad = [_bad(good[0], "abc"), _bad(good[1], [1.0]), _bad(good[2], {"x": 1}), _bad(good[3], True)]
    n, m = len(good), len(bad)
    before = datetime.now(UTC)
    cache = ModelCache()
    answer = score_rows(d.storage, cache, d.name, {"rows": bad[:2] + good + bad[2:], "partial": True})
    assert len(answer["predictions"]) == n and len(answer["errors"]) == m
    since, until, window_id = _window(before)

    # The counts part sits beside the version folders: never a log part, never a drift column.
    parts = list_parts(d.storage, d.name, since, until)
    assert {p.version for p in parts} == {d.record.version}
    names = list(d.storage.blobs.list_names(LOG_CONTAINER, hour_prefix(d.name, since)))
    assert len([x for x in names if "/offered-" in x]) == 1 and len(names) == len(parts) + 1
    with LogWindow(d.storage, d.name, since, until) as window:
        assert sorted(window.columns) == sorted([*d.record.input_schema["features"], "prediction"])
        assert window.height == n
        counts = window.quality()
    assert (counts["type_errors"], counts["rows_offered"], counts["rows_refused"]) == (m, n + m, m)

    result = monitoring.run_drift_check(d.storage, d.spec, d.name, since, until, window_id)
    assert result["rows"] == n  # drift is measured on the scored rows only
    quality = result["data_quality"]
    assert quality["type_errors"] == m and quality["type_error_rate"] == pytest.approx(m / (n + m))
    assert not any("type errors" in note for note in quality["notes"])
    (row,) = [c for c in monitoring.latest_drift(d.storage, d.name) if c["window"] == window_id]
    assert row["data_quality"] == quality
    report = json.loads(d.storage.blobs.get_bytes("reports", result["report_json"]))
    assert report["data_quality"]["type_errors"] == m
    assert {c["column"] for c in report["columns"]} <= {*d.record.input_schema["features"], "prediction"}
    page = d.storage.blobs.get_bytes("reports", result["report_html"]).decode()
    rate = f"{m / (n + m) * 100:.2f}%"
    assert f"<tr><td>type errors</td><td>{rate}</td><td>{m}</td></tr>" in page


def test_offered_rows_count_refused_requests_other_refusals_and_unsampled_rows(
    deploy: Callable[..., Deployed],
) -> None:
    d = deploy()
    good = d.feature_rows("holdout")[:10]
    cache = ModelCache()
    before = datetime.now(UTC)
    # A whole request refused for one wrong type: its 4 rows were offered, 1 is a type error.
    with pytest.raises(ValidationError, match=r"rows\[2\]"):
        score_rows(d.storage, cache, d.name, {"rows": [*good[:2], _bad(good[2], "x"), good[3]]})
    # An unknown field under strict is refused, but it is no type error.
    strict = {"rows": [good[4], {**good[5], "extra": 1}], "strict": True, "partial": True}
    assert len(score_rows(d.storage, cache, d.name, strict)["predictions"]) == 1
    # Nothing sampled: the rows are counted as offered all the same.
    score_rows(d.storage, cache, d.name, {"rows": good[6:]}, sample_rate=0.0)
    # A request refused before its rows are read counts nothing.
    with pytest.raises(ValidationError):
        score_rows(d.storage, cache, d.name, {"rows": "not a list"})
    since, until, _ = _window(before)
    with LogWindow(d.storage, d.name, since, until) as window:
        assert window.height == 1  # only the strict request's good row was sampled
        counts = window.quality()
    assert (counts["type_errors"], counts["rows_offered"], counts["rows_refused"]) == (1, 4 + 2 + 4, 2)
    # A window that ends before the requests holds none of their counts.
    with LogWindow(d.storage, d.name, since, before) as empty:
        assert (empty.quality()["type_errors"], empty.quality()["rows_offered"]) == (0, 0)

"""Retrain requests on drift: one per window, cooldown per model, audited; message parsing; ids."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.errors import ValidationError
from shared.steps import monitoring, schedules
from tests.integration.monitoring.support import Deployed

HOUR = datetime(2026, 11, 21, 13, tzinfo=UTC)
HOURLY = "0 0 * * * *"


def _drifting(d: Deployed, hour: datetime, now: datetime) -> dict[str, Any]:
    rows = [{k: v * 3 if k.startswith("mean") else v for k, v in r.items()} for r in d.feature_rows()]
    d.write_log(hour, rows)
    since, until, window = schedules.schedule_window(HOURLY, hour + timedelta(hours=1))
    return monitoring.run_drift_check(d.storage, d.spec, d.name, since, until, window, now=now)


def _audit(d: Deployed) -> list[str]:
    entries = sorted(d.storage.audit.query(pk=f"model:{d.name}"), key=lambda e: e.entry_id)
    return [e.data["status"] for e in entries if e.action == "retrain_request"]


def test_cooldown_holds_back_a_second_window_until_it_expires(deploy: Callable[..., Deployed]) -> None:
    d = deploy(cooldown_hours=24)
    first = _drifting(d, HOUR, HOUR + timedelta(hours=1))
    assert first["status"] == "drift" and first["retrain"]["status"] == "sent"

    second = _drifting(d, HOUR + timedelta(hours=1), HOUR + timedelta(hours=2))
    assert second["status"] == "drift" and second["retrain"]["status"] == "cooldown", second
    assert second["retrain"]["last_window"] == "2026-11-21T13" and not second["retrain"]["sent"]
    row = d.storage.drift.get(d.name, second["window"])[0]
    assert row.drifted
    assert monitoring.latest_drift(d.storage, d.name)[0]["retrain"]["status"] == "cooldown"
    assert [m["window"] for m in d.messages()] == ["2026-11-21T13"]

    later = HOUR + timedelta(hours=30)
    third = _drifting(d, later, later + timedelta(hours=1))
    assert third["retrain"]["status"] == "sent", third
    assert sorted(m["window"] for m in d.messages()) == ["2026-11-21T13", "2026-11-22T19"]
    assert _audit(d) == ["sent", "cooldown", "sent"]


def test_auto_retrain_off_records_the_drift_and_sends_nothing(deploy: Callable[..., Deployed]) -> None:
    d = deploy(auto_retrain=False)
    result = _drifting(d, HOUR, HOUR + timedelta(hours=1))
    assert result["status"] == "drift" and result["retrain"]["status"] == "disabled"
    assert d.messages() == [] and _audit(d) == ["disabled"]


def test_the_window_of_a_check_is_its_schedule_period_in_whole_hours() -> None:
    at = datetime(2026, 11, 21, 14, 59, 59, tzinfo=UTC)  # an hourly check running late in its hour
    assert schedules.schedule_window(HOURLY, at) == (
        datetime(2026, 11, 21, 13, tzinfo=UTC),
        datetime(2026, 11, 21, 14, tzinfo=UTC),
        "2026-11-21T13",
    )
    since, until, window = schedules.schedule_window("0 0 */6 * * *", datetime(2026, 11, 21, 12, tzinfo=UTC))
    assert (since.hour, until.hour, window) == (6, 12, "2026-11-21T06-6h")


def test_retrain_instance_id_is_deterministic_and_safe() -> None:
    ident = monitoring.retrain_instance_id("breast-cancer", "2026-11-21T13")
    assert ident == "breast-cancer-retrain-2026-11-21T13"
    assert monitoring.retrain_instance_id("breast-cancer", "2026-11-21T13") == ident
    odd = monitoring.retrain_instance_id("m", "a/b#c?d e")
    assert odd == "m-retrain-a-b-c-d-e"
    long = monitoring.retrain_instance_id("m" * 60, "w" * 80)
    assert len(long) <= 100 and long != monitoring.retrain_instance_id("m" * 60, "w" * 81)


VALID = {
    "model": "breast-cancer",
    "pipeline": "breast-cancer",
    "window": "2026-11-21T13",
    "reason": "3/30 features drifted",
    "requested_at": "2026-11-21T14:00:00+00:00",
}


def test_parse_retrain_request_accepts_text_and_dicts() -> None:
    request = monitoring.parse_retrain_request(json.dumps(VALID))
    assert request == monitoring.parse_retrain_request(VALID)
    assert request.instance_id == "breast-cancer-retrain-2026-11-21T13"
    assert request.requested_at == datetime(2026, 11, 21, 14, tzinfo=UTC)
    assert monitoring.parse_retrain_request(request.to_message()) == request
    custom = monitoring.parse_retrain_request({**VALID, "window": "20261121T130000-20261121T140000"})
    assert custom.instance_id == "breast-cancer-retrain-20261121T130000-20261121T140000"


def test_a_window_id_unfit_for_keys_and_blobs_is_refused_before_any_write(
    deploy: Callable[..., Deployed],
) -> None:
    d = deploy()
    with pytest.raises(ValidationError) as bad:
        monitoring.run_drift_check(d.storage, d.spec, d.name, HOUR, HOUR + timedelta(hours=1), "13/00")
    assert bad.value.field == "window_id"
    assert list(d.storage.blobs.list_names("reports", f"drift/{d.name}/")) == []


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({k: v for k, v in VALID.items() if k != "window"}, "window"),
        ({**VALID, "model": "Bad Name!"}, "model"),
        ({**VALID, "requested_at": "yesterday"}, "requested_at"),
        ({**VALID, "requested_at": "2026-11-21T14:00:00"}, "requested_at"),
        ({**VALID, "window": "2026/11/21"}, "window"),
        ({**VALID, "reason": ""}, "reason"),
        ("{not json", "message"),
        ("[1, 2]", "message"),
    ],
)
def test_parse_retrain_request_errors_name_the_field(message: Any, field: str) -> None:
    with pytest.raises(ValidationError) as bad:
        monitoring.parse_retrain_request(message)
    assert bad.value.field == field
    assert field in str(bad.value) or field == "message"

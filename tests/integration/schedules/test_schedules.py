"""Per-spec schedules, scheduled-retrain skips and drift-retrain dedupe/cooldown on real Azurite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.pipeline.spec import load_spec_file
from shared.settings import load_settings
from shared.steps import pipelines, retrain, runs, schedules
from shared.storage.factory import Storage
from shared.storage.records import RunRecord

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 11, 23, 2, 59, 0, tzinfo=UTC)  # a Monday, just before the example's 03:00 retrain


@pytest.fixture
def storage(azurite_connection_string: str) -> Storage:
    built = Storage.from_settings(load_settings(environ={"AzureWebJobsStorage": azurite_connection_string}))
    built.ensure_all()
    return built


def _register(storage: Storage, name: str, **changes: object) -> None:
    spec = load_spec_file(ROOT / "examples" / "breast_cancer.yaml")
    data = spec.model_dump(mode="json") | {"name": name, **changes}
    pipelines.register_spec(storage, pipelines.load_spec(data))


def test_due_occurrence_starts_the_clock_then_fires_once_per_occurrence(
    storage: Storage, unique: str
) -> None:
    every_hour = "0 0 * * * *"
    assert schedules.due_occurrence(storage, "t", unique, every_hour, T0) is None  # first sight
    schedules.mark_run(storage, "t", unique, T0)
    assert schedules.due_occurrence(storage, "t", unique, every_hour, T0 + timedelta(seconds=30)) is None
    fired = schedules.due_occurrence(storage, "t", unique, every_hour, T0 + timedelta(minutes=2))
    assert fired == datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    missed = schedules.due_occurrence(storage, "t", unique, every_hour, T0 + timedelta(hours=5))
    assert missed == datetime(2026, 11, 23, 7, 0, tzinfo=UTC), "missed ticks collapse into the latest"


def test_scheduled_retrain_starts_when_due_and_skips_while_a_run_is_going(
    storage: Storage, unique: str
) -> None:
    name = f"sched-{unique}"
    _register(storage, name, schedule="0 0 3 * * *")
    schedules.mark_run(storage, "retrain", name, T0)
    [start] = [
        d for d in schedules.scheduled_retrains(storage, T0 + timedelta(minutes=2)) if d["pipeline"] == name
    ]
    assert not start["skipped"] and start["instance_id"] == f"{name}-sched-20261123T030000"

    runs.create_pending(storage, name, start["instance_id"], "schedule")
    next_day = T0 + timedelta(days=1, minutes=2)
    [skip] = [d for d in schedules.scheduled_retrains(storage, next_day) if d["pipeline"] == name]
    assert skip["skipped"] and start["instance_id"] in skip["reason"]
    entries = list(storage.audit.query(pk=f"pipeline:{name}"))
    assert [e.action for e in entries] == ["schedule_skipped"]


def test_drift_retrain_is_cooled_down_but_a_retry_of_its_own_request_is_not(
    storage: Storage, unique: str
) -> None:
    name = f"drift-{unique}"
    _register(storage, name)
    first = retrain.plan_drift_retrain(storage, name, "w1", f"{name}-retrain-w1", now=T0)
    assert first["start"]
    storage.runs.upsert(RunRecord(pipeline=name, run_id=f"{name}-retrain-w1", trigger="drift", started_at=T0))
    # its own pending row (left by a start that failed) must not block the retry
    again = retrain.plan_drift_retrain(storage, name, "w1", f"{name}-retrain-w1", now=T0)
    assert again["start"]
    cooled = retrain.plan_drift_retrain(
        storage, name, "w2", f"{name}-retrain-w2", now=T0 + timedelta(hours=1)
    )
    assert not cooled["start"] and "cooldown" in cooled["reason"]
    later = retrain.plan_drift_retrain(
        storage, name, "w3", f"{name}-retrain-w3", now=T0 + timedelta(hours=25)
    )
    assert later["start"]

"""Per-spec schedules, skips, the current-spec rule and drift windows of the schedule period, on Azurite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.errors import NotFoundError
from shared.pipeline.spec import load_spec_file
from shared.settings import load_settings
from shared.steps import current_spec, pipelines, retrain, runs, schedules
from shared.storage.factory import Storage
from shared.storage.records import AliasRecord, ModelRecord, RunRecord

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


def _deploy(storage: Storage, name: str, spec_data: dict[str, object], version: str, at: datetime) -> None:
    """A registered spec whose model version sits at the spec's alias (records only: no ONNX needed)."""
    spec = pipelines.load_spec(spec_data)
    record = pipelines.register_spec(storage, spec)
    storage.models.upsert(
        ModelRecord(
            model=name, version=version, onnx_blob="x", sha256="0" * 64, spec_version=record.spec_version
        )
    )
    alias = AliasRecord(model=name, alias=spec.deployment.alias, version=version, updated_at=at)
    storage.aliases.upsert(alias)


def _spec_data(name: str, **changes: object) -> dict[str, object]:
    spec = load_spec_file(ROOT / "examples" / "breast_cancer.yaml")
    return spec.model_dump(mode="json") | {"name": name, **changes}


def test_a_failed_experiment_never_becomes_the_spec_retraining_uses(storage: Storage, unique: str) -> None:
    name = f"cur-{unique}"
    _register(storage, name, schedule="0 0 3 * * *")  # nothing deployed yet: the newest spec is current
    assert current_spec.current_spec(storage, name).schedule == "0 0 3 * * *"  # type: ignore[union-attr]

    _deploy(storage, name, _spec_data(name, schedule="0 0 4 * * *"), "000001", T0)
    # An experiment sent inline later, whose run failed: registered, never deployed.
    _register(storage, name, schedule="0 0 5 * * *", reject_threshold=0.5)
    assert current_spec.current_spec(storage, name).schedule == "0 0 4 * * *"  # type: ignore[union-attr]
    assert pipelines.resolve_spec(storage, name).schedule == "0 0 4 * * *"
    plan = retrain.plan_drift_retrain(storage, name, "w1", f"{name}-retrain-w1")
    assert plan["start"] and plan["spec"].schedule == "0 0 4 * * *"

    schedules.mark_run(storage, "retrain", name, T0)
    due = [d for d in schedules.scheduled_retrains(storage, T0 + timedelta(hours=2)) if d["pipeline"] == name]
    assert [d["instance_id"] for d in due] == [f"{name}-sched-20261123T040000"], (
        "04:00 is the deployed spec's"
    )

    # A spec that deploys to another alias becomes current once its model is there.
    _deploy(
        storage,
        name,
        _spec_data(name, schedule="0 0 6 * * *", deployment={"alias": "live"}),
        "000002",
        T0 + timedelta(hours=1),
    )
    assert current_spec.current_spec(storage, name).deployment.alias == "live"  # type: ignore[union-attr]
    assert current_spec.deployment_alias(storage, name) == "live"


def test_drift_retrain_plan_has_no_second_cooldown(storage: Storage, unique: str) -> None:
    name = f"drift-{unique}"
    _register(storage, name)
    storage.runs.upsert(RunRecord(pipeline=name, run_id=f"{name}-retrain-w1", trigger="drift", started_at=T0))
    # The cooldown was decided by the ledger when the request was sent (tests/integration/monitoring);
    # a request that got through starts, whatever runs exist.
    assert retrain.plan_drift_retrain(storage, name, "w2", f"{name}-retrain-w2")["start"]
    with pytest.raises(NotFoundError):
        retrain.plan_drift_retrain(storage, f"none-{unique}", "w2", "x")


@pytest.mark.parametrize(
    ("expression", "hours", "suffix"),
    [
        ("0 0 */6 * * *", 6, "-6h"),
        ("0 0 * * * *", 1, ""),
        ("0 */5 * * * *", 1, ""),
        ("0 0 3 * * *", 24, "-24h"),
    ],
)
def test_the_drift_window_is_the_monitoring_schedule_period(
    storage: Storage, unique: str, expression: str, hours: int, suffix: str
) -> None:
    name = f"win-{unique}"
    _deploy(storage, name, _spec_data(name, monitoring={"schedule": expression}), "000001", T0)
    start = datetime(2026, 11, 23, 0, 1, tzinfo=UTC)
    schedules.mark_run(storage, "drift", name, start)
    now = start + timedelta(hours=hours, minutes=2)  # past the first occurrence after ``start``
    [(spec, since, until, window)] = [
        w for w in schedules.drift_windows(storage, now, manual=False) if w[0].name == name
    ]
    assert until - since == timedelta(hours=hours)
    assert until <= now and until.minute == 0 and window == f"{since:%Y-%m-%dT%H}{suffix}"
    assert spec.monitoring.schedule == expression
    # Asked again before the next occurrence: not due.
    assert not [
        w
        for w in schedules.drift_windows(storage, now + timedelta(seconds=5), manual=False)
        if w[0].name == name
    ]


def test_an_irregular_schedule_looks_back_to_its_previous_occurrence() -> None:
    weekdays_at_9 = "0 0 9 * * 1-5"
    monday = datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert schedules.period_hours(weekdays_at_9, monday) == 72, "Monday's check covers the weekend"
    assert schedules.period_hours(weekdays_at_9, monday + timedelta(days=1)) == 24
    since, until, window = schedules.schedule_window(weekdays_at_9, monday)
    assert (since, until, window) == (monday - timedelta(hours=72), monday, "2026-11-20T09-72h")

"""The dashboard's own views on a real Azurite: run filters and facets, lineage, asset lookup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import NotFoundError, ValidationError
from shared.settings import load_settings
from shared.steps import dashboard
from shared.storage.factory import Storage
from shared.storage.records import AliasRecord, DeploymentRecord, ModelRecord, RunRecord

pytestmark = pytest.mark.integration


@pytest.fixture
def storage(azurite_connection_string: str) -> Storage:
    built = Storage.from_settings(load_settings(environ={"AzureWebJobsStorage": azurite_connection_string}))
    built.ensure_all()
    return built


def _run(pipeline: str, n: int, status: str, trigger: str, started: datetime) -> RunRecord:
    return RunRecord(
        pipeline=pipeline,
        run_id=f"{pipeline}-{n}",
        status=status,
        trigger=trigger,
        started_at=started,
        reason="r" * 500,
        steps=[{"name": "train", "status": "Running"}],
        details={"big": "x" * 1000},
    )


def test_filters_combine_and_the_list_stays_slim(storage: Storage, unique: str) -> None:
    """pipeline, status, trigger, since and until all narrow the list; rows carry no steps/details."""
    base = datetime(2026, 3, 1, tzinfo=UTC)
    a, b = f"dash-a{unique}", f"dash-b{unique}"
    rows = [
        _run(a, 1, "Succeeded", "http", base),
        _run(a, 2, "Failed", "schedule", base + timedelta(days=1)),
        _run(a, 3, "Running", "drift", base + timedelta(days=2)),
        _run(b, 1, "Succeeded", "http", base + timedelta(days=3)),
    ]
    for row in rows:
        storage.runs.upsert(row)
    ids = lambda **kw: [r.run_id for r in dashboard.filter_runs(storage, **kw)[0]]  # noqa: E731
    assert ids(pipeline=a) == [f"{a}-3", f"{a}-2", f"{a}-1"]  # newest first
    assert ids(pipeline=a, status="Failed") == [f"{a}-2"]
    assert ids(pipeline=a, trigger="drift") == [f"{a}-3"]
    assert ids(pipeline=a, since="2026-03-02", until="2026-03-03") == [f"{a}-2"]
    assert ids(pipeline=b, since="2026-03-04T00:00:00Z") == [f"{b}-1"]
    assert ids(pipeline=b, until="2026-03-04") == []
    _, facets = dashboard.filter_runs(storage, pipeline=a)
    assert {a, b} <= set(facets["pipeline"]) and {"drift", "schedule"} <= set(facets["trigger"])
    summary = dashboard.run_summary(rows[2])
    assert summary["step"] == "train" and len(summary["reason"]) == dashboard.LIST_REASON
    assert "steps" not in summary and "details" not in summary
    with pytest.raises(ValidationError) as bad:
        dashboard.filter_runs(storage, since="last week")
    assert bad.value.field == "since"


def test_lineage_joins_versions_aliases_and_deployments(storage: Storage, unique: str) -> None:
    """dataset -> run -> version -> alias and deployment, newest version first."""
    model = f"dash-m{unique}"
    for version, run in (("000001", "run-1"), ("000002", "run-2")):
        storage.models.upsert(
            ModelRecord(
                model=model,
                version=version,
                onnx_blob=f"{model}/{version}.onnx",
                sha256="0" * 64,
                run_id=run,
                dataset_version=f"ds-{version}",
            )
        )
    storage.aliases.upsert(AliasRecord(model=model, alias="production", version="000002"))
    storage.deployments.upsert(
        DeploymentRecord(model=model, deployment_id="run-2", version="000002", status="Promoted")
    )
    [entry] = [m for m in dashboard.lineage(storage) if m["name"] == model]
    assert [v["version"] for v in entry["versions"]] == ["000002", "000001"]
    newest = entry["versions"][0]
    assert newest["run_id"] == "run-2" and newest["dataset_version"] == "ds-000002"
    assert newest["aliases"] == ["production"] and newest["deployments"][0]["status"] == "Promoted"
    assert entry["versions"][1]["aliases"] == [] and entry["aliases"] == {"production": "000002"}
    assert entry["deployment_alias"] == "production" and entry["rollout"] is None  # deployed directly
    from shared.steps import rollout

    rollout.repository(storage).upsert(
        rollout.RolloutRecord(
            model=model,
            alias="production",
            rollout_id="r1",
            candidate="000002",
            production="000001",
            share=0.25,
            step=1,
            steps=4,
        )
    )
    [entry] = [m for m in dashboard.lineage(storage) if m["name"] == model]
    assert entry["rollout"]["status"] == rollout.BAKING and entry["rollout"]["share"] == 0.25


def test_assets_are_the_shipped_files_only() -> None:
    """The page and its modules are served; nothing else, whatever the name spells."""
    body, kind = dashboard.asset("index.html")
    assert b"dashboard/assets/app.js" in body and kind.startswith("text/html")
    assert dashboard.asset("gantt.js")[1].startswith("text/javascript")
    for name in ("../function_app.py", "..", "", "dashboard.py", "index.html/", "APP.JS"):
        with pytest.raises(NotFoundError):
            dashboard.asset(name)

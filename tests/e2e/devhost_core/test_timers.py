"""Timer triggers: schedule, admin run, schedule monitor (past due), one runner per tick across hosts."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.storage.blob import BlobServiceClient

pytestmark = pytest.mark.e2e
EVERY_SECOND = "* * * * * *"


def test_timer_fires_on_schedule(
    app_copy: Path, app_env: dict[str, str], make_devhost: Any, records: Any, wait_for: Any
) -> None:
    make_devhost(app_copy, {**app_env, "TICK_SCHEDULE": EVERY_SECOND})
    ticks = wait_for(lambda: (r := records("tick")) and len(r) >= 3 and r, timeout=30)
    assert not any(t["past_due"] for t in ticks)


def test_admin_runs_timer_now(devhost: Any, records: Any, wait_for: Any) -> None:
    keys = devhost.keys()
    url = f"{devhost.url}/admin/functions/yearly"
    assert httpx.post(url, json={"input": ""}, timeout=30).status_code == 401
    assert (
        httpx.post(url, json={}, headers={"x-functions-key": keys["function"]}, timeout=30).status_code == 401
    )
    missing = httpx.post(
        f"{devhost.url}/admin/functions/nope", json={}, params={"code": keys["master"]}, timeout=30
    )
    assert missing.status_code == 404
    response = httpx.post(url, json={"input": ""}, headers={"x-functions-key": keys["master"]}, timeout=30)
    assert response.status_code == 202
    rows = wait_for(lambda: records("yearly"))
    assert rows[0]["past_due"] is False


def test_run_on_startup(devhost: Any, records: Any, wait_for: Any) -> None:
    rows = wait_for(lambda: records("startup"), timeout=30)
    assert len(rows) == 1 and rows[0]["past_due"] is False


def test_host_status(devhost: Any) -> None:
    master = devhost.keys()["master"]
    assert httpx.get(f"{devhost.url}/admin/host/status", timeout=30).status_code == 401
    status = httpx.get(f"{devhost.url}/admin/host/status", params={"code": master}, timeout=30).json()
    assert status["state"] == "Running"
    assert "tick" in status["functions"]


def test_missed_tick_runs_once_past_due_after_restart(
    app_copy: Path, app_env: dict[str, str], make_devhost: Any, records: Any, wait_for: Any
) -> None:
    env = {**app_env, "TICK_SCHEDULE": "*/2 * * * * *"}
    first = make_devhost(app_copy, env)
    wait_for(lambda: records("tick"), timeout=30)
    assert first.stop() == 0
    before = len(records("tick"))
    time.sleep(3)  # at least one tick passes while no host runs
    blobs = BlobServiceClient.from_connection_string(env["AzureWebJobsStorage"])
    container = blobs.get_container_client("azure-webjobs-hosts")
    status_blobs = [
        b.name for b in container.list_blobs(name_starts_with="timers/") if "Host.Functions.tick/" in b.name
    ]
    assert status_blobs, "schedule monitor status blob missing"
    second = make_devhost(app_copy, env)
    rows = wait_for(lambda: (r := records("tick")) and len(r) > before + 2 and r, timeout=30)
    past_due = [r for r in rows if r["past_due"]]
    assert len(past_due) == 1
    assert second.process is not None
    assert past_due[0]["pid"] == second.process.pid
    status = json.loads(container.get_blob_client(status_blobs[0]).download_blob().readall())
    assert set(status) == {"Last", "Next", "LastUpdated"}


def test_two_hosts_run_each_tick_once(
    app_copy: Path, app_env: dict[str, str], make_devhost: Any, records: Any, wait_for: Any
) -> None:
    env = {**app_env, "TICK_SCHEDULE": EVERY_SECOND}
    first = make_devhost(app_copy, env)
    second = make_devhost(app_copy, env)
    wait_for(lambda: (r := records("tick")) and len(r) >= 6 and r, timeout=30)
    rows = records("tick")
    seconds = [datetime.fromisoformat(r["at"]).replace(microsecond=0) for r in rows]
    assert len(seconds) == len(set(seconds)), "a tick ran twice"
    assert len({r["pid"] for r in rows}) == 1, "both hosts ran the schedule"
    # When the lease holder stops, the other host takes the schedule over.
    holder = first if rows[0]["pid"] == first.process.pid else second
    other = second if holder is first else first
    assert holder.stop() == 0
    wait_for(lambda: any(r["pid"] == other.process.pid for r in records("tick")), timeout=30)

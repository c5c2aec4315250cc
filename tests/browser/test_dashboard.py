"""The dashboard in Debian's Chromium (playwright-core) against a real devhost with real runs.

One browser scenario (scenario.mjs) walks every page once and records each check; the tests below
assert on them. Screenshots stay in tests/browser/artifacts/ (gitignored). Chromium and
playwright-core come from scripts/browser_env.sh (run by bootstrap).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard_seed import FUNCTION_KEY

from cli.local import ROOT, LocalStack

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
PLAYWRIGHT = ROOT / ".tools" / "browser" / "node_modules" / "playwright-core"


@pytest.fixture(scope="module")
def browser(stack: LocalStack, seeded: dict[str, Any]) -> dict[str, Any]:
    """Run the scenario once; its checks, console errors and screenshots."""
    missing = [str(p) for p in (CHROMIUM, PLAYWRIGHT) if not p.exists()]
    assert not missing, f"{missing} missing: run scripts/browser_env.sh (bootstrap does)"
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    env = {
        **os.environ,
        "DASH_URL": stack.url,
        "FUNCTION_KEY": FUNCTION_KEY,
        "ADMIN_KEY": stack.master_key,
        "RUN_OK": seeded["runs"]["dash-bc"],
        "RUN_WAITING": seeded["runs"]["dash-approve"],
        "RUN_REJECTED": seeded["runs"]["dash-gates"],
        "RUN_CRASH": seeded["runs"]["dash-crash"],
        "OUT_DIR": str(ARTIFACTS),
        "CHROMIUM": str(CHROMIUM),
    }
    done = subprocess.run(
        ["node", str(Path(__file__).with_name("scenario.mjs"))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    results = ARTIFACTS / "results.json"
    assert results.exists(), (
        f"scenario crashed (rc {done.returncode}): {done.stdout[-2000:]} {done.stderr[-3000:]}"
    )
    data: dict[str, Any] = json.loads(results.read_text())
    return data


def _passed(browser: dict[str, Any], name: str) -> Any:
    check = browser["checks"].get(name)
    assert check is not None, f"check {name} did not run: {sorted(browser['checks'])}"
    assert check["ok"], f"{name}: {check['detail']} (screenshots in {ARTIFACTS})"
    return check["detail"]


def test_runs_page_lists_real_runs_and_drops_the_key_from_the_address(browser: dict[str, Any]) -> None:
    """Runs render from the API; the ?code= key moved to session storage."""
    assert _passed(browser, "runs_page")["rows"] >= 3


def test_runs_filters_by_status_and_pipeline(browser: dict[str, Any]) -> None:
    """Choosing a status, then a pipeline, narrows the list to exactly those runs."""
    _passed(browser, "runs_filter")


def test_run_timeline_shows_training_job_states_steps_timers_and_sub_orchestration(
    browser: dict[str, Any],
) -> None:
    """The Gantt joins recorded steps, Durable spans and the training job's own states."""
    _passed(browser, "run_timeline")


def test_event_payload_loads_on_demand(browser: dict[str, Any]) -> None:
    """Clicking an activity bar fetches that event's input/output (not loaded up front)."""
    _passed(browser, "run_event_detail")


def test_failed_run_says_why_with_gate_numbers_and_quarantined_rows(browser: dict[str, Any]) -> None:
    """A gate-rejected run shows its reason, the gate's threshold and its 14 quarantined rows."""
    assert "accuracy" in _passed(browser, "run_failed_reason")["why"]


def test_failed_run_shows_the_error_the_failed_step_and_the_failed_job(browser: dict[str, Any]) -> None:
    """A training crash: the job's error, the step it failed in, the job's failed state on the timeline."""
    assert "n_estimators" in _passed(browser, "run_failed_error")["why"]


def test_approve_from_the_page(browser: dict[str, Any]) -> None:
    """A function key's approval is a clear 401; with the admin key the run goes on to Succeeded."""
    assert "401" in _passed(browser, "approve_from_page")["refused"]


def test_models_drift_and_costs_pages(browser: dict[str, Any]) -> None:
    """Lineage links the run; the drift chart and per-column view; costs per day and per run."""
    _passed(browser, "models_page")
    assert _passed(browser, "drift_page")["drifted"] >= 5
    assert _passed(browser, "costs_page")["runs"] >= 3


def test_start_a_run_from_the_page_and_follow_it(browser: dict[str, Any]) -> None:
    """Start run opens the new run's page, which redraws by itself as the run moves on."""
    assert _passed(browser, "start_run_from_page")["runId"].startswith("dash-gates-")


def test_no_console_errors_and_screenshots_kept(browser: dict[str, Any]) -> None:
    """No page logged an error (other than the provoked 401); every page left a screenshot."""
    assert browser["console_errors"] == []
    shots = {p.stem for p in ARTIFACTS.glob("*.png")}
    assert {"runs", "run", "run-rejected", "run-failed", "run-approved", "models", "drift", "costs"} <= shots


def test_dashboard_is_protected_like_the_api(stack: LocalStack, seeded: dict[str, Any]) -> None:
    """Page and JSON need the function key; assets are the shipped files only; terminate is admin."""
    run_id = seeded["runs"]["dash-bc"]
    key = {"x-functions-key": FUNCTION_KEY}
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        assert http.get("/api/dashboard").status_code == 401
        assert http.get("/api/dashboard/runs").status_code == 401
        assert http.get(f"/api/dashboard/runs/{run_id}/timeline").status_code == 401
        page = http.get("/api/dashboard", headers=key)
        assert page.status_code == 200 and "dashboard/assets/app.js" in page.text
        assert http.get("/api/dashboard/assets/app.js").status_code == 200
        slash = http.get("/api/dashboard/", headers=key)
        assert slash.status_code == 302 and slash.headers["location"] == "/api/dashboard"
        for name in ("..%2Ffunction_app.py", "function_app.py", "local.settings.json", "seed.py"):
            assert http.get(f"/api/dashboard/assets/{name}").status_code == 404, name
        bad = http.get(f"/api/dashboard/runs/{run_id}/timeline", params={"part": "x"}, headers=key)
        assert bad.status_code == 400 and bad.json()["field"] == "part"
        paged = http.get("/api/dashboard/runs", params={"limit": 5000}, headers=key)
        assert paged.status_code == 400 and paged.json()["field"] == "limit"
        when = http.get("/api/dashboard/runs", params={"since": "yesterday"}, headers=key)
        assert when.status_code == 400 and when.json()["field"] == "since"
        # Only runs' instances: a Durable instance that is no run (its retraining twin's id) is a 404.
        assert http.get("/api/dashboard/runs/not-a-run/timeline", headers=key).status_code == 404
        assert http.get(f"/api/dashboard/runs/{run_id}/history/999999", headers=key).status_code == 404
        assert http.post(f"/api/runs/{run_id}/terminate", json={}, headers=key).status_code == 401
        ended = http.post(
            f"/api/runs/{run_id}/terminate", json={}, headers={"x-functions-key": stack.master_key}
        )
        assert ended.status_code == 409 and ended.json()["field"] == "run_id"
        assert stack.master_key not in page.text and "durabletask" not in page.text


def test_terminate_from_the_api_ends_the_run_cancelled(stack: LocalStack, seeded: dict[str, Any]) -> None:
    """An admin terminates a waiting run; its row ends Cancelled with the reason."""
    from dashboard_seed import spec, wait_for

    from cli.client import ApiClient

    api = ApiClient(stack.url, stack.master_key)
    run_id = api.post(
        "/api/pipelines/dash-stop/runs",
        {"spec": spec("dash-stop", approval={"required": True, "timeout_hours": 1.0})},
    )["run_id"]
    wait_for(api, run_id, {"AwaitingApproval"})
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        sent = http.post(
            f"/api/runs/{run_id}/terminate",
            json={"reason": "stopped by the browser tests"},
            headers={"x-functions-key": stack.master_key},
        )
        assert sent.status_code == 202, sent.text
    record = wait_for(api, run_id, {"Cancelled"}, timeout=60)
    assert "stopped by the browser tests" in (record.get("reason") or "")

"""kill -9 devhost during a canary's bake: after the restart the rollout goes on from its durable
timer and ends with exactly one decision; a function key may read a rollout but never steer it."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest

from cli.client import ApiClient, ApiError
from cli.local import LocalStack
from shared.settings import load_settings
from shared.steps import rollout
from shared.storage.factory import Storage

from .test_pipeline_http import wait_for
from .test_rollout import CHECKS, GOOD, Traffic, _baking, _spec

FUNCTION_KEY = secrets.token_urlsafe(24)


def test_kill_9_mid_bake_then_restart_ends_the_rollout_with_one_decision(
    azurite_connection_string: str, tmp_path: Path, unique: str
) -> None:
    log = tmp_path / "devhost.log"
    stack = LocalStack(
        connection_string=azurite_connection_string,
        work_dir=tmp_path / "work",
        log_path=log,
        extra_env={"DEVHOST_FUNCTION_KEY": FUNCTION_KEY},
    )
    stack.start()
    try:
        api = ApiClient(stack.url, stack.master_key)
        name = f"rocrash-{unique}"
        first = api.post(f"/api/pipelines/{name}/runs", {"spec": _spec(name)})["run_id"]
        deployed = wait_for(api, first, log)
        assert deployed["status"] == "Succeeded", deployed.get("reason")

        canary = {"canary": {"traffic": 0.5, "bake_minutes": 0.4}, "checks": CHECKS}
        run_id = api.post(f"/api/pipelines/{name}/runs", {"spec": _spec(name, GOOD, canary)})["run_id"]
        started = _baking(api, name, run_id)
        candidate, production = started["rollout"]["candidate"], started["production"]

        reader = ApiClient(stack.url, FUNCTION_KEY)
        assert reader.get(f"/api/models/{name}/rollout")["rollout"]["status"] == "Baking"
        for path, body in (
            (f"/api/models/{name}/rollout", {"action": "promote"}),
            (f"/api/models/{name}/rollback", {"to": production}),
        ):
            with pytest.raises(ApiError) as err:
                reader.post(path, body)
            assert err.value.status == 401, "steering production is admin level"

        with Traffic(api, name) as traffic:
            time.sleep(3)  # some evidence before the crash
            assert api.get(f"/api/models/{name}/rollout")["rollout"]["status"] == "Baking", "kill mid-bake"
            stack.kill_host()
            time.sleep(1.0)
            stack.start_host()
            run = wait_for(ApiClient(stack.url, stack.master_key), run_id, log, timeout=120)
        assert run["status"] == "Succeeded", run
        assert traffic.refused > 0, "traffic met the dead host"

        storage = Storage.from_settings(
            load_settings(environ={"AzureWebJobsStorage": azurite_connection_string})
        )
        record = rollout.repository(storage).get(name, "production")[0]
        assert record.status == "Promoted" and record.rollout_id == run_id
        assert storage.aliases.get(name, "production")[0].version == candidate
        decisions = [
            a.action
            for a in storage.audit.query(pk=f"model:{name}")
            if a.action in ("rollout-promote", "rollout-rollback") and a.data.get("rollout_id") == run_id
        ]
        assert decisions == ["rollout-promote"], "exactly one decision"
        assert storage.deployments.get(name, run_id)[0].status == "Promoted"
    finally:
        stack.stop()

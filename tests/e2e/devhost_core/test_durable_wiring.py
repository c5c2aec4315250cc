"""devhost's side of the Durable contract: runtime built for durable apps, client binding, webhook keys."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e
DURABLE_APP = Path(__file__).resolve().parents[2] / "apps" / "basic_app" / "durable"
WEBHOOK = "/runtime/webhooks/durabletask/instances"


def test_durable_app_runs_and_webhooks_need_a_key(
    tmp_path: Path, app_env: dict[str, str], make_devhost: Any
) -> None:
    app_dir = tmp_path / "durable"
    shutil.copytree(DURABLE_APP, app_dir)
    host = make_devhost(app_dir, app_env)
    out = "".join(host.stdout)
    assert "greet: orchestrationTrigger" in out and "shout: activityTrigger" in out
    response = httpx.post(f"{host.url}/api/start/greet", content=b"world", timeout=60)
    assert response.status_code == 200, response.text
    assert response.text.strip('"') == "HELLO WORLD"
    keys = host.keys()
    assert httpx.get(f"{host.url}{WEBHOOK}", timeout=30).status_code == 401
    assert httpx.get(f"{host.url}{WEBHOOK}", params={"code": keys["function"]}, timeout=30).status_code == 401
    for key in (keys["durable_system"], keys["master"]):
        listed = httpx.get(f"{host.url}{WEBHOOK}", headers={"x-functions-key": key}, timeout=30)
        assert listed.status_code == 200
        assert any(i["name"] == "greet" and i["runtimeStatus"] == "Completed" for i in listed.json())

"""Prediction ids and feedback over HTTP on a real devhost, with a function key, and `mlops feedback`."""

from __future__ import annotations

import csv
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cli.local import LocalStack
from cli.main import app
from shared.settings import Settings
from shared.steps.feedback import CONTAINER, joined_window
from shared.storage.factory import Storage
from tests.feedback_support import Deployed, deploy_classifier

FUNCTION_KEY = secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def stack(azurite_connection_string: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """devhost with a known function key (what every app client holds)."""
    tmp = tmp_path_factory.mktemp("feedback-e2e")
    local = LocalStack(
        connection_string=azurite_connection_string,
        work_dir=tmp / "work",
        log_path=tmp / "devhost.log",
        extra_env={"DEVHOST_FUNCTION_KEY": FUNCTION_KEY},
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def deployed(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    storage = Storage.from_settings(settings)
    storage.ensure_all()
    return deploy_classifier(storage, tmp_path_factory.mktemp("feedback-model"), prefix="fbh")


def _post(stack: LocalStack, path: str, body: Any, key: str | None = FUNCTION_KEY) -> httpx.Response:
    headers = {"x-functions-key": key} if key else {}
    return httpx.post(f"{stack.url}{path}", json=body, headers=headers, timeout=60)


def test_a_function_key_scores_with_ids_and_sends_feedback(stack: LocalStack, deployed: Deployed) -> None:
    model = deployed.name
    scored = _post(stack, f"/api/models/{model}/score", {"rows": deployed.rows(10)})
    assert scored.status_code == 200, scored.text
    predictions = scored.json()["predictions"]
    ids = [p["id"] for p in predictions]
    assert len(set(ids)) == 10
    # right away: the host writes what it scored before looking the ids up
    truth = [
        {"id": p["id"], "label": 1 - p["label"] if n < 3 else p["label"]} for n, p in enumerate(predictions)
    ]
    sent = _post(stack, f"/api/models/{model}/feedback", truth[:6])
    assert sent.status_code == 200, sent.text
    assert sent.json()["stored"] == 6
    again = _post(stack, f"/api/models/{model}/feedback", {"rows": truth[:6]})
    assert again.status_code == 200 and again.json()["unchanged"] == 6 and again.json()["stored"] == 0

    bad = _post(stack, f"/api/models/{model}/feedback", [truth[6], {"id": "nobody-scored-this", "label": 1}])
    assert bad.status_code == 400 and bad.json()["field"] == "rows[1].id", bad.text
    wrong = _post(stack, f"/api/models/{model}/feedback", [{"id": ids[7], "label": "maybe"}])
    assert wrong.status_code == 400 and wrong.json()["field"] == "rows[0].label", wrong.text
    for body in (b"{not json", b"[]", b'{"rows": 3}'):
        resp = httpx.post(
            f"{stack.url}/api/models/{model}/feedback",
            content=body,
            headers={"x-functions-key": FUNCTION_KEY},
            timeout=30,
        )
        assert resp.status_code == 400, resp.text
    assert _post(stack, f"/api/models/{model}/feedback", truth[:1], key=None).status_code == 401
    assert _post(stack, "/api/models/no-such-model-fbh/feedback", truth[:1]).status_code == 404

    now = datetime.now(UTC)
    window = joined_window(deployed.storage, model, now - timedelta(hours=2), now + timedelta(minutes=1))
    labelled = {r["id"]: r["label"] for r in window.to_dicts() if r["label"] is not None}
    assert labelled == {t["id"]: t["label"] for t in truth[:6]}, "the refused batches stored nothing"


@pytest.mark.parametrize("container", [CONTAINER, "predictions"])
def test_a_function_key_cannot_read_the_feedback_or_predictions_containers(
    stack: LocalStack, deployed: Deployed, container: str
) -> None:
    deployed.storage.blobs.put_bytes(container, "fbh/secret.csv", b"a,label\n1,0\n2,1\n")
    spec = {
        "name": "fbh-read-internal",
        "source": f"{container}/fbh/secret.csv",
        "target": "label",
        "task": "classification",
        "trainer": {"kind": "sklearn", "model": "logistic_regression"},
    }
    resp = _post(stack, "/api/pipelines/fbh-read-internal/runs", {"spec": spec})
    assert resp.status_code == 400 and resp.json()["field"] == "source.location", resp.text


def test_mlops_feedback_sends_a_csv(stack: LocalStack, deployed: Deployed, tmp_path: Path) -> None:
    model = deployed.name
    rows = [{**row, "ticket": f"t-{n}"} for n, row in enumerate(deployed.rows(4))]
    scored = _post(stack, f"/api/models/{model}/score", {"rows": rows, "id_field": "ticket"}).json()
    assert [p["id"] for p in scored["predictions"]] == ["t-0", "t-1", "t-2", "t-3"]
    path = tmp_path / "labels.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "label", "observed_at"])
        writer.writerow(["t-0", "1", "2026-01-02T03:04:05Z"])  # text labels, as a CSV has them
        writer.writerow(["t-1", "0", ""])
    runner = CliRunner()
    args = ["--url", stack.url, "--key", FUNCTION_KEY]
    result = runner.invoke(app, ["feedback", model, str(path), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["stored"] == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("id,label\nt-2,7\n")
    result = runner.invoke(app, ["feedback", model, str(bad), *args], catch_exceptions=False)
    assert result.exit_code == 1 and "rows[0].label" in result.output, result.output
    wrong_columns = tmp_path / "cols.csv"
    wrong_columns.write_text("id,truth\nt-2,1\n")
    result = runner.invoke(app, ["feedback", model, str(wrong_columns), *args])
    assert result.exit_code != 0 and "truth" in result.output

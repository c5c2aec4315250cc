"""``deployment.alias`` is honoured by serving, listings, champion lookup and drift scheduling."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import NotFoundError
from shared.models.onnx_io import ModelCache
from shared.steps import current_spec, models, schedules
from tests.integration.monitoring.support import Deployed
from tests.scoring_support import score_rows


def test_a_model_deployed_to_live_is_served_listed_and_checked_from_live(
    deploy: Callable[..., Deployed],
) -> None:
    d = deploy(alias="live")
    storage = d.storage
    assert storage.aliases.try_get(d.name, "production") is None, "nothing may write 'production'"

    rows = d.feature_rows()[:3]
    scored = score_rows(storage, ModelCache(), d.name, {"rows": rows}, sample_rate=0.0)
    assert scored["version"] == d.record.version and len(scored["predictions"]) == 3
    with pytest.raises(NotFoundError):
        score_rows(storage, ModelCache(), d.name, {"rows": rows}, alias="production", sample_rate=0.0)

    [listed] = [m for m in current_spec.model_listing(storage) if m["name"] == d.name]
    assert listed == {
        "name": d.name,
        "latest_version": d.record.version,
        "alias": "live",
        "production": d.record.version,
    }

    # The next candidate is compared with the champion at ``live`` (no champion before: gates skipped).
    evaluation = models.evaluate(storage, d.spec, d.dataset, _candidate(d))
    assert evaluation["champion_version"] == d.record.version

    # The drift check of the monitoring schedule finds the deployed model at its alias.
    start = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
    schedules.mark_run(storage, "drift", d.name, start)
    due = [
        w
        for w in schedules.drift_windows(storage, start + timedelta(hours=1), manual=False)
        if w[0].name == d.name
    ]
    assert len(due) == 1 and due[0][0].deployment.alias == "live"


def _candidate(d: Deployed) -> dict[str, object]:
    """The deployed version's own ONNX as a candidate blob reference."""
    return {"blob": d.record.onnx_blob, "sha256": d.record.sha256}

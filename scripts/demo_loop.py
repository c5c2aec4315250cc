"""The demo's monitoring loop: drift, labels, model quality, and a retraining run on fresh data.

The world changes in two ways at once (simulated, and said so): the live caller starts sending
the "mean ..." and "worst ..." features in other units (x 3: input drift), and a new diagnosis
guideline counts tumours with a coarse texture (``mean texture`` above its 70th percentile) as
malignant (a concept shift). Labels for the drifted traffic arrive as feedback under the new
guideline; the warehouse exports a fresh labeled batch (original units, new guideline) next to
the original one. The monitor then shows drift, the data-quality signals, the quality drop
against the holdout baseline and the label-free estimate next to the observed metric; the retrain
request it sends starts a run that reads the newest blob and is judged against the champion on
that new data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from cli.client import ApiClient, ApiError
from shared.data.bundled import bundled_frame
from shared.settings import load_settings
from shared.steps.inference_log import read_inference_log
from shared.storage.factory import Storage

#: The demo's data: a blob prefix whose newest CSV is read by every run (``select: {newest: 1}``).
DATA_CONTAINER = "data"
DATA_PREFIX = "demo/breast-cancer/"
ORIGINAL = f"{DATA_PREFIX}batch-0001-original.csv"
FRESH = f"{DATA_PREFIX}batch-0002-new-guideline.csv"
SOURCE = {
    "kind": "blob",
    "location": f"{DATA_CONTAINER}/{DATA_PREFIX}",
    "format": "csv",
    "select": {"newest": 1},
}
TARGET = "target"
GUIDELINE = ("mean texture", 0.7)


def storage_of(connection_string: str) -> Storage:
    """Storage on the demo's Azurite."""
    return Storage.from_settings(load_settings(environ={"AzureWebJobsStorage": connection_string}))


def original_frame() -> pl.DataFrame:
    """The bundled breast-cancer table (features + ``target``: 0 malignant, 1 benign)."""
    return bundled_frame("breast_cancer")


def new_guideline(frame: pl.DataFrame) -> pl.Series:
    """Labels under the (simulated) new guideline: coarse texture counts as malignant (0)."""
    column, quantile = GUIDELINE
    cut = float(np.quantile(frame[column].to_numpy(), quantile))
    return pl.Series(TARGET, np.where(frame[column].to_numpy() > cut, 0, frame[TARGET].to_numpy()))


def write_batch(storage: Storage, name: str, frame: pl.DataFrame) -> None:
    """Write (rewrite) one CSV batch: the newest write is what ``select: {newest: 1}`` reads."""
    storage.blobs.ensure_container(DATA_CONTAINER)
    storage.blobs.put_bytes(DATA_CONTAINER, name, frame.write_csv().encode(), content_type="text/csv")


def until(check: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll ``check`` every half second until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise TimeoutError(f"no {what} after {timeout_s:.0f} s")


def _rate(value: Any) -> str:
    return f"{value * 100:.1f}%" if isinstance(value, int | float) else "n/a"


def _num(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "-"


def send_drifted_traffic(api: ApiClient, name: str, frame: pl.DataFrame) -> list[str]:
    """Score every row with the mean/worst features x 3; the prediction ids, in row order."""
    shifted = [c for c in frame.columns if c.startswith(("mean ", "worst "))]
    rows = frame.drop(TARGET).with_columns([pl.col(c) * 3 for c in shifted]).to_dicts()
    print(f"\nmonitoring: sending {len(rows)} drifted rows ({len(shifted)} features x 3, new units upstream)")
    ids: list[str] = []
    for i in range(0, len(rows), 50):
        answer = api.post(f"/api/models/{name}/score", {"rows": rows[i : i + 50]})
        ids += [p["id"] for p in answer["predictions"]]
    return ids


def send_feedback(api: ApiClient, name: str, ids: list[str], labels: list[int]) -> dict[str, Any]:
    """POST the labels; retried while the predictions log has not flushed the ids yet (a 400)."""
    body = [{"id": i, "label": int(label)} for i, label in zip(ids, labels, strict=True)]

    def post() -> dict[str, Any] | None:
        try:
            return dict(api.post(f"/api/models/{name}/feedback", body))
        except ApiError as exc:
            if exc.status == 400 and "unknown prediction id" in exc.message:
                return None  # the predictions log flushes every few seconds
            raise

    return dict(until(post, 60, "accepted feedback"))


def wait_for_log(connection_string: str, name: str, since: datetime, rows: int) -> None:
    """Wait until the scored rows are in the inference log (the host flushes it in the background)."""
    storage = storage_of(connection_string)
    later = datetime.now(UTC) + timedelta(minutes=1)
    until(lambda: len(read_inference_log(storage, name, since, later)) >= rows, 60, "flushed inference log")


def monitoring_loop(api: ApiClient, name: str, connection_string: str) -> dict[str, Any] | None:
    """Drift + labels + fresh data -> monitor -> quality drop and estimate -> retraining run."""
    frame = original_frame()
    sent = datetime.now(UTC) - timedelta(seconds=1)
    ids = send_drifted_traffic(api, name, frame)
    labels = new_guideline(frame)
    changed = int((labels != frame[TARGET]).sum())
    accepted = send_feedback(api, name, ids, labels.to_list())
    print(
        f"  feedback: {accepted.get('stored', accepted)} labels stored through "
        f"POST /api/models/{name}/feedback (new guideline: {changed} of {len(ids)} diagnoses "
        "differ from the old rule)"
    )
    write_batch(storage_of(connection_string), FRESH, frame.with_columns(labels))
    print(f"  fresh labeled export: {DATA_CONTAINER}/{FRESH} (original units, new guideline), now the newest")
    wait_for_log(connection_string, name, sent, len(ids))
    before = (api.get(f"/api/drift/{name}")["latest"] or {}).get("window")
    api.request("POST", "/admin/functions/drift_monitor", json={"input": ""})
    print("  ran the monitor through POST /admin/functions/drift_monitor (drift + model quality)")
    drift = until(
        lambda: (d := api.get(f"/api/drift/{name}")["latest"]) and d.get("window") != before and d,
        120,
        "drift check",
    )
    window = drift["window"]
    quality = until(
        lambda: (q := api.get(f"/api/quality/{name}")["latest"]) and q.get("window") == window and q,
        120,
        "quality check",
    )
    show_drift(drift)
    show_quality(quality, drift.get("retrain") or {})
    retrain = drift.get("retrain") or {}
    if retrain.get("status") != "sent":
        print(f"  no retraining started ({retrain.get('status')}); delete .demo/ to see the whole loop again")
        return None
    return retrain


def show_drift(drift: dict[str, Any]) -> None:
    """Print the drift check with its data-quality line."""
    columns = drift.get("columns") or {}
    moved = sorted(c for c, v in columns.items() if v.get("drifted"))
    print(
        f"  drift, window {drift.get('window')}: {drift.get('status')}, {len(moved)}/{len(columns)} columns "
        f"drifted (share {drift.get('drifted_share', 0):.2f}), rows {drift.get('rows')}; "
        f"report reports/{drift.get('report_blob')} (+ .html)"
    )
    q = drift.get("data_quality") or {}
    print(
        f"  data quality: nulls {_rate(q.get('null_rate'))}, "
        f"out of training range {_rate(q.get('out_of_range_rate'))} "
        f"({q.get('out_of_range')} of {q.get('range_checked')} values), unseen categories "
        f"{_rate(q.get('unseen_category_rate'))}, type errors {_rate(q.get('type_error_rate'))}"
    )


def show_quality(quality: dict[str, Any], drift_retrain: dict[str, Any]) -> None:
    """Print the quality decision and the label-free estimate next to the observed metrics."""
    decision = quality.get("decision") or {}
    print(
        f"  model quality: {quality.get('status')} on {quality.get('labeled')} labeled of "
        f"{quality.get('rows')} predictions: {decision.get('reason')}"
    )
    estimate = (quality.get("estimate") or {}).get("metrics") or {}
    for metric, row in estimate.items():
        print(
            f"    {metric:<8} holdout {_num((quality.get('baseline') or {}).get(metric))}  observed "
            f"{_num(row.get('observed'))}  label-free estimate {_num(row.get('estimated_labeled'))} "
            f"(est - obs {_num(row.get('difference'))})"
        )
    print(
        "    (the estimate trusts the model's calibrated confidence: it cannot see new units the model "
        "is sure about, nor a new labelling rule; labels can)"
    )
    retrain = quality.get("retrain") or {}
    same = retrain.get("message_id") is not None and retrain.get("message_id") == drift_retrain.get(
        "message_id"
    )
    why = (
        "the request the drift check of this window sent: one run per window"
        if same
        else retrain.get("reason")
    )
    print(f"  retrain request: {retrain.get('status')} ({why})")


def show_retraining(final: dict[str, Any]) -> None:
    """Print what the retraining run read and how the candidate compared with the champion."""
    read = (final.get("details") or {}).get("source_blobs") or []
    names = ", ".join(f"{b.get('container')}/{b.get('name')}" for b in read[:5]) or "?"
    print(f"  read: {names}")
    outcome = f"model version {final['model_version']}" if final.get("model_version") else final.get("reason")
    print(f"  -> {final['status']}: {outcome}")
    for gate in final.get("gate_decisions", []):
        if gate.get("champion_value") is not None:
            print(
                f"     on the new holdout: candidate {gate['metric']} {_num(gate.get('value'))} vs champion "
                f"{_num(gate.get('champion_value'))}"
            )
        print(f"     gate {gate['gate']:<18} {gate['status']:<8} {gate['reason']}")

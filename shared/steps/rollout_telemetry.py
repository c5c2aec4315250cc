"""Live-traffic evidence for a rollout's bake checks, and the check that reads it.

While a rollout routes traffic, serving notes per request and version: whether scoring failed,
how long it took, and the predictions. A background thread writes what it gathered as a small JSON
part every ``flush_s`` (``inference-logs/rollout-telemetry/<model>/<rollout id>/<version>/<time>-<id>.json``);
the check of a bake period reads the parts written since the step began. Scoring never waits on
storage here either: a part that fails to write is retried with the next flush.

Where ground-truth feedback exists, the check also compares model quality: the predictions log
joined with feedback since the rollout began (labels are late, so earlier steps' answers count),
the spec's metric on each version's labeled rows. Too few labels is no quality decision: never a
breach, and never required for a pass.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from shared.monitoring.stats import jensen_shannon
from shared.pipeline.operations import RolloutChecks
from shared.rollout_contracts import RolloutCheck
from shared.storage.factory import Storage

if TYPE_CHECKING:
    from shared.pipeline.spec import PipelineSpec
    from shared.steps.rollout import RolloutRecord

CONTAINER = "inference-logs"
PREFIX = "rollout-telemetry"
#: Predictions kept per part and version (a distribution needs far fewer).
MAX_PREDICTIONS = 20_000
#: Distinct prediction values up to which predictions are compared as categories.
MAX_CATEGORIES = 20
log = logging.getLogger(__name__)


@dataclass
class VersionStats:
    """What one version did on live traffic in a window."""

    requests: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    predictions: list[Any] = field(default_factory=list)

    def merge(self, part: dict[str, Any]) -> None:
        """Add one written part."""
        self.requests += int(part.get("requests", 0))
        self.errors += int(part.get("errors", 0))
        self.latencies_ms.extend(float(x) for x in part.get("latencies_ms", []))
        self.predictions.extend(part.get("predictions", []))

    @property
    def error_rate(self) -> float:
        """Failed requests over requests (0 without traffic)."""
        return self.errors / self.requests if self.requests else 0.0

    @property
    def p95_ms(self) -> float:
        """95th percentile of scoring time."""
        return float(np.percentile(self.latencies_ms, 95)) if self.latencies_ms else 0.0

    def summary(self) -> dict[str, Any]:
        """The numbers a decision records."""
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": round(self.error_rate, 4),
            "latency_p95_ms": round(self.p95_ms, 3),
            "predictions": len(self.predictions),
        }


def part_prefix(model: str, rollout_id: str) -> str:
    """Blob prefix of a rollout's parts."""
    return f"{PREFIX}/{model}/{rollout_id}/"


class RolloutTelemetry:
    """Per-process buffer of rollout evidence, flushed in the background (or on every add)."""

    def __init__(self, storage: Storage, flush_s: float = 1.0, *, background: bool = True) -> None:
        self.storage = storage
        self.flush_s = flush_s
        self.background = background
        self._pending: dict[tuple[str, str, str], VersionStats] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None  # started on the first add: most servers never roll out

    def add(
        self,
        model: str,
        rollout_id: str,
        version: str,
        *,
        ok: bool,
        latency_ms: float,
        predictions: list[Any],
    ) -> None:
        """Note one request's outcome for ``version``."""
        with self._lock:
            stats = self._pending.setdefault((model, rollout_id, version), VersionStats())
            stats.requests += 1
            stats.errors += 0 if ok else 1
            stats.latencies_ms.append(latency_ms)
            room = MAX_PREDICTIONS - len(stats.predictions)
            stats.predictions.extend(predictions[: max(room, 0)])
        if not self.background:
            self.flush()
        elif self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="rollout-telemetry", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        stop = threading.Event()
        while not stop.wait(self.flush_s):
            try:
                self.flush()
            except Exception:  # never let the flusher die; the next round retries
                log.warning("rollout telemetry flush failed", exc_info=True)

    def flush(self) -> int:
        """Write every pending part now; how many were written."""
        with self._lock:
            pending, self._pending = self._pending, {}
        written = 0
        for (model, rollout_id, version), stats in pending.items():
            now = datetime.now(UTC)
            name = (
                f"{part_prefix(model, rollout_id)}{version}/{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.json"
            )
            body = {
                "requests": stats.requests,
                "errors": stats.errors,
                "latencies_ms": stats.latencies_ms,
                "predictions": stats.predictions,
            }
            try:
                self.storage.blobs.put_bytes(CONTAINER, name, json.dumps(body).encode(), overwrite=False)
                written += 1
            except Exception:
                with self._lock:  # put it back for the next flush
                    self._pending.setdefault((model, rollout_id, version), VersionStats()).merge(body)
                raise
        return written


def collect(storage: Storage, model: str, rollout_id: str, since: datetime | None) -> dict[str, VersionStats]:
    """Each version's evidence in parts written at or after ``since``."""
    out: dict[str, VersionStats] = {}
    prefix = part_prefix(model, rollout_id)
    floor = f"{since.astimezone(UTC):%Y%m%dT%H%M%S%f}" if since is not None else ""
    for name in storage.blobs.list_names(CONTAINER, prefix):
        version, _, stem = name[len(prefix) :].partition("/")
        if stem[:22] < floor:
            continue
        part = json.loads(storage.blobs.get_bytes(CONTAINER, name))
        out.setdefault(version, VersionStats()).merge(part)
    return out


def prediction_distance(reference: list[Any], current: list[Any]) -> float:
    """Jensen-Shannon distance of two prediction samples (categories, or production's deciles)."""
    values = set(map(str, reference)) | set(map(str, current))
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in [*reference, *current])
    if len(values) <= MAX_CATEGORIES or not numeric:
        labels = sorted(values)
        index = {v: i for i, v in enumerate(labels)}
        ref = np.bincount([index[str(v)] for v in reference], minlength=len(labels))
        cur = np.bincount([index[str(v)] for v in current], minlength=len(labels))
        return jensen_shannon(ref, cur)
    ref_arr = np.asarray(reference, dtype=np.float64)
    edges = np.unique(np.quantile(ref_arr, np.linspace(0, 1, 11)[1:-1]))
    ref_bins = np.bincount(np.searchsorted(edges, ref_arr), minlength=len(edges) + 1)
    cur_bins = np.bincount(
        np.searchsorted(edges, np.asarray(current, dtype=np.float64)), minlength=len(edges) + 1
    )
    return jensen_shannon(ref_bins, cur_bins)


def compare(
    production: VersionStats,
    candidate: VersionStats,
    checks: RolloutChecks,
    quality: dict[str, Any] | None = None,
) -> RolloutCheck:
    """The bake check: a breach names each threshold crossed, with the numbers.

    ``quality`` (from :func:`quality_numbers`) adds the model-quality comparison: its breach rolls
    back like any other; without a decision it is only reported.
    """
    numbers: dict[str, Any] = {"production": production.summary(), "candidate": candidate.summary()}
    if quality is not None:
        numbers["quality"] = quality
    short = [
        f"{who} scored {stats.requests} requests (need {checks.min_requests})"
        for who, stats in (("candidate", candidate), ("production", production))
        if stats.requests < checks.min_requests
    ]
    if short:
        numbers["min_requests"] = checks.min_requests
        if quality is not None and quality["decision"] == "breach":  # labels decide even on thin traffic
            return RolloutCheck(verdict="breach", reason=quality["reason"], numbers=numbers)
        return RolloutCheck(
            verdict="insufficient", reason="insufficient traffic: " + "; ".join(short), numbers=numbers
        )
    breaches: list[str] = []
    error_delta = candidate.error_rate - production.error_rate
    numbers["error_rate_increase"] = round(error_delta, 4)
    if error_delta > checks.max_error_rate_increase:
        breaches.append(
            f"error rate {candidate.error_rate:.2%} vs production {production.error_rate:.2%} "
            f"(+{error_delta:.2%} > {checks.max_error_rate_increase:.2%})"
        )
    ratio_limit = production.p95_ms * checks.max_latency_p95_ratio
    if candidate.p95_ms > ratio_limit and candidate.p95_ms - production.p95_ms > checks.latency_slack_ms:
        breaches.append(
            f"latency p95 {candidate.p95_ms:.1f} ms vs production {production.p95_ms:.1f} ms "
            f"(> {checks.max_latency_p95_ratio:g}x)"
        )
    if production.predictions and candidate.predictions:
        distance = prediction_distance(production.predictions, candidate.predictions)
        numbers["prediction_distance"] = round(distance, 4)
        if distance > checks.max_prediction_distance:
            breaches.append(
                f"prediction distribution distance {distance:.3f} > {checks.max_prediction_distance:g} "
                "(Jensen-Shannon)"
            )
    if quality is not None and quality["decision"] == "breach":
        breaches.append(quality["reason"])
    if breaches:
        return RolloutCheck(verdict="breach", reason="; ".join(breaches), numbers=numbers)
    reason = "within every threshold"
    if quality is not None and quality["decision"] != "ok":
        reason += f" ({quality['reason']})"
    return RolloutCheck(verdict="pass", reason=reason, numbers=numbers)


def quality_numbers(
    storage: Storage, spec: PipelineSpec, record: RolloutRecord, until: datetime
) -> dict[str, Any]:
    """Candidate vs production on their labeled predictions since the rollout began.

    ``decision``: ``breach`` when both have ``min_labeled`` labeled rows and the candidate's metric
    is worse than production's by more than ``max_quality_drop`` (absolute for bounded metrics,
    relative for rmse/mae, as the quality monitor decides); ``ok``; or ``none`` (too few labels).
    """
    from shared.models.metrics import REGISTRY
    from shared.monitoring.quality import DEFAULT_METRIC, REPORTED, labeled_rows, observed_metrics
    from shared.steps.feedback import joined_window

    checks = spec.deployment.checks
    metric = checks.quality_metric or spec.monitoring.quality.metric or DEFAULT_METRIC[spec.task]
    if metric not in REPORTED[spec.task]:  # a metric of the other task: decide on the default one
        metric = DEFAULT_METRIC[spec.task]
    since = record.started_at or until
    joined = joined_window(storage, record.model, since, until) if since < until else None
    out: dict[str, Any] = {"metric": metric, "min_labeled": checks.min_labeled}
    values: dict[str, float | None] = {}
    for who, version in (("production", record.production or ""), ("candidate", record.candidate)):
        model = storage.models.try_get(record.model, version) if version else None
        classes = list(model.input_schema.get("classes") or []) if model is not None else []
        rows = joined.filter(joined["version"] == version) if joined is not None else None
        if rows is None or rows.is_empty():
            out[who] = {"version": version, "rows": 0, "labeled": 0, metric: None}
            values[who] = None
            continue
        labeled = labeled_rows(rows, spec.task, classes)
        value = observed_metrics(spec.task, labeled).get(metric)
        values[who] = value
        out[who] = {
            "version": version,
            "rows": labeled.rows,
            "labeled": labeled.labeled,
            metric: round(value, 4) if value is not None else None,
        }
    short = [
        f"{who} {out[who]['labeled']}"
        for who in ("candidate", "production")
        if out[who]["labeled"] < checks.min_labeled
    ]
    prod, cand = values["production"], values["candidate"]
    if short or prod is None or cand is None:
        why = (
            f"labeled rows {', '.join(short)} < min_labeled {checks.min_labeled}"
            if short
            else f"{metric} undefined"
        )
        counts = (
            f"{out['candidate']['labeled']} candidate / {out['production']['labeled']} production labeled"
        )
        return {**out, "decision": "none", "reason": f"no quality decision ({counts}: {why})"}
    entry = REGISTRY[metric]
    relative = checks.quality_relative if checks.quality_relative is not None else not np.isfinite(entry.high)
    allowed = checks.max_quality_drop * abs(prod) if relative else checks.max_quality_drop
    drop = prod - cand if entry.direction == "higher" else cand - prod
    breach = drop > allowed
    reason = (
        f"{metric} {cand:.4f} vs production {prod:.4f} on labeled feedback (drop {drop:+.4f} "
        f"{'>' if breach else '<='} allowed {allowed:.4f}; {out['candidate']['labeled']} / "
        f"{out['production']['labeled']} labeled)"
    )
    return {
        **out,
        "drop": round(drop, 4),
        "allowed_drop": round(allowed, 4),
        "decision": "breach" if breach else "ok",
        "reason": reason,
    }


def check(storage: Storage, spec: PipelineSpec, record: RolloutRecord) -> RolloutCheck:
    """A bake check of ``record``'s current step: live telemetry since it began, quality since the start."""
    stats = collect(storage, record.model, record.rollout_id, record.step_started_at)
    empty = VersionStats()
    quality = quality_numbers(storage, spec, record, datetime.now(UTC))
    return compare(
        stats.get(record.production or "", empty),
        stats.get(record.candidate, empty),
        spec.deployment.checks,
        quality,
    )

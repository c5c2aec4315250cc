"""What the dashboard's own endpoints serve beyond the API: filtered run pages, lineage, cost series.

Every view is slim on purpose: the runs list carries no steps, details or inputs (a run's page
fetches those for one run), and the static assets are read from the app's ``dashboard/`` folder
by name from a fixed list, never from a path a request spells.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.errors import NotFoundError, ValidationError
from shared.storage.factory import Storage
from shared.storage.records import RunRecord

#: The shipped assets (folder next to function_app.py) and their content types.
ASSET_DIR = Path(__file__).resolve().parents[2] / "dashboard"
ASSET_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
#: Longest reason shown in the list (the run page shows all of it).
LIST_REASON = 240


def asset(name: str) -> tuple[bytes, str]:
    """An asset's bytes and content type; NotFoundError for anything not shipped in dashboard/."""
    shipped = {p.name: p for p in ASSET_DIR.iterdir() if p.is_file()} if ASSET_DIR.is_dir() else {}
    path = shipped.get(name)
    if path is None or path.suffix not in ASSET_TYPES:
        raise NotFoundError(f"no dashboard asset {name[:80]!r}", field="name")
    return path.read_bytes(), ASSET_TYPES[path.suffix]


def _when(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"query parameter {name} must be an ISO date or time, got {text[:40]!r}", field=name
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def filter_runs(
    storage: Storage,
    *,
    pipeline: str | None = None,
    status: str | None = None,
    trigger: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> tuple[list[RunRecord], dict[str, list[str]]]:
    """Matching runs newest first, and the values each filter can take (from every run)."""
    start, end = _when(since, "since"), _when(until, "until")
    everything = list(storage.runs.query())
    facets = {
        "pipeline": sorted({r.pipeline for r in everything}),
        "status": sorted({r.status for r in everything}),
        "trigger": sorted({r.trigger for r in everything}),
    }
    oldest = datetime.min.replace(tzinfo=UTC)
    chosen = [
        r
        for r in everything
        if (not pipeline or r.pipeline == pipeline)
        and (not status or r.status == status)
        and (not trigger or r.trigger == trigger)
        and (start is None or (r.started_at or oldest) >= start)
        and (end is None or (r.started_at or oldest) < end)
    ]
    chosen.sort(key=lambda r: r.started_at or oldest, reverse=True)
    return chosen, facets


def run_summary(record: RunRecord) -> dict[str, Any]:
    """One list row: who, what state, why, how long; no steps, details or metrics."""
    running = next((s.get("name") for s in record.steps if s.get("status") == "Running"), None)
    seconds = None
    if record.started_at is not None:
        ended = record.finished_at or datetime.now(UTC)
        seconds = round((ended - record.started_at).total_seconds(), 3)
    reason = record.reason or record.error or ""
    return {
        "run_id": record.run_id,
        "pipeline": record.pipeline,
        "status": record.status,
        "trigger": record.trigger,
        "started_at": record.started_at.isoformat() if record.started_at else None,
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
        "seconds": seconds,
        "step": running,
        "reason": reason[:LIST_REASON],
        "model_version": record.model_version,
        "dataset_version": record.dataset_version,
        "cost": record.cost,
    }


def _ms(value: Any) -> int | None:
    if not value:
        return None
    moment = value if isinstance(value, datetime) else _when(str(value), "time")
    return int(moment.timestamp() * 1000) if moment else None


def step_spans(record: RunRecord) -> list[dict[str, Any]]:
    """The run row's recorded steps as timeline spans (an open step ends now)."""
    now = int(datetime.now(UTC).timestamp() * 1000)
    spans = []
    for step in record.steps:
        start = _ms(step.get("started_at"))
        end = _ms(step.get("finished_at")) or (now if step.get("status") == "Running" else start)
        span = {
            "kind": "step",
            "name": step.get("name"),
            "start": start,
            "end": end,
            "status": step.get("status"),
            "seconds": step.get("seconds"),
        }
        if isinstance(step.get("detail"), str):
            span["reason"] = step["detail"][:500]
        spans.append(span)
    return spans


def lineage(storage: Storage) -> list[dict[str, Any]]:
    """Per model: versions newest first, each with dataset -> run -> version -> aliases/deployments."""
    models: dict[str, dict[str, Any]] = {}
    for version in storage.models.query():
        entry = models.setdefault(version.model, {"name": version.model, "versions": [], "aliases": {}})
        entry["versions"].append(
            {
                "version": version.version,
                "run_id": version.run_id,
                "dataset_version": version.dataset_version,
                "spec_version": version.spec_version,
                "metrics": version.metrics,
                "registered_at": version.registered_at.isoformat() if version.registered_at else None,
                "aliases": [],
                "deployments": [],
            }
        )
    for name, entry in models.items():
        by_version = {v["version"]: v for v in entry["versions"]}
        for alias in storage.aliases.query(pk=name):
            entry["aliases"][alias.alias] = alias.version
            if alias.version in by_version:
                by_version[alias.version]["aliases"].append(alias.alias)
        for deployment in storage.deployments.query(pk=name):
            target = by_version.get(deployment.version)
            if target is not None:
                target["deployments"].append(
                    {
                        "deployment_id": deployment.deployment_id,
                        "status": deployment.status,
                        "strategy": deployment.strategy,
                        "started_at": deployment.started_at.isoformat() if deployment.started_at else None,
                    }
                )
        entry["versions"].sort(key=lambda v: v["version"], reverse=True)
        entry.update(_rollout(storage, name))
        entry["monitoring"] = _monitoring(storage, name)
    return [models[name] for name in sorted(models)]


def _monitoring(storage: Storage, model: str) -> dict[str, Any]:
    """The latest model-quality check and the latest drift window's data quality (None when none)."""
    from shared.steps.monitoring_records import drift_checks, quality_checks  # only for the models page

    checks = sorted(quality_checks(storage).query(pk=model), key=lambda r: r.window)
    drifts = sorted(drift_checks(storage).query(pk=model), key=lambda r: r.window)
    quality = None
    if checks:
        last = checks[-1]
        quality = {
            "window": last.window,
            "status": last.status,
            "version": last.version,
            "rows": last.rows,
            "labeled": last.labeled,
            "decision": last.decision,
            "estimate": last.estimate,
            "retrain": last.retrain.get("status"),
        }
    data = (
        {"window": drifts[-1].window, **drifts[-1].data_quality}
        if drifts and drifts[-1].data_quality
        else None
    )
    return {"quality": quality, "data_quality": data}


def _rollout(storage: Storage, model: str) -> dict[str, Any]:
    """The model's deployment alias and its latest rollout (None when it never had one)."""
    from shared.steps import current_spec, rollout  # only when the models page asks

    alias = current_spec.deployment_alias(storage, model)
    try:
        described = rollout.describe(storage, model, alias)
    except NotFoundError:  # nothing deployed at the alias yet
        return {"deployment_alias": alias, "rollout": None}
    return {"deployment_alias": alias, "rollout": described["rollout"]}


def _budgets(storage: Storage) -> dict[str, float]:
    """Each pipeline's monthly budget in USD from its registered spec (absent: no budget)."""
    from shared.pipeline.spec import load_spec

    out: dict[str, float] = {}
    for record in storage.pipelines.query():
        try:
            budget = load_spec(record.spec).budget
        except ValidationError:
            continue  # an old spec that no longer parses has no budget line
        if budget is not None:
            out[record.pipeline] = budget.monthly_usd
    return out


def cost_series(storage: Storage) -> dict[str, Any]:
    """Costs per day x model, per run, with each model's daily budget (monthly / 30) and alerts."""
    from shared.steps.costs import build_report

    report = build_report(storage)
    per_day_model: dict[str, dict[str, float]] = {}
    for line in report.lines:
        day = per_day_model.setdefault(line.day, {})
        day[line.model] = round(day.get(line.model, 0.0) + line.amount, 6)
    budgets = _budgets(storage)
    return {
        "total": report.total,
        "days": [{"day": d, "per_model": per_day_model[d]} for d in sorted(per_day_model)],
        "per_model": report.per_model(),
        "per_run": report.per_run(),
        "monthly_budget": budgets,
        "daily_budget": round(sum(budgets.values()) / 30, 6) if budgets else None,
        "alerts": report.alerts,
    }

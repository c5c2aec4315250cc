"""Monitoring triggers: drift + model-quality monitor and scheduled-retraining timers, retrain queue,
drift and quality API."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import azure.durable_functions as df
import azure.functions as func

from functions import deps
from functions.http_util import handle_errors, int_param, json_response
from functions.reconcile import reconcile_open_runs_now
from functions.starter import start_pipeline
from shared.errors import ValidationError

if TYPE_CHECKING:
    from shared.steps.monitoring import RetrainRequest
    from shared.storage.factory import Storage

bp = df.Blueprint()
log = logging.getLogger("mlops.monitoring")
RETRAIN_QUEUE = "retrain-requests"


@bp.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False)
def drift_monitor(timer: func.TimerRequest) -> None:
    """Check drift and model quality of every deployed model whose monitoring schedule is due
    (all of them on a manual run)."""
    from shared.steps import monitoring, monitoring_quality, schedules

    manual = not getattr(timer, "schedule_status", None)  # the admin API runs a timer without one
    storage = deps.storage()
    for spec, since, until, window in schedules.drift_windows(storage, datetime.now(UTC), manual):
        try:
            result = monitoring.run_drift_check(storage, spec, spec.name, since, until, window)
            log.info("drift %s %s: %s (retrain: %s)", spec.name, window, result["status"], result["retrain"])
        except Exception:  # one model's failure must not stop the checks of the others
            log.exception("drift check of %s for %s failed", spec.name, window)
        if not spec.monitoring.quality.enabled:
            continue
        try:
            checked = monitoring_quality.run_quality_check(storage, spec, spec.name, until, window)
            log.info(
                "quality %s %s: %s (retrain: %s)", spec.name, window, checked["status"], checked["retrain"]
            )
        except Exception:  # a quality failure must not stop the other models' checks either
            log.exception("quality check of %s for %s failed", spec.name, window)


@bp.queue_trigger(arg_name="msg", queue_name=RETRAIN_QUEUE, connection="AzureWebJobsStorage")
@bp.durable_client_input(client_name="client")
async def retrain_on_request(msg: func.QueueMessage, client: df.DurableOrchestrationClient) -> None:
    """Start the pipeline for a drift retrain request; duplicates and cooldowns start nothing."""
    from shared.steps import monitoring, retrain_queue

    storage = deps.storage()
    attempt = int(msg.dequeue_count or 1)
    text = retrain_queue.message_text(msg.get_body())  # host.json reads raw text: see retrain_queue
    try:
        request = monitoring.parse_retrain_request(text)
    except ValidationError as exc:  # retrying cannot fix it: poison it once, now, with why
        retrain_queue.poison(storage, msg.id or "", attempt, text, f"malformed request: {exc.message}")
        return
    try:
        await _start_retrain(client, storage, request)
    except Exception as exc:
        if attempt < retrain_queue.MAX_DEQUEUE_COUNT:
            raise  # the host makes it visible again and retries
        log.exception("retrain request %s failed on its last attempt", msg.id)
        reason = f"starting its run failed on attempt {attempt}: {type(exc).__name__}: {exc}"
        retrain_queue.poison(storage, msg.id or "", attempt, text, reason)


async def _start_retrain(
    client: df.DurableOrchestrationClient, storage: Storage, request: RetrainRequest
) -> None:
    from shared.steps import monitoring, retrain

    instance_id = monitoring.retrain_instance_id(request.model, request.window)
    plan = retrain.plan_drift_retrain(storage, request.model, request.window, instance_id)
    status = await client.get_status(instance_id)
    if not plan["start"] or (status and status.runtime_status is not None):
        log.info("retrain %s not started: %s", instance_id, plan.get("reason", "instance exists"))
        return
    await start_pipeline(client, storage, plan["spec"], instance_id, "drift")


@bp.queue_trigger(arg_name="msg", queue_name=f"{RETRAIN_QUEUE}-poison", connection="AzureWebJobsStorage")
def report_poison_retrain(msg: func.QueueMessage) -> None:
    """One audit entry per poison message: reason, real dequeue count, and the body itself."""
    from shared.steps import retrain_queue

    text = retrain_queue.message_text(msg.get_body())
    retrain_queue.record_poison(deps.storage(), retrain_queue.read_poison(text, msg.id or ""))


@bp.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def scheduled_retraining(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Start every pipeline whose retraining schedule is due; skip (and record) while one runs."""
    from shared.steps import schedules

    await reconcile_open_runs_now(client)  # a run whose instance ended must not block its schedule
    storage = deps.storage()
    for decision in schedules.scheduled_retrains(storage, datetime.now(UTC)):
        if decision["skipped"]:
            continue
        spec, instance_id = decision["spec"], decision["instance_id"]
        await start_pipeline(client, storage, spec, instance_id, "schedule")


@bp.route(route="drift/{model}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def get_drift(req: func.HttpRequest) -> func.HttpResponse:
    """Latest drift check of a model and its history (newest first)."""
    from shared.steps import monitoring

    history = monitoring.latest_drift(deps.storage(), req.route_params["model"], int_param(req, "top", 20))
    return json_response(
        {"model": req.route_params["model"], "latest": history[0] if history else None, "history": history}
    )


@bp.route(route="quality/{model}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def get_quality(req: func.HttpRequest) -> func.HttpResponse:
    """Latest model-quality check of a model (metrics vs holdout, label-free estimate) and its history."""
    from shared.steps import monitoring_quality

    model = req.route_params["model"]
    history = monitoring_quality.latest_quality(deps.storage(), model, int_param(req, "top", 20))
    return json_response({"model": model, "latest": history[0] if history else None, "history": history})

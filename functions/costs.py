"""Cost report: a daily timer, an on-demand POST, and GET for the current figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import azure.functions as func

from functions import deps
from functions.http_util import day_param, handle_errors, json_response

bp = func.Blueprint()


@bp.timer_trigger(arg_name="timer", schedule="0 30 0 * * *", run_on_startup=False)
def daily_cost_report(timer: func.TimerRequest) -> None:
    """Price yesterday's runs and today's storage; rows in `costs`, CSV + HTML in `reports/costs/`."""
    from shared.steps import costs

    day = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    storage = deps.storage()
    costs.persist_report(storage, costs.build_report(storage, day=day), day=day)


@bp.route(route="costs", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def get_costs(req: func.HttpRequest) -> func.HttpResponse:
    """Current costs per run, model and day (optionally one `day`), with budget alerts; not stored."""
    from shared.steps import costs

    report = costs.build_report(deps.storage(), day=day_param(req))
    return json_response(costs.summary(report))


@bp.route(route="costs/report", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def run_cost_report(req: func.HttpRequest) -> func.HttpResponse:
    """Build and store the report now (rows, CSV, HTML, alerts)."""
    from shared.steps import costs

    storage = deps.storage()
    day = day_param(req)
    return json_response(costs.persist_report(storage, costs.build_report(storage, day=day), day=day))

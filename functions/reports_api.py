"""Report downloads: drift reports (JSON/HTML) and daily cost reports (CSV/HTML) from `reports`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import azure.functions as func

from functions import deps
from functions.http_util import handle_errors

if TYPE_CHECKING:
    from shared.steps import reports

bp = func.Blueprint()


def _file(report: reports.ReportFile) -> func.HttpResponse:
    return func.HttpResponse(
        report.data,
        status_code=200,
        headers={
            "Content-Type": report.content_type,
            "Content-Disposition": f'attachment; filename="{report.filename}"',
        },
    )


@bp.route(route="reports/drift/{model}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def get_drift_report(req: func.HttpRequest) -> func.HttpResponse:
    """A model's drift report: `window` (default the newest) and `format` html or json."""
    from shared.steps import reports

    model = req.route_params["model"]
    storage = deps.storage()
    return _file(reports.drift_report(storage, model, req.params.get("window"), req.params.get("format")))


@bp.route(route="reports/costs/{day}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def get_cost_report(req: func.HttpRequest) -> func.HttpResponse:
    """The stored cost report of a UTC day (YYYY-MM-DD), `format` html or csv."""
    from shared.steps import reports

    report = reports.cost_report(deps.storage(), req.route_params["day"], req.params.get("format"))
    return _file(report)

"""Azure Functions entry point: builds the Durable app and registers the blueprints. Nothing else."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from functions.activities import bp as activities_bp
from functions.approvals import bp as approvals_bp
from functions.costs import bp as costs_bp
from functions.dashboard import bp as dashboard_bp
from functions.data_api import bp as data_bp
from functions.health import bp as health_bp
from functions.http_api import bp as pipelines_bp
from functions.models_api import bp as models_bp
from functions.monitoring import bp as monitoring_bp
from functions.reconcile import bp as reconcile_bp
from functions.reports_api import bp as reports_bp
from functions.rollout_activities import bp as rollout_activities_bp
from functions.rollout_api import bp as rollout_api_bp
from functions.scripts_api import bp as scripts_bp
from functions.training_events import bp as training_events_bp
from orchestrations.rollout import bp as rollout_bp
from orchestrations.training import bp as training_bp

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (health_bp, pipelines_bp, models_bp, training_bp, activities_bp, monitoring_bp, costs_bp):
    app.register_functions(blueprint)
for blueprint in (data_bp, reports_bp):  # data uploads, quarantine and report downloads
    app.register_functions(blueprint)
app.register_functions(scripts_bp)  # trainer scripts: admin-registered code
for blueprint in (approvals_bp, reconcile_bp):  # approval API; runs whose instance ended without them
    app.register_functions(blueprint)
app.register_functions(dashboard_bp)  # the dashboard page, its assets and JSON
for blueprint in (rollout_bp, rollout_activities_bp, rollout_api_bp):  # canary/linear/shadow rollouts
    app.register_functions(blueprint)
app.register_functions(training_events_bp)  # job-end messages wake the training sub-orchestration

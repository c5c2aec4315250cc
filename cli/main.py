"""`mlops`: the command line. Sub-commands live one per module and register here."""

from __future__ import annotations

import typer

app = typer.Typer(help="Serverless MLOps on Azure Durable Functions.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Inspect and drive the MLOps app (--url/$MLOPS_URL, else the `mlops host` config, else local)."""


def _register() -> None:
    from cli import approvals, data, feedback, host, models, monitor, reports, rollout, runs

    runs.register(app)
    models.register(app)
    host.register(app)
    monitor.register(app)
    data.register(app)
    reports.register(app)
    approvals.register(app)
    rollout.register(app)
    feedback.register(app)


_register()

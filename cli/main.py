"""`mlops`: the command line. Sub-commands live one per module and register here."""

from __future__ import annotations

import typer

app = typer.Typer(help="Serverless MLOps on Azure Durable Functions.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Inspect and drive the MLOps app (local devhost by default, --url for Azure)."""


def _register() -> None:
    from cli import host, models, monitor, runs

    runs.register(app)
    models.register(app)
    host.register(app)
    monitor.register(app)


_register()

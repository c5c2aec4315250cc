"""`mlops approve | reject`: decide a run that waits for approval (admin key needed)."""

from __future__ import annotations

import typer
from rich.console import Console

from cli.client import ApiError
from cli.options import KeyOption, UrlOption, client, fail

console = Console()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command("approve")(approve)
    app.command("reject")(reject)


def _decide(run_id: str, decision: str, comment: str, url: str | None, key: str | None) -> None:
    try:
        recorded = client(url, key).post(
            f"/api/runs/{run_id}/approval", {"decision": decision, "comment": comment}
        )
    except ApiError as exc:
        fail(exc)
    console.print(
        f"run [bold]{run_id}[/bold]: {decision} recorded by {recorded['actor']} at {recorded['at']}",
        highlight=False,
    )


def approve(
    run_id: str = typer.Argument(..., help="The run waiting for approval."),
    comment: str = typer.Option("", "--comment", "-m", help="Why (recorded in audit and on the run)."),
    url: str | None = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """Approve a run that waits for approval: it registers and deploys its model."""
    _decide(run_id, "approve", comment, url, key)


def reject(
    run_id: str = typer.Argument(..., help="The run waiting for approval."),
    comment: str = typer.Option(..., "--comment", "-m", help="Why the model is rejected (required)."),
    url: str | None = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """Reject a run that waits for approval: it ends ApprovalRejected and registers nothing."""
    _decide(run_id, "reject", comment, url, key)

"""`mlops rollout status|promote|rollback MODEL` and `mlops rollback MODEL --to VERSION`."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console

from cli.client import ApiError
from cli.options import KeyOption, UrlOption, client, fail

console = Console()
rollout_app = typer.Typer(
    help="See and steer a model's canary, linear or shadow rollout.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.add_typer(rollout_app, name="rollout")
    app.command("rollback")(rollback_production)


def _show(state: dict[str, Any], as_json: bool = False) -> None:
    if as_json:
        console.print_json(json.dumps(state))
        return
    record = state.get("rollout") or {}
    console.print(
        f"{state['model']} {state['alias']}: version {state.get('production') or '-'}", highlight=False
    )
    if not record:
        console.print("no rollout yet", highlight=False)
        return
    console.print(
        f"rollout of {record['candidate']} ({record['strategy']}, run {record['rollout_id']}): "
        f"{record['status']} at {record['share']:.0%}, step {record['step'] + 1} of {record['steps']}",
        highlight=False,
    )
    if record.get("reason"):
        console.print(f"  why: {record['reason']} (by {record.get('actor') or '-'})", highlight=False)
    for check in record.get("checks", [])[-3:]:
        console.print(f"  check: {json.dumps(check, sort_keys=True)}", highlight=False)


@rollout_app.command("status")
def status(
    model: str = typer.Argument(..., help="Model name."),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON the API returned."),
    url: str | None = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """Where the model's rollout stands: share, step, checks so far, decision and why."""
    try:
        _show(client(url, key).get(f"/api/models/{model}/rollout"), as_json)
    except ApiError as exc:
        fail(exc)


def _act(model: str, action: str, comment: str, url: str | None, key: str | None) -> None:
    try:
        state = client(url, key).post(f"/api/models/{model}/rollout", {"action": action, "comment": comment})
    except ApiError as exc:
        fail(exc)
    _show(state)


@rollout_app.command("promote")
def promote(
    model: str = typer.Argument(..., help="Model name."),
    comment: str = typer.Option("", "--comment", "-m", help="Why (recorded in audit)."),
    url: str | None = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """Promote the candidate now (admin key): the alias moves to it and the rollout ends."""
    _act(model, "promote", comment, url, key)


@rollout_app.command("rollback")
def rollback(
    model: str = typer.Argument(..., help="Model name."),
    comment: str = typer.Option("", "--comment", "-m", help="Why (recorded in audit)."),
    url: str | None = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """Roll the candidate back now (admin key): production serves everyone again."""
    _act(model, "rollback", comment, url, key)


def rollback_production(
    model: str = typer.Argument(..., help="Model name."),
    to: str = typer.Option(..., "--to", help="The registered version production goes back to."),
    comment: str = typer.Option("", "--comment", "-m", help="Why (recorded in audit)."),
    url: str | None = UrlOption,
    key: str | None = KeyOption,
) -> None:
    """Point production itself back at an older version (admin key; not during a rollout)."""
    try:
        moved = client(url, key).post(f"/api/models/{model}/rollback", {"to": to, "comment": comment})
    except ApiError as exc:
        fail(exc)
    console.print(
        f"{moved['model']} {moved['alias']}: {moved.get('previous') or '-'} -> {moved['version']}",
        highlight=False,
    )

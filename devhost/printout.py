"""The start-up listing, in the shape ``func start`` prints it."""

from __future__ import annotations

from devhost.keys import FUNCTION_SETTING, MASTER_SETTING, SYSTEM_SETTING, HostKeys
from devhost.loader import ALL_METHODS, LoadedApp


def function_lines(app: LoadedApp, base_url: str, route_prefix: str) -> list[str]:
    """One line per function: ``name: [GET,POST] url`` for HTTP, ``name: <triggerType>`` otherwise."""
    lines = []
    prefix = f"/{route_prefix}" if route_prefix else ""
    for spec in app.functions:
        if spec.route is not None:
            methods = "" if spec.methods == ALL_METHODS else f"[{','.join(spec.methods)}] "
            route = spec.route.template.strip().strip("/")
            lines.append(f"{spec.name}: {methods}{base_url}{prefix}/{route}")
        else:
            lines.append(f"{spec.name}: {spec.trigger.type}")
        if spec.name in app.disabled:
            lines[-1] += " (disabled)"
    return lines


def key_lines(keys: HostKeys, store: str) -> list[str]:
    """The keys and the settings that override them."""
    return [
        f"Keys (set {MASTER_SETTING} / {FUNCTION_SETTING} / {SYSTEM_SETTING} to choose; else in {store}):",
        f"        master: {keys.master}",
        f"        default function key: {keys.function}",
        f"        durabletask_extension system key: {keys.durable_system}",
    ]

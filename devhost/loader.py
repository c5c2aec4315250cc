"""Load a v2-programming-model app and index its functions, failing loudly on what we cannot serve."""

from __future__ import annotations

import importlib
import inspect
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devhost.durable import DURABLE_BINDING_TYPES
from devhost.errors import AppLoadError, UnsupportedBindingError
from devhost.indexing import check_functions, find_function_app
from devhost.routes import RouteTemplate

TRIGGER_TYPES = frozenset({"httpTrigger", "timerTrigger", "queueTrigger"})
OUTPUT_TYPES = frozenset({"http", "queue"})
DURABLE_TRIGGERS = frozenset({"orchestrationTrigger", "activityTrigger", "entityTrigger"})
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE")
_QUEUE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$")
_SETTING_REF = re.compile(r"%([^%]+)%")
#: The host's rule for function names.
_FUNCTION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,127}$")
#: First route segments the host keeps for itself when the route prefix is empty.
RESERVED_SEGMENTS = frozenset({"admin", "runtime"})
#: binding keys that never hold binding expressions.
_LITERAL_KEYS = frozenset({"type", "direction", "name", "dataType", "authLevel", "methods"})


@dataclass(frozen=True)
class Binding:
    """One binding as function.json would hold it (``raw``), with app settings resolved."""

    type: str
    name: str
    direction: str
    raw: Mapping[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        """A property of the binding (camelCase, as in function.json)."""
        return self.raw.get(key, default)


@dataclass(frozen=True)
class FunctionSpec:
    """One indexed function."""

    name: str
    trigger: Binding
    bindings: tuple[Binding, ...]
    user_function: Callable[..., Any]
    function: Any = field(repr=False)
    route: RouteTemplate | None = None
    methods: tuple[str, ...] = ()

    @property
    def is_async(self) -> bool:
        """True for ``async def`` user functions."""
        return inspect.iscoroutinefunction(self.user_function)

    @property
    def outputs(self) -> tuple[Binding, ...]:
        """Output bindings other than the HTTP response."""
        return tuple(b for b in self.bindings if b.direction == "OUT" and b.type != "http")

    @property
    def durable_clients(self) -> tuple[Binding, ...]:
        """``durableClient`` input bindings."""
        return tuple(b for b in self.bindings if b.type == "durableClient")

    @property
    def auth_level(self) -> str:
        """anonymous, function or admin (HTTP triggers)."""
        return str(self.trigger.get("authLevel") or "FUNCTION").lower()


@dataclass(frozen=True)
class LoadedApp:
    """The indexed app."""

    app: Any
    functions: tuple[FunctionSpec, ...]
    raw_functions: tuple[Any, ...]
    disabled: frozenset[str] = frozenset()

    @property
    def has_durable(self) -> bool:
        """True when any function uses a Durable binding."""
        return any(b.type in DURABLE_BINDING_TYPES for f in self.functions for b in f.bindings)

    def by_name(self, name: str) -> FunctionSpec | None:
        """The function called ``name`` (case-insensitive, like the host)."""
        return next((f for f in self.functions if f.name.lower() == name.lower()), None)


def import_app_module(app_dir: Path) -> Any:
    """Import ``<app_dir>/function_app.py`` as ``function_app`` with the folder on sys.path."""
    if not (app_dir / "function_app.py").is_file():
        raise AppLoadError(f"{app_dir / 'function_app.py'} not found: not a Python v2 Functions app folder")
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    sys.modules.pop("function_app", None)
    try:
        return importlib.import_module("function_app")
    except Exception as exc:
        raise AppLoadError(
            f"importing {app_dir / 'function_app.py'} failed: {type(exc).__name__}: {exc}"
        ) from exc


def find_app(module: Any) -> Any:
    """The module's one top-level FunctionApp (the worker refuses none or several, so does devhost)."""
    return find_function_app(module)


def _resolve(value: Any, values: Mapping[str, str], where: str) -> Any:
    if not isinstance(value, str):
        return value

    def setting(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise AppLoadError(f"{where}: '%{name}%' does not resolve to an app setting")
        return values[name]

    return _SETTING_REF.sub(setting, value)


def _binding(raw: Mapping[str, Any], values: Mapping[str, str], fn_name: str) -> Binding:
    resolved = {
        k: v
        if k in _LITERAL_KEYS
        else _resolve(v, values, f"function '{fn_name}' binding '{raw.get('name')}'")
        for k, v in raw.items()
    }
    return Binding(
        type=str(raw.get("type")),
        name=str(raw.get("name")),
        direction=str(raw.get("direction", "IN")).upper(),
        raw=resolved,
    )


def _check_binding(fn_name: str, binding: Binding, is_trigger: bool) -> None:
    kind = binding.type
    if kind in DURABLE_BINDING_TYPES:
        return
    supported = TRIGGER_TYPES if is_trigger else OUTPUT_TYPES
    if kind not in supported or (not is_trigger and binding.direction != "OUT"):
        raise UnsupportedBindingError(
            f"function '{fn_name}': binding type '{kind}' (name '{binding.name}', direction "
            f"{binding.direction.lower()}) is not supported by devhost; supported: httpTrigger, http, "
            "timerTrigger, queueTrigger, queue (output) and the Durable bindings"
        )
    if kind in ("queueTrigger", "queue"):
        queue = str(binding.get("queueName") or "")
        if not _QUEUE_NAME.match(queue):
            raise AppLoadError(
                f"function '{fn_name}' binding '{binding.name}': invalid queue name {queue!r} "
                "(3-63 lowercase letters, digits and single dashes)"
            )
    if kind == "timerTrigger" and not binding.get("schedule"):
        raise AppLoadError(f"function '{fn_name}' binding '{binding.name}': timerTrigger needs a schedule")


def _index_function(fn: Any, values: Mapping[str, str]) -> FunctionSpec:
    name = str(fn.get_function_name())
    if not _FUNCTION_NAME.match(name):
        raise AppLoadError(f"function name {name!r} is invalid (a letter, then letters, digits, '_' or '-')")
    trigger_obj = fn.get_trigger()
    if trigger_obj is None:
        raise AppLoadError(f"function '{name}' has no trigger")
    raws = [json.loads(b) for b in fn.get_raw_bindings()]
    bindings = tuple(_binding(raw, values, name) for raw in raws)
    trigger = next((b for b in bindings if b.name == trigger_obj.name and b.direction == "IN"), None)
    if trigger is None or not (trigger.type.endswith("Trigger") or trigger.type in DURABLE_TRIGGERS):
        raise AppLoadError(f"function '{name}': cannot find its trigger binding")
    for binding in bindings:
        _check_binding(name, binding, binding is trigger)
    route: RouteTemplate | None = None
    methods: tuple[str, ...] = ()
    if trigger.type == "httpTrigger":
        route = RouteTemplate.parse(str(trigger.get("route") or name))
        declared = trigger.get("methods")
        methods = tuple(str(m).upper() for m in declared) if declared else ALL_METHODS
    spec = FunctionSpec(
        name=name,
        trigger=trigger,
        bindings=bindings,
        user_function=fn.get_user_function(),
        function=fn,
        route=route,
        methods=methods,
    )
    return spec


def _check_duplicate_routes(functions: tuple[FunctionSpec, ...]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for spec in functions:
        if spec.route is None:
            continue
        for method in spec.methods:
            key = (spec.route.shape, method)
            other = seen.get(key)
            if other is not None:
                raise AppLoadError(
                    f"function '{spec.name}': route '{spec.route.template}' [{method}] conflicts with "
                    f"the route of function '{other}'"
                )
            seen[key] = spec.name


def check_reserved_routes(app: LoadedApp, route_prefix: str) -> None:
    """AppLoadError for routes that would shadow the host's ``admin``/``runtime`` paths (empty prefix)."""
    if route_prefix:
        return
    for spec in app.functions:
        first = spec.route.segments[0] if spec.route and spec.route.segments else None
        if first is not None and first.literal is not None and first.literal.lower() in RESERVED_SEGMENTS:
            raise AppLoadError(
                f"function '{spec.name}': route '{spec.route.template if spec.route else ''}' conflicts with "
                "the host's built-in routes (admin/, runtime/)"
            )


def load_app(app_dir: Path, values: Mapping[str, str]) -> LoadedApp:
    """Import the app in ``app_dir`` and index every function; AppLoadError on anything unsupported."""
    app = find_app(import_app_module(app_dir))
    try:
        raw_functions = tuple(app.get_functions())
    except Exception as exc:
        raise AppLoadError(f"indexing the app's functions failed: {exc}") from exc
    check_functions(raw_functions)  # the worker's rules first: what Azure refuses, devhost refuses alike
    functions = tuple(_index_function(fn, values) for fn in raw_functions)
    if not functions:
        raise AppLoadError("the app registers no functions")
    _check_duplicate_routes(functions)
    disabled = frozenset(f.name for f in functions if is_disabled(f.name, values))
    return LoadedApp(app=app, functions=functions, raw_functions=raw_functions, disabled=disabled)


def is_disabled(name: str, values: Mapping[str, str]) -> bool:
    """True when ``AzureWebJobs.<name>.Disabled`` (or ``AzureWebJobs__<name>__Disabled``) is true."""
    for key in (f"AzureWebJobs.{name}.Disabled", f"AzureWebJobs__{name}__Disabled"):
        if values.get(key, "").strip().lower() in ("true", "1"):
            return True
    return False

"""The Python worker's indexing rules, so that devhost refuses an app exactly when Azure would.

Microsoft's worker (``azure-functions-runtime``; the 3.11 worker 4.x behaves the same) indexes the
whole app in one pass at start and fails it on the first function it cannot load, so the host gets
no functions at all. The checks and messages below follow its ``loader.index_function_app`` and
``functions.Registry.add_indexed_function``; a refusal reads as the worker's own message
(``cannot load the <name> function: ...``). Type-versus-binding checks ask the converters of the
``azure.functions`` library the app ships, as the worker does. ``tests/worker`` runs the real worker
library on probe apps and fails when the two disagree.
"""

from __future__ import annotations

import collections.abc
import inspect
import time
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from azure.functions import get_binding_registry
from azure.functions.decorators.function_app import FunctionRegister

from devhost.errors import AppLoadError

#: Binding directions and the undefined data type, as the worker's protobuf enums number them.
_OUT = 1
_INOUT = 2
_UNDEFINED_DATA_TYPE = 0
#: typing's alias classes: the worker counts only these (not PEP 585 ``dict[...]``) as generics.
_TYPING_ALIASES = (getattr(typing, "_GenericAlias"), getattr(typing, "_SpecialGenericAlias"))  # noqa: B009
_NOT_GENERIC_ORIGINS = (typing.Union, tuple, typing.ClassVar, collections.abc.Callable)


class _GenericBinding:
    """The worker's fallback for binding types no converter claims: str/bytes in, str/bytes out."""

    @staticmethod
    def check_input_type_annotation(pytype: Any) -> bool:
        return issubclass(pytype, (str, bytes))

    @staticmethod
    def check_output_type_annotation(pytype: Any) -> bool:
        return issubclass(pytype, (str, bytes, bytearray))


def refusal(function_name: str, message: str) -> AppLoadError:
    """The worker's FunctionLoadError text, as devhost's load error."""
    return AppLoadError(f"cannot load the {function_name} function: {message}")


def find_function_app(module: Any) -> FunctionRegister:
    """The module's one top-level FunctionApp; the worker's error when there are none or several."""
    found: FunctionRegister | None = None
    for name in module.__dir__():
        value = getattr(module, name, None)
        if isinstance(value, FunctionRegister):
            if found is not None:
                raise AppLoadError(
                    f"More than one {found.__class__.__name__} or other top level function app "
                    "instances are defined."
                )
            found = value
    if found is None:
        raise AppLoadError("Could not find top level function app instances in function_app.py.")
    return found


def _is_generic(tp: Any) -> bool:
    # typing_inspect.is_generic_type as the worker vendors it.
    if isinstance(tp, type) and issubclass(tp, typing.Generic):
        return True
    return isinstance(tp, _TYPING_ALIASES) and tp.__origin__ not in _NOT_GENERIC_ORIGINS


def _origin(tp: Any) -> Any:
    if isinstance(tp, _TYPING_ALIASES[0]):
        return tp.__origin__ if tp.__origin__ is not typing.ClassVar else None
    return typing.Generic if tp is typing.Generic else None


def _args(tp: Any) -> tuple[Any, ...]:
    return tuple(tp.__args__) if isinstance(tp, _TYPING_ALIASES[0]) else ()


def _is_out(annotation: Any) -> bool:
    origin = _origin(annotation) if _is_generic(annotation) else None
    candidate = origin if origin is not None else annotation
    return isinstance(candidate, type) and candidate.__name__ == "Out"


def _registered(binding_type: str) -> Any:
    # The converters azure.functions registers, as the worker's binding registry holds them.
    return get_binding_registry().get(binding_type)  # type: ignore[no-untyped-call]


def _converter(binding_type: str) -> Any:
    return _registered(binding_type) or _GenericBinding


def _implicit_output(binding_type: str) -> bool:
    converter = _registered(binding_type)
    return bool(converter is not None and getattr(converter, "has_implicit_output", lambda: False)())


def _type_name(tp: Any) -> str:
    return str(getattr(tp, "__name__", repr(tp)))


def _check_type(name: str, param: str, binding: Any, py_type: Any, is_out: bool) -> None:
    bind_type = (
        "generic" if py_type in (str, bytes) and not _implicit_output(binding.type) else binding.type
    )
    converter = _converter(bind_type)
    try:
        ok = (
            converter.check_output_type_annotation(py_type)
            if is_out
            else converter.check_input_type_annotation(py_type)
        )
    except TypeError as exc:  # e.g. issubclass() on a subscripted generic: the worker fails with it
        raise refusal(name, f"binding {param}: {exc}") from exc
    if ok:
        return
    if binding.data_type != _UNDEFINED_DATA_TYPE:  # None (not given) counts as defined, as in the worker
        raise refusal(
            name,
            f"binding type \"{param!r}\" and dataType \"{binding.type}\" in the binding decorator do not "
            f"match the corresponding function parameter's Python type annotation {_type_name(py_type)}",
        )
    raise refusal(
        name,
        f'type of {param} binding in the binding decorator "{binding.type}" does not match its Python '
        f'annotation "{_type_name(py_type)}"',
    )


def _check_parameter(name: str, param: str, binding: Any, annotations: Mapping[str, Any]) -> None:
    has_anno = param in annotations
    annotation = annotations.get(param)
    is_out = has_anno and _is_out(annotation)
    py_type = annotation
    if is_out:
        args = _args(annotation)
        if len(args) != 1:
            raise refusal(name, f"binding {param} has invalid Out annotation {annotation!r}")
        py_type = args[0]
    if has_anno and not isinstance(py_type, type) and not _is_generic(py_type):
        raise refusal(name, f"binding {param} has invalid non-type annotation {annotation!r}")
    binding_out = binding.direction == _OUT
    if binding_out and has_anno and not is_out:
        raise refusal(
            name,
            f'binding {param} is declared to have the "out" direction, but its annotation in Python is '
            "not a subclass of azure.functions.Out",
        )
    if not binding_out and is_out:
        raise refusal(
            name,
            f'binding {param} is declared to have the "in" direction in the binding decorator, but its '
            "annotation is azure.functions.Out in Python",
        )
    if has_anno:
        _check_type(name, param, binding, py_type, is_out)


def _check_return(name: str, annotations: Mapping[str, Any], return_binding_type: str) -> None:
    if "return" not in annotations:
        return
    annotation = annotations["return"]
    origin = _origin(annotation) if _is_generic(annotation) else None
    if origin is not None and getattr(origin, "__name__", "") == "Out":
        raise refusal(name, "return annotation should not be azure.functions.Out")
    if not isinstance(annotation, type):
        raise refusal(name, f"has invalid non-type return annotation {annotation!r}")
    if not _converter(return_binding_type).check_output_type_annotation(annotation):
        raise refusal(
            name,
            f'Python return annotation "{annotation.__name__}" does not match binding type '
            f'"{return_binding_type}"',
        )


def _check_retry(name: str, function: Any) -> None:
    # The worker turns a retry policy into the host's retry options while indexing; values it
    # cannot parse (a count that is not an integer, an interval not in HH:MM:SS) fail the app.
    try:
        retry = function.get_settings_dict("retry_policy")
    except AttributeError:
        return
    if not retry:
        return
    try:
        int(retry.get("max_retry_count"))
        fixed = retry.get("strategy") == "fixed_delay"
        for key in ("delay_interval",) if fixed else ("minimum_interval", "maximum_interval"):
            value = retry.get(key)
            if value or key == "delay_interval":
                time.strptime(value, "%H:%M:%S")
    except (TypeError, ValueError) as exc:
        raise refusal(name, f"retry policy: {exc}") from exc


def check_function(function: Any) -> None:
    """Apply the worker's per-function rules to one indexed function; AppLoadError naming it."""
    name = str(function.get_function_name())
    user_function: Callable[..., Any] = function.get_user_function()
    params = dict(inspect.signature(user_function).parameters)
    try:
        annotations = typing.get_type_hints(user_function)
    except Exception as exc:  # the worker lets this escape and fails the whole app
        raise refusal(name, f"{type(exc).__name__}: {exc}") from exc
    bound: dict[str, Any] = {}
    return_type: str | None = None
    for binding in function.get_bindings():
        if binding.direction == _INOUT:
            raise refusal(name, '"inout" bindings are not supported')
        if binding.name == "$return":
            if binding.direction != _OUT:
                raise refusal(name, '"$return" binding must have direction set to "out"')
            return_type = return_type or binding.type
        else:
            bound[binding.name] = binding
    if "context" in params and "context" not in bound:
        params.pop("context")
        context = annotations.get("context")
        if "context" in annotations and not (isinstance(context, type) and context.__name__ == "Context"):
            raise refusal(
                name,
                'the "context" parameter is expected to be of type azure.functions.Context, got '
                f'"{context!r}"',
            )
    unbound = set(params) - set(bound)
    if unbound:
        raise refusal(
            name,
            "the following parameters are declared in Python but not in the function definition "
            f"(function.json or function decorators):  {unbound!r}",
        )
    unused = set(bound) - set(params)
    if unused:
        raise refusal(
            name,
            "Extra parameters in binding definition — the following parameters are declared as bindings "
            f"but are not present in Python: {unused!r}",
        )
    for param in params:
        _check_parameter(name, param, bound[param], annotations)
    if return_type is not None:
        _check_return(name, annotations, return_type)
    _check_retry(name, function)


def check_functions(functions: Iterable[Any]) -> None:
    """Every function in order; the first refusal fails the app, as on Azure."""
    for function in functions:
        check_function(function)

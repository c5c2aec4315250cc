"""Read a user function's parameter annotations (also when they are strings under PEP 563)."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any


def parameter_type(function: Callable[..., Any], name: str) -> Any:
    """The annotation of parameter ``name`` (resolved when possible; None when absent)."""
    try:
        hints = typing.get_type_hints(function)
    except Exception:
        hints = {}
    if name in hints:
        return hints[name]
    param = inspect.signature(function).parameters.get(name)
    if param is None or param.annotation is inspect.Parameter.empty:
        return None
    return param.annotation


def wants(function: Callable[..., Any], name: str, kind: type) -> bool:
    """True when parameter ``name`` is annotated as ``kind`` (the class or its name as a string)."""
    annotation = parameter_type(function, name)
    if annotation is kind:
        return True
    return isinstance(annotation, str) and annotation.strip() == kind.__name__

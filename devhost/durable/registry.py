"""Find an app's orchestrators and activities among its ``get_functions()``."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OrchestratorFunction:
    """One orchestrator: the SDK ``handle`` wrapper and, when present, the user generator function."""

    name: str
    handle: Callable[..., str]
    generator: Callable[..., Any] | None


@dataclass(frozen=True)
class ActivityFunction:
    """One activity: the user function and the trigger parameter receiving the input."""

    name: str
    func: Callable[..., Any]
    param: str
    is_async: bool


@dataclass
class FunctionRegistry:
    """Orchestrators and activities by the names Durable calls them."""

    orchestrators: dict[str, OrchestratorFunction]
    activities: dict[str, ActivityFunction]

    @classmethod
    def from_functions(cls, functions: Sequence[Any]) -> FunctionRegistry:
        """Index Function objects by trigger type (``orchestrationTrigger`` / ``activityTrigger``)."""
        orchestrators: dict[str, OrchestratorFunction] = {}
        activities: dict[str, ActivityFunction] = {}
        for fn in functions:
            trigger = fn.get_trigger()
            kind = getattr(trigger, "type", None) or (trigger.get_binding_type() if trigger else None)
            name = str(fn.get_function_name())
            user = fn.get_user_function()
            if kind == "orchestrationTrigger":
                entry = OrchestratorFunction(name, user, getattr(user, "orchestrator_function", None))
                for alias in {name, getattr(trigger, "orchestration", None) or name}:
                    orchestrators[alias] = entry
            elif kind == "activityTrigger":
                target = inspect.unwrap(user)
                act = ActivityFunction(
                    name,
                    user,
                    str(trigger.name),
                    inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(user),
                )
                for alias in {name, getattr(trigger, "activity", None) or name}:
                    activities[alias] = act
        return cls(orchestrators, activities)

    def lookup_orchestrator(self, name: str) -> OrchestratorFunction | None:
        """Exact name, then case-insensitive (function names are case-insensitive in Functions)."""
        found = self.orchestrators.get(name)
        if found is None:
            lowered = {k.lower(): v for k, v in self.orchestrators.items()}
            found = lowered.get(name.lower())
        return found

    def lookup_activity(self, name: str) -> ActivityFunction | None:
        """Exact name, then case-insensitive."""
        found = self.activities.get(name)
        if found is None:
            lowered = {k.lower(): v for k, v in self.activities.items()}
            found = lowered.get(name.lower())
        return found

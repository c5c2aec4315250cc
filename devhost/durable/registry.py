"""Find an app's orchestrators, activities and entities among its ``get_functions()``."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class EntityFunction:
    """One entity: the SDK ``Entity.create`` handle (batch JSON in, entity-state JSON out)."""

    name: str
    handle: Callable[..., str]


@dataclass
class FunctionRegistry:
    """Orchestrators, activities and entities by the names Durable calls them."""

    orchestrators: dict[str, OrchestratorFunction]
    activities: dict[str, ActivityFunction]
    #: by lower-case entity name (entity names are case-insensitive: ``@counter@key``)
    entities: dict[str, EntityFunction] = field(default_factory=dict)

    @classmethod
    def from_functions(cls, functions: Sequence[Any]) -> FunctionRegistry:
        """Index Function objects by trigger type (orchestration, activity and entity triggers)."""
        orchestrators: dict[str, OrchestratorFunction] = {}
        activities: dict[str, ActivityFunction] = {}
        entities: dict[str, EntityFunction] = {}
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
            elif kind == "entityTrigger":
                entity_name = str(getattr(trigger, "entity_name", None) or name)
                entities[entity_name.lower()] = EntityFunction(entity_name, user)
        return cls(orchestrators, activities, entities)

    def lookup_orchestrator(self, name: str) -> OrchestratorFunction | None:
        """Exact name, then case-insensitive (function names are case-insensitive in Functions)."""
        found = self.orchestrators.get(name)
        if found is None:
            lowered = {k.lower(): v for k, v in self.orchestrators.items()}
            found = lowered.get(name.lower())
        return found

    def lookup_entity(self, name: str) -> EntityFunction | None:
        """Case-insensitive, as the extension lower-cases entity names in instance ids."""
        return self.entities.get(name.lower())

    def lookup_activity(self, name: str) -> ActivityFunction | None:
        """Exact name, then case-insensitive."""
        found = self.activities.get(name)
        if found is None:
            lowered = {k.lower(): v for k, v in self.activities.items()}
            found = lowered.get(name.lower())
        return found

"""Orchestration versioning as the Durable extension does it (host.json ``extensions.durableTask``).

* ``defaultVersion``: the version of new orchestrations and sub-orchestrations when the caller names
  none, and this worker's own version for the match check.
* ``versionMatchStrategy``: ``None`` (no check), ``Strict`` (only the worker's version) or
  ``CurrentOrOlder`` (default: versions up to the worker's).
* ``versionFailureStrategy``: ``Reject`` (default: the instance is not run and keeps its state and
  messages until a compatible worker takes it) or ``Fail`` (the instance fails).

Comparison (the extension's documented rules): two empty versions are equal; an empty version is older
than any other; two ``System.Version`` strings (2-4 dot-separated whole numbers) compare numerically;
anything else compares as case-insensitive text. The check applies only when ``defaultVersion`` is
set: without it the worker has no version to compare with (devhost's decision, see README.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devhost.errors import AppLoadError

MATCH_STRATEGIES = ("None", "Strict", "CurrentOrOlder")
FAILURE_STRATEGIES = ("Reject", "Fail")
_SYSTEM_VERSION = re.compile(r"\d+(\.\d+){1,3}")


def compare_versions(left: str | None, right: str | None) -> int:
    """-1, 0 or 1 as ``left`` is older than, equal to or newer than ``right``."""
    a, b = (left or "").strip(), (right or "").strip()
    if not a or not b:
        return (1 if a else 0) - (1 if b else 0)
    if _SYSTEM_VERSION.fullmatch(a) and _SYSTEM_VERSION.fullmatch(b):
        pa, pb = [int(x) for x in a.split(".")], [int(x) for x in b.split(".")]
        # System.Version: a missing build/revision part (-1) sorts before any present one
        pa += [-1] * (4 - len(pa))
        pb += [-1] * (4 - len(pb))
        return (pa > pb) - (pa < pb)
    la, lb = a.lower(), b.lower()
    return (la > lb) - (la < lb)


def _choice(durable: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = durable.get(key)
    if value is None or value == "":
        return default
    for name in allowed:
        if str(value).lower() == name.lower():
            return name
    raise AppLoadError(
        f"host.json extensions.durableTask.{key} is '{value}'; expected one of {', '.join(allowed)}"
    )


@dataclass(frozen=True)
class VersionPolicy:
    """The worker's version and what to do with instances of other versions."""

    default_version: str | None = None
    match: str = "CurrentOrOlder"
    failure: str = "Reject"

    @classmethod
    def from_host_json(cls, durable: Mapping[str, Any]) -> VersionPolicy:
        """Read ``defaultVersion`` / ``versionMatchStrategy`` / ``versionFailureStrategy``."""
        default = durable.get("defaultVersion")
        if default is not None and not isinstance(default, str):
            raise AppLoadError(
                f"host.json extensions.durableTask.defaultVersion must be a string, not {default!r}"
            )
        return cls(
            default_version=default or None,
            match=_choice(durable, "versionMatchStrategy", MATCH_STRATEGIES, "CurrentOrOlder"),
            failure=_choice(durable, "versionFailureStrategy", FAILURE_STRATEGIES, "Reject"),
        )

    def version_for_new(self, requested: str | None) -> str | None:
        """The version a new (sub-)orchestration gets: the caller's, else ``defaultVersion``."""
        return requested if requested else self.default_version

    def mismatch(self, instance_version: str | None) -> str | None:
        """Why this worker must not run an instance of that version, or None when it may."""
        if self.default_version is None or self.match == "None":
            return None
        order = compare_versions(instance_version, self.default_version)
        shown = instance_version or ""
        if self.match == "Strict" and order != 0:
            return (
                f"The orchestration version '{shown}' does not match the worker version "
                f"'{self.default_version}' (versionMatchStrategy Strict)."
            )
        if self.match == "CurrentOrOlder" and order > 0:
            return (
                f"The orchestration version '{shown}' is greater than the worker version "
                f"'{self.default_version}' (versionMatchStrategy CurrentOrOlder)."
            )
        return None

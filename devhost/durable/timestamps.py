"""A faster, identical timestamp parser for the SDK's HistoryEvent (replay hot path).

``HistoryEvent.__init__`` parses every event's Timestamp with ``dateutil.parser.parse`` (~45 us
each), which was ~80% of an episode's replay time. devhost writes every timestamp itself in one
format (``%Y-%m-%dT%H:%M:%S.%fZ``); for exactly that format this parser returns the same value with
the same tzinfo object type dateutil yields for ``Z`` here; anything else goes to dateutil. It is
installed only after checking both agree on a sample.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

_MODULE = "azure.durable_functions.models.history.HistoryEvent"
_SAMPLE = "2001-02-03T04:05:06.789012Z"


def make_fast_parser(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap dateutil's parse with a fast path for devhost's own timestamp format."""
    zone = original(_SAMPLE).tzinfo

    def parse(text: Any, *args: Any, **kwargs: Any) -> Any:
        if (
            not args
            and not kwargs
            and isinstance(text, str)
            and len(text) == 27
            and text[10] == "T"
            and text[19] == "."
            and text[26] == "Z"
        ):
            return datetime.fromisoformat(text[:26]).replace(tzinfo=zone)
        return original(text, *args, **kwargs)

    parse.devhost_fast = True  # type: ignore[attr-defined]
    return parse


def install() -> bool:
    """Swap the SDK HistoryEvent module's ``dt_parse`` for the fast one; False if not applicable."""
    module = sys.modules.get(_MODULE)
    if module is None:
        __import__(_MODULE)
        module = sys.modules.get(_MODULE)
    original = getattr(module, "dt_parse", None)
    if module is None or original is None:
        return False
    if getattr(original, "devhost_fast", False):
        return True
    fast = make_fast_parser(original)
    reference = original(_SAMPLE)
    candidate = fast(_SAMPLE)
    if candidate != reference or type(candidate.tzinfo) is not type(reference.tzinfo):
        return False
    setattr(module, "dt_parse", fast)  # noqa: B010 - a module global of the SDK
    return True

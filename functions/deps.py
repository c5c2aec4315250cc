"""Lazily built, process-wide dependencies of the triggers (never at import time).

The imports live inside the builders on purpose: importing ``function_app`` must stay light
(a cold Flex Consumption instance pays for every module it imports before its first answer), and
the storage SDKs and the scoring stack load only when a trigger first needs them.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.settings import Settings
    from shared.steps.serving import Server
    from shared.storage.factory import Storage


@functools.lru_cache(maxsize=1)
def settings() -> Settings:
    """The app's settings, read once on first use."""
    from shared.settings import load_settings

    return load_settings()


@functools.lru_cache(maxsize=1)
def storage() -> Storage:
    """Storage wired from settings, with every table, container and queue ensured once."""
    from shared.storage.factory import Storage

    built = Storage.from_settings(settings())
    built.ensure_all()
    return built


@functools.lru_cache(maxsize=1)
def server() -> Server:
    """Scoring state shared by every call: loaded sessions, alias cache, inference-log buffer."""
    from shared.steps.serving import Server

    return Server(storage())

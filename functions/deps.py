"""Lazily built, process-wide dependencies of the triggers (never at import time)."""

from __future__ import annotations

import functools

from shared.settings import Settings, load_settings
from shared.steps.serving import Server
from shared.storage.factory import Storage


@functools.lru_cache(maxsize=1)
def settings() -> Settings:
    """The app's settings, read once on first use."""
    return load_settings()


@functools.lru_cache(maxsize=1)
def storage() -> Storage:
    """Storage wired from settings, with every table, container and queue ensured once."""
    built = Storage.from_settings(settings())
    built.ensure_all()
    return built


@functools.lru_cache(maxsize=1)
def server() -> Server:
    """Scoring state shared by every call: loaded sessions, alias cache, inference-log buffer."""
    return Server(storage())

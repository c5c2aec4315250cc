"""Lazily built, process-wide dependencies of the triggers (never at import time)."""

from __future__ import annotations

import functools

from shared.settings import Settings, load_settings


@functools.lru_cache(maxsize=1)
def settings() -> Settings:
    """The app's settings, read once on first use."""
    return load_settings()

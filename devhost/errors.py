"""devhost's exception tree.

DevhostError                 anything devhost itself refuses or fails at
+-- AppLoadError             the app folder, function_app.py or host.json cannot be used
|   +-- UnsupportedBindingError   a function declares a binding devhost does not serve
+-- ScheduleError             a timer schedule is invalid or never fires (also a ValueError)
+-- AzuriteError              Azurite is not installed or would not start

devhost imports nothing from the app it hosts, so these are its own, not the app's error types.
"""

from __future__ import annotations

__all__ = ["AppLoadError", "AzuriteError", "DevhostError", "ScheduleError", "UnsupportedBindingError"]


class DevhostError(Exception):
    """Root of devhost's own errors."""


class AppLoadError(DevhostError):
    """The app cannot be loaded or indexed (message names the function and binding)."""


class UnsupportedBindingError(AppLoadError):
    """A function uses a binding type devhost does not implement."""


class ScheduleError(DevhostError, ValueError):
    """An NCRONTAB or TimeSpan schedule is invalid or never fires."""


class AzuriteError(DevhostError):
    """Azurite is not installed or did not start."""

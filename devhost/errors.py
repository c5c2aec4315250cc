"""devhost's exception tree.

DevhostError                 anything devhost itself refuses or fails at
+-- AppLoadError             the app folder, function_app.py or host.json cannot be used
|   +-- UnsupportedBindingError   a function declares a binding devhost does not serve
ScheduleError (shared.ncrontab, a ValidationError): a timer schedule is invalid
"""

from __future__ import annotations

from shared.ncrontab import ScheduleError

__all__ = ["AppLoadError", "DevhostError", "ScheduleError", "UnsupportedBindingError"]


class DevhostError(Exception):
    """Root of devhost's own errors."""


class AppLoadError(DevhostError):
    """The app cannot be loaded or indexed (message names the function and binding)."""


class UnsupportedBindingError(AppLoadError):
    """A function uses a binding type devhost does not implement."""

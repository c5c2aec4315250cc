"""devhost's exception tree.

DevhostError                 anything devhost itself refuses or fails at
+-- AppLoadError             the app folder, function_app.py or host.json cannot be used
|   +-- UnsupportedBindingError   a function declares a binding devhost does not serve
+-- ScheduleError            a timer schedule (NCRONTAB or TimeSpan) is invalid
"""

from __future__ import annotations


class DevhostError(Exception):
    """Root of devhost's own errors."""


class AppLoadError(DevhostError):
    """The app cannot be loaded or indexed (message names the function and binding)."""


class UnsupportedBindingError(AppLoadError):
    """A function uses a binding type devhost does not implement."""


class ScheduleError(DevhostError):
    """A timer schedule expression is invalid or never fires."""

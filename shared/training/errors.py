"""Training-specific errors, inside the project's error tree."""

from __future__ import annotations

from shared.errors import PermanentError


class TrainingFailedError(PermanentError):
    """A trainer (or the user's command) ran and failed; retrying the same job fails the same way."""

    http_status = 422

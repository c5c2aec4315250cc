"""The one exception tree of the project.

Every error raised on purpose by ``shared/`` derives from :class:`MlopsError`. The tree splits
into errors worth retrying (Durable ``RetryOptions`` retries activities that raise them) and
errors that will fail the same way every time::

    MlopsError
    ├── TransientError                 retry: the same call may succeed later
    │   ├── StorageUnavailableError    a storage service did not answer / 5xx / timeout
    │   └── ConcurrencyConflictError   ETag races lost more times than the retry budget
    └── PermanentError                 do not retry: fix the input or the state
        ├── ConfigurationError         settings missing or inconsistent
        ├── ValidationError            input (spec, request, row, name) is invalid; names the field
        │   └── BlobNameError          a blob name breaks the naming rules
        ├── NotFoundError              a record or blob that must exist does not
        ├── AlreadyExistsError         a create met an existing record
        ├── StateConflictError         the record is not in a state that allows this (e.g. not waiting)
        ├── IntegrityError             stored bytes do not match their recorded sha256
        ├── EntityTooLargeError        an entity is over Azure's limits even after spilling
        ├── DataRejectedError          a dataset failed validation past its threshold
        └── GateRejectedError          a model failed an evaluation gate

HTTP triggers map the tree to status codes in one place (``http_status_for``).
"""

from __future__ import annotations


class MlopsError(Exception):
    """Root of every error the project raises on purpose."""

    #: HTTP status an HTTP trigger answers with when this error escapes.
    http_status: int = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str]:
        """A JSON-ready body for an HTTP error response."""
        body = {"error": type(self).__name__, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class TransientError(MlopsError):
    """The same call may succeed later; activities raising this are retried."""

    http_status = 503


class StorageUnavailableError(TransientError):
    """A storage service (blob, queue, table) did not answer or answered 5xx."""

    def __init__(self, message: str, *, service: str | None = None) -> None:
        super().__init__(message)
        self.service = service


class ConcurrencyConflictError(TransientError):
    """An ETag-guarded update lost the race more times than its retry budget."""

    http_status = 409


class PermanentError(MlopsError):
    """Retrying will not help: the input or the stored state must change."""


class ConfigurationError(PermanentError):
    """Settings are missing or inconsistent."""


class ValidationError(PermanentError):
    """Input is invalid; ``field`` names the offending field, row or feature."""

    http_status = 400


class BlobNameError(ValidationError):
    """A blob name breaks the naming rules; nothing was written."""


class NotFoundError(PermanentError):
    """A record or blob that must exist does not."""

    http_status = 404


class AlreadyExistsError(PermanentError):
    """A create met a record that already exists."""

    http_status = 409


class StateConflictError(PermanentError):
    """The record is not in a state that allows this action (approving a run that is not waiting)."""

    http_status = 409


class IntegrityError(PermanentError):
    """Stored bytes do not match their recorded sha256: never use them."""

    http_status = 500


class EntityTooLargeError(ValidationError):
    """An entity is over Azure Table limits even after spilling values to blobs."""


class DataRejectedError(PermanentError):
    """A dataset failed validation past its reject threshold."""

    http_status = 422


class GateRejectedError(PermanentError):
    """A candidate model failed an evaluation gate."""

    http_status = 422


def http_status_for(error: BaseException) -> int:
    """The HTTP status code for any exception (500 for unknown ones)."""
    if isinstance(error, MlopsError):
        return error.http_status
    return 500

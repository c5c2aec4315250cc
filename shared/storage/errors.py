"""Translate azure.core exceptions into the project's exception tree in one place."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from shared.errors import AlreadyExistsError, NotFoundError, StorageUnavailableError

#: Status codes that mean "try again later" rather than "your request is wrong".
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def is_precondition_failed(error: BaseException) -> bool:
    """True for an If-Match that lost (412 / ResourceModifiedError): callers retry these."""
    if isinstance(error, ResourceModifiedError):
        return True
    return isinstance(error, HttpResponseError) and error.status_code == 412


@contextlib.contextmanager
def mapped_errors(service: str, what: str) -> Iterator[None]:
    """Re-raise SDK errors from the block as MlopsError subclasses; 412s pass through untouched."""
    try:
        yield
    except ResourceNotFoundError as exc:
        raise NotFoundError(f"{service}: {what} not found") from exc
    except ResourceExistsError as exc:
        raise AlreadyExistsError(f"{service}: {what} already exists") from exc
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise StorageUnavailableError(
            f"{service} storage did not answer ({what}): {type(exc).__name__}", service=service
        ) from exc
    except HttpResponseError as exc:
        # 412 is not ours to map: the ETag retry loop of the caller handles it.
        if exc.status_code in TRANSIENT_STATUS:
            raise StorageUnavailableError(
                f"{service} storage answered {exc.status_code} ({what})", service=service
            ) from exc
        raise
    except AzureError as exc:
        # Remaining AzureErrors (e.g. retries exhausted on a connection) are transport failures.
        raise StorageUnavailableError(
            f"{service} storage failed ({what}): {type(exc).__name__}", service=service
        ) from exc

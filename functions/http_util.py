"""JSON responses and the one place that maps the error tree to HTTP status codes."""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, TypeVar

import azure.functions as func

from shared.errors import MlopsError, ValidationError, http_status_for
from shared.safe_parse import load_json

log = logging.getLogger("mlops.http")
F = TypeVar("F", bound=Callable[..., Any])


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    """A JSON HttpResponse."""
    return func.HttpResponse(
        json.dumps(body, default=_default), status_code=status, mimetype="application/json", headers=headers
    )


def error_response(exc: BaseException) -> func.HttpResponse:
    """Our errors become their status with {error, message, field}; anything else a bare 500."""
    if isinstance(exc, MlopsError):
        return json_response(exc.to_dict(), http_status_for(exc))
    log.exception("unhandled error")
    return json_response({"error": "InternalError", "message": "internal error; see the app's logs"}, 500)


def json_body(req: func.HttpRequest, *, required: bool = False) -> Any:
    """The request's JSON body (None when empty and not required); 400 naming the problem or limit."""
    raw = req.get_body()
    if not raw:
        if required:
            raise ValidationError("request body is required (JSON)", field="body")
        return None
    return load_json(raw, field="body")


def int_param(
    req: func.HttpRequest, name: str, default: int, *, minimum: int = 0, maximum: int = 1000
) -> int:
    """An integer query parameter within [minimum, maximum]; 400 naming the parameter otherwise."""
    text = req.params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValidationError(
            f"query parameter {name} must be an integer, got {text[:40]!r}", field=name
        ) from None
    if not minimum <= value <= maximum:
        raise ValidationError(f"query parameter {name} must lie in [{minimum}, {maximum}]", field=name)
    return value


def day_param(req: func.HttpRequest, name: str = "day") -> str | None:
    """An optional YYYY-MM-DD query parameter (None when absent); 400 naming it when malformed."""
    text = req.params.get(name)
    if text is None or text == "":
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    raise ValidationError(f"query parameter {name} must be a date YYYY-MM-DD, got {text[:40]!r}", field=name)


def handle_errors(fn: F) -> F:
    """Wrap a trigger so the error tree maps to HTTP responses (sync or async triggers)."""
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except Exception as exc:
                return error_response(exc)

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            return error_response(exc)

    return wrapper  # type: ignore[return-value]


AsyncHandler = Callable[..., Awaitable[func.HttpResponse]]

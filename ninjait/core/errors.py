"""Errors services raise. The HTTP layer maps each to a status; the CLI prints the message."""

from __future__ import annotations

from typing import Any

INTERNAL_ERROR_DETAIL = "The appliance hit an internal error. It has been logged with this request's id."


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(ServiceError):
    status = 400


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class TooManyRequests(ServiceError):
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(ServiceError):
    """Try again shortly (503 with Retry-After): nothing was wrong with the request."""

    status = 503

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Upstream(ServiceError):
    """A service we depend on (an identity provider, a mail server) failed or answered nonsense."""

    status = 502


def error_document(exc: ServiceError) -> dict[str, Any]:
    """The JSON body of an error answer: ``{"status_code", "detail"[, "field"]}``."""
    body: dict[str, Any] = {"status_code": exc.status, "detail": exc.message}
    if exc.field:
        body["field"] = exc.field
    return body

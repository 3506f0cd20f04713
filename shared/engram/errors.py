"""Typed domain errors. The API layer maps each to its HTTP status in one place."""

from __future__ import annotations

from typing import Any


class EngramError(Exception):
    """Base class: a status, a stable machine-readable code, a human message, details."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers: dict[str, str] = {}


class BadRequest(EngramError):
    status = 400
    code = "bad_request"


class Unauthorized(EngramError):
    status = 401
    code = "unauthorized"


class Forbidden(EngramError):
    status = 403
    code = "forbidden"


class NotFound(EngramError):
    status = 404
    code = "not_found"


class Conflict(EngramError):
    status = 409
    code = "conflict"


class Gone(EngramError):
    status = 410
    code = "gone"


class PayloadTooLarge(EngramError):
    status = 413
    code = "payload_too_large"


class ValidationFailed(EngramError):
    status = 422
    code = "validation_error"


class RateLimited(EngramError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))
        self.headers = {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(EngramError):
    """A dependency (DynamoDB throttling, the vector index) is unavailable; safe to retry."""

    status = 503
    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(max(1, retry_after))}

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


class MethodNotAllowed(EngramError):
    status = 405
    code = "method_not_allowed"

    def __init__(self, message: str, *, allowed: list[str]) -> None:
        super().__init__(message)
        self.headers = {"Allow": ", ".join(allowed)}


class Conflict(EngramError):
    status = 409
    code = "conflict"


class Gone(EngramError):
    status = 410
    code = "gone"


class PayloadTooLarge(EngramError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(EngramError):
    status = 415
    code = "unsupported_media_type"


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


def map_storage_error(exc: BaseException) -> EngramError | None:
    """DynamoDB throttling and outages become a 503 the caller can retry; nothing else is guessed."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = _aws_error_code(current)
        if code in _RETRYABLE_CODES:
            return ServiceUnavailable("Storage is busy; retry the request", retry_after=1)
        if type(current).__name__ in {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"}:
            return ServiceUnavailable("Storage is unreachable; retry the request", retry_after=2)
        current = current.__cause__ or current.__context__
    return None


_RETRYABLE_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
}


def _aws_error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
        if code:
            return str(code)
    cause_code = getattr(exc, "cause_response_code", None)  # PynamoDB wraps botocore errors
    return str(cause_code) if cause_code else None

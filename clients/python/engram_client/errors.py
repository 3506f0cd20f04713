"""One exception family: every failure the client reports is an :class:`EngramError`.

An API error carries what the server said (``status``, ``code``, ``message``, ``details``,
``request_id``); the subclass names the kind, so callers catch what they handle::

    try:
        client.memories.get("mem_01J...")
    except NotFound:
        ...
"""

from __future__ import annotations

from typing import Any

import httpx


class EngramError(Exception):
    """Base class. ``status`` is None when no HTTP answer was received (see :class:`ConnectionFailed`)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        details: list[dict[str, Any]] | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.details = details or []
        self.response = response

    def __str__(self) -> str:
        head = f"{self.status} {self.code}: " if self.status is not None else ""
        tail = f" (request {self.request_id})" if self.request_id else ""
        return f"{head}{self.message}{tail}"


class BadRequest(EngramError):
    """400: the body is not JSON, or a header or parameter is malformed."""


class Unauthorized(EngramError):
    """401: no API key, or one that is unknown or revoked."""


class Forbidden(EngramError):
    """403."""


class NotFound(EngramError):
    """404: no such session, memory or route (other tenants' items are not found either)."""


class Conflict(EngramError):
    """409: e.g. writing to a session that is no longer active."""


class Gone(EngramError):
    """410: the session expired (it is read-only)."""


class PayloadTooLarge(EngramError):
    """413: a body over 1 MB, or a field over its bound."""


class InvalidRequest(EngramError):
    """422: the request is well-formed but a field is invalid (``details`` names the fields)."""


class RateLimited(EngramError):
    """429 after the retries: ``retry_after`` seconds before the next request is allowed."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(EngramError):
    """5xx."""


class ServiceUnavailable(ServerError):
    """503 after the retries: a dependency (DynamoDB, the index, the embedder) is unavailable."""


class ConnectionFailed(EngramError):
    """No answer: the server could not be reached, or the request timed out (after the retries)."""


_BY_STATUS: dict[int, type[EngramError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    413: PayloadTooLarge,
    422: InvalidRequest,
    429: RateLimited,
    503: ServiceUnavailable,
}


def error_for(response: httpx.Response, retry_after: float | None = None) -> EngramError:
    """The exception for an error response in Engram's shape (or any other body)."""
    code, message, details, request_id = None, response.reason_phrase or "HTTP error", None, None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        request_id = body.get("request_id")
        error = body.get("error")
        if isinstance(error, dict):
            code, message, details = error.get("code"), str(error.get("message") or message), error.get("details")
        elif isinstance(body.get("message"), str):  # a gateway's own answer
            message = body["message"]
    request_id = request_id or response.headers.get("apigw-requestid")
    kind = _BY_STATUS.get(response.status_code) or (ServerError if response.status_code >= 500 else EngramError)
    kwargs: dict[str, Any] = {
        "status": response.status_code,
        "code": code,
        "request_id": request_id,
        "details": details if isinstance(details, list) else None,
        "response": response,
    }
    if kind is RateLimited:
        return RateLimited(message, retry_after=retry_after, **kwargs)
    return kind(message, **kwargs)

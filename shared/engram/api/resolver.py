"""The resolver factory: every HTTP function gets the same validation, auth and error mapping.

A function file does::

    app = make_resolver()

    @app.post("/v1/sessions")
    def create(body: CreateSession) -> tuple[SessionOut, int]:
        return sessions().create(tenant_of(app), body), 201

    lambda_handler = http_handler(app)
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from engram import errors
from engram.api.authorizer import authorizer_context
from engram.api.body import json_request
from engram.api.errors import error_dict, error_response, sanitize_validation_errors
from engram.errors import map_storage_error
from engram.observability import logger

MAX_BODY_BYTES = 1_000_000  # every item stays well under DynamoDB's 400 KB; bodies under 1 MB

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

# Powertools keeps the current event on a class attribute shared by every resolver in the process
# (``BaseRouter.current_event``). Lambda runs one event per process at a time, so this lock is never
# contended there; the local runtime and the tests run handlers on threads, and without it one
# request could be answered with another request's event (even another tenant's).
_INVOKE_LOCK = threading.RLock()


class EngramResolver(APIGatewayHttpResolver):
    """Powertools' HTTP API resolver, with the request gates of :func:`http_handler` as attributes.

    A path parameter matches any non-empty value. API Gateway has already chosen this function's
    route from the encoded path, and hands over ``rawPath`` decoded, so a key such as ``a%2Fb`` or
    ``a%22b`` arrives as ``a/b`` or ``a"b``. Powertools' own pattern (URL-safe characters only)
    then failed to match and the answer was "No such route" instead of the resource's own 404.
    """

    def __init__(self, *, auth: bool, json_body: bool) -> None:
        super().__init__(enable_validation=True)
        self.auth = auth
        self.json_body = json_body

    @staticmethod
    def _compile_regex(rule: str, base_regex: str = "^{}$") -> re.Pattern[str]:
        parts = re.split(r"<(\w+)>", rule)  # literal, name, literal, name, ..., literal
        pattern = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+)" for i, part in enumerate(parts))
        return re.compile(base_regex.format(pattern), re.DOTALL)


def make_resolver(*, auth: bool = True, json_body: bool = True) -> EngramResolver:
    """``auth``: the route needs an API key; ``json_body``: a body, if any, must be a JSON object
    (see :mod:`engram.api.body`). Only the catch-all route reads no body."""
    app = EngramResolver(auth=auth, json_body=json_body)

    def request_id() -> str | None:
        try:
            return str(app.current_event.request_context.request_id)
        except Exception:  # noqa: BLE001 - an error response must never fail itself
            return None

    @app.exception_handler(errors.EngramError)
    def _domain(exc: errors.EngramError) -> Response:
        if exc.status >= 500:
            logger.warning("dependency failure", extra={"code": exc.code, "error": exc.message})
        return error_response(
            exc.status, exc.code, exc.message, request_id=request_id(), details=exc.details, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        status, message, details = sanitize_validation_errors(exc.errors())
        code = "bad_request" if status == 400 else "validation_error"
        return error_response(status, code, message, request_id=request_id(), details=details)

    @app.not_found
    def _not_found(exc: NotFoundError) -> Response:
        return _domain(unmatched(app.current_event.http_method, app.current_event.path))

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if isinstance(exc, UnicodeDecodeError | RecursionError):  # a non-UTF-8 or absurdly nested body
            return _domain(errors.BadRequest("Request body is not valid UTF-8 JSON or is nested too deeply"))
        mapped = map_storage_error(exc)
        if mapped is not None:
            return _domain(mapped)
        logger.exception("unhandled error")
        return error_response(500, "internal_error", "Internal server error", request_id=request_id())

    return app


def precheck(event: dict[str, Any], *, auth: bool) -> dict[str, Any] | None:
    """What must be refused before anything reads the body: the authorizer's verdict (401/429)
    and oversized bodies (413). Powertools validates the body before any middleware runs, so
    these checks sit in front of the resolver: an anonymous caller learns nothing about the
    request schema, and a huge body is never parsed."""
    request_id = (event.get("requestContext") or {}).get("requestId")
    if auth:
        verdict = authorizer_context(event)
        if verdict.get("error") == "rate_limited":
            limited = errors.RateLimited(
                str(verdict.get("message") or "Too many requests"), retry_after=int(verdict.get("retry_after") or 1)
            )
            return error_dict(limited, request_id)
        if verdict.get("error") or not verdict.get("tenant_id"):
            return error_dict(
                errors.Unauthorized(str(verdict.get("message") or "Missing or invalid API key")), request_id
            )
    body = event.get("body") or ""
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        return error_dict(errors.PayloadTooLarge(f"Request body exceeds {MAX_BODY_BYTES} bytes"), request_id)
    return None


def unmatched(method: str, path: str) -> errors.EngramError:
    """No route answers ``method path``: 405 (with ``Allow``) when the path exists with other
    methods, else 404. On AWS the catch-all ``$default`` route lands here (functions/fallback)."""
    from engram.api.docs import allowed_methods  # reads the committed OpenAPI document, only when needed

    allowed = allowed_methods(path)
    if allowed:
        use = ", ".join(allowed)
        return errors.MethodNotAllowed(f"{method.upper()[:10]} is not allowed here; use {use}", allowed=allowed)
    return errors.NotFound("No such route; the routes are listed at /v1/openapi.json and browsable at /docs")


def tenant_of(app: APIGatewayHttpResolver) -> str:
    """The caller's tenant, put on the request by the authorizer (checked by :func:`precheck`)."""
    tenant = authorizer_context(app.current_event.raw_event).get("tenant_id")
    if not tenant or authorizer_context(app.current_event.raw_event).get("error"):
        raise errors.Unauthorized("Missing or invalid API key")
    return str(tenant)


def http_handler(
    app: EngramResolver, *, idempotent: bool = False, canonical: Callable[[str, str], str] | None = None
) -> Handler:
    """The Lambda entry point for a resolver: the gates (auth, size, JSON body), logging context
    and, for POSTs, idempotency. A refused request is answered before the resolver runs, so it is
    never stored under an Idempotency-Key. ``canonical`` names the path's resource by one name
    (a session's key becomes its id), so the key is scoped to the resource, not the spelling."""

    @logger.inject_lambda_context(clear_state=True)
    def resolve(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if idempotent:
            from engram.api.idempotency import run_idempotent

            return run_idempotent(app, event, context, canonical)
        return app.resolve(event, context)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        refused = precheck(event, auth=app.auth)
        if refused is not None:
            return refused
        if app.json_body:
            try:
                event = json_request(event)
            except errors.EngramError as exc:
                return error_dict(exc, (event.get("requestContext") or {}).get("requestId"))
        with _INVOKE_LOCK:
            return resolve(event, context)

    return handler

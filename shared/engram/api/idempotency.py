"""``Idempotency-Key`` on POSTs, with Powertools' idempotency utility and its DynamoDB table.

The key is scoped to tenant + route + the resource the path names, so two tenants (or two
sessions) can use the same header value, and one session addressed by its id and then by its key
is one resource (the key is resolved to the id). A retry with the same key and body replays the
first answer (marked with ``Idempotent-Replayed: true``); the same key with another body is a 422;
a retry while the first call is still running is a 409. Only successes (2xx) are stored: a request
that failed (a 4xx the caller can correct, a 5xx to retry) is carried out again on retry.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)

from engram.api.authorizer import authorizer_context
from engram.api.errors import error_dict
from engram.config import get_settings
from engram.errors import EngramError, NotFound

MAX_KEY_LENGTH = 255
HEADER = "idempotency-key"

# (tenant, the path's {id}) -> the resource's one name; raises NotFound for an unknown reference.
Canonical = Callable[[str, str], str]


class _NotStored(Exception):
    """Carries a failed response past the idempotency layer so it deletes the in-progress record."""

    def __init__(self, response: dict[str, Any]) -> None:
        super().__init__("server error: not stored")
        self.response = response


def _mark_replayed(response: Any, record: Any) -> Any:
    if isinstance(response, dict):
        response = dict(response)
        response["headers"] = {**(response.get("headers") or {}), "Idempotent-Replayed": "true"}
    return response


@lru_cache(maxsize=1)
def _persistence() -> tuple[DynamoDBPersistenceLayer, IdempotencyConfig]:
    settings = get_settings()
    layer = DynamoDBPersistenceLayer(table_name=settings.idempotency_table)
    config = IdempotencyConfig(
        event_key_jmespath="[tenant, route, resource, key]",
        payload_validation_jmespath="body",
        expires_after_seconds=settings.idempotency_ttl_seconds,
        response_hook=_mark_replayed,  # type: ignore[arg-type]
    )
    return layer, config


def reset_persistence() -> None:
    _persistence.cache_clear()


def run_idempotent(
    app: APIGatewayHttpResolver, event: dict[str, Any], context: Any, canonical: Canonical | None = None
) -> dict[str, Any]:
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    key = headers.get(HEADER)
    tenant = authorizer_context(event).get("tenant_id")
    if not key or not tenant or authorizer_context(event).get("error"):
        return app.resolve(event, context)  # nothing to dedupe; auth failures are never stored
    if len(key) > MAX_KEY_LENGTH:
        return _error(event, 400, "bad_request", f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters")

    layer, config = _persistence()
    if context is not None:
        config.register_lambda_context(context)

    @idempotent_function(data_keyword_argument="request", persistence_store=layer, config=config)
    def handle(request: dict[str, Any]) -> dict[str, Any]:
        response = app.resolve(event, context)
        if not 200 <= int(response.get("statusCode", 500)) < 300:
            raise _NotStored(response)
        return response

    try:
        scope = resource(event, str(tenant), canonical)
    except EngramError as exc:  # storage busy while resolving a session key: retryable, nothing done
        return error_dict(exc, (event.get("requestContext") or {}).get("requestId"))
    request = {
        "tenant": tenant,
        "route": event.get("routeKey"),
        "resource": scope,
        "key": key,
        "body": event.get("body") or "",
    }
    try:
        return handle(request=request)
    except _NotStored as exc:
        return exc.response
    except IdempotencyValidationError:
        return _error(
            event, 422, "idempotency_key_reused", "Idempotency-Key was already used with a different request body"
        )
    except IdempotencyAlreadyInProgressError:
        return _error(event, 409, "request_in_progress", "A request with this Idempotency-Key is still in progress")
    except IdempotencyPersistenceLayerError:
        return _error(event, 503, "service_unavailable", "Idempotency store is unavailable; retry the request")


def resource(event: dict[str, Any], tenant_id: str, canonical: Canonical | None) -> str | None:
    """The canonical name of what the path addresses: a session's id even when the path gives its
    key (sessions are the one resource with two names; their routes pass ``canonical``). Unknown
    references stay as given: that request answers 404, which is never stored."""
    ref = (event.get("pathParameters") or {}).get("id")
    if ref is None or canonical is None:
        return ref
    try:
        return canonical(tenant_id, ref)
    except NotFound:
        return ref


def _error(event: dict[str, Any], status: int, code: str, message: str) -> dict[str, Any]:
    request_id = (event.get("requestContext") or {}).get("requestId")
    error = EngramError(message)
    error.status, error.code = status, code
    return error_dict(error, request_id)

"""``Idempotency-Key`` on POSTs, with Powertools' idempotency utility and its DynamoDB table.

The key is scoped to tenant + route + path, so two tenants (or two sessions) can use the same
header value. A retry with the same key and body replays the first answer (marked with
``Idempotent-Replayed: true``); the same key with another body is a 422; a retry while the
first call is still running is a 409. Server errors (5xx) are never stored, so they can be retried.
"""

from __future__ import annotations

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
from engram.errors import EngramError

MAX_KEY_LENGTH = 255
HEADER = "idempotency-key"


class _NotStored(Exception):
    """Carries a 5xx response past the idempotency layer so it deletes the in-progress record."""

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
        event_key_jmespath="[tenant, route, path, key]",
        payload_validation_jmespath="body",
        expires_after_seconds=settings.idempotency_ttl_seconds,
        response_hook=_mark_replayed,  # type: ignore[arg-type]
    )
    return layer, config


def reset_persistence() -> None:
    _persistence.cache_clear()


def run_idempotent(app: APIGatewayHttpResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
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
        if int(response.get("statusCode", 500)) >= 500:
            raise _NotStored(response)
        return response

    request = {
        "tenant": tenant,
        "route": event.get("routeKey"),
        "path": event.get("rawPath"),
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


def _error(event: dict[str, Any], status: int, code: str, message: str) -> dict[str, Any]:
    request_id = (event.get("requestContext") or {}).get("requestId")
    error = EngramError(message)
    error.status, error.code = status, code
    return error_dict(error, request_id)

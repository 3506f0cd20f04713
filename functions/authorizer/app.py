"""HTTP API Lambda authorizer: API key → tenant, plus rate limits per key and per source IP."""

from typing import Any

from engram.container import api_keys, rate_limiter
from engram.observability import logger
from engram.services.auth import authorize


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return authorize(event, api_keys(), rate_limiter())

"""What the HTTP API's Lambda authorizer put on a request (``engram.services.auth.authorize``).

A leaf module: the resolver and the idempotency layer both read the verdict, and neither
imports the other for it.
"""

from __future__ import annotations

from typing import Any


def authorizer_context(event: dict[str, Any]) -> dict[str, Any]:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    ctx = authorizer.get("lambda") or {}
    return ctx if isinstance(ctx, dict) else {}

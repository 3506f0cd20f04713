"""Engram's one error shape, as the fuzzers check it: every answer JSON, every 4xx/5xx exactly
``{"error": {"code", "message", "details"}, "request_id"}``."""

from __future__ import annotations

import json

ERROR_KEYS = {"error", "request_id"}
ERROR_INNER_KEYS = {"code", "message", "details"}


def error_shape_problem(status: int, content_type: str, content: bytes, path: str) -> str | None:
    """What is wrong with an answer's shape, if anything (shared with the body-class fuzzer)."""
    if path == "/docs":
        return None
    if status in (202, 204) and not content:  # accepted, no body (MCP notifications)
        return None
    if not content_type.startswith("application/json"):
        return f"Content-Type is {content_type!r}, expected application/json"
    try:
        body = json.loads(content)
    except ValueError:
        return "body is not JSON"
    if status < 400:
        return None
    if not isinstance(body, dict) or set(body) != ERROR_KEYS:
        found = sorted(body) if isinstance(body, dict) else type(body).__name__
        return f"{status} body keys {found}, expected {sorted(ERROR_KEYS)}"
    inner = body["error"]
    if not isinstance(inner, dict) or set(inner) != ERROR_INNER_KEYS:
        return f"error keys {sorted(inner) if isinstance(inner, dict) else inner!r}"
    if not (
        isinstance(inner["code"], str) and isinstance(inner["message"], str) and isinstance(inner["details"], list)
    ):
        return "error.code/message must be strings and details a list"
    if not isinstance(body["request_id"], str) or not body["request_id"]:
        return "request_id missing"
    return None

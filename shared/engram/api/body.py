"""What a request body must be before any handler reads it: JSON, one object, finite numbers.

JSON is the only body type. A body sent with another media type (``text/plain``, a form, XML,
multipart) is a 415: Powertools would otherwise parse a form into a dict of lists (so curl's
default ``-d`` stored ``{"{\\"plan\\":\\"pro\\"}": [""]}``) or fail with a 500. Media types are
case-insensitive and ``charset=utf-8`` is accepted; a body with no ``Content-Type`` is read as JSON.

A JSON array (or string, number, boolean) is a 422: Powertools would take the first element of an
array and drop the rest. ``null`` means no body (optional bodies are documented as nullable).
``NaN``, ``Infinity`` and numbers beyond a double (``1e309``) are a 400: Python's parser accepts
them and they would be stored as ``null``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from engram import errors

JSON_MEDIA_TYPE = "application/json"
BODY_METHODS = {"POST", "PUT", "PATCH"}


class _NonFinite(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NonFinite(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _NonFinite(f"{text[:40]} is out of range (larger than a 64-bit float)")
    return value


def strict_loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses ``NaN``, ``Infinity``, ``-Infinity`` and overflowing numbers."""
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)


def media_type(content_type: str) -> tuple[str, dict[str, str]]:
    """``"Application/JSON; Charset=UTF-8"`` → ``("application/json", {"charset": "utf-8"})``.

    (``email.message`` parses this too, but importing it costs a cold start ~20 ms for one header.)"""
    kind, _, rest = content_type.partition(";")
    params: dict[str, str] = {}
    for part in rest.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            params[name.strip().lower()] = value.strip().strip('"').lower()
    return kind.strip().lower(), params


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if str(key).lower() == name:
            return str(value)
    return None


def json_request(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its body checked and its ``Content-Type`` normalised to ``application/json``.

    Raises an :class:`~engram.errors.EngramError` (415, 400 or 422) for a body that is refused.
    A request without a body passes unchanged, whatever its headers say, and so does the body of a
    GET or DELETE: no route reads one (HTTP gives it no meaning).
    """
    body = event.get("body")
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method", "POST")).upper()
    if not body or method not in BODY_METHODS:
        return event
    content_type = _header(event, "content-type")
    if content_type is not None and content_type.strip():
        kind, params = media_type(content_type)
        if kind != JSON_MEDIA_TYPE or params.get("charset", "utf-8") not in {"utf-8", "utf8"}:
            raise errors.UnsupportedMediaType(
                f"Request bodies must be JSON: send Content-Type: {JSON_MEDIA_TYPE}",
                details=[{"field": "content-type", "in": "header", "message": f"expected {JSON_MEDIA_TYPE}"}],
            )
    try:
        text = base64.b64decode(body, validate=True).decode("utf-8") if event.get("isBase64Encoded") else body
        value = strict_loads(text)
    except _NonFinite as exc:
        raise errors.BadRequest(
            "Request body has a number JSON cannot carry (NaN, Infinity or beyond a 64-bit float)",
            details=[{"field": "", "in": "body", "message": str(exc), "type": "number_not_finite"}],
        ) from exc
    except (ValueError, binascii.Error, RecursionError) as exc:  # JSONDecodeError and UnicodeError are ValueErrors
        raise errors.BadRequest(
            "Request body is not valid JSON",
            details=[{"field": "", "in": "body", "message": "not valid UTF-8 JSON", "type": "json_invalid"}],
        ) from exc
    if value is not None and not isinstance(value, dict):  # null is no body (the document allows it)
        found = {list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")
        raise errors.ValidationFailed(
            f"Request body must be a JSON object, not {found}",
            details=[{"field": "", "in": "body", "message": "must be a JSON object", "type": "model_type"}],
        )
    headers = {k: v for k, v in (event.get("headers") or {}).items() if str(k).lower() != "content-type"}
    return {**event, "headers": {**headers, "content-type": JSON_MEDIA_TYPE}}

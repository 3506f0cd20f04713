"""The one error shape: ``{"error": {"code", "message", "details"}, "request_id"}``."""

from __future__ import annotations

import json
import re
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from engram.errors import EngramError


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    request_id: str | None,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {
        "error": {"code": code, "message": message, "details": details or []},
        "request_id": request_id,
    }
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        headers=headers or {},
    )


_FIELD_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def error_dict(exc: EngramError, request_id: str | None) -> dict[str, Any]:
    """The error shape as a ready API Gateway (payload 2.0) response, for answers given before
    or around the resolver."""
    body = {"error": {"code": exc.code, "message": exc.message, "details": exc.details}, "request_id": request_id}
    return {
        "statusCode": exc.status,
        "headers": {"Content-Type": "application/json", **exc.headers},
        "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def sanitize_validation_errors(errors: Any) -> tuple[int, str, list[dict[str, Any]]]:
    """Turn pydantic/Powertools validation errors into (status, message, details).

    Only location, message and type leave the service: never the input values, which may
    be large or sensitive. A body that is not JSON at all is a 400; a well-formed body with
    wrong fields is a 422.
    """
    details: list[dict[str, Any]] = []
    status = 422
    for err in errors or []:
        # a location names fields and indexes only: never echo input (a form-encoded body can
        # show up as a "field" whose name is the whole body)
        loc = [str(part) if _FIELD_RE.match(str(part)) else "?" for part in err.get("loc", ())]
        err_type = str(err.get("type", "value_error"))
        if err_type == "json_invalid":
            status = 400
            loc = loc[:1]
        msg = str(err.get("msg", "invalid value"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        details.append(
            {
                "field": ".".join(loc[1:] if loc[:1] == ["body"] else loc),
                "in": loc[0] if loc else "",
                "message": msg,
                "type": err_type,
            }
        )
    if status == 400:
        return status, "Request body is not valid JSON", details
    fields = ", ".join(d["field"] or d["in"] for d in details[:5])
    return status, f"Invalid request: {fields}" if fields else "Invalid request", details

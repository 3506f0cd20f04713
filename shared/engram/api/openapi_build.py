"""Build the one OpenAPI document from every function's resolver (Powertools' OpenAPIMerge).

``python -m engram.api.openapi_build --write`` regenerates ``shared/engram/api/openapi.json``,
the file the ``openapi`` and ``docs`` functions serve; a test fails when it drifts from the code.
This is a development tool: it imports every function module, so it needs the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).with_name("openapi.json")
TITLE = "Engram API"
DESCRIPTION = (
    "Sessions and long-term memory for AI agents. Authenticate with `Authorization: Bearer <api key>`. "
    'Errors share one shape: `{"error": {"code", "message", "details"}, "request_id"}`.'
)


def build(functions_dir: Path) -> dict[str, Any]:
    import warnings

    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    from engram import __version__

    merge = OpenAPIMerge(
        title=TITLE,
        version=__version__,
        description=DESCRIPTION,
        security_schemes={"bearerAuth": HTTPBearer(description="An Engram API key")},
        security=[{"bearerAuth": []}],
        on_conflict="error",
    )
    for app_file in sorted(functions_dir.glob("*/app.py")):
        if "make_resolver(" in app_file.read_text(encoding="utf-8"):  # stream/schedule/authorizer have no routes
            merge.add_file(app_file)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a function that fails to load must fail the build
        spec: dict[str, Any] = json.loads(merge.get_openapi_json_schema())
    _mark_public(spec)
    _document_answers(spec)
    _document_links(spec)
    return spec


# Routes that answer 201 Created (get-or-create answers 201 when it created, 200 when it found).
CREATED = {
    ("post", "/v1/sessions"),
    ("post", "/v1/sessions/start"),
    ("post", "/v1/sessions/get-or-create"),
    ("post", "/v1/sessions/{id}/messages"),
    ("post", "/v1/memories"),
    ("post", "/v1/memories/miss"),
}
ERROR_ANSWERS = {
    "400": "The body is not valid JSON (or carries NaN, Infinity or a number beyond a 64-bit float), "
    "or the cursor was not issued as-is",
    "401": "Missing, malformed, unknown or revoked API key",
    "404": "No such resource for this tenant",
    "409": "Conflict: the session is no longer active, a key is taken, or a request is in progress",
    "410": "The session has expired and is read-only",
    "413": "The request body or a field is too large",
    "415": "The body is not JSON: send Content-Type: application/json",
    "422": "The request is well-formed JSON but invalid, or the body is not one JSON object (details list each field)",
    "429": "Rate limit exceeded; see the Retry-After header",
    "503": "A dependency is busy or unavailable; retry (see Retry-After)",
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "request_id"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {"type": "object"}},
            },
        },
        "request_id": {"type": ["string", "null"]},
    },
}


def _document_answers(spec: dict[str, Any]) -> None:
    """Powertools documents 200 and its own 422 only; Engram answers in one error shape."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(name, None)
    error_ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if (method, path) in CREATED and "200" in responses:
                responses["201"] = {**responses["200"], "description": "Created"}
                if (method, path) != ("post", "/v1/sessions/get-or-create"):
                    del responses["200"]
            public = operation.get("security") == []
            for status, description in ERROR_ANSWERS.items():
                if public and status in {"401", "404", "409", "410"}:
                    continue
                if status == "415" and method not in {"post", "put", "patch"}:
                    continue
                responses[status] = {"description": description, **error_ref}


# What a created or returned resource's id can be passed to (OpenAPI links: generated clients and
# schemathesis' stateful phase follow them). Source: (method, path, status, id field of the answer).
_SESSION_USES = [
    ("get", "/v1/sessions/{id}"),
    ("patch", "/v1/sessions/{id}"),
    ("delete", "/v1/sessions/{id}"),
    ("put", "/v1/sessions/{id}/context"),
    ("post", "/v1/sessions/{id}/messages"),
    ("get", "/v1/sessions/{id}/messages"),
    ("post", "/v1/sessions/{id}/turn"),
    ("post", "/v1/sessions/{id}/end"),
    ("post", "/v1/sessions/{id}/close"),
    ("post", "/v1/sessions/{id}/summarize"),
    ("get", "/v1/sessions/{id}/export"),
]
_MEMORY_USES = [
    ("get", "/v1/memories/{id}"),
    ("patch", "/v1/memories/{id}"),
    ("delete", "/v1/memories/{id}"),
    ("post", "/v1/memories/{id}/reinforce"),
    ("post", "/v1/memories/{id}/lock"),
    ("delete", "/v1/memories/{id}/lock"),
]
LINKS = [
    (("post", "/v1/sessions", "201", "id"), _SESSION_USES),
    (("post", "/v1/sessions/get-or-create", "201", "id"), _SESSION_USES),
    (("post", "/v1/sessions/get-or-create", "200", "id"), _SESSION_USES),
    (("post", "/v1/sessions/start", "201", "session_id"), _SESSION_USES),
    (("post", "/v1/memories", "201", "id"), _MEMORY_USES),
]


def _document_links(spec: dict[str, Any]) -> None:
    paths = spec.get("paths", {})
    for (method, path, status, field), uses in LINKS:
        response = ((paths.get(path) or {}).get(method) or {}).get("responses", {}).get(status)
        if response is None:
            continue
        links = response.setdefault("links", {})
        for use_method, use_path in uses:
            target = (paths.get(use_path) or {}).get(use_method)
            if target is not None:
                links[target["operationId"]] = {
                    "operationId": target["operationId"],
                    "parameters": {"path.id": f"$response.body#/{field}"},
                }


def _mark_public(spec: dict[str, Any]) -> None:
    for path in ("/", "/v1/health", "/v1/openapi.json", "/docs"):
        for operation in (spec.get("paths", {}).get(path) or {}).values():
            if isinstance(operation, dict):
                operation["security"] = []


def render(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--functions", type=Path, default=Path("functions"))
    parser.add_argument("--write", action="store_true", help="write the committed spec file")
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed spec is stale")
    args = parser.parse_args(argv)
    text = render(build(args.functions))
    if args.write:
        SPEC_PATH.write_text(text)
        print(f"wrote {SPEC_PATH}")
    if args.check:
        current = SPEC_PATH.read_text() if SPEC_PATH.exists() else ""
        if current != text:
            print("openapi.json is stale: run `make openapi`", file=sys.stderr)
            return 1
    if not args.write and not args.check:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

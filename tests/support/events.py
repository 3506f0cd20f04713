"""API Gateway HTTP API (payload 2.0) events and a Lambda context, for invoking handlers directly."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import uuid
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]


class LambdaContext:
    function_name = "engram-test"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:engram-test"
    log_group_name = "/aws/lambda/engram-test"
    log_stream_name = "test"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 15_000


def function_module(name: str) -> ModuleType:
    """The function's module, one copy per thread: like Lambda, where each concurrent execution
    has its own container (Powertools keeps the current event on the module's resolver)."""
    return _load(name, threading.get_ident())


@cache
def _load(name: str, thread: int) -> ModuleType:
    path = ROOT / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"engram_fn_{name}_{thread}", path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves generic models through sys.modules
    spec.loader.exec_module(module)
    return module


def http_event(
    method: str,
    route: str,
    *,
    path_params: dict[str, str] | None = None,
    query: dict[str, Any] | None = None,
    body: Any = None,
    raw_body: str | None = None,
    tenant: str | None = "tenant_a",
    headers: dict[str, str] | None = None,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    path = route
    for name, value in (path_params or {}).items():
        path = path.replace("{" + name + "}", value)
    query_str = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in (query or {}).items()}
    if authorizer is None:
        authorizer = (
            {"tenant_id": tenant, "key_id": "key_test"}
            if tenant
            else {"error": "unauthorized", "message": "Missing Authorization header"}
        )
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    return {
        "version": "2.0",
        "routeKey": f"{method} {route}",
        "rawPath": path,
        "rawQueryString": urlencode(query_str),
        "headers": {"content-type": "application/json", **{k.lower(): v for k, v in (headers or {}).items()}},
        "queryStringParameters": query_str or None,
        "pathParameters": path_params or None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "authorizer": {"lambda": authorizer},
            "domainName": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "pytest",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {route}",
            "stage": "$default",
            "timeEpoch": 0,
        },
        "body": text,
        "isBase64Encoded": False,
    }


class Reply:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.status = int(raw["statusCode"])
        self.headers = {k.lower(): v for k, v in (raw.get("headers") or {}).items()}
        body = raw.get("body")
        self.json: Any = (
            json.loads(body) if body and self.headers.get("content-type", "").startswith("application/json") else None
        )

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.raw.get('body', '')[:300]}>"


def invoke(function: str, event: dict[str, Any]) -> Reply:
    return Reply(function_module(function).lambda_handler(event, LambdaContext()))

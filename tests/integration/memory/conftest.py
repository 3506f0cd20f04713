"""Fixtures for the memory handler tests: moto tables (PynamoDB create_table), a hashing
embedder, a local index in a tmp dir, API Gateway HTTP API v2 events and a Lambda context."""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest

ROOT = Path(__file__).resolve().parents[3]
_modules: dict[str, ModuleType] = {}


class LambdaContext:
    function_name = "engram-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:engram-test"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/engram-test"
    log_stream_name = "stream"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def load_function(name: str) -> ModuleType:
    """Import functions/<name>/app.py under a unique module name (every handler is app.py)."""
    if name not in _modules:
        path = ROOT / "functions" / name / "app.py"
        spec = importlib.util.spec_from_file_location(f"fn_{name}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # pydantic resolves generic models through sys.modules
        spec.loader.exec_module(module)
        _modules[name] = module
    return _modules[name]


def http_event(
    method: str,
    path: str,
    *,
    route: str | None = None,
    body: Any = None,
    raw_body: str | None = None,
    tenant: str | None = "tenant-a",
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    path_params: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, as the Lambda authorizer leaves it."""
    route_key = f"{method} {route or path}"
    authorizer = (
        {"lambda": {"tenant_id": tenant, "key_id": "key_test"}}
        if tenant
        else {"lambda": {"error": "unauthorized", "message": "Missing API key"}}
    )
    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": {"content-type": "application/json", "host": "api.example.com", **(headers or {})},
        "queryStringParameters": query or None,
        "pathParameters": path_params or None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api123",
            "authorizer": authorizer,
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "pytest",
            },
            "requestId": f"req-{uuid.uuid4().hex[:8]}",
            "routeKey": route_key,
            "stage": "$default",
            "time": "17/Mar/2026:10:00:00 +0000",
            "timeEpoch": 1773741600000,
        },
        "body": raw_body if raw_body is not None else (json.dumps(body) if body is not None else None),
        "isBase64Encoded": False,
    }


@pytest.fixture
def aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto DynamoDB with the memory tables. They are created from template.yaml's own
    definitions when the shared helper is there (so the GSIs are the deployed ones), else
    with PynamoDB ``create_table`` from the models."""
    from moto import mock_aws

    for key, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "ENGRAM_EMBEDDER": "hashing",
        "ENGRAM_INDEX_BACKEND": "local",
        "ENGRAM_DATA_DIR": str(tmp_path / "data"),
        "POWERTOOLS_SERVICE_NAME": "engram",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(key, value)
    from engram import container
    from engram.clock import set_clock
    from engram.config import get_settings
    from engram.store.base import bind
    from engram.store.memories import MemoryItem, MissItem

    # One boto3 session for the whole run (moto replaces it per mock by default, and a new session
    # re-reads botocore's endpoint and service data: a third of a second per test).
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        container.reset()
        settings = get_settings()
        import boto3

        client = boto3.client("dynamodb", region_name="us-east-1")
        try:
            from engram.testing.tables import create_tables
        except ImportError:
            create_tables = None
        if create_tables is not None:
            create_tables(client)
        else:
            bind(MemoryItem, settings.memories_table, settings.region)
            bind(MissItem, settings.misses_table, settings.region)
            MemoryItem.create_table(billing_mode="PAY_PER_REQUEST", wait=False)
            MissItem.create_table(billing_mode="PAY_PER_REQUEST", wait=False)
            client.create_table(
                TableName=settings.idempotency_table,
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        bind(MemoryItem, settings.memories_table, settings.region)
        bind(MissItem, settings.misses_table, settings.region)
        yield
        set_clock(None)
        container.reset()
        MemoryItem._connection = None
        MissItem._connection = None


Call = Callable[..., tuple[int, Any, dict[str, str]]]


@pytest.fixture
def call(aws: None) -> Call:
    """call(function, method, path, route=..., body=..., ...) → (status, json body, headers)."""

    def invoke(function: str, method: str, path: str, **kwargs: Any) -> tuple[int, Any, dict[str, str]]:
        module = load_function(function)
        response = module.lambda_handler(http_event(method, path, **kwargs), LambdaContext())
        body = json.loads(response["body"]) if response.get("body") else None
        return int(response["statusCode"]), body, response.get("headers") or {}

    return invoke


@pytest.fixture
def service(aws: None) -> Any:
    from engram.container import memories

    return memories()


@pytest.fixture
def stream_process(aws: None) -> Callable[..., dict[str, Any]]:
    """on_memory_change's ``process(event, context, index=...)`` with a Lambda context."""
    module = load_function("on_memory_change")

    def run(event: dict[str, Any], index: Any = None) -> dict[str, Any]:
        return module.process(event, LambdaContext(), index=index)

    return run

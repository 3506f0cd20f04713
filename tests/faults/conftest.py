"""Fault injection at the moto level: DynamoDB answers an error (or the connection fails) for
selected operations, below botocore's retry loop, so the SDK's own retries run as on AWS."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

# status codes DynamoDB answers these errors with
ERROR_STATUS = {
    "ProvisionedThroughputExceededException": 400,
    "ThrottlingException": 400,
    "RequestLimitExceeded": 400,
    "InternalServerError": 500,
}


@dataclass
class Rule:
    operation: str
    error: str  # an error code from ERROR_STATUS, or "connection"
    times: int | None = None  # None: every matching call fails
    table: str | None = None
    failed: int = 0

    def matches(self, operation: str, tables: set[str]) -> bool:
        if operation != self.operation or (self.times is not None and self.failed >= self.times):
            return False
        return self.table is None or self.table in tables


class Faults:
    def __init__(self) -> None:
        self.rules: list[Rule] = []
        self.calls: Counter[str] = Counter()

    def fail(self, operation: str, error: str, *, times: int | None = None, table: str | None = None) -> Rule:
        rule = Rule(operation, error, times, table)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def check(self, request: Any) -> tuple[int, dict[str, str], str] | None:
        target = request.headers.get("X-Amz-Target") or b""
        target = target.decode() if isinstance(target, bytes) else str(target)
        if not target.startswith("DynamoDB_"):
            return None
        operation = target.rpartition(".")[2]
        self.calls[operation] += 1
        tables = _tables(request.body)
        for rule in self.rules:
            if rule.matches(operation, tables):
                rule.failed += 1
                if rule.error == "connection":
                    from botocore.exceptions import EndpointConnectionError

                    raise EndpointConnectionError(endpoint_url=request.url)
                body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{rule.error}", "message": "injected"})
                headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "fault-injected"}
                return ERROR_STATUS[rule.error], headers, body
        return None


def _tables(body: Any) -> set[str]:
    try:
        data = json.loads(body or b"{}")
    except (TypeError, ValueError):
        return set()
    names = {data["TableName"]} if "TableName" in data else set()
    names |= set(data.get("RequestItems") or {})
    for entry in data.get("TransactItems") or []:
        for op in entry.values():
            if "TableName" in op:
                names.add(op["TableName"])
    return names


@pytest.fixture
def faults(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    """Inject DynamoDB errors into moto (installed over the ``aws`` fixture's serialisation)."""
    from moto.core.botocore_stubber import BotocoreStubber

    injector = Faults()
    underlying = BotocoreStubber.process_request

    def process_request(self: BotocoreStubber, request: Any) -> Any:
        injected = injector.check(request)
        if injected is not None:
            return injected
        return underlying(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", process_request)
    yield injector
    injector.clear()

"""Test configuration shared by every tier: a clean environment, moto tables from the template."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "ENGRAM_EMBEDDER": "hashing",
    "ENGRAM_INDEX_BACKEND": "local",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_NAMESPACE": "EngramTest",
    "POWERTOOLS_SERVICE_NAME": "engram-test",
}


@pytest.fixture(autouse=True)
def engram_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("ENGRAM_") or name.startswith("AWS_ENDPOINT_URL"):
            monkeypatch.delenv(name)
    for name, value in _ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ENGRAM_DATA_DIR", str(tmp_path / "engram-data"))
    from engram import clock, container

    container.reset()
    yield
    clock.set_clock(None)
    container.reset()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """moto with every table of template.yaml created; yields logical id → table name.

    moto's in-process backend is not thread-safe: two threads can interleave a conditional
    check and its write, which DynamoDB never does. Requests are serialised here (as the local
    runtime does), so concurrency tests exercise our conditions, not moto's races."""
    import threading

    import boto3
    from moto import mock_aws
    from moto.core.botocore_stubber import BotocoreStubber

    from engram.testing.tables import create_tables

    lock = threading.RLock()
    original = BotocoreStubber.process_request

    def serialised(self: BotocoreStubber, *args: object, **kwargs: object) -> object:
        with lock:
            return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(BotocoreStubber, "process_request", serialised)
    # One boto3 session for the whole run (moto replaces it per mock by default, and a new session
    # re-reads botocore's endpoint and service data: a third of a second per test).
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        names = create_tables(boto3.client("dynamodb", region_name="us-east-1"))
        yield names


@pytest.fixture
def api_key(aws: dict[str, str]) -> str:
    from engram.container import api_keys

    return api_keys().create(tenant_id="tenant_a", name="test").secret

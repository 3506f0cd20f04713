"""One contract per repository port, run against the in-memory fake and the PynamoDB repository
(on moto tables built from template.yaml), so the fake the unit tier trusts cannot drift."""

from __future__ import annotations

from typing import Any

import pytest

from engram.config import get_settings
from engram.testing import fakes


@pytest.fixture(params=["fake", "dynamodb"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "dynamodb":
        request.getfixturevalue("aws")
    return str(request.param)


def _pick(backend: str, fake: type, dynamo: Any) -> Any:
    return fake() if backend == "fake" else dynamo(get_settings())


@pytest.fixture
def sessions(backend: str) -> Any:
    from engram.store.sessions import DynamoSessionRepository

    return _pick(backend, fakes.FakeSessionRepository, DynamoSessionRepository)


@pytest.fixture
def sessions_and_memories(backend: str) -> tuple[Any, Any]:
    """A session repository whose turns log accesses where this memory repository settles them
    (and whose memories count in their session's ``memory_count``)."""
    from engram.store.memories import DynamoMemoryRepository
    from engram.store.sessions import DynamoSessionRepository

    if backend == "fake":
        memories = fakes.FakeMemoryRepository()
        sessions = fakes.FakeSessionRepository(memories)
        memories.sessions = sessions
        return sessions, memories
    return DynamoSessionRepository(get_settings()), DynamoMemoryRepository(get_settings())


@pytest.fixture
def memories(backend: str, sessions: Any) -> Any:
    """On the same backend as ``sessions``: a memory counts in its session's ``memory_count``."""
    from engram.store.memories import DynamoMemoryRepository

    if backend == "fake":
        return fakes.FakeMemoryRepository(sessions=sessions)
    return DynamoMemoryRepository(get_settings())


@pytest.fixture
def misses(backend: str) -> Any:
    from engram.store.memories import DynamoMissRepository

    return _pick(backend, fakes.FakeMissRepository, DynamoMissRepository)


@pytest.fixture
def keys(backend: str) -> Any:
    from engram.store.auth import DynamoApiKeyRepository

    return _pick(backend, fakes.FakeApiKeyRepository, DynamoApiKeyRepository)


@pytest.fixture
def counter(backend: str) -> Any:
    from engram.store.auth import DynamoRateCounter

    return _pick(backend, fakes.FakeRateCounter, DynamoRateCounter)

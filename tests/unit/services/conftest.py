"""The unit tier of the services: every service on the in-memory fakes (engram.testing.world),
the hashing embedder and a local index in a tmp dir. No moto, and no socket may be opened."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import pytest_socket

from engram import clock
from engram.config import Settings
from engram.testing.world import World

T0 = 1_800_000_000.0
TENANT = "tenant_a"


@pytest.fixture(autouse=True)
def no_sockets() -> Iterator[None]:
    pytest_socket.disable_socket(allow_unix_socket=False)
    yield
    pytest_socket.enable_socket()


@pytest.fixture
def now() -> list[float]:
    """A controllable clock: ``now[0]`` is the time (the root conftest restores the wall clock)."""
    current = [T0]
    clock.set_clock(lambda: current[0])
    return current


@pytest.fixture
def make_world(tmp_path: Path) -> Callable[..., World]:
    from engram.embed.hashing import HashingEmbedder
    from engram.index.local import LocalIndex

    def build(**settings: object) -> World:
        return World(
            Settings(region="us-east-1", **settings),  # type: ignore[arg-type]
            index=LocalIndex(str(tmp_path / f"index-{len(list(tmp_path.iterdir()))}")),
            embedder=HashingEmbedder(384),
        )

    return build


@pytest.fixture
def world(make_world: Callable[..., World], now: list[float]) -> World:
    return make_world()

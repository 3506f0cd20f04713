"""One local server (``python -m engram.local``) per test module, with a known API key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engram.testing.server import LocalServer

API_KEY = "egm_clients_test_key_0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    root: Path = tmp_path_factory.mktemp("engram")
    running = LocalServer(root / "data", API_KEY).start()
    try:
        yield running
    finally:
        running.stop()

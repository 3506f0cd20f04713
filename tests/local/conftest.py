"""Fixtures for engram.local: files the fixture's functions write to, and a running runtime."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engram.local.runtime import LocalRuntime
from tests.local.helpers import FIXTURE_TEMPLATE


@pytest.fixture
def logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Files the fixture's stream consumer and scheduled function append to."""
    paths = {"stream": tmp_path / "stream.jsonl", "tick": tmp_path / "tick.jsonl"}
    monkeypatch.setenv("FIXTURE_STREAM_LOG", str(paths["stream"]))
    monkeypatch.setenv("FIXTURE_TICK_LOG", str(paths["tick"]))
    monkeypatch.delenv("ENGRAM_LOCAL_SCHEDULE_SECONDS", raising=False)
    return paths


@pytest.fixture
def runtime(tmp_path: Path, logs: dict[str, Path]) -> Iterator[LocalRuntime]:
    local = LocalRuntime(FIXTURE_TEMPLATE, tmp_path / "data", port=0).start()
    try:
        yield local
    finally:
        local.stop()

"""Settings are validated once, before anything starts, and a bad one is named with its value and
its bound (not reported later as some other failure)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from engram.local.runtime import LocalRuntime, LocalRuntimeError
from tests.local.helpers import FIXTURE_TEMPLATE, REPO


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ENGRAM_INACTIVITY_TIMEOUT_SECONDS", "5", "ENGRAM_INACTIVITY_TIMEOUT_SECONDS=5: must be at least 60"),
        ("ENGRAM_RATE_LIMIT_PER_MINUTE", "lots", "ENGRAM_RATE_LIMIT_PER_MINUTE=lots: must be a whole number"),
        ("ENGRAM_EMBEDDER", "gpt", "ENGRAM_EMBEDDER=gpt: must be one of 'hashing', 'local' or 'bedrock'"),
        ("ENGRAM_LOCAL_SCHEDULE_SECONDS", "0", "ENGRAM_LOCAL_SCHEDULE_SECONDS=0: must be a number of seconds from"),
    ],
)
def test_a_bad_setting_is_named_before_anything_starts(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    environ = {**os.environ, variable: value}
    runtime = LocalRuntime(FIXTURE_TEMPLATE, tmp_path / "data", environ=environ)
    with pytest.raises(LocalRuntimeError) as refused:
        runtime.start()
    message = str(refused.value)
    assert expected in message
    assert "API key" not in message
    assert not (tmp_path / "data").exists()  # nothing was started, nothing written


@pytest.mark.e2e
def test_make_run_reports_the_setting_and_exits_1(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = subprocess.run(
        [
            *(sys.executable, "-m", "engram.local", "--template", str(FIXTURE_TEMPLATE)),
            *("--data-dir", str(tmp_path / "data"), "--port", str(port)),
        ],
        cwd=REPO,
        env={**os.environ, "ENGRAM_INACTIVITY_TIMEOUT_SECONDS": "5"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "ENGRAM_INACTIVITY_TIMEOUT_SECONDS=5: must be at least 60" in result.stderr
    assert "Traceback" not in result.stderr

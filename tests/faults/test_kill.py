"""The local server SIGKILLed during concurrent writes and restarted on the same data directory:
every write acknowledged before the kill is there (a bounded run of ``bench/load.py --kill-midway``)."""

from __future__ import annotations

import argparse

import pytest

from bench.load import run


@pytest.mark.e2e
def test_sigkill_mid_load_loses_no_acknowledged_write() -> None:
    args = argparse.Namespace(
        workers=6,
        duration=24.0,  # the kill at 12 s: sessions and messages are acknowledged before it even on a busy machine
        max_requests=400,
        kill_midway=True,
        seed=3,
        idle_rounds=3,
        count_calls=False,
        keep=False,
    )
    result = run(args)
    kill = result["kill"]
    verification = result["verification"]
    assert kill["sessions_before_kill"] > 0
    assert verification["sessions_acknowledged"] >= kill["sessions_before_kill"]
    assert verification["messages_acknowledged"] > 0
    assert verification["problems"] == []
    assert verification["lost"] == 0
    assert verification["sessions_verified"] == verification["sessions_acknowledged"]
    assert verification["memories_verified"] == verification["memories_acknowledged"]

"""The local server SIGKILLed and restarted on the same data directory: every write acknowledged
before the kill is there (a bounded run of ``bench/load.py --kill-midway``), and so is the work the
streams owed it (extraction and outcome learning of sessions that ended just before the kill)."""

from __future__ import annotations

import argparse
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bench.load import run
from engram.testing.server import LocalServer


@pytest.mark.e2e
def test_sigkill_mid_load_loses_no_acknowledged_write() -> None:
    # The kill waits for 30 acknowledged messages however slow the machine is, so what is checked
    # after the restart never depends on speed.
    args = argparse.Namespace(
        workers=6,
        duration=8.0,
        max_requests=600,
        kill_midway=True,
        kill_after=30,
        server_workers=2,
        seed=3,
        idle_rounds=3,
        count_calls=False,
        keep=False,
    )
    result = run(args)
    kill = result["kill"]
    verification = result["verification"]
    assert kill["messages_before_kill"] >= 30
    assert kill["sessions_before_kill"] > 0
    assert verification["sessions_acknowledged"] >= kill["sessions_before_kill"]
    assert verification["messages_acknowledged"] >= kill["messages_before_kill"]
    assert verification["problems"] == []
    assert verification["lost"] == 0
    assert verification["sessions_verified"] == verification["sessions_acknowledged"]
    assert verification["memories_verified"] == verification["memories_acknowledged"]


LANGUAGES = ["Python", "Go", "Rust", "Haskell", "Elixir", "Kotlin", "Ruby", "Scala"]
KEY = "egm_faults_kill_after_ends_0123456789"


def end_sessions_then_kill(data_dir: Path, sessions: int = 32) -> dict[str, Any]:
    """Sessions end (acknowledged, with extraction and an outcome), the server is SIGKILLed at once
    and restarted on the same data: how many sessions were extracted and credited in the end."""
    server = LocalServer(data_dir, KEY, env={"ENGRAM_RATE_LIMIT_PER_MINUTE": "1000000"}).start(timeout=120)
    used = server.request("POST", "/v1/memories", json={"text": "Deploys go out on Tuesdays", "type": "fact"})
    assert used.status_code == 201, used.text
    memory_id = used.json()["id"]
    started_sessions: list[str] = []
    for number in range(sessions):
        started = server.request("POST", "/v1/sessions/start", json={"firstMessage": f"Hello from agent {number}"})
        assert started.status_code == 201, started.text
        session_id = started.json()["session_id"]
        language = LANGUAGES[number % len(LANGUAGES)]
        turn = {
            "turnNumber": 1,
            "messages": [
                {"role": "user", "content": f"My name is Agent{number} and I prefer {language} for scripting"},
                {"role": "assistant", "content": "Noted."},
            ],
            "memoriesUsed": [memory_id],
        }
        assert server.request("POST", f"/v1/sessions/{session_id}/turn", json=turn).status_code == 200
        started_sessions.append(session_id)

    def end(session_id: str) -> str:
        reply = server.request(
            "POST", f"/v1/sessions/{session_id}/end", json={"outcome": "success", "extractMemories": True}
        )
        assert reply.status_code == 200, reply.text
        return session_id

    # The ends arrive together, so their stream work is still queued when the server dies.
    with ThreadPoolExecutor(max_workers=8) as pool:
        ended = list(pool.map(end, started_sessions))
    server.stop(signal.SIGKILL)
    server.start(timeout=120)
    try:

        def extracted() -> list[str]:
            return [s for s in ended if server.request("GET", "/v1/memories", params={"session_id": s}).json()["data"]]

        deadline = time.monotonic() + 90
        while True:
            done = extracted()
            credit = server.request("GET", f"/v1/memories/{memory_id}").json()["feedback_score"]
            if (len(done) == sessions and credit == sessions) or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        time.sleep(2.0)  # anything still arriving would show up as over-credit
        credit = server.request("GET", f"/v1/memories/{memory_id}").json()["feedback_score"]
    finally:
        server.stop(signal.SIGTERM)
    return {"sessions_ended": sessions, "extracted": len(done), "credited": credit}


@pytest.mark.e2e
def test_sigkill_after_acknowledged_ends_loses_no_extraction_and_no_credit(tmp_path: Path) -> None:
    result = end_sessions_then_kill(tmp_path / "data", sessions=16)
    assert result == {"sessions_ended": 16, "extracted": 16, "credited": 16}

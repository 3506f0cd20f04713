"""Each log line names the function that wrote it, however many events run at once (Powertools'
Lambda context is process-wide, so one process must never run two events at once)."""

from __future__ import annotations

import json
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engram.testing.server import LocalServer

KEY = "egm_local_logs_key_0123456789abcdef"


def _session(server: LocalServer, number: int, memory_id: str) -> str:
    started = server.request("POST", "/v1/sessions/start", json={"firstMessage": f"hello {number}"})
    assert started.status_code == 201, started.text
    session_id = str(started.json()["session_id"])
    turn = {
        "turnNumber": 1,
        "messages": [{"role": "user", "content": f"My name is Agent{number} and I prefer Go for tooling"}],
        "memoriesUsed": [memory_id],
    }
    assert server.request("POST", f"/v1/sessions/{session_id}/turn", json=turn).status_code == 200
    assert server.request("POST", "/v1/memories/search", json={"query": "deploys"}).status_code == 200
    end = {"outcome": "success", "extractMemories": True}
    assert server.request("POST", f"/v1/sessions/{session_id}/end", json=end).status_code == 200
    return session_id


@pytest.mark.e2e
@pytest.mark.parametrize("workers", [0, 2])
def test_stream_work_is_logged_under_its_own_function(tmp_path: Path, workers: int) -> None:
    server = LocalServer(
        tmp_path / "data",
        KEY,
        env={"ENGRAM_RATE_LIMIT_PER_MINUTE": "1000000", "POWERTOOLS_LOG_LEVEL": "INFO"},
        args=["--workers", str(workers)],
    ).start(timeout=300)
    try:
        memory = server.request("POST", "/v1/memories", json={"text": "Deploys go out on Tuesdays"})
        assert memory.status_code == 201, memory.text
        with ThreadPoolExecutor(max_workers=6) as pool:
            sessions = list(pool.map(lambda n: _session(server, n, memory.json()["id"]), range(8)))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if all(server.request("GET", "/v1/memories", params={"session_id": s}).json()["data"] for s in sessions):
                break
            time.sleep(0.5)
    finally:
        assert server.stop(signal.SIGTERM) == 0
    lines = []
    for line in server.log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    finished = [line for line in lines if line.get("message") == "session finished"]
    assert len(finished) >= len(sessions)
    assert {line.get("function_name") for line in finished} == {"engram-local-OnSessionChangeFunction"}
    assert {line["session_id"] for line in finished} >= set(sessions)

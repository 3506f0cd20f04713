"""End to end over HTTP against `python -m engram.local` with the real template.yaml."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engram.testing.server import ROOT, LocalServer
from tests.support.clock import same_rate_window

pytestmark = pytest.mark.e2e
KEY = "egm_e2e_test_key_0123456789abcdef"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalServer]:
    srv = LocalServer(tmp_path / "data", KEY, env={"ENGRAM_RATE_LIMIT_PER_MINUTE": "1000"}).start()
    yield srv
    if srv.process is not None:
        srv.stop()


def second_tenant_key(server: LocalServer) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "engram.cli", "keys", "create", "--tenant", "other", "--data-dir", str(server.data_dir)],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        check=True,
    )
    return str(json.loads(out.stdout)["api_key"])


def test_full_session_over_http_with_isolation_idempotency_and_restart(server: LocalServer) -> None:
    assert server.request("GET", "/v1/health", key=None).json()["status"] == "ok"
    created = server.request(
        "POST",
        "/v1/sessions",
        json={"key": "telegram:123456789", "agent_id": "my-assistant", "title": "Support", "context": {"plan": "pro"}},
        headers={"Idempotency-Key": "create-1"},
    )
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    retry = server.request(
        "POST",
        "/v1/sessions",
        json={"key": "telegram:123456789", "agent_id": "my-assistant", "title": "Support", "context": {"plan": "pro"}},
        headers={"Idempotency-Key": "create-1"},
    )
    assert retry.status_code == 201 and retry.json()["id"] == sid and retry.headers["Idempotent-Replayed"] == "true"

    path = "/v1/sessions/telegram%3A123456789"
    for i in range(3):
        reply = server.request(
            "POST", f"{path}/messages", json={"role": "user" if i % 2 == 0 else "assistant", "content": f"message {i}"}
        )
        assert reply.status_code == 201, reply.text
    assert server.request("PUT", f"{path}/context", json={"plan": "team"}).json()["context"] == {"plan": "team"}
    got = server.request("GET", path, params={"include_messages": "true"}).json()
    assert got["id"] == sid and [m["content"] for m in got["messages"]] == ["message 0", "message 1", "message 2"]

    # auth failures in the one error shape
    for key in (None, "not-a-real-key-at-all", ""):
        denied = server.request("GET", "/v1/sessions", key=key)
        assert denied.status_code == 401 and denied.json()["error"]["code"] == "unauthorized"

    # another tenant sees nothing and changes nothing
    other = second_tenant_key(server)
    assert server.request("GET", path, key=other).status_code == 404
    assert server.request("GET", f"/v1/sessions/{sid}", key=other).status_code == 404
    assert (
        server.request("POST", f"{path}/messages", key=other, json={"role": "user", "content": "x"}).status_code == 404
    )
    assert server.request("GET", "/v1/sessions", key=other).json()["total_count"] == 0

    ended = server.request("POST", f"{path}/end", json={"outcome": "success", "summary": "done"})
    assert ended.status_code == 200 and ended.json()["ended"] is True and ended.json()["message_count"] == 3

    # a restart keeps everything, and the same key still works
    assert server.stop() == 0
    server.start()
    after = server.request("GET", path, params={"include_messages": "true"}).json()
    assert after["status"] == "ended" and after["outcome"] == "success" and len(after["messages"]) == 3
    assert server.request("GET", "/v1/sessions", key=other).status_code == 200


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    srv = LocalServer(tmp_path / "data", KEY, env={"ENGRAM_RATE_LIMIT_PER_MINUTE": "5"}).start()
    try:
        same_rate_window()
        with ThreadPoolExecutor(max_workers=4) as pool:
            codes = list(pool.map(lambda _: srv.request("GET", "/v1/sessions").status_code, range(8)))
        assert codes.count(200) == 5 and codes.count(429) == 3
        limited = srv.request("GET", "/v1/sessions")
        assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
        assert limited.json()["error"]["code"] == "rate_limited"
    finally:
        srv.stop(signal.SIGINT)

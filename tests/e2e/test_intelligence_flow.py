"""The seed flows end to end over HTTP: start → 5 turns with refresh → end with extract; the
background stream work happens with no second call, and the next session starts with it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engram.testing.server import LocalServer

pytestmark = pytest.mark.e2e
KEY = "egm_e2e_intelligence_key_0123456789"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalServer]:
    srv = LocalServer(tmp_path / "data", KEY, env={"ENGRAM_RATE_LIMIT_PER_MINUTE": "1000"}).start()
    yield srv
    if srv.process is not None:
        srv.stop()


def wait_for(predicate, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def rest_decision(server: LocalServer, namespace: str) -> str:
    """The seeds' high-tier decision, stored in ``namespace``; its id."""
    pref = server.request(
        "POST",
        "/v1/memories",
        json={
            "text": "User chose REST over GraphQL because the team knows it",
            "type": "decision",
            "tier": "high",
            "namespace": namespace,
        },
    )
    assert pref.status_code == 201, pref.text
    return str(pref.json()["id"])


def test_start_turns_refresh_end_extract_then_next_start(server: LocalServer) -> None:
    pref_id = rest_decision(server, "project-alpha")

    started = server.request(
        "POST", "/v1/sessions/start", json={"firstMessage": "Help me design a REST API", "namespace": "project-alpha"}
    )
    assert started.status_code == 201, started.text
    sid = started.json()["session_id"]  # whether it injected the REST memory: the test below

    lines = [
        "My name is Dana and I am a backend engineer based in Lisbon",
        "I prefer PostgreSQL for anything relational",
        "We decided to use FastAPI for the service",
        "Can you sketch the endpoints for orders?",
        "Let's add pagination to the REST endpoints",
    ]
    for n, line in enumerate(lines, start=1):
        reply = server.request(
            "POST",
            f"/v1/sessions/{sid}/turn",
            json={
                "turnNumber": n,
                "messages": [{"role": "user", "content": line}, {"role": "assistant", "content": "Noted."}],
                "memoriesUsed": [pref_id],
            },
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["refresh_needed"] is (n == 5)
    assert reply.json()["new_context"] is not None

    ended = server.request(
        "POST",
        f"/v1/sessions/{sid}/end",
        json={"outcome": "success", "summary": "Designed the orders API", "extractMemories": True},
    )
    assert ended.status_code == 200 and ended.json()["turn_count"] == 5 and ended.json()["memories_used"] == 1

    # no second call: the stream consumer extracts and learns in the background
    extracted = wait_for(lambda: server.request("GET", "/v1/memories", params={"session_id": sid}).json()["data"])
    assert any("Dana" in m["text"] for m in extracted)
    assert wait_for(lambda: server.request("GET", f"/v1/memories/{pref_id}").json()["feedback_score"] == 1)
    linked = server.request("GET", "/v1/memories", params={"session_id": sid}).json()["total_count"]
    assert server.request("GET", f"/v1/sessions/{sid}").json()["memory_count"] == linked >= len(extracted)

    found = server.request(
        "POST",
        "/v1/memories/search",
        json={
            "query": "Which database does the user prefer?",
            "namespace": "project-alpha",
            "threshold": 0.0,
            "topK": 5,
        },
    )
    assert found.status_code == 200, found.text
    assert any("PostgreSQL" in hit["text"] for hit in found.json()["results"])

    nxt = server.request(
        "POST", "/v1/sessions/start", json={"firstMessage": "What should we build next?", "namespace": "project-alpha"}
    )
    critical = [m["text"] for m in nxt.json()["context"]["critical"]]
    assert any("Dana" in text for text in critical), nxt.json()


def test_start_injects_the_high_memory_the_first_message_is_about(server: LocalServer) -> None:
    pref_id = rest_decision(server, "project-rest")
    other = server.request(
        "POST",
        "/v1/memories",
        json={
            "text": "User prefers morning meetings, usually around 9am",
            "type": "preference",
            "tier": "high",
            "namespace": "project-rest",
        },
    )
    assert other.status_code == 201, other.text
    started = server.request(
        "POST", "/v1/sessions/start", json={"firstMessage": "Help me design a REST API", "namespace": "project-rest"}
    )
    assert started.status_code == 201, started.text
    assert [m["id"] for m in started.json()["context"]["high"]] == [pref_id]  # not the meetings


def test_close_writes_summary_into_session_memory(server: LocalServer) -> None:
    sid = server.request("POST", "/v1/sessions", json={"name": "Customer support chat", "ttl_seconds": 3600}).json()[
        "id"
    ]
    for content in ("What is my current usage?", "Your usage is 42 units this month, below the pro plan limit."):
        server.request(
            "POST",
            f"/v1/sessions/{sid}/messages",
            json={"role": "user" if "?" in content else "assistant", "content": content},
        )
    closed = server.request("POST", f"/v1/sessions/{sid}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    summaries = wait_for(
        lambda: server.request("GET", "/v1/memories", params={"namespace": "session-memory"}).json()["data"]
    )
    assert summaries[0]["type"] == "summary" and summaries[0]["session_id"] == sid
    summarized = server.request("POST", f"/v1/sessions/{sid}/summarize")
    assert summarized.status_code == 200 and summarized.json()["summary"]

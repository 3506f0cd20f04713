"""Every example request of the seed documents (002, 003, 004 and the turn/end/list parts of 000), sent
to the local server with DESIGN.md's spellings, succeeds and returns the documented fields."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engram.testing.server import LocalServer

pytestmark = pytest.mark.e2e
KEY = "egm_e2e_seed_examples_key_012345"

SESSION_FIELDS = {
    "id",
    "agent_id",
    "external_id",
    "project",
    "status",
    "title",
    "summary",
    "metadata",
    "memory_count",
    "started_at",
    "ended_at",
    "created_at",
    "updated_at",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    srv = LocalServer(
        tmp_path_factory.mktemp("seed") / "data", KEY, env={"ENGRAM_RATE_LIMIT_PER_MINUTE": "1000"}
    ).start()
    yield srv
    srv.stop()


def test_seed_002_memoryrelay_sessions(server: LocalServer) -> None:
    created = server.request(
        "POST",
        "/v1/sessions",
        json={
            "agent_id": "my-assistant",
            "project": "northrelay",
            "title": "Fix email queue retry logic",
            "metadata": {"environment": "development"},
        },
    )
    assert created.status_code == 201 and set(created.json()) >= SESSION_FIELDS
    sid = created.json()["id"]
    goc = server.request(
        "POST",
        "/v1/sessions/get-or-create",
        json={
            "external_id": "northrelay-campaign-2026-03",
            "agent_id": "my-assistant",
            "title": "NorthRelay Campaign System Implementation",
            "project": "northrelay-prod",
        },
    )
    assert goc.status_code == 201 and goc.json()["created"] is True and goc.json()["contributors"] == ["my-assistant"]
    again = server.request(
        "POST",
        "/v1/sessions/get-or-create",
        json={"external_id": "northrelay-campaign-2026-03", "agent_id": "code-reviewer"},
    )
    assert again.json()["created"] is False and again.json()["contributors"] == ["my-assistant", "code-reviewer"]
    joined = server.request("GET", "/v1/sessions", params={"agent_id": "code-reviewer"}).json()
    assert [s["id"] for s in joined["data"]] == [goc.json()["id"]] and joined["total_count"] == 1
    listed = server.request(
        "GET", "/v1/sessions", params={"project": "northrelay", "status": "active", "limit": 20}
    ).json()
    assert {"data", "next_cursor", "has_more", "total_count"} <= set(listed) and [s["id"] for s in listed["data"]] == [
        sid
    ]
    assert server.request("GET", "/v1/sessions", params={"offset": 1, "limit": 1}).json()["total_count"] == 2
    empty = server.request("POST", f"/v1/sessions/{sid}/summarize")  # nothing yet: said, not an empty string
    assert empty.status_code == 409 and "nothing to summarise" in empty.json()["error"]["message"]
    linked = [  # "Memories created with a session_id are automatically associated with that session"
        server.request("POST", "/v1/memories", json={"text": text, "session_id": sid}).json()["id"]
        for text in (
            "Identified root cause: retry counter not incremented on timeout",
            "Increased max retry attempts from 3 to 5 and added exponential backoff with jitter",
            "Scratch note to delete",
        )
    ]
    got = server.request("GET", f"/v1/sessions/{sid}", params={"include_memories": "true"}).json()
    assert got["memory_count"] == 3 and len(got["memories"]) == 3
    assert server.request("DELETE", f"/v1/memories/{linked[2]}").status_code == 200
    got = server.request("GET", f"/v1/sessions/{sid}", params={"include_memories": "true"}).json()
    assert got["memory_count"] == 2 and sorted(m["text"] for m in got["memories"])[0].startswith("Identified")
    row = next(s for s in server.request("GET", "/v1/sessions", params={"project": "northrelay"}).json()["data"])
    assert row["id"] == sid and row["memory_count"] == 2
    ended = server.request(
        "POST",
        f"/v1/sessions/{sid}/end",
        json={"summary": "Fixed retry logic: increased max attempts to 5, added exponential backoff with jitter"},
    )
    assert ended.status_code == 200 and ended.json()["status"] == "ended" and ended.json()["ended_at"]
    summarized = server.request("POST", f"/v1/sessions/{sid}/summarize")  # "based on its associated memories"
    body = summarized.json()
    assert summarized.status_code == 200 and {"session_id", "summary", "memory_count", "generated_at"} <= set(body)
    assert body["memory_count"] == 2 and "retry" in body["summary"].lower()
    assert server.request("GET", f"/v1/sessions/{sid}").json()["summary"] == body["summary"]
    deleted = server.request("DELETE", f"/v1/sessions/{sid}")
    assert (
        deleted.status_code == 200 and deleted.json()["deleted"] is True and deleted.json()["cascade_memories"] is False
    )
    assert deleted.json()["deleted_at"]
    assert server.request("GET", f"/v1/sessions/{sid}").status_code == 404


def test_seed_003_fold_sessions(server: LocalServer) -> None:
    created = server.request(
        "POST",
        "/v1/sessions",
        json={
            "name": "Customer support chat",
            "ttl_seconds": 3600,
            "context": {"customer_id": "cust_123", "plan": "pro"},
        },
    )
    body = created.json()
    assert created.status_code == 201 and body["id"].startswith("sess_") and body["name"] == "Customer support chat"
    assert (
        body["status"] == "active" and body["ttl_seconds"] == 3600 and body["expires_at"] and body["message_count"] == 0
    )
    assert body["context"] == {"customer_id": "cust_123", "plan": "pro"}
    sid = body["id"]
    msg = server.request(
        "POST", f"/v1/sessions/{sid}/messages", json={"role": "user", "content": "What is my current usage?"}
    )
    assert msg.status_code == 201
    tool = server.request(
        "POST",
        f"/v1/sessions/{sid}/messages",
        json={"role": "tool", "content": "42", "tool_call_id": "call_9", "tool_name": "usage"},
    )
    assert tool.status_code == 201
    full = server.request("GET", f"/v1/sessions/{sid}").json()  # as the seed: messages come by default
    assert [m["content"] for m in full["messages"]] == ["What is my current usage?", "42"] and full["messages"][1][
        "tool_name"
    ] == "usage"
    ctx = server.request(
        "PUT",
        f"/v1/sessions/{sid}/context",
        json={"customer_id": "cust_123", "plan": "pro", "last_action": "checked_usage"},
    )
    assert ctx.json()["context"] == {"customer_id": "cust_123", "plan": "pro", "last_action": "checked_usage"}
    assert [s["id"] for s in server.request("GET", "/v1/sessions", params={"status": "active"}).json()["data"]].count(
        sid
    ) == 1
    closed = server.request("POST", f"/v1/sessions/{sid}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert sid in [
        s["id"] for s in server.request("GET", "/v1/sessions", params={"status": "completed"}).json()["data"]
    ]
    assert (
        server.request("POST", f"/v1/sessions/{sid}/messages", json={"role": "user", "content": "late"}).status_code
        == 409
    )
    assert server.request("DELETE", f"/v1/sessions/{sid}").status_code == 200


def test_seed_004_string_keys(server: LocalServer) -> None:
    for key in (
        "telegram:123456789",
        "discord:987654321",
        "user:alice:project-planning",
        "alice@example.com",
        "cli:default",
    ):
        assert server.request("POST", "/v1/sessions", json={"key": key}).status_code == 201, key
    encoded = "/v1/sessions/user%3Aalice%3Aproject-planning"
    server.request(
        "POST",
        f"{encoded}/messages",
        json={"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
    )
    detail = server.request("GET", encoded).json()
    assert detail["key"] == "user:alice:project-planning" and detail["message_count"] == 2
    assert detail["created_at"] and detail["updated_at"] and isinstance(detail["age_seconds"], float)
    assert server.request("GET", "/v1/sessions/alice%40example.com").json()["key"] == "alice@example.com"
    keys = server.request("GET", "/v1/sessions", params={"key_prefix": "telegram:"}).json()
    assert [s["key"] for s in keys["data"]] == ["telegram:123456789"] and keys["total_count"] == 1
    missing = server.request("GET", "/v1/sessions/telegram%3A000")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    deleted = server.request("DELETE", "/v1/sessions/discord%3A987654321")
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    export = server.request("GET", f"{encoded}/export").json()
    assert [m["content"] for m in export["messages"]] == ["hi", "hello"]


def test_seed_000_end_and_list(server: LocalServer) -> None:
    sid = server.request(
        "POST", "/v1/sessions/start", json={"firstMessage": "Help me design a REST API", "namespace": "project-alpha"}
    ).json()["session_id"]
    turn = server.request(  # the seed's body as written: "mem_h1" names no memory here
        "POST",
        f"/v1/sessions/{sid}/turn",
        json={
            "turnNumber": 1,
            "messages": [
                {"role": "user", "content": "Help me design a REST API"},
                {"role": "assistant", "content": "Based on your preference for REST..."},
            ],
            "memoriesUsed": ["mem_h1"],
        },
    )
    assert turn.status_code == 200, turn.text
    assert turn.json()["turn_number"] == 1 and turn.json()["refresh_needed"] is False
    assert turn.json()["memories_used"] == [] and turn.json()["unknown_memories"] == ["mem_h1"]
    ended = server.request(
        "POST",
        f"/v1/sessions/{sid}/end",
        json={"outcome": "success", "summary": "Helped user design REST API endpoints"},
    ).json()
    assert {"session_id", "ended", "duration", "turn_count", "memories_used", "outcome"} <= set(ended)
    assert ended["ended"] is True and ended["turn_count"] == 1 and ended["outcome"] == "success"
    recent = server.request("GET", "/v1/sessions", params={"limit": 10}).json()["data"]
    row = next(s for s in recent if s["id"] == sid)
    assert {"started_at", "ended_at", "turn_count", "memories_used", "outcome"} <= set(row)

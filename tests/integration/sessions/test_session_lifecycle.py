"""Messages, context, end/close, expiry and inactivity, delete/purge, listing and paging."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from engram import clock
from tests.support.events import http_event, invoke

T0 = 1_800_000_000.0


@pytest.fixture
def frozen() -> list[float]:
    now = [T0]
    clock.set_clock(lambda: now[0])
    return now


def create(body: dict[str, Any] | None = None, tenant: str = "tenant_a") -> dict[str, Any]:
    reply = invoke("create_session", http_event("POST", "/v1/sessions", body=body or {}, tenant=tenant))
    assert reply.status == 201, reply
    return reply.json


def call(function: str, method: str, route: str, ref: str, body: Any = None, **query: Any) -> Any:
    return invoke(function, http_event(method, route, path_params={"id": ref}, body=body, query=query))


def post_messages(ref: str, body: Any) -> Any:
    return call("append_messages", "POST", "/v1/sessions/{id}/messages", ref, body)


def test_messages_keep_order_and_carry_tool_fields(aws: dict[str, str]) -> None:
    sid = create()["id"]
    one = post_messages(sid, {"role": "user", "content": "What is my current usage?"})
    assert one.status == 201 and one.json["message_count"] == 1
    batch = post_messages(
        sid,
        {
            "messages": [
                {"role": "assistant", "content": "Checking", "tool_call_id": "call_1", "tool_name": "usage_lookup"},
                {"role": "tool", "content": '{"used": 42}', "tool_call_id": "call_1", "tool_name": "usage_lookup"},
                {"role": "assistant", "content": "You used 42 units."},
            ]
        },
    )
    assert [m["seq"] for m in batch.json["messages"]] == [2, 3, 4]
    listing = call("list_messages", "GET", "/v1/sessions/{id}/messages", sid, limit=3)
    assert [m["seq"] for m in listing.json["data"]] == [1, 2, 3]
    assert listing.json["has_more"] is True and listing.json["total_count"] == 4
    assert (
        listing.json["data"][1]["tool_name"] == "usage_lookup" and listing.json["data"][1]["tool_call_id"] == "call_1"
    )
    rest = call("list_messages", "GET", "/v1/sessions/{id}/messages", sid, limit=3, cursor=listing.json["next_cursor"])
    assert [m["content"] for m in rest.json["data"]] == ["You used 42 units."] and rest.json["has_more"] is False
    by_offset = call("list_messages", "GET", "/v1/sessions/{id}/messages", sid, offset=2, limit=5)
    assert [m["seq"] for m in by_offset.json["data"]] == [3, 4]
    detail = call("get_session", "GET", "/v1/sessions/{id}", sid)  # messages by default (seed 003)
    assert [m["role"] for m in detail.json["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert detail.json["message_count"] == 4 and detail.json["messages_has_more"] is False
    assert detail.json["messages_next_cursor"] is None
    first = call("get_session", "GET", "/v1/sessions/{id}", sid, messages_limit=3)
    assert [m["seq"] for m in first.json["messages"]] == [1, 2, 3] and first.json["messages_has_more"] is True
    more = call("list_messages", "GET", "/v1/sessions/{id}/messages", sid, cursor=first.json["messages_next_cursor"])
    assert [m["seq"] for m in more.json["data"]] == [4]
    bare = call("get_session", "GET", "/v1/sessions/{id}", sid, include_messages="false")
    assert bare.status == 200 and bare.json["messages"] is None and bare.json["message_count"] == 4
    assert call("get_session", "GET", "/v1/sessions/{id}", sid, messages_limit=101).status == 422


def test_message_validation_rejects_without_storing(aws: dict[str, str]) -> None:
    sid = create()["id"]
    for body in (
        {"role": "robot", "content": "hi"},
        {"role": "user"},
        {"messages": []},
        {"messages": [{"role": "user", "content": "x"}] * 51},
        {"role": "user", "content": "x" * 32_001},
    ):
        reply = post_messages(sid, body)
        assert reply.status == 422, (body, reply)
    assert call("get_session", "GET", "/v1/sessions/{id}", sid).json["message_count"] == 0
    bad_cursor = call("list_messages", "GET", "/v1/sessions/{id}/messages", sid, cursor="garbage!")
    assert bad_cursor.status == 400 and "cursor" in bad_cursor.json["error"]["message"]


def test_patch_merges_metadata_and_put_context_replaces(aws: dict[str, str]) -> None:
    sid = create({"metadata": {"a": 1, "b": 2}, "context": {"plan": "pro", "step": 1}})["id"]
    patched = call("update_session", "PATCH", "/v1/sessions/{id}", sid, {"metadata": {"b": 3, "c": 4}, "title": "New"})
    assert (
        patched.status == 200
        and patched.json["metadata"] == {"a": 1, "b": 3, "c": 4}
        and patched.json["title"] == "New"
    )
    removed = call("update_session", "PATCH", "/v1/sessions/{id}", sid, {"metadata": {"a": None}})
    assert removed.json["metadata"] == {"b": 3, "c": 4}
    replaced = call(
        "replace_context",
        "PUT",
        "/v1/sessions/{id}/context",
        sid,
        {"customer_id": "cust_123", "last_action": "checked_usage"},
    )
    assert replaced.status == 200 and replaced.json["context"] == {
        "customer_id": "cust_123",
        "last_action": "checked_usage",
    }
    assert call("get_session", "GET", "/v1/sessions/{id}", sid).json["context"] == {
        "customer_id": "cust_123",
        "last_action": "checked_usage",
    }
    not_object = call("replace_context", "PUT", "/v1/sessions/{id}/context", sid, [1, 2])
    assert not_object.status == 422
    empty_patch = call("update_session", "PATCH", "/v1/sessions/{id}", sid, {})
    assert empty_patch.status == 422


def test_end_reports_duration_counts_and_blocks_writes(aws: dict[str, str], frozen: list[float]) -> None:
    sid = create()["id"]
    post_messages(sid, {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]})
    frozen[0] += 342
    ended = call(
        "end_session",
        "POST",
        "/v1/sessions/{id}/end",
        sid,
        {"outcome": "success", "summary": "Helped user design REST API endpoints", "metadata": {"rating": 5}},
    )
    assert ended.status == 200, ended
    body = ended.json
    assert body["ended"] is True and body["session_id"] == sid and body["outcome"] == "success"
    assert body["duration"] == 342 and body["status"] == "ended" and body["message_count"] == 2
    assert body["summary"] == "Helped user design REST API endpoints" and body["metadata"] == {"rating": 5}
    again = call("end_session", "POST", "/v1/sessions/{id}/end", sid, {"outcome": "failure"})
    assert again.status == 409
    blocked = post_messages(sid, {"role": "user", "content": "late"})
    assert blocked.status == 409 and blocked.json["error"]["code"] == "conflict"
    assert call("get_session", "GET", "/v1/sessions/{id}", sid).json["outcome"] == "success"
    bad = call("end_session", "POST", "/v1/sessions/{id}/end", create()["id"], {"outcome": "great"})
    assert bad.status == 422


def test_close_sets_closed_and_completed_filter(aws: dict[str, str]) -> None:
    closed = create({"title": "c"})["id"]
    ended = create({"title": "e"})["id"]
    create({"title": "a"})
    assert call("close_session", "POST", "/v1/sessions/{id}/close", closed).json["status"] == "closed"
    call("end_session", "POST", "/v1/sessions/{id}/end", ended, {"outcome": "partial"})

    def titles(**query: Any) -> list[str]:
        return sorted(
            s["title"] for s in invoke("list_sessions", http_event("GET", "/v1/sessions", query=query)).json["data"]
        )

    assert titles(status="completed") == ["c", "e"]
    assert titles(status="active") == ["a"]
    assert titles(status="closed") == ["c"]


def test_expired_session_is_read_only_410(aws: dict[str, str], frozen: list[float]) -> None:
    sid = create({"ttl_seconds": 60})["id"]
    frozen[0] += 61
    assert call("get_session", "GET", "/v1/sessions/{id}", sid).json["status"] == "expired"
    reply = post_messages(sid, {"role": "user", "content": "hello?"})
    assert reply.status == 410 and reply.json["error"]["code"] == "gone"
    assert call("replace_context", "PUT", "/v1/sessions/{id}/context", sid, {"x": 1}).status == 410
    listing = invoke("list_sessions", http_event("GET", "/v1/sessions", query={"status": "expired"})).json
    assert [s["id"] for s in listing["data"]] == [sid]


def test_idle_session_reads_as_abandoned_before_any_sweep(aws: dict[str, str], frozen: list[float]) -> None:
    sid = create()["id"]
    post_messages(sid, {"role": "user", "content": "hi"})
    last = frozen[0]
    frozen[0] += 7200 + 5
    body = call("get_session", "GET", "/v1/sessions/{id}", sid).json
    assert body["status"] == "ended" and body["outcome"] == "abandoned"
    assert body["ended_at"] == clock.iso(last + 7200)
    assert post_messages(sid, {"role": "user", "content": "back"}).status == 409
    assert [
        s["id"]
        for s in invoke("list_sessions", http_event("GET", "/v1/sessions", query={"status": "ended"})).json["data"]
    ] == [sid]
    assert (
        invoke("list_sessions", http_event("GET", "/v1/sessions", query={"status": "active"})).json["total_count"] == 0
    )


def test_delete_hides_purges_and_frees_the_key(aws: dict[str, str]) -> None:
    sid = create({"key": "telegram:42"})["id"]
    post_messages(sid, {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]})
    deleted = invoke(
        "delete_session",
        http_event("DELETE", "/v1/sessions/{id}", path_params={"id": "telegram:42"}, query={"purge": True}),
    )
    assert deleted.status == 200 and deleted.json["deleted"] is True and deleted.json["purged_messages"] == 2
    assert call("get_session", "GET", "/v1/sessions/{id}", sid).status == 404
    assert call("list_messages", "GET", "/v1/sessions/{id}/messages", sid).status == 404
    assert call("delete_session", "DELETE", "/v1/sessions/{id}", sid).status == 404
    items = boto3.client("dynamodb").query(
        TableName=aws["MessagesTable"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"tenant_a#{sid}"}},
    )["Items"]
    assert items == []
    stored = boto3.client("dynamodb").get_item(TableName=aws["SessionsTable"], Key={"pk": {"S": f"tenant_a#{sid}"}})[
        "Item"
    ]
    assert "deleted_at" in stored and "purge_at" in stored  # DynamoDB TTL removes it after retention
    assert create({"key": "telegram:42"})["id"] != sid


def test_list_filters_paging_and_total_count(aws: dict[str, str], frozen: list[float]) -> None:
    ids = []
    for i in range(7):
        frozen[0] += 1
        ids.append(
            create({"agent_id": "a1" if i % 2 else "a2", "project": "p", "key": f"telegram:{i}", "namespace": "ns"})[
                "id"
            ]
        )
    create({"project": "other", "key": "discord:1"})
    page1 = invoke("list_sessions", http_event("GET", "/v1/sessions", query={"project": "p", "limit": 3})).json
    assert page1["total_count"] == 7 and page1["has_more"] is True
    assert [s["id"] for s in page1["data"]] == ids[::-1][:3]  # newest first
    page2 = invoke(
        "list_sessions",
        http_event("GET", "/v1/sessions", query={"project": "p", "limit": 3, "cursor": page1["next_cursor"]}),
    ).json
    assert [s["id"] for s in page2["data"]] == ids[::-1][3:6]
    offset = invoke(
        "list_sessions", http_event("GET", "/v1/sessions", query={"project": "p", "limit": 3, "offset": 6})
    ).json
    assert [s["id"] for s in offset["data"]] == [ids[0]] and offset["has_more"] is False
    agents = invoke("list_sessions", http_event("GET", "/v1/sessions", query={"agent_id": "a1"})).json
    assert agents["total_count"] == 3
    prefix = invoke("list_sessions", http_event("GET", "/v1/sessions", query={"key_prefix": "telegram:"})).json
    assert prefix["total_count"] == 7
    for bad in ({"limit": 0}, {"limit": 101}, {"status": "sleeping"}, {"offset": -1}):
        assert invoke("list_sessions", http_event("GET", "/v1/sessions", query=bad)).status == 422, bad


def test_agent_filter_finds_sessions_joined_with_get_or_create(aws: dict[str, str], frozen: list[float]) -> None:
    def goc(key: str, agent: str) -> dict[str, Any]:
        body = {"external_id": key, "agent_id": agent}
        return invoke("get_or_create_session", http_event("POST", "/v1/sessions/get-or-create", body=body)).json

    def listed(**query: Any) -> dict[str, Any]:
        reply = invoke("list_sessions", http_event("GET", "/v1/sessions", query=query))
        assert reply.status == 200, reply
        return reply.json

    joined = goc("northrelay-campaign-2026-03", "my-assistant")["id"]
    assert goc("northrelay-campaign-2026-03", "code-reviewer")["contributors"] == ["my-assistant", "code-reviewer"]
    frozen[0] += 1
    owned = create({"agent_id": "code-reviewer", "project": "p"})["id"]
    frozen[0] += 1
    create({"agent_id": "my-assistant"})
    every = listed(agent_id="code-reviewer")
    assert [s["id"] for s in every["data"]] == [owned, joined] and every["total_count"] == 2
    first = listed(agent_id="code-reviewer", limit=1)
    assert [s["id"] for s in first["data"]] == [owned] and first["has_more"] is True
    rest = listed(agent_id="code-reviewer", limit=1, cursor=first["next_cursor"])
    assert [s["id"] for s in rest["data"]] == [joined] and rest["has_more"] is False
    assert [s["id"] for s in listed(agent_id="code-reviewer", project="p")["data"]] == [owned]
    assert listed(agent_id="my-assistant")["total_count"] == 2
    entries = boto3.client("dynamodb").scan(
        TableName=aws["SessionsTable"], FilterExpression="kind = :a", ExpressionAttributeValues={":a": {"S": "agent"}}
    )["Items"]
    assert sorted(e["pk"]["S"] for e in entries if e["session_id"]["S"] == joined) == [
        f"tenant_a#{joined}#agent#code-reviewer",
        f"tenant_a#{joined}#agent#my-assistant",
    ]
    assert call("delete_session", "DELETE", "/v1/sessions/{id}", joined).status == 200
    assert [s["id"] for s in listed(agent_id="code-reviewer")["data"]] == [owned]
    other = invoke(
        "list_sessions", http_event("GET", "/v1/sessions", query={"agent_id": "code-reviewer"}, tenant="tenant_b")
    )
    assert other.status == 200 and other.json["data"] == [] and other.json["total_count"] == 0


def test_export_bundles_session_and_messages(aws: dict[str, str]) -> None:
    sid = create({"title": "export me"})["id"]
    post_messages(sid, {"role": "user", "content": "remember this"})
    doc = call("export_session", "GET", "/v1/sessions/{id}/export", sid).json
    assert doc["format"] == "engram.session.v1" and doc["session"]["title"] == "export me"
    assert [m["content"] for m in doc["messages"]] == ["remember this"]
    assert isinstance(doc["memories"], list)


def test_idempotent_retry_replays_and_stores_once(aws: dict[str, str]) -> None:
    event = http_event("POST", "/v1/sessions", body={"title": "once"}, headers={"Idempotency-Key": "abc-123"})
    first = invoke("create_session", event)
    second = invoke(
        "create_session",
        http_event("POST", "/v1/sessions", body={"title": "once"}, headers={"Idempotency-Key": "abc-123"}),
    )
    assert first.status == second.status == 201
    assert first.json["id"] == second.json["id"] and second.headers["idempotent-replayed"] == "true"
    other_body = invoke(
        "create_session",
        http_event("POST", "/v1/sessions", body={"title": "twice"}, headers={"Idempotency-Key": "abc-123"}),
    )
    assert other_body.status == 422 and other_body.json["error"]["code"] == "idempotency_key_reused"
    other_tenant = invoke(
        "create_session",
        http_event(
            "POST", "/v1/sessions", body={"title": "once"}, headers={"Idempotency-Key": "abc-123"}, tenant="tenant_b"
        ),
    )
    assert other_tenant.status == 201 and other_tenant.json["id"] != first.json["id"]
    assert invoke("list_sessions", http_event("GET", "/v1/sessions")).json["total_count"] == 1

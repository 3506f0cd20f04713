"""start, turn (refresh, retries, parallel turns), extract, summarize — handlers against moto."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from tests.support.events import http_event, invoke
from tests.support.streams import settle_accesses


def memory(
    text: str, tier: str, namespace: str = "project-alpha", type_: str = "fact", tenant: str = "tenant_a"
) -> str:
    reply = invoke(
        "create_memory",
        http_event(
            "POST",
            "/v1/memories",
            body={"text": text, "tier": tier, "namespace": namespace, "type": type_},
            tenant=tenant,
        ),
    )
    assert reply.status == 201, reply
    return str(reply.json["id"])


def start(body: dict[str, Any], tenant: str = "tenant_a") -> Any:
    return invoke("start_session", http_event("POST", "/v1/sessions/start", body=body, tenant=tenant))


def turn(sid: str, body: dict[str, Any], tenant: str = "tenant_a") -> Any:
    return invoke(
        "record_turn", http_event("POST", "/v1/sessions/{id}/turn", path_params={"id": sid}, body=body, tenant=tenant)
    )


def test_start_injects_critical_and_relevant_high_memories(aws: dict[str, str]) -> None:
    identity = memory("User is John, a software engineer based in Singapore", "critical", type_="identity")
    tenant_wide = memory(
        "User's name is John and he prefers concise answers", "critical", namespace="default", type_="identity"
    )
    rest = memory(
        "User chose REST over GraphQL because the team is more familiar with REST API design", "high", type_="decision"
    )
    memory("User's favourite food is laksa from a hawker centre", "high")
    memory("Some other project's critical fact", "critical", namespace="project-beta")
    memory("Another tenant's identity", "critical", tenant="tenant_b")
    reply = start({"firstMessage": "Help me design a REST API", "namespace": "project-alpha"})
    assert reply.status == 201, reply
    body = reply.json
    assert body["session_id"].startswith("sess_") and body["session"]["namespace"] == "project-alpha"
    assert {m["id"] for m in body["context"]["critical"]} == {identity, tenant_wide}
    high_ids = [m["id"] for m in body["context"]["high"]]
    assert rest in high_ids
    assert all(m["type"] and m["text"] and m["title"] for m in body["context"]["critical"] + body["context"]["high"])
    stats = body["stats"]
    assert stats["critical_count"] == 2 and stats["high_count"] == len(high_ids) and stats["tokens_injected"] > 0
    settle_accesses()  # the start logged its injected memories; the memories stream counts them
    got = invoke("get_memory", http_event("GET", "/v1/memories/{id}", path_params={"id": identity})).json
    assert got["access_count"] == 1  # injected memories count as accesses


def test_start_respects_the_token_budget_critical_first(aws: dict[str, str]) -> None:
    for i in range(5):
        memory(f"Critical fact number {i}: " + "detail " * 40, "critical")
    body = start({"namespace": "project-alpha", "token_budget": 150}).json
    assert 0 < body["stats"]["critical_count"] < 5 and body["stats"]["truncated"] is True
    assert body["stats"]["tokens_injected"] <= 150


def five_turns_about_rest(sid: str, used: str) -> list[dict[str, Any]]:
    replies = []
    for n in range(1, 6):
        reply = turn(
            sid,
            {
                "turnNumber": n,
                "messages": [
                    {"role": "user", "content": f"question {n} about REST"},
                    {"role": "assistant", "content": "answer"},
                ],
                "memoriesUsed": [used],
            },
        )
        assert reply.status == 200, reply
        replies.append(reply.json)
    return replies


def test_turns_number_refresh_and_replay(aws: dict[str, str]) -> None:
    used = memory("User prefers REST over GraphQL", "high", type_="preference")
    started = start({"namespace": "project-alpha", "first_message": "hi"}).json
    sid = started["session_id"]
    replies = five_turns_about_rest(sid, used)
    assert [r["turn_number"] for r in replies] == [1, 2, 3, 4, 5]
    assert [r["refresh_needed"] for r in replies] == [False, False, False, False, True]
    assert replies[4]["new_context"] is not None
    injected_at_refresh = used in [m["id"] for m in replies[4]["new_context"]["high"]]  # see the xfail below
    assert replies[0]["memories_used"] == [used]
    retry = turn(
        sid,
        {
            "turnNumber": 5,
            "messages": [
                {"role": "user", "content": "question 5 about REST"},
                {"role": "assistant", "content": "answer"},
            ],
            "memoriesUsed": [used],
        },
    )
    assert retry.status == 200 and retry.json == replies[4]
    clash = turn(sid, {"turnNumber": 5, "messages": [{"role": "user", "content": "different"}]})
    assert clash.status == 409
    auto = turn(sid, {"messages": [{"role": "user", "content": "no number"}]})
    assert auto.json["turn_number"] == 6
    session = invoke("get_session", http_event("GET", "/v1/sessions/{id}", path_params={"id": sid})).json
    assert session["turn_count"] == 6 and session["message_count"] == 11 and session["memories_used"] == 1
    settle_accesses()
    # used in turns 1-5 and injected by turn 5's refresh and the start (if they did): the retry counts nothing
    injected_at_start = used in [m["id"] for m in started["context"]["high"]]
    got = invoke("get_memory", http_event("GET", "/v1/memories/{id}", path_params={"id": used})).json
    assert got["access_count"] == 5 + injected_at_refresh + injected_at_start


@pytest.mark.xfail(
    strict=True,
    reason=(
        "issue 11: a lone memory sharing one word of the recent turns ('REST'), no fact slot asked, "
        "scores 0.26 < 0.7 with the LoCoMo-fitted ranker (hashing embedder)"
    ),
)
def test_refresh_injects_the_high_memory_the_recent_turns_are_about(aws: dict[str, str]) -> None:
    used = memory("User prefers REST over GraphQL", "high", type_="preference")
    sid = start({"namespace": "project-alpha", "first_message": "hi"}).json["session_id"]
    replies = five_turns_about_rest(sid, used)
    assert replies[4]["refresh_needed"] is True
    assert used in [m["id"] for m in replies[4]["new_context"]["high"]]


def test_parallel_turns_never_share_a_number_or_lose_a_message(aws: dict[str, str]) -> None:
    sid = start({"first_message": "go"}).json["session_id"]
    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(lambda i: turn(sid, {"messages": [{"role": "user", "content": f"m{i}"}]}), range(12)))
    assert all(r.status == 200 for r in replies), [r for r in replies if r.status != 200]
    assert sorted(r.json["turn_number"] for r in replies) == list(range(1, 13))
    rows = boto3.client("dynamodb").query(
        TableName=aws["MessagesTable"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"tenant_a#{sid}"}},
    )["Items"]
    assert sorted(r["content"]["S"] for r in rows) == sorted(f"m{i}" for i in range(12))
    assert sorted(int(r["seq"]["N"]) for r in rows) == list(range(1, 13))


def test_turn_bad_input_and_other_tenant(aws: dict[str, str]) -> None:
    sid = start({}).json["session_id"]
    for body in (
        {"messages": []},
        {"messages": [{"role": "user", "content": "x"}], "memories_used": [""]},
        {"messages": [{"role": "user", "content": "x"}], "memories_used": ["m" * 256]},
        {"messages": [{"role": "user", "content": "x"}], "turn_number": 0},
    ):
        assert turn(sid, body).status == 422, body
    assert turn(sid, {"messages": [{"role": "user", "content": "x"}]}, tenant="tenant_b").status == 404
    assert (
        invoke("get_session", http_event("GET", "/v1/sessions/{id}", path_params={"id": sid})).json["turn_count"] == 0
    )


def test_memories_used_accepts_any_id_and_answers_the_unknown_ones(aws: dict[str, str]) -> None:
    mine = memory("User prefers REST over GraphQL", "high")
    theirs = memory("Tenant b's own memory", "high", tenant="tenant_b")
    sid = start({"firstMessage": "Help me design a REST API"}).json["session_id"]
    reply = turn(
        sid,
        {
            "turnNumber": 1,
            "messages": [{"role": "user", "content": "Help me design a REST API"}],
            "memoriesUsed": ["mem_h1", mine, theirs],
        },
    )
    assert reply.status == 200, reply
    assert reply.json["memories_used"] == [mine] and reply.json["unknown_memories"] == ["mem_h1", theirs]
    stored = boto3.resource("dynamodb").Table(aws["SessionsTable"]).get_item(Key={"pk": f"tenant_a#{sid}"})["Item"]
    assert stored["memories_used"] == {mine}
    other = invoke("get_memory", http_event("GET", "/v1/memories/{id}", path_params={"id": theirs}, tenant="tenant_b"))
    assert other.json["access_count"] == 0
    ended = invoke(
        "end_session",
        http_event("POST", "/v1/sessions/{id}/end", path_params={"id": sid}, body={"memoriesUsed": [theirs, mine]}),
    )
    assert ended.status == 200, ended
    assert ended.json["unknown_memories"] == [theirs] and ended.json["memories_used"] == 1


SEED_CONVERSATION = [
    {"role": "user", "content": "My name is John and I live in Singapore"},
    {"role": "assistant", "content": "Nice to meet you, John!"},
    {"role": "user", "content": "I prefer morning meetings, usually around 9am"},
    {"role": "assistant", "content": "Got it, I will remember that preference."},
]


def test_extract_matches_the_seed_and_save_dedupes(aws: dict[str, str]) -> None:
    reply = invoke("extract", http_event("POST", "/v1/extract", body={"conversation": SEED_CONVERSATION}))
    assert reply.status == 200, reply
    suggestions = reply.json["suggestions"]
    assert [(s["memory_type"], s["suggested_tier"]) for s in suggestions] == [
        ("identity", "critical"),
        ("preference", "high"),
    ]
    assert suggestions[0]["title"] == "User Identity: My name is John and I live in Singapore"
    assert reply.json["tokens_analyzed"] > 0 and reply.json["saved"] == 0
    saved = invoke(
        "extract",
        http_event("POST", "/v1/extract", body={"conversation": SEED_CONVERSATION, "namespace": "crm", "save": True}),
    ).json
    assert [s["action"] for s in saved["suggestions"]] == ["created", "created"]
    contexts = [
        invoke("get_memory", http_event("GET", "/v1/memories/{id}", path_params={"id": s["memory_id"]})).json["context"]
        for s in saved["suggestions"]
    ]
    assert contexts == [None, "Nice to meet you, John!"]  # the message before each source message
    again = invoke(
        "extract",
        http_event("POST", "/v1/extract", body={"conversation": SEED_CONVERSATION, "namespace": "crm", "save": True}),
    ).json
    assert [s["action"] for s in again["suggestions"]] == ["reinforced", "reinforced"]
    assert [s["memory_id"] for s in again["suggestions"]] == [s["memory_id"] for s in saved["suggestions"]]
    listing = invoke("list_memories", http_event("GET", "/v1/memories", query={"namespace": "crm"})).json
    assert listing["total_count"] == 2
    assert all(m["feedback_score"] == 1 for m in listing["data"])
    assert invoke("extract", http_event("POST", "/v1/extract", body={"conversation": []})).status == 422


def test_summarize_saves_the_summary(aws: dict[str, str]) -> None:
    sid = start({}).json["session_id"]
    turn(
        sid,
        {
            "messages": [
                {
                    "role": "user",
                    "content": "The email queue retries failed because the counter was not incremented on timeout.",
                },
                {
                    "role": "assistant",
                    "content": "We increased max attempts to 5 and added exponential backoff with jitter.",
                },
            ]
        },
    )
    reply = invoke("summarize_session", http_event("POST", "/v1/sessions/{id}/summarize", path_params={"id": sid}))
    assert reply.status == 200, reply
    body = reply.json
    assert body["session_id"] == sid and body["summary"] and body["generated_at"].endswith("Z")
    assert body["message_count"] == 2 and body["memory_count"] == 0
    stored = invoke("get_session", http_event("GET", "/v1/sessions/{id}", path_params={"id": sid})).json
    assert stored["summary"] == body["summary"]
    assert (
        invoke(
            "summarize_session",
            http_event("POST", "/v1/sessions/{id}/summarize", path_params={"id": sid}, tenant="tenant_b"),
        ).status
        == 404
    )


def test_summarize_builds_from_memories_and_refuses_an_empty_session(aws: dict[str, str]) -> None:
    """Seed 002: a session whose memories were created with its session_id (no messages) is
    summarised from them; a session with neither answers 409 and stores no summary."""
    sid = start({}).json["session_id"]
    for text in (
        "Identified root cause: retry counter not incremented on timeout",
        "Increased max retry attempts from 3 to 5 and added exponential backoff with jitter",
    ):
        created = invoke("create_memory", http_event("POST", "/v1/memories", body={"text": text, "session_id": sid}))
        assert created.status == 201, created
    reply = invoke("summarize_session", http_event("POST", "/v1/sessions/{id}/summarize", path_params={"id": sid}))
    assert reply.status == 200, reply
    assert "retry" in reply.json["summary"].lower() and reply.json["memory_count"] == 2
    assert reply.json["message_count"] == 0
    stored = invoke("get_session", http_event("GET", "/v1/sessions/{id}", path_params={"id": sid})).json
    assert stored["summary"] == reply.json["summary"]

    empty = start({}).json["session_id"]
    refused = invoke("summarize_session", http_event("POST", "/v1/sessions/{id}/summarize", path_params={"id": empty}))
    assert refused.status == 409 and refused.json["error"]["code"] == "conflict"
    assert "no messages and no memories" in refused.json["error"]["message"]
    after = invoke("get_session", http_event("GET", "/v1/sessions/{id}", path_params={"id": empty})).json
    assert after["summary"] is None

"""Races through the real handlers against moto: no lost update, no duplicate, no torn state."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from tests.support.events import http_event, invoke

WORKERS = 8


def parallel(fn: Any, n: int) -> list[Any]:
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(fn, range(n)))


def test_get_or_create_race_on_one_key_makes_one_session_with_every_contributor(aws: dict[str, str]) -> None:
    def call(i: int) -> Any:
        body = {"external_id": "northrelay-campaign-2026-03", "agent_id": f"agent-{i}"}
        return invoke("get_or_create_session", http_event("POST", "/v1/sessions/get-or-create", body=body))

    replies = parallel(call, 16)
    assert all(r.status in (200, 201) for r in replies), [r for r in replies if r.status not in (200, 201)]
    assert len({r.json["id"] for r in replies}) == 1
    assert sum(r.json["created"] for r in replies) == 1
    items = boto3.client("dynamodb").scan(TableName=aws["SessionsTable"])["Items"]
    assert sum(1 for i in items if i.get("kind", {}).get("S") == "session") == 1
    final = invoke(
        "get_session", http_event("GET", "/v1/sessions/{id}", path_params={"id": "northrelay-campaign-2026-03"})
    ).json
    assert sorted(final["contributors"]) == sorted(f"agent-{i}" for i in range(16))


def test_concurrent_message_appends_lose_nothing(aws: dict[str, str]) -> None:
    sid = invoke("create_session", http_event("POST", "/v1/sessions", body={})).json["id"]

    def call(i: int) -> Any:
        body = {"messages": [{"role": "user", "content": f"{i}-a"}, {"role": "assistant", "content": f"{i}-b"}]}
        return invoke(
            "append_messages", http_event("POST", "/v1/sessions/{id}/messages", path_params={"id": sid}, body=body)
        )

    replies = parallel(call, 20)
    assert all(r.status == 201 for r in replies)
    listing = invoke(
        "list_messages", http_event("GET", "/v1/sessions/{id}/messages", path_params={"id": sid}, query={"limit": 100})
    ).json
    assert listing["total_count"] == 40 and [m["seq"] for m in listing["data"]] == list(range(1, 41))
    contents = [m["content"] for m in listing["data"]]
    for i in range(20):  # each request's messages stay together and in order
        a = contents.index(f"{i}-a")
        assert contents[a + 1] == f"{i}-b"


def test_concurrent_context_replacements_leave_one_whole_object(aws: dict[str, str]) -> None:
    sid = invoke("create_session", http_event("POST", "/v1/sessions", body={})).json["id"]

    def call(i: int) -> Any:
        body = {"writer": i, "payload": [i] * 50, "nested": {"writer": i}}
        return invoke(
            "replace_context", http_event("PUT", "/v1/sessions/{id}/context", path_params={"id": sid}, body=body)
        )

    replies = parallel(call, 16)
    assert all(r.status == 200 for r in replies)
    context = invoke("get_session", http_event("GET", "/v1/sessions/{id}", path_params={"id": sid})).json["context"]
    writer = context["writer"]
    assert context == {"writer": writer, "payload": [writer] * 50, "nested": {"writer": writer}}


def test_concurrent_metadata_merges_keep_every_key(aws: dict[str, str]) -> None:
    sid = invoke("create_session", http_event("POST", "/v1/sessions", body={"metadata": {"base": True}})).json["id"]

    def call(i: int) -> Any:
        return invoke(
            "update_session",
            http_event("PATCH", "/v1/sessions/{id}", path_params={"id": sid}, body={"metadata": {f"k{i}": i}}),
        )

    replies = parallel(call, 12)
    assert all(r.status == 200 for r in replies), [r for r in replies if r.status != 200]
    metadata = invoke("get_session", http_event("GET", "/v1/sessions/{id}", path_params={"id": sid})).json["metadata"]
    assert metadata == {"base": True, **{f"k{i}": i for i in range(12)}}


def test_concurrent_reinforcements_of_one_memory_all_count(aws: dict[str, str]) -> None:
    mid = invoke("create_memory", http_event("POST", "/v1/memories", body={"text": "User prefers tea"})).json["id"]

    def call(i: int) -> Any:
        value = 1 if i % 4 else -1
        return invoke(
            "reinforce_memory",
            http_event("POST", "/v1/memories/{id}/reinforce", path_params={"id": mid}, body={"value": value}),
        )

    replies = parallel(call, 16)
    assert all(r.status == 200 for r in replies), [r for r in replies if r.status != 200]
    final = invoke("get_memory", http_event("GET", "/v1/memories/{id}", path_params={"id": mid})).json
    assert final["feedback_score"] == 12 - 4


def test_memory_count_stays_exact_under_concurrent_creates_deletes_and_turns(aws: dict[str, str]) -> None:
    sid = invoke("create_session", http_event("POST", "/v1/sessions", body={})).json["id"]

    def create_or_turn(i: int) -> Any:
        if i % 3 == 2:  # turns write the same session item while memories are counted on it
            body = {"messages": [{"role": "user", "content": f"turn {i}"}]}
            return invoke(
                "record_turn", http_event("POST", "/v1/sessions/{id}/turn", path_params={"id": sid}, body=body)
            )
        body = {"text": f"Fact number {i} about the session", "session_id": sid}
        return invoke("create_memory", http_event("POST", "/v1/memories", body=body))

    replies = parallel(create_or_turn, 18)
    assert all(r.status in (200, 201) for r in replies), [r for r in replies if r.status not in (200, 201)]
    created = [r.json["id"] for r in replies if r.status == 201]
    doomed = created[:4] * 2  # every delete sent twice: the second finds nothing and uncounts nothing
    deletes = parallel(
        lambda i: invoke("delete_memory", http_event("DELETE", "/v1/memories/{id}", path_params={"id": doomed[i]})),
        len(doomed),
    )
    assert sorted(r.status for r in deletes) == [200] * 4 + [404] * 4
    session = invoke("get_session", http_event("GET", "/v1/sessions/{id}", path_params={"id": sid})).json
    assert len(created) == 12 and session["memory_count"] == 8 and session["turn_count"] == 6

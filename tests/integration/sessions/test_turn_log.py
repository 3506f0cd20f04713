"""GET /v1/sessions/{id}/turns: what a session's start injected (turn 0, stored as ids), what each
turn used and what a refresh injected, in turn order, paged — handlers against moto."""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.support.events import http_event, invoke

TEXTS = {
    "identity": "User is Maya, a data engineer based in Oslo",
    "rest": "User chose REST over GraphQL because the team knows REST API design well",
    "style": "User prefers short answers with code samples",
}


def memory(text: str, tier: str, type_: str = "fact", tenant: str = "tenant_a") -> str:
    body = {"text": text, "tier": tier, "namespace": "project-alpha", "type": type_}
    reply = invoke("create_memory", http_event("POST", "/v1/memories", body=body, tenant=tenant))
    assert reply.status == 201, reply
    return str(reply.json["id"])


def turns(ref: str, tenant: str = "tenant_a", **query: Any) -> Any:
    event = http_event("GET", "/v1/sessions/{id}/turns", path_params={"id": ref}, query=query, tenant=tenant)
    return invoke("list_turns", event)


def record_turn(sid: str, n: int, used: list[str]) -> dict[str, Any]:
    body = {
        "turnNumber": n,
        "messages": [{"role": "user", "content": f"About the REST API, part {n}"}],
        "memoriesUsed": used,
    }
    reply = invoke("record_turn", http_event("POST", "/v1/sessions/{id}/turn", path_params={"id": sid}, body=body))
    assert reply.status == 200, reply
    return dict(reply.json)


def turn_items(aws: dict[str, str], sid: str) -> list[dict[str, Any]]:
    """The session's start and turn records as DynamoDB holds them."""
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(aws["MessagesTable"])
    return [i for i in table.scan()["Items"] if str(i["pk"]).endswith(f"{sid}#turn")]


def test_turn_log_names_what_start_injected_each_turn_used_and_a_refresh_injected(aws: dict[str, str]) -> None:
    identity = memory(TEXTS["identity"], "critical", "identity")
    rest = memory(TEXTS["rest"], "high", "decision")
    style = memory(TEXTS["style"], "normal", "preference")
    started = invoke(
        "start_session",
        http_event(
            "POST", "/v1/sessions/start", body={"firstMessage": "Design a REST API", "namespace": "project-alpha"}
        ),
    )
    assert started.status == 201, started
    sid = started.json["session_id"]
    injected = [(m["id"], "critical") for m in started.json["context"]["critical"]] + [
        (m["id"], "high") for m in started.json["context"]["high"]
    ]
    assert (identity, "critical") in injected and (rest, "high") in injected
    answers = [record_turn(sid, n, [style] if n != 2 else [style, "mem_nope"]) for n in range(1, 6)]
    assert answers[4]["refresh_needed"] is True  # every 5th turn

    out = turns(sid)
    assert out.status == 200, out
    body = out.json
    assert [(e["turn_number"], e["kind"]) for e in body["data"]] == [(0, "start")] + [(n, "turn") for n in range(1, 6)]
    assert body["total_count"] == 6 and body["has_more"] is False
    start = body["data"][0]
    assert [(m["id"], m["group"]) for m in start["injected"]] == injected
    assert {m["id"]: m["title"] for m in start["injected"]}[identity] == started.json["context"]["critical"][0]["title"]
    assert start["stats"] == started.json["stats"] and start["memories_used"] == [] and start["created_at"]
    one, two, five = body["data"][1], body["data"][2], body["data"][5]
    assert [m["id"] for m in one["memories_used"]] == [style] and one["injected"] == [] and not one["refresh_needed"]
    assert two["unknown_memories"] == ["mem_nope"] and [m["id"] for m in two["memories_used"]] == [style]
    refreshed = answers[4]["new_context"]
    assert five["refresh_needed"] is True and five["stats"] == answers[4]["stats"]
    assert [m["id"] for m in five["injected"]] == [m["id"] for m in refreshed["critical"] + refreshed["high"]]

    # stored: the start record holds the ids it injected, never their text
    items = {int(i["seq"]): i for i in turn_items(aws, sid)}
    assert sorted(items) == [0, 1, 2, 3, 4, 5]
    stored_start = json.dumps(items[0]["response"], default=str)
    assert identity in stored_start and rest in stored_start
    assert not any(text in stored_start for text in TEXTS.values())

    # paged like messages
    first = turns(sid, limit=2).json
    assert [e["turn_number"] for e in first["data"]] == [0, 1] and first["has_more"] and first["total_count"] == 6
    second = turns(sid, limit=3, cursor=first["next_cursor"]).json
    assert [e["turn_number"] for e in second["data"]] == [2, 3, 4] and second["total_count"] == 6

    # a memory deleted since is named by id only
    assert invoke("delete_memory", http_event("DELETE", "/v1/memories/{id}", path_params={"id": style})).status == 200
    after = turns(sid).json["data"][1]["memories_used"]
    assert after == [{"id": style, "group": None, "score": None, "title": None, "exists": False}]


def test_a_session_made_without_start_has_turns_and_no_start_entry(aws: dict[str, str]) -> None:
    sid = invoke("create_session", http_event("POST", "/v1/sessions", body={"key": "chat:7"})).json["id"]
    record_turn(sid, 1, [])
    body = turns("chat:7").json  # addressed by key too
    assert [(e["turn_number"], e["kind"]) for e in body["data"]] == [(1, "turn")] and body["total_count"] == 1


def test_turn_log_refuses_bad_input_and_other_tenants(aws: dict[str, str]) -> None:
    sid = invoke("create_session", http_event("POST", "/v1/sessions", body={})).json["id"]
    for query, status in (({"limit": "0"}, 422), ({"limit": "101"}, 422), ({"cursor": "garbage!"}, 400)):
        reply = turns(sid, **query)
        assert reply.status == status, (query, reply)
        assert set(reply.json) == {"error", "request_id"} and reply.json["error"]["message"]
    missing = turns("sess_01JBZ8Q7X4N5M6P7Q8R9S0T1V2")
    assert missing.status == 404 and missing.json["error"]["code"]
    assert turns(sid, tenant="tenant_b").status == 404  # not even its existence

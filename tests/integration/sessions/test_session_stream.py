"""on_session_change with the real stream records moto produced: extraction, outcome learning,
summaries on close, TTL cascade, idempotent redelivery, a poison record in a batch."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3

from tests.support.events import LambdaContext, function_module, http_event, invoke
from tests.support.streams import StreamReader, lambda_event, ttl_remove_record


def process(records: list[dict[str, Any]]) -> dict[str, Any]:
    return function_module("on_session_change").process(lambda_event(records), LambdaContext())


def memory(text: str, tier: str = "high") -> str:
    return str(
        invoke("create_memory", http_event("POST", "/v1/memories", body={"text": text, "tier": tier})).json["id"]
    )


def get_memory(mid: str) -> dict[str, Any]:
    return invoke("get_memory", http_event("GET", "/v1/memories/{id}", path_params={"id": mid})).json


def new_session(body: dict[str, Any] | None = None) -> str:
    return str(invoke("create_session", http_event("POST", "/v1/sessions", body=body or {})).json["id"])


def turn(sid: str, content: str, used: list[str] | None = None) -> None:
    reply = invoke(
        "record_turn",
        http_event(
            "POST",
            "/v1/sessions/{id}/turn",
            path_params={"id": sid},
            body={"messages": [{"role": "user", "content": content}], "memories_used": used or []},
        ),
    )
    assert reply.status == 200, reply


def end(sid: str, body: dict[str, Any]) -> None:
    assert (
        invoke("end_session", http_event("POST", "/v1/sessions/{id}/end", path_params={"id": sid}, body=body)).status
        == 200
    )


def test_end_with_extract_and_success_learns_once(aws: dict[str, str]) -> None:
    stream = StreamReader(aws["SessionsTable"])
    used = memory("User prefers REST over GraphQL")
    sid = new_session({"namespace": "default"})
    turn(sid, "My name is Priya and I work at Acme as a data engineer", [used])
    turn(sid, "I prefer morning meetings, usually around 9am")
    end(sid, {"outcome": "success", "extract_memories": True})
    records = stream.new_records()
    assert records[0]["eventName"] == "INSERT" and records[-1]["eventName"] == "MODIFY"

    result = process(records)
    assert result == {"batchItemFailures": []}
    extracted = invoke("list_memories", http_event("GET", "/v1/memories", query={"session_id": sid})).json["data"]
    assert {m["type"] for m in extracted} >= {"identity", "preference"}
    assert all(m["source"]["extracted"] and m["session_id"] == sid for m in extracted)
    # each memory's context is the message before its source message (none before the first)
    by_message = {m["source"]["message"]: m["context"] for m in extracted}
    assert by_message[1] is None
    assert by_message[2] == "My name is Priya and I work at Acme as a data engineer"
    assert get_memory(used)["feedback_score"] == 1

    again = process(records)  # redelivery changes nothing
    assert again == {"batchItemFailures": []}
    assert get_memory(used)["feedback_score"] == 1
    assert len(
        invoke("list_memories", http_event("GET", "/v1/memories", query={"session_id": sid})).json["data"]
    ) == len(extracted)


def test_failure_debits_and_no_extraction_without_the_flag(aws: dict[str, str]) -> None:
    stream = StreamReader(aws["SessionsTable"])
    used = memory("User's deploy target is Kubernetes")
    sid = new_session()
    turn(sid, "My name is Sam", [used])
    end(sid, {"outcome": "failure"})
    assert process(stream.new_records()) == {"batchItemFailures": []}
    assert get_memory(used)["feedback_score"] == -1
    assert (
        invoke("list_memories", http_event("GET", "/v1/memories", query={"session_id": sid})).json["total_count"] == 0
    )


def test_end_without_an_outcome_stores_null_and_learns_nothing(aws: dict[str, str]) -> None:
    stream = StreamReader(aws["SessionsTable"])
    used = memory("User's editor is Helix")
    sid = new_session()
    turn(sid, "Open the file in my editor", [used])
    ended = invoke("end_session", http_event("POST", "/v1/sessions/{id}/end", path_params={"id": sid}, body={}))
    assert ended.status == 200 and ended.json["outcome"] is None and ended.json["status"] == "ended"
    stored = boto3.resource("dynamodb").Table(aws["SessionsTable"]).get_item(Key={"pk": f"tenant_a#{sid}"})["Item"]
    assert "outcome" not in stored or stored["outcome"] is None
    assert process(stream.new_records()) == {"batchItemFailures": []}
    assert get_memory(used)["feedback_score"] == 0
    session = invoke("get_session", http_event("GET", "/v1/sessions/{id}", path_params={"id": sid})).json
    assert session["outcome"] is None and session["status"] == "ended"


def test_memory_count_follows_creates_extraction_and_deletes(aws: dict[str, str]) -> None:
    """GET and the list count a session's memories at once after a create, after extraction at
    session end (redelivered too), and after a delete."""
    stream = StreamReader(aws["SessionsTable"])
    sid = new_session({"agent_id": "bot", "namespace": "default"})
    made = invoke(
        "create_memory", http_event("POST", "/v1/memories", body={"text": "Uses Postgres", "session_id": sid})
    )
    assert made.status == 201, made

    def counts() -> tuple[int, int]:
        got = invoke("get_session", http_event("GET", "/v1/sessions/{id}", path_params={"id": sid})).json
        listed = invoke("list_sessions", http_event("GET", "/v1/sessions", query={"agent_id": "bot"})).json["data"]
        return got["memory_count"], next(s["memory_count"] for s in listed if s["id"] == sid)

    assert counts() == (1, 1)
    turn(sid, "My name is Priya and I work at Acme as a data engineer")
    end(sid, {"extract_memories": True})
    records = stream.new_records()
    assert process(records) == {"batchItemFailures": []}
    assert process(records) == {"batchItemFailures": []}  # redelivery extracts and counts nothing twice
    linked = invoke("list_memories", http_event("GET", "/v1/memories", query={"session_id": sid})).json
    assert linked["total_count"] >= 2 and counts() == (linked["total_count"], linked["total_count"])
    gone = invoke("delete_memory", http_event("DELETE", "/v1/memories/{id}", path_params={"id": made.json["id"]}))
    assert gone.status == 200
    assert counts() == (linked["total_count"] - 1, linked["total_count"] - 1)
    again = invoke("delete_memory", http_event("DELETE", "/v1/memories/{id}", path_params={"id": made.json["id"]}))
    assert again.status == 404 and counts()[0] == linked["total_count"] - 1


def test_close_writes_a_summary_memory_once(aws: dict[str, str]) -> None:
    stream = StreamReader(aws["SessionsTable"])
    sid = new_session({"title": "Email queue"})
    turn(sid, "The email queue retries failed because the retry counter was not incremented on timeout.")
    turn(sid, "We raised max attempts to 5 and added exponential backoff with jitter.")
    assert (
        invoke("close_session", http_event("POST", "/v1/sessions/{id}/close", path_params={"id": sid})).json["status"]
        == "closed"
    )
    records = stream.new_records()
    assert process(records) == {"batchItemFailures": []}
    assert process(records) == {"batchItemFailures": []}
    summaries = invoke("list_memories", http_event("GET", "/v1/memories", query={"namespace": "session-memory"})).json[
        "data"
    ]
    assert len(summaries) == 1 and summaries[0]["type"] == "summary" and summaries[0]["session_id"] == sid
    assert "retry" in summaries[0]["text"].lower()
    session = invoke("get_session", http_event("GET", "/v1/sessions/{id}", path_params={"id": sid})).json
    assert session["summary"] == summaries[0]["text"]


def test_ttl_removal_deletes_remaining_messages_and_poison_fails_alone(aws: dict[str, str]) -> None:
    sid = new_session({"ttl_seconds": 60, "agent_id": "bot"})
    turn(sid, "hello")
    table = boto3.resource("dynamodb").Table(aws["SessionsTable"])
    old = table.get_item(Key={"pk": f"tenant_a#{sid}"})["Item"]
    arn = StreamReader(aws["SessionsTable"]).arn
    ttl_record = ttl_remove_record(old, {"pk": old["pk"]}, arn, sequence="900000000000000000001")
    poison = ttl_remove_record(
        {"kind": "session", "status": Decimal(3)}, {"pk": "x"}, arn, sequence="900000000000000000002"
    )
    result = process([ttl_record, poison])
    assert result == {"batchItemFailures": [{"itemIdentifier": "900000000000000000002"}]}
    rows = boto3.client("dynamodb").query(
        TableName=aws["MessagesTable"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"tenant_a#{sid}"}},
    )["Items"]
    assert rows == []
    assert table.get_item(Key={"pk": f"tenant_a#{sid}#agent#bot"}).get("Item") is None  # its agent entry too

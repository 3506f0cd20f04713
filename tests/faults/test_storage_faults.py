"""DynamoDB throttling, internal errors and lost connections, injected below botocore's retries.

Every failure must answer a clear 503 in the one error shape with ``Retry-After``, and leave no
partial write behind: the write either happened whole or not at all, so the client's retry is safe.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.faults.conftest import Faults
from tests.support.events import Reply, http_event, invoke

TENANT = "tenant_a"
ERRORS = ["ProvisionedThroughputExceededException", "ThrottlingException", "InternalServerError", "connection"]


def assert_unavailable(reply: Reply) -> None:
    assert reply.status == 503, reply
    assert set(reply.json) == {"error", "request_id"}, reply.json
    assert reply.json["error"]["code"] == "service_unavailable"
    assert reply.json["error"]["message"]
    assert isinstance(reply.json["error"]["details"], list)
    assert int(reply.headers["retry-after"]) >= 1
    assert "Traceback" not in reply.raw["body"]


def create_session(body: dict[str, Any] | None = None) -> Reply:
    return invoke("create_session", http_event("POST", "/v1/sessions", body=body or {}))


def append(session_id: str, *contents: str) -> Reply:
    body = {"messages": [{"role": "user", "content": c} for c in contents]}
    event = http_event("POST", "/v1/sessions/{id}/messages", path_params={"id": session_id}, body=body)
    return invoke("append_messages", event)


def get_session(session_id: str) -> Reply:
    return invoke("get_session", http_event("GET", "/v1/sessions/{id}", path_params={"id": session_id}))


def table_items(name: str) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    return client.scan(TableName=name, ConsistentRead=True)["Items"]


def stored_messages(aws: dict[str, str], session_id: str) -> list[str]:
    pk = f"{TENANT}#{session_id}"
    items = [i for i in table_items(aws["MessagesTable"]) if i["pk"]["S"] == pk]
    return [i["content"]["S"] for i in sorted(items, key=lambda i: int(i["seq"]["N"]))]


@pytest.mark.parametrize("error", ERRORS)
def test_append_messages_transaction_failure_writes_nothing(faults: Faults, aws: dict[str, str], error: str) -> None:
    session_id = create_session().json["id"]
    assert append(session_id, "first").status == 201

    rule = faults.fail("TransactWriteItems", error)
    reply = append(session_id, "second", "third")
    assert_unavailable(reply)
    assert rule.failed >= 2  # the SDK retried before giving up

    faults.clear()
    assert get_session(session_id).json["message_count"] == 1
    assert stored_messages(aws, session_id) == ["first"]

    retry = append(session_id, "second", "third")  # the client's retry is safe and numbers follow on
    assert retry.status == 201, retry
    assert [m["seq"] for m in retry.json["messages"]] == [2, 3]
    assert stored_messages(aws, session_id) == ["first", "second", "third"]


def test_transient_throttling_is_absorbed_by_sdk_retries_without_duplicates(
    faults: Faults, aws: dict[str, str]
) -> None:
    session_id = create_session().json["id"]
    rule = faults.fail("TransactWriteItems", "ProvisionedThroughputExceededException", times=2)
    reply = append(session_id, "only once")
    assert reply.status == 201, reply
    assert rule.failed == 2
    assert stored_messages(aws, session_id) == ["only once"]
    assert get_session(session_id).json["message_count"] == 1


def test_keyed_create_failure_leaves_no_session_and_no_alias(faults: Faults, aws: dict[str, str]) -> None:
    before = table_items(aws["SessionsTable"])
    faults.fail("TransactWriteItems", "ThrottlingException")
    assert_unavailable(create_session({"key": "telegram:42", "title": "t"}))
    faults.clear()
    assert table_items(aws["SessionsTable"]) == before  # neither the session nor its key alias

    created = create_session({"key": "telegram:42"})  # the key is free: no orphaned alias holds it
    assert created.status == 201, created
    assert get_session("telegram:42").json["id"] == created.json["id"]


def test_plain_create_failure_leaves_nothing(faults: Faults, aws: dict[str, str]) -> None:
    faults.fail("PutItem", "InternalServerError", table=aws["SessionsTable"])
    assert_unavailable(create_session({"title": "never stored"}))
    faults.clear()
    assert table_items(aws["SessionsTable"]) == []


def test_turn_failure_writes_no_turn_record_and_the_retry_is_not_a_conflict(
    faults: Faults, aws: dict[str, str]
) -> None:
    session_id = create_session().json["id"]
    body = {"turnNumber": 1, "messages": [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi"}]}

    def turn() -> Reply:
        event = http_event("POST", "/v1/sessions/{id}/turn", path_params={"id": session_id}, body=body)
        return invoke("record_turn", event)

    faults.fail("TransactWriteItems", "connection")
    assert_unavailable(turn())
    faults.clear()
    session = get_session(session_id).json
    assert (session["turn_count"], session["message_count"]) == (0, 0)
    assert [i for i in table_items(aws["MessagesTable"]) if session_id in i["pk"]["S"]] == []

    retry = turn()
    assert retry.status == 200, retry
    assert retry.json["turn_number"] == 1
    session = get_session(session_id).json
    assert (session["turn_count"], session["message_count"]) == (1, 2)


def test_end_failure_leaves_the_session_active(faults: Faults, aws: dict[str, str]) -> None:
    session_id = create_session().json["id"]
    faults.fail("UpdateItem", "ProvisionedThroughputExceededException", table=aws["SessionsTable"])
    event = http_event("POST", "/v1/sessions/{id}/end", path_params={"id": session_id}, body={"outcome": "success"})
    assert_unavailable(invoke("end_session", event))
    faults.clear()
    assert get_session(session_id).json["status"] == "active"
    assert invoke("end_session", event).status == 200


def test_memory_create_failure_stores_nothing_and_indexes_nothing(faults: Faults, aws: dict[str, str]) -> None:
    from engram.container import index

    faults.fail("PutItem", "connection", table=aws["MemoriesTable"])
    reply = invoke("create_memory", http_event("POST", "/v1/memories", body={"text": "The user likes green tea"}))
    assert_unavailable(reply)
    faults.clear()
    assert table_items(aws["MemoriesTable"]) == []
    assert index().count(TENANT) == 0


def test_reinforce_failure_keeps_the_feedback_score(faults: Faults, aws: dict[str, str]) -> None:
    memory = invoke("create_memory", http_event("POST", "/v1/memories", body={"text": "Prefers tabs"})).json
    event = http_event("POST", "/v1/memories/{id}/reinforce", path_params={"id": memory["id"]}, body={"value": 1})
    faults.fail("UpdateItem", "InternalServerError", table=aws["MemoriesTable"])
    assert_unavailable(invoke("reinforce_memory", event))
    faults.clear()
    got = invoke("get_memory", http_event("GET", "/v1/memories/{id}", path_params={"id": memory["id"]}))
    assert got.json["feedback_score"] == 0
    assert invoke("reinforce_memory", event).json["feedback_score"] == 1


def test_reads_fail_cleanly(faults: Faults, aws: dict[str, str]) -> None:
    session_id = create_session().json["id"]
    invoke("create_memory", http_event("POST", "/v1/memories", body={"text": "Lives in Lisbon"}))
    faults.fail("GetItem", "connection")
    assert_unavailable(get_session(session_id))
    faults.clear()
    faults.fail("BatchGetItem", "connection")
    search = http_event("POST", "/v1/memories/search", body={"query": "Lisbon", "threshold": 0})
    assert_unavailable(invoke("search_memories", search))
    faults.clear()
    assert invoke("search_memories", search).json["count"] == 1

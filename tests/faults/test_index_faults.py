"""The vector index unavailable: memories are still stored (DynamoDB is the source of truth),
search answers 503 in the error shape, and the memories stream repairs the index afterwards."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.support.events import LambdaContext, Reply, function_module, http_event, invoke
from tests.support.streams import StreamReader, lambda_event

TENANT = "tenant_a"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens here once the socket is closed


def create(text: str) -> Reply:
    return invoke("create_memory", http_event("POST", "/v1/memories", body={"text": text}))


def search(query: str) -> Reply:
    return invoke("search_memories", http_event("POST", "/v1/memories/search", body={"query": query, "threshold": 0}))


def get_memory(memory_id: str) -> Reply:
    return invoke("get_memory", http_event("GET", "/v1/memories/{id}", path_params={"id": memory_id}))


def assert_unavailable(reply: Reply) -> None:
    assert reply.status == 503, reply
    assert set(reply.json) == {"error", "request_id"}
    assert reply.json["error"]["code"] == "service_unavailable"
    assert "index" in reply.json["error"]["message"]
    assert int(reply.headers["retry-after"]) >= 1


def repair_from_stream(aws: dict[str, str]) -> dict[str, Any]:
    from engram.container import index

    records = StreamReader(aws["MemoriesTable"]).new_records()
    assert records
    process = function_module("on_memory_change").process
    return dict(process(lambda_event(records), LambdaContext(), index=index()))


def test_opensearch_unreachable_then_repaired_by_the_stream(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from engram import container

    monkeypatch.setenv("ENGRAM_INDEX_BACKEND", "opensearch")
    monkeypatch.setenv("ENGRAM_OPENSEARCH_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    container.reset()

    created = create("The user keeps bees in the garden")
    assert created.status == 201, created  # stored; the index write failed and is left to the stream
    memory_id = created.json["id"]
    assert get_memory(memory_id).json["text"] == "The user keeps bees in the garden"
    assert_unavailable(search("bees garden"))

    # the index is back (locally: the local adapter, empty): the stream rebuilds what it missed
    monkeypatch.setenv("ENGRAM_INDEX_BACKEND", "local")
    container.reset()
    assert search("bees garden").json["count"] == 0
    assert repair_from_stream(aws) == {"batchItemFailures": []}
    hits = search("bees garden").json["results"]
    assert [h["id"] for h in hits] == [memory_id]


def test_local_index_down_then_up(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from engram.index import IndexUnavailable
    from engram.index.local import LocalIndex

    kept = create("The team deploys on Tuesdays").json["id"]

    def down(*args: Any, **kwargs: Any) -> Any:
        raise IndexUnavailable("injected: index unreachable")

    with monkeypatch.context() as patch:
        for method in ("upsert", "knn", "text_search", "delete"):
            patch.setattr(LocalIndex, method, down)
        created = create("The user is allergic to peanuts")
        assert created.status == 201, created
        missed = created.json["id"]
        assert_unavailable(search("peanuts allergy"))

    found = [h["id"] for h in search("peanuts allergy").json["results"]]
    assert missed not in found  # the index missed the write while it was down
    assert repair_from_stream(aws) == {"batchItemFailures": []}
    found = [h["id"] for h in search("peanuts allergy").json["results"]]
    assert found[0] == missed
    assert kept in [h["id"] for h in search("deploys Tuesdays").json["results"]]

"""OpenSearchIndex: the exact requests it sends, through opensearch-py's real client and
transport with a recording Connection (canned responses; no socket is opened)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from opensearchpy import Connection, OpenSearch

from engram.index import IndexDoc, IndexFilters, IndexUnavailable
from engram.index.opensearch import OpenSearchIndex

Responder = Callable[[str, str, Any], tuple[int, Any]]


class RecordingConnection(Connection):
    """A transport connection that records every request and answers from ``responder``."""

    requests: list[dict[str, Any]] = []
    responder: Responder = staticmethod(lambda method, url, body: (200, {}))  # type: ignore[assignment]

    def perform_request(self, method, url, params=None, body=None, timeout=None, ignore=(), headers=None):  # type: ignore[no-untyped-def,override]
        raw = body.decode() if isinstance(body, bytes) else body
        parsed: Any = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = [json.loads(line) for line in raw.strip().splitlines()]
        RecordingConnection.requests.append(
            {"method": method, "url": url, "params": dict(params or {}), "body": parsed}
        )
        status, payload = RecordingConnection.responder(method, url, parsed)
        data = json.dumps(payload) if payload is not None else ""
        if not 200 <= status < 300 and status not in ignore:
            self._raise_error(status, data)
        return status, {"content-type": "application/json"}, data


@pytest.fixture
def recorder() -> type[RecordingConnection]:
    RecordingConnection.requests = []
    RecordingConnection.responder = staticmethod(lambda method, url, body: (200, {}))  # type: ignore[assignment]
    return RecordingConnection


def make(serverless: bool = False, **kw: Any) -> OpenSearchIndex:
    client = OpenSearch(
        hosts=[{"host": "search.example.com", "port": 443}], connection_class=RecordingConnection, max_retries=0
    )
    return OpenSearchIndex(client, "engram-memories", 4, serverless=serverless, **kw)


def doc(memory_id: str = "mem_1", version: int = 3, tenant: str = "t1") -> IndexDoc:
    return IndexDoc(
        tenant,
        memory_id,
        "ns",
        "fact",
        "high",
        "Title here",
        "Body text",
        [0.5, 0.5, 0.5, 0.5],
        version,
        ("Ann",),
        "sess_1",
        "bot",
        10.0,
    )


def test_ensure_index_creates_the_knn_mapping(recorder: type[RecordingConnection]) -> None:
    recorder.responder = staticmethod(lambda m, u, b: (404, None) if m == "HEAD" else (200, {"acknowledged": True}))  # type: ignore[assignment]
    make().ensure_index()
    head, put = recorder.requests
    assert (head["method"], head["url"]) == ("HEAD", "/engram-memories")
    assert (put["method"], put["url"]) == ("PUT", "/engram-memories")
    body = put["body"]
    assert body["settings"]["index"]["knn"] is True
    props = body["mappings"]["properties"]
    assert props["embedding"] == {
        "type": "knn_vector",
        "dimension": 4,
        "method": {
            "name": "hnsw",
            "engine": "faiss",
            "space_type": "cosinesimil",
            "parameters": {"m": 16, "ef_construction": 128},
        },
    }
    for field in ("tenant_id", "namespace", "type", "tier", "memory_id", "session_id", "agent_id"):
        assert props[field] == {"type": "keyword"}
    assert props["content"] == {"type": "text", "analyzer": "english"}
    assert body["mappings"]["dynamic"] == "strict"


def test_ensure_index_is_a_noop_when_present(recorder: type[RecordingConnection]) -> None:
    make().ensure_index()
    assert [r["method"] for r in recorder.requests] == ["HEAD"]


def test_filtered_knn_puts_the_filter_inside_the_knn_clause(recorder: type[RecordingConnection]) -> None:
    hits_payload = {
        "hits": {
            "hits": [
                {"_id": "t1/mem_1", "_score": 0.9, "_source": {"memory_id": "mem_1", "namespace": "ns", "version": 3}}
            ]
        }
    }
    recorder.responder = staticmethod(lambda m, u, b: (200, hits_payload))  # type: ignore[assignment]
    hits = make().knn(
        "t1", [1, 0, 0, 0], 5, IndexFilters(namespaces=("ns", "other"), tiers=("high",), session_id="sess_1")
    )
    req = recorder.requests[0]
    assert (req["method"], req["url"]) == ("POST", "/engram-memories/_search")
    assert req["body"]["size"] == 5
    knn = req["body"]["query"]["knn"]["embedding"]
    assert knn["vector"] == [1.0, 0.0, 0.0, 0.0] and knn["k"] == 5
    assert knn["filter"] == {
        "bool": {
            "filter": [
                {"term": {"tenant_id": "t1"}},
                {"terms": {"namespace": ["ns", "other"]}},
                {"terms": {"tier": ["high"]}},
                {"term": {"session_id": "sess_1"}},
            ]
        }
    }
    assert hits[0].memory_id == "mem_1"
    assert hits[0].score == pytest.approx(0.8)  # cosinesimil score (1 + cos) / 2 → cos


def test_bm25_search_uses_match_with_term_filters(recorder: type[RecordingConnection]) -> None:
    recorder.responder = staticmethod(lambda m, u, b: (200, {"hits": {"hits": []}}))  # type: ignore[assignment]
    assert make().text_search("t1", "favourite restaurant", 7, IndexFilters(types=("fact",))) == []
    body = recorder.requests[0]["body"]
    assert body["query"]["bool"]["must"] == [{"match": {"content": {"query": "favourite restaurant"}}}]
    assert body["query"]["bool"]["filter"] == [{"term": {"tenant_id": "t1"}}, {"terms": {"type": ["fact"]}}]
    assert "embedding" in body["_source"]["includes"]


def test_bulk_upsert_uses_external_versions_and_reports_conflicts_as_stale(recorder: type[RecordingConnection]) -> None:
    items = {
        "items": [
            {"index": {"status": 201}},
            {"index": {"status": 409, "error": {"type": "version_conflict_engine_exception"}}},
        ]
    }
    recorder.responder = staticmethod(lambda m, u, b: (200, items))  # type: ignore[assignment]
    with_context = replace(doc("mem_2", 1), context="Who wrote it?")
    result = make().upsert([doc("mem_1", 3), with_context])
    assert result == {"mem_1": "indexed", "mem_2": "stale"}
    req = recorder.requests[0]
    assert (req["method"], req["url"]) == ("POST", "/_bulk")
    assert req["params"] == {"refresh": "wait_for"}
    action, source = req["body"][0], req["body"][1]
    assert action == {
        "index": {"_index": "engram-memories", "_id": "t1/mem_1", "version": 3, "version_type": "external"}
    }
    assert source["tenant_id"] == "t1" and source["version"] == 3 and source["embedding"] == [0.5] * 4
    assert source["content"] == "Title here\nBody text\nAnn"
    # a memory's context is BM25-searched with it: in the content field only (no mapping change)
    assert req["body"][3]["content"] == "Who wrote it?\nTitle here\nBody text\nAnn"
    assert "context" not in req["body"][3]
    assert len(req["body"]) == 4


def test_bulk_errors_raise_index_unavailable(recorder: type[RecordingConnection]) -> None:
    recorder.responder = staticmethod(
        lambda m, u, b: (200, {"items": [{"index": {"status": 400, "error": "mapper_parsing_exception"}}]})
    )  # type: ignore[assignment]
    with pytest.raises(IndexUnavailable):
        make().upsert([doc()])
    recorder.responder = staticmethod(lambda m, u, b: (503, {"error": "unavailable"}))  # type: ignore[assignment]
    with pytest.raises(IndexUnavailable):
        make().knn("t1", [1, 0, 0, 0], 3)


def test_delete_is_a_versioned_bulk_delete_scoped_to_the_tenant(recorder: type[RecordingConnection]) -> None:
    recorder.responder = staticmethod(
        lambda m, u, b: (200, {"items": [{"delete": {"status": 200}}, {"delete": {"status": 404}}]})
    )  # type: ignore[assignment]
    assert make().delete("t1", ["mem_1", "mem_2"], version=8) == 1
    req = recorder.requests[0]
    assert req["url"] == "/_bulk"
    assert req["body"] == [
        {"delete": {"_index": "engram-memories", "_id": "t1/mem_1", "version": 8, "version_type": "external"}},
        {"delete": {"_index": "engram-memories", "_id": "t1/mem_2", "version": 8, "version_type": "external"}},
    ]


def test_serverless_reads_before_writing_and_never_sends_ids_or_versions(recorder: type[RecordingConnection]) -> None:
    held = {"hits": {"hits": [{"_id": "srv-1", "_source": {"memory_id": "mem_1", "tenant_id": "t1", "version": 2}}]}}

    def respond(method: str, url: str, body: Any) -> tuple[int, Any]:
        if url.endswith("/_search"):
            return 200, held
        return 200, {"items": [{"delete": {"status": 200}}, {"index": {"status": 201}}]}

    recorder.responder = staticmethod(respond)  # type: ignore[assignment]
    assert make(serverless=True).upsert([doc("mem_1", 3)]) == {"mem_1": "indexed"}
    search, bulk = recorder.requests
    assert search["body"]["query"] == {"bool": {"filter": [{"terms": {"memory_id": ["mem_1"]}}]}}
    assert bulk["params"] == {}  # no refresh on serverless
    assert bulk["body"][0] == {"delete": {"_index": "engram-memories", "_id": "srv-1"}}
    assert bulk["body"][1] == {"index": {"_index": "engram-memories"}}
    assert bulk["body"][2]["version"] == 3


def test_serverless_skips_older_versions(recorder: type[RecordingConnection]) -> None:
    held = {"hits": {"hits": [{"_id": "srv-1", "_source": {"memory_id": "mem_1", "tenant_id": "t1", "version": 5}}]}}
    recorder.responder = staticmethod(lambda m, u, b: (200, held))  # type: ignore[assignment]
    assert make(serverless=True).upsert([doc("mem_1", 4)]) == {"mem_1": "stale"}
    assert len(recorder.requests) == 1  # only the read


def test_serverless_search_keeps_the_newest_copy(recorder: type[RecordingConnection]) -> None:
    hits = {
        "hits": {
            "hits": [
                {"_id": "a", "_score": 0.95, "_source": {"memory_id": "mem_1", "version": 1}},
                {"_id": "b", "_score": 0.90, "_source": {"memory_id": "mem_1", "version": 2}},
            ]
        }
    }
    recorder.responder = staticmethod(lambda m, u, b: (200, hits))  # type: ignore[assignment]
    found = make(serverless=True).knn("t1", [1, 0, 0, 0], 5)
    assert len(found) == 1 and found[0].version == 2


def test_innerproduct_scores_convert_back_to_cosine(recorder: type[RecordingConnection]) -> None:
    hits = {
        "hits": {
            "hits": [
                {"_id": "x", "_score": 1.6, "_source": {"memory_id": "m1", "version": 1}},
                {"_id": "y", "_score": 0.5, "_source": {"memory_id": "m2", "version": 1}},
            ]
        }
    }
    recorder.responder = staticmethod(lambda m, u, b: (200, hits))  # type: ignore[assignment]
    found = make(space_type="innerproduct").knn("t1", [1, 0, 0, 0], 2)
    assert [round(h.score, 6) for h in found] == [0.6, -1.0]

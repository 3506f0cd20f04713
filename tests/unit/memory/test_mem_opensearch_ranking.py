"""The learned ranker behind OpenSearch computes what it computes behind the local index.

The ranker (engram.rank, called by services/search.py) reads per hit only the raw cosine of the
k-NN search, the raw BM25 of the text search and the stored memory. OpenSearch reports
cosinesimil as ``(1 + cos) / 2``; the adapter turns it back into the cosine. So when OpenSearch
answers with the same raw similarities as the local index (here: the local index's own answers,
served through opensearch-py's real client and a recording transport), search scores and
explain terms are identical."""

from __future__ import annotations

from typing import Any

import pytest
from opensearchpy import OpenSearch

from engram.config import Settings
from engram.embed.hashing import HashingEmbedder
from engram.index import IndexDoc
from engram.index.local import LocalIndex
from engram.index.opensearch import OpenSearchIndex
from engram.models.memories import ExplainRequest
from engram.ports.memories import Memory
from engram.services.feedback import FeedbackService
from engram.services.memory_core import MemoryCore, embed_text
from engram.services.misses import MissService
from engram.services.search import SearchService
from engram.testing.fakes import FakeMemoryRepository, FakeMissRepository
from tests.unit.memory.test_mem_opensearch_adapter import RecordingConnection, recorder  # noqa: F401

DIMS = 16
TEXTS = [
    "User is based in Singapore",
    "User prefers morning meetings, usually around 9am",
    "User chose REST over GraphQL because the team knows it",
    "Caroline went to the LGBTQ support group on 7 May 2023",
    "Melanie painted a sunrise by the lake",
]
CONTEXTS = {4: "Caroline: What did you paint for the art show?"}  # the turn before (memory context)


def service_over(index: Any, memories: list[Memory]) -> SearchService:
    repo = FakeMemoryRepository()
    for m in memories:
        repo.add(m)
    core = MemoryCore(repo, index=lambda: index, embedder=lambda: HashingEmbedder(DIMS))
    misses = MissService(FakeMissRepository(), Settings(embedder="hashing", index_backend="local"))
    return SearchService(core, None, misses=misses, feedback=FeedbackService(core))


@pytest.fixture
def memories() -> list[Memory]:
    contexts = [CONTEXTS.get(i) for i in range(len(TEXTS))]
    vectors = HashingEmbedder(DIMS).embed([embed_text("", t, c) for t, c in zip(TEXTS, contexts, strict=True)])
    return [
        Memory(
            "t1",
            f"mem_{i}",
            "ns",
            "",
            text,
            "fact",
            "normal",
            1.68e9 + i,
            1.68e9 + i,
            embedding=vectors[i],
            context=contexts[i],
        )
        for i, text in enumerate(TEXTS)
    ]


def test_opensearch_and_local_index_rank_and_explain_alike(
    recorder: type[RecordingConnection],  # noqa: F811
    memories: list[Memory],
    tmp_path: Any,
) -> None:
    local = LocalIndex(str(tmp_path))
    local.upsert(
        [
            IndexDoc("t1", m.memory_id, "ns", "fact", "normal", "", m.text, m.embedding or [], 1, context=ctx)
            for m, ctx in ((m, m.context or "") for m in memories)
        ]
    )

    def answer(method: str, url: str, body: Any) -> tuple[int, Any]:
        """OpenSearch's answer: the local index's raw scores, k-NN as (1 + cos) / 2."""
        query = body["query"]
        if "knn" in query:
            vector = query["knn"]["embedding"]["vector"]
            hits = [(h.memory_id, (1.0 + h.score) / 2.0) for h in local.knn("t1", vector, 50)]
        else:
            text = str(query["bool"]["must"][0]["match"]["content"]["query"])
            hits = [(h.memory_id, h.score) for h in local.text_search("t1", text, 50)]
        stored = {m.memory_id: m for m in memories}
        source = [
            {"_id": mid, "_score": s, "_source": {"memory_id": mid, "version": 1, "embedding": stored[mid].embedding}}
            for mid, s in hits
        ]
        return 200, {"hits": {"hits": source}}

    recorder.responder = staticmethod(answer)  # type: ignore[assignment]
    client = OpenSearch(
        hosts=[{"host": "search.example.com", "port": 443}], connection_class=RecordingConnection, max_retries=0
    )
    remote = OpenSearchIndex(client, "engram-memories", DIMS)
    on_local, on_opensearch = service_over(local, memories), service_over(remote, memories)
    queries = (
        "What timezone is the user in?",
        "When did Caroline go to the support group in May 2023?",
        "What did Melanie paint for the art show?",  # "art show": only in a memory's context
    )
    for query in queries:
        a = on_local.search("t1", query, threshold=0.0, record_access=False)
        b = on_opensearch.search("t1", query, threshold=0.0, record_access=False)
        assert [(h.id, h.score, h.vector_score, h.text_score) for h in a] == [
            (h.id, h.score, h.vector_score, h.text_score) for h in b
        ]
        assert len(a) == len(TEXTS)
        req = ExplainRequest(query=query)
        ea, eb = on_local.explain("t1", req), on_opensearch.explain("t1", req)
        assert [r.terms for r in ea.results] == [r.terms for r in eb.results]
        for r in eb.results:
            assert round(sum(t.contribution for t in r.terms), 6) == r.score
    art_show = on_opensearch.search("t1", "art show", mode="text", threshold=0.0, record_access=False)
    assert [h.id for h in art_show] == ["mem_4"] and art_show[0].text == TEXTS[4]
    searched = [r["body"] for r in recorder.requests if r["body"] and "query" in r["body"]]
    assert any("knn" in str(b) for b in searched) and any("match" in str(b) for b in searched)

"""The VectorIndex contract, run against every adapter: local always, OpenSearch when
OPENSEARCH_URL is set (e.g. http://localhost:9200 with the k-NN plugin)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engram.embed.hashing import HashingEmbedder
from engram.index import IndexDoc, IndexFilters, VectorIndex

DIMS = 64
EMB = HashingEmbedder(DIMS)


def doc(memory_id: str, text: str, *, tenant: str = "t1", version: int = 1, **kw: object) -> IndexDoc:
    fields: dict[str, object] = {"namespace": "default", "type": "fact", "tier": "normal", "title": ""}
    fields.update(kw)
    return IndexDoc(
        tenant_id=tenant, memory_id=memory_id, text=text, embedding=EMB.embed([text])[0], version=version, **fields
    )  # type: ignore[arg-type]


@pytest.fixture(params=["local", "opensearch"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorIndex]:
    if request.param == "local":
        from engram.index.local import LocalIndex

        idx = LocalIndex(str(tmp_path))
        idx.ensure_index()
        yield idx
        idx.close()
        return
    url = os.environ.get("OPENSEARCH_URL")
    if not url:
        pytest.skip("OPENSEARCH_URL is not set: no OpenSearch server to run the contract against")
    from engram.index.opensearch import OpenSearchIndex

    name = f"engram-contract-{uuid.uuid4().hex[:8]}"
    os_idx = OpenSearchIndex.from_url(url, name, DIMS)
    os_idx.ensure_index()
    yield os_idx
    os_idx._client.indices.delete(index=name)


def mid(n: int) -> str:
    return f"mem_{n:026d}"


def test_knn_returns_nearest_first_with_raw_cosine(index: VectorIndex) -> None:
    index.upsert([doc(mid(1), "the user lives in Singapore"), doc(mid(2), "she plays the violin every weekend")])
    hits = index.knn("t1", EMB.embed(["the user lives in Singapore"])[0], 2)
    assert [h.memory_id for h in hits] == [mid(1), mid(2)]
    assert hits[0].score == pytest.approx(1.0, abs=1e-3)
    assert hits[0].score > hits[1].score
    assert hits[0].version == 1


def test_text_search_ranks_by_bm25_and_skips_non_matches(index: VectorIndex) -> None:
    index.upsert(
        [
            doc(mid(1), "I adopted a puppy named Max"),
            doc(mid(2), "we went hiking in the mountains"),
            doc(mid(3), "the puppy chewed my shoes, that puppy!"),
        ]
    )
    hits = index.text_search("t1", "puppy", 10)
    assert {h.memory_id for h in hits} == {mid(1), mid(3)}
    assert all(h.score > 0 for h in hits)
    assert hits[0].embedding is not None and len(hits[0].embedding) == DIMS
    assert index.text_search("t1", "submarine", 10) == []


def test_tenants_never_see_each_other(index: VectorIndex) -> None:
    index.upsert([doc(mid(1), "secret of tenant one", tenant="t1"), doc(mid(2), "secret of tenant two", tenant="t2")])
    vec = EMB.embed(["secret"])[0]
    assert [h.memory_id for h in index.knn("t1", vec, 10)] == [mid(1)]
    assert [h.memory_id for h in index.text_search("t2", "secret", 10)] == [mid(2)]
    assert index.get("t2", mid(1)) is None
    assert index.count("t1") == 1 and index.count("t3") == 0
    assert index.delete("t2", [mid(1)]) == 0  # another tenant cannot delete it
    assert index.get("t1", mid(1)) is not None


def test_filters(index: VectorIndex) -> None:
    index.upsert(
        [
            doc(
                mid(1),
                "coffee preference",
                namespace="a",
                type="preference",
                tier="high",
                session_id="sess_1",
                agent_id="bot",
            ),
            doc(mid(2), "coffee fact", namespace="b", type="fact", tier="normal"),
            doc(mid(3), "coffee goal", namespace="a", type="goal", tier="critical", agent_id="other"),
        ]
    )
    vec = EMB.embed(["coffee"])[0]

    def ids(f: IndexFilters) -> set[str]:
        knn = {h.memory_id for h in index.knn("t1", vec, 10, f)}
        text = {h.memory_id for h in index.text_search("t1", "coffee", 10, f)}
        assert knn == text
        return knn

    assert ids(IndexFilters(namespaces=("a",))) == {mid(1), mid(3)}
    assert ids(IndexFilters(types=("fact", "goal"))) == {mid(2), mid(3)}
    assert ids(IndexFilters(tiers=("high", "critical"))) == {mid(1), mid(3)}
    assert ids(IndexFilters(session_id="sess_1")) == {mid(1)}
    assert ids(IndexFilters(agent_id="other")) == {mid(3)}
    assert ids(IndexFilters(ids=(mid(2), mid(3)), namespaces=("a",))) == {mid(3)}
    assert ids(IndexFilters(namespaces=("nope",))) == set()
    assert index.count("t1", namespace="a") == 2


def test_versions_order_writes(index: VectorIndex) -> None:
    assert index.upsert([doc(mid(1), "version two text", version=2)]) == {mid(1): "indexed"}
    assert index.upsert([doc(mid(1), "version one text", version=1)]) == {mid(1): "stale"}
    assert index.upsert([doc(mid(1), "version two again", version=2)]) == {mid(1): "stale"}
    hit = index.get("t1", mid(1))
    assert hit is not None and hit.version == 2
    assert [h.memory_id for h in index.text_search("t1", "two", 5)] == [mid(1)]
    assert index.text_search("t1", "one", 5) == []
    assert index.upsert([doc(mid(1), "version three", version=3)]) == {mid(1): "indexed"}
    assert index.get("t1", mid(1)).version == 3  # type: ignore[union-attr]


def test_delete_wins_over_older_versions(index: VectorIndex) -> None:
    index.upsert([doc(mid(1), "to be deleted", version=3)])
    assert index.delete("t1", [mid(1)], version=4) == 1
    assert index.get("t1", mid(1)) is None
    assert index.knn("t1", EMB.embed(["to be deleted"])[0], 5) == []
    # a late stream delivery of an older version does not resurrect it
    assert index.upsert([doc(mid(1), "to be deleted", version=3)]) == {mid(1): "stale"}
    assert index.count("t1") == 0
    assert index.delete("t1", [mid(9)]) == 0  # unknown ids are fine


def test_k_bounds(index: VectorIndex) -> None:
    index.upsert([doc(mid(i), f"note number {i} about tea") for i in range(1, 8)])
    vec = EMB.embed(["tea"])[0]
    assert len(index.knn("t1", vec, 3)) == 3
    assert len(index.text_search("t1", "tea", 4)) == 4
    assert index.knn("t1", vec, 0) == []
    assert len(index.knn("t1", vec, 100)) == 7  # k above the count answers every document, once
    assert len({hit.memory_id for hit in index.knn("t1", vec, 100)}) == 7

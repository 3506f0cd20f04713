"""LocalIndex specifics: persistence across restarts, snapshots, torn logs, threads, scale."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np
import pytest

from engram.embed.hashing import HashingEmbedder
from engram.index import IndexDoc, IndexFilters
from engram.index.local import LocalIndex
from engram.index.text import bm25_text, tokens

EMB = HashingEmbedder(32)


def doc(n: int, text: str, version: int = 1, tenant: str = "t1") -> IndexDoc:
    return IndexDoc(tenant, f"mem_{n:026d}", "default", "fact", "normal", "", text, EMB.embed([text])[0], version)


def test_survives_restart_from_log(tmp_path: Path) -> None:
    idx = LocalIndex(str(tmp_path))
    idx.upsert([doc(1, "alpha beta"), doc(2, "gamma delta")])
    idx.upsert([doc(1, "alpha beta revised", version=2)])
    idx.delete("t1", [f"mem_{2:026d}"], version=2)
    idx.close()
    again = LocalIndex(str(tmp_path))
    assert again.count("t1") == 1
    assert again.document("t1", f"mem_{1:026d}")["text"] == "alpha beta revised"  # type: ignore[index]
    assert again.upsert([doc(2, "gamma delta", version=1)]) == {f"mem_{2:026d}": "stale"}  # tombstone persisted
    assert [h.memory_id for h in again.text_search("t1", "revised", 5)] == [f"mem_{1:026d}"]


def test_snapshot_then_log_replay_and_torn_line(tmp_path: Path) -> None:
    idx = LocalIndex(str(tmp_path), snapshot_every=5)
    idx.upsert([doc(i, f"document {i} about rivers") for i in range(12)])  # crosses the snapshot threshold
    idx.upsert([doc(100, "after the snapshot")])
    assert (tmp_path / "index" / "snapshot.npz").exists()
    idx.close()
    with (tmp_path / "index" / "ops.jsonl").open("a") as fh:
        fh.write('{"op": "upsert", "doc": {"id": "mem_tor')  # a crash mid-write
    again = LocalIndex(str(tmp_path))
    assert again.count("t1") == 13
    hit = again.knn("t1", EMB.embed(["after the snapshot"])[0], 1)[0]
    assert hit.memory_id == f"mem_{100:026d}"


def test_snapshot_compacts_retired_rows(tmp_path: Path) -> None:
    idx = LocalIndex(str(tmp_path))
    for v in range(1, 6):
        idx.upsert([doc(1, f"rewrite {v}", version=v)])
    idx.snapshot()
    assert idx._n == 1
    assert idx.text_search("t1", "rewrite", 5)[0].version == 5


def test_concurrent_writers_and_readers(tmp_path: Path) -> None:
    idx = LocalIndex(str(tmp_path))
    errors: list[BaseException] = []

    def writer(start: int) -> None:
        try:
            for i in range(start, start + 100):
                idx.upsert([doc(i, f"thread text {i}")])
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(50):
                idx.knn("t1", EMB.embed(["thread text"])[0], 5)
                idx.text_search("t1", "thread", 5)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s,)) for s in (0, 1000, 2000)] + [
        threading.Thread(target=reader) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert idx.count("t1") == 300


def test_knn_is_exact_at_20k(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    idx = LocalIndex(str(tmp_path), snapshot_every=10**9)
    vecs = rng.normal(size=(20_000, 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    idx.upsert(
        [
            IndexDoc("t1", f"mem_{i:026d}", f"ns{i % 4}", "fact", "normal", "", f"w{i % 97} w{i % 89}", vecs[i], 1)
            for i in range(20_000)
        ]
    )
    for q in (5, 777, 19_999):
        hits = idx.knn("t1", vecs[q], 10)
        sims = vecs @ vecs[q]
        assert [h.memory_id for h in hits] == [f"mem_{i:026d}" for i in np.argsort(-sims, kind="stable")[:10]]
        assert [h.score for h in hits] == [pytest.approx(float(s), abs=1e-6) for s in np.sort(sims)[::-1][:10]]
        in_ns = idx.knn("t1", vecs[q], 10, IndexFilters(namespaces=("ns1",)))
        rows = np.arange(1, 20_000, 4)
        expected = rows[np.argsort(-sims[rows], kind="stable")[:10]]
        assert [h.memory_id for h in in_ns] == [f"mem_{i:026d}" for i in expected]


def reference_bm25(live: dict[str, str], query: str) -> dict[str, float]:
    """BM25 (k1 1.2, b 0.75, Lucene idf) over ``live`` (memory id → text), computed from scratch."""
    docs = {m: tokens(bm25_text("", t, [])) for m, t in live.items()}
    avgdl = sum(len(d) for d in docs.values()) / len(docs)
    scores: dict[str, float] = {}
    for term in set(tokens(query)):
        df = sum(term in d for d in docs.values())
        if not df:
            continue
        idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
        for m, d in docs.items():
            tf = d.count(term)
            if tf:
                scores[m] = scores.get(m, 0.0) + idf * tf / (tf + 1.2 * (0.25 + 0.75 * len(d) / avgdl))
    return scores


@pytest.mark.parametrize("tenants", [("t1",), ("t1", "t2")])
def test_bm25_stays_exact_while_writes_and_searches_interleave(tmp_path: Path, tenants: tuple[str, ...]) -> None:
    """Postings are cached between queries and extended or pruned as documents come and go; with
    one tenant every live document is searched unmasked, with two the other tenant's are masked."""
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(40)]
    idx = LocalIndex(str(tmp_path), snapshot_every=10**9)
    live: dict[str, dict[str, str]] = {t: {} for t in tenants}
    version: dict[str, int] = {}
    queries = ["w0 w1", "w2 w3 w39", "w0", "w5 w7 w11 w13"]

    def check() -> None:
        for tenant in tenants:
            for query in queries:
                hits = idx.text_search(tenant, query, 1000)
                expected = reference_bm25(live[tenant], query)
                assert {h.memory_id: h.score for h in hits} == pytest.approx(expected, rel=1e-5)
                assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    for round_ in range(6):
        batch = []
        for i in range(60):
            tenant = tenants[i % len(tenants)]
            n = int(rng.integers(0, 150))
            memory_id = f"mem_{tenant}_{n}"
            text = " ".join(rng.choice(words, size=int(rng.integers(1, 9)), p=None))
            version[memory_id] = version.get(memory_id, 0) + 1
            batch.append(
                IndexDoc(
                    tenant, memory_id, "default", "fact", "normal", "", text, EMB.embed([text])[0], version[memory_id]
                )
            )
            live[tenant][memory_id] = text
        idx.upsert(batch)
        check()
        for tenant in tenants:
            gone = sorted(live[tenant])[round_::7]
            idx.delete(tenant, gone)
            for memory_id in gone:
                del live[tenant][memory_id]
        check()

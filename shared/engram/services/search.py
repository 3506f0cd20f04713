"""Search and explain: the one place memories are ranked (for search, session start/refresh and explain).

A query enters :meth:`SearchService.rank` once: the index offers candidates (k-NN + BM25), the
repository gives their current state (deleted or edited memories are never served stale), and
each candidate is scored into one :class:`Ranked` — which becomes a search hit or an explain
result, nothing in between. Search hits count as accesses: one access-log write per search,
settled into the memories by the memories stream (services/feedback.py).

**Hybrid mode** (the default; session start and refresh use it) ranks with the learned fusion
of :mod:`engram.rank`: features from each hit's raw cosine, its raw BM25 and the stored memory,
one logistic model, a score calibrated so the threshold means "relevant", and explain terms
that are the model's Shapley values (``prior`` first), adding up exactly to the score. The
index adapters hand back raw cosines and raw BM25 (OpenSearch's ``(1 + cos) / 2`` is turned back
into the cosine by the adapter), so the ranker computes the same on OpenSearch as locally.

**Modes ``text`` and ``vector``**, and ``ScoringWeights(ranker="linear")`` (the former hybrid
ranking, kept as the baseline ``bench/retrieval.py`` measures), use the hand-weighted sum:

    score = vector_weight · vector_score          (calibrated cosine, 0-1; embed/calibration.py)
          + text_weight   · text_score            (normalised BM25, 0-1; below)
          + entity_weight · entities_matched      (memory entities named in the query)
          + feedback_weight · feedback_score      (explicit ±1 reinforcements, summed)
          + access_weight · min(access_count, access_cap)

Defaults (the seeds'): vector 1.0, entity 0.06, feedback 0.08, access 0.01, cap 25, threshold
0.7. ``text_weight`` (1.0) is ours, tuned on LoCoMo with bench/retrieval.py (MiniLM, hybrid
recall@10 with the logistic calibration: 1.0 → 66.4 %, 1.5 → 66.4, 2.0 → 66.2; with the first,
clipped affine calibration: 0.3 → 52.3, 0.5 → 64.1, 1.0 → 65.9). Conversational memories are
full of names and rare words that small embedders blur, so the lexical signal deserves as much
weight as the vector. A memory that shares the question's words clears the 0.7 threshold on
BM25 alone (text_score ≥ 0.7) — a deliberate choice: "contains what was asked" is a match.

**BM25 normalisation** (per query): ``text_score = (bm25 / max_bm25) · coverage`` where
``max_bm25`` is the best BM25 score among the query's text hits and ``coverage`` is the share
of the query's distinct analysed terms that the memory contains. Max-normalisation alone would
give the best hit 1.0 even when it matches one common word of a long question; the coverage
factor keeps 1.0 for memories that contain every query term. It needs no corpus statistics, so
it is the same whether OpenSearch or the local index computed the BM25.

Every term is rounded to 6 decimals and the score is the sum of the rounded terms, so the terms
explain shows add up to the score.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

from engram import clock, errors
from engram.embed.calibration import calibration_for
from engram.extract.tokens import estimate_tokens
from engram.index.ports import IndexFilters, IndexUnavailable
from engram.index.text import bm25_text, terms
from engram.models.memories import (
    ExplainBreakdown,
    ExplainOut,
    ExplainRequest,
    ExplainResult,
    ExplainTerm,
    LogMiss,
    SearchHit,
    SearchMemories,
    SearchOut,
)
from engram.ports.memories import Memory
from engram.rank.features import entities_matched
from engram.services.feedback import FeedbackService
from engram.services.memory_core import MemoryCore
from engram.services.misses import MissService
from engram.vocabulary import TIERS, tier_rank

if TYPE_CHECKING:
    from engram.rank import Ranked as RankedCandidate

ROUND = 6
MIN_CANDIDATES = 50
MAX_CANDIDATES = 300


@dataclass(frozen=True)
class ScoringWeights:
    vector_weight: float = 1.0
    text_weight: float = 1.0
    entity_weight: float = 0.06
    feedback_weight: float = 0.08
    access_weight: float = 0.01
    access_cap: int = 25
    threshold: float = 0.7
    text_coverage: bool = True  # multiply normalised BM25 by the share of query terms matched
    ranker: str = "learned"  # "learned": engram.rank's fitted fusion (hybrid mode); "linear": the sum above


@dataclass(frozen=True)
class ScoreBreakdown:
    vector_score: float
    text_score: float
    entities_matched: int
    feedback_score: int
    access_count: int
    vector_term: float
    text_term: float
    entity_bonus: float
    feedback_bonus: float
    access_bonus: float
    score: float

    def terms(self, w: ScoringWeights) -> list[ExplainTerm]:
        rows = [
            ("vector", w.vector_weight, self.vector_score, self.vector_term),
            ("text", w.text_weight, self.text_score, self.text_term),
            ("entities", w.entity_weight, float(self.entities_matched), self.entity_bonus),
            ("feedback", w.feedback_weight, float(self.feedback_score), self.feedback_bonus),
            ("access", w.access_weight, float(min(self.access_count, w.access_cap)), self.access_bonus),
        ]
        return [ExplainTerm(name=n, weight=weight, value=v, contribution=c) for n, weight, v, c in rows]


def coverage(query_terms: set[str], memory_text: str) -> float:
    if not query_terms:
        return 0.0
    return len(query_terms & terms(memory_text)) / len(query_terms)


def text_scores(
    query: str, bm25: dict[str, float], texts: dict[str, str], *, use_coverage: bool = True
) -> dict[str, float]:
    """Normalised BM25 per memory id (see module doc); ids without BM25 score 0."""
    if not bm25:
        return {}
    best = max(bm25.values())
    if best <= 0:
        return {}
    if not use_coverage:
        return {mid: raw / best for mid, raw in bm25.items()}
    qterms = terms(query)
    return {mid: (raw / best) * coverage(qterms, texts.get(mid, "")) for mid, raw in bm25.items()}


class HybridScorer:
    def __init__(self, weights: ScoringWeights) -> None:
        self.weights = weights

    def score(
        self, *, vector_score: float, text_score: float, entities: int, feedback_score: int, access_count: int
    ) -> ScoreBreakdown:
        w = self.weights
        vs = round(vector_score, ROUND)
        ts = round(text_score, ROUND)
        vector_term = round(w.vector_weight * vs, ROUND)
        text_term = round(w.text_weight * ts, ROUND)
        entity_bonus = round(w.entity_weight * entities, ROUND)
        feedback_bonus = round(w.feedback_weight * feedback_score, ROUND)
        access_bonus = round(w.access_weight * min(max(access_count, 0), w.access_cap), ROUND)
        total = round(vector_term + text_term + entity_bonus + feedback_bonus + access_bonus, ROUND)
        return ScoreBreakdown(
            vector_score=vs,
            text_score=ts,
            entities_matched=entities,
            feedback_score=feedback_score,
            access_count=access_count,
            vector_term=vector_term,
            text_term=text_term,
            entity_bonus=entity_bonus,
            feedback_bonus=feedback_bonus,
            access_bonus=access_bonus,
            score=total,
        )


@dataclass(frozen=True)
class Ranked:
    """One ranked memory: as stored, its score, whether it passed the threshold, and (computed
    on demand: the learned ranker's terms cost a few thousand sigmoids) its explanation."""

    memory: Memory
    score: float
    vector_score: float
    text_score: float
    included: bool
    explain: Callable[[], tuple[ScoreBreakdown, list[ExplainTerm]]]


@dataclass(frozen=True)
class Query:
    text: str
    namespaces: tuple[str, ...] | None = None
    types: tuple[str, ...] | None = None
    tiers: tuple[str, ...] | None = None
    session_id: str | None = None
    agent_id: str | None = None
    mode: str = "hybrid"
    include_superseded: bool = False

    def index_filters(self, ids: tuple[str, ...] | None = None) -> IndexFilters:
        # Tiers are checked on the effective (decayed) tier after reading DynamoDB; the index
        # holds the stored tier, which can only be higher, so it pre-filters with tier ≥ asked.
        tiers = None
        if self.tiers:
            floor = min(tier_rank(t) for t in self.tiers)
            tiers = tuple(t for t in TIERS if tier_rank(t) >= floor)
        return IndexFilters(self.namespaces, self.types, tiers, self.session_id, self.agent_id, ids)


def _learned_explain(r: RankedCandidate, memory: Memory) -> tuple[ScoreBreakdown, list[ExplainTerm]]:
    """The learned ranker's terms (prior, then one per feature: they add up to the score), and
    the classic breakdown fields filled from them."""
    terms = r.terms()
    part = {t.name: t.contribution for t in terms}
    breakdown = ScoreBreakdown(
        vector_score=round(r.values["vector"], ROUND),
        text_score=round(r.values["text"], ROUND),
        entities_matched=int(r.values["entities"]),
        feedback_score=memory.feedback_score,
        access_count=memory.access_count,
        vector_term=part["vector"],
        text_term=part["text"],
        entity_bonus=part["entities"],
        feedback_bonus=part["feedback"],
        access_bonus=part["access"],
        score=r.score,
    )
    shown = [
        ExplainTerm(name=t.name, weight=t.weight, value=round(t.value, ROUND), contribution=t.contribution)
        for t in terms
    ]
    return breakdown, shown


def _given(b: ScoreBreakdown, terms: list[ExplainTerm]) -> tuple[ScoreBreakdown, list[ExplainTerm]]:
    return b, terms


def _tuple(values: Sequence[str] | None) -> tuple[str, ...] | None:
    return tuple(values) if values else None


class SearchService:
    def __init__(
        self, core: MemoryCore, weights: ScoringWeights | None, *, misses: MissService, feedback: FeedbackService
    ) -> None:
        self.core = core
        self.weights = weights or ScoringWeights()
        self._misses = misses
        self._feedback = feedback

    def search_api(self, tenant_id: str, req: SearchMemories) -> SearchOut:
        threshold = self.weights.threshold if req.threshold is None else req.threshold
        hits = self.search(
            tenant_id,
            req.query,
            namespaces=req.namespace_list(),
            top_k=req.top_k,
            threshold=threshold,
            tiers=req.tier_list(),
            types=req.type_list(),
            session_id=req.session_id,
            agent_id=req.agent_id,
            mode=req.mode,
            include_superseded=req.include_superseded,
        )
        miss_id = None
        if req.log_miss and not hits:
            logged = LogMiss(  # the namespaces as asked: the same bounds as the search request's
                query=req.query,
                session_id=req.session_id,
                context=req.session_context,
                namespace=req.namespace,
                namespaces=req.namespaces,
            )
            miss_id = self._misses.log_miss(tenant_id, logged).miss_id
        return SearchOut(query=req.query, threshold=threshold, results=hits, count=len(hits), miss_id=miss_id)

    def search(
        self,
        tenant_id: str,
        query: str,
        *,
        namespaces: Sequence[str] | None = None,
        top_k: int = 10,
        threshold: float | None = None,
        tiers: Sequence[str] | None = None,
        types: Sequence[str] | None = None,
        session_id: str | None = None,
        agent_id: str | None = None,
        mode: str = "hybrid",
        record_access: bool = True,
        include_superseded: bool = False,
    ) -> list[SearchHit]:
        """Ranked memories scoring ≥ threshold (best first, at most ``top_k``); hits count as accesses."""
        threshold = self.weights.threshold if threshold is None else threshold
        q = Query(
            query, _tuple(namespaces), _tuple(types), _tuple(tiers), session_id, agent_id, mode, include_superseded
        )
        chosen = [r for r in self.rank(tenant_id, q, top_k=top_k, threshold=threshold) if r.included][:top_k]
        now = clock.now()
        hits = [self._hit(r, now) for r in chosen]
        if record_access and chosen:
            self._feedback.record_access(tenant_id, [r.memory.memory_id for r in chosen])  # one log write
        return hits

    def _hit(self, r: Ranked, now: float) -> SearchHit:
        return self.core.render(
            r.memory, now, SearchHit, score=r.score, vector_score=r.vector_score, text_score=r.text_score
        )

    def rank(
        self, tenant_id: str, q: Query, *, top_k: int, threshold: float, extra_ids: Sequence[str] = ()
    ) -> list[Ranked]:
        """Every candidate the index offers for the query, scored, best first."""
        index = self.core.index()
        n = min(MAX_CANDIDATES, max(MIN_CANDIDATES, top_k * 3))
        filters = q.index_filters()
        qvec: list[float] | None = None
        raw_cos: dict[str, float] = {}
        bm25: dict[str, float] = {}
        embeddings: dict[str, list[float]] = {}
        try:
            if q.mode != "text":
                qvec = self.core.embed([q.text])[0]
                raw_cos = {h.memory_id: h.score for h in index.knn(tenant_id, qvec, n, filters)}
            if q.mode != "vector":
                for h in index.text_search(tenant_id, q.text, n, filters):
                    bm25[h.memory_id] = h.score
                    if h.embedding is not None:
                        embeddings[h.memory_id] = h.embedding
                if extra_ids:
                    extra = index.text_search(tenant_id, q.text, len(extra_ids), q.index_filters(tuple(extra_ids)))
                    for h in extra:
                        bm25.setdefault(h.memory_id, h.score)
                        if h.embedding is not None:
                            embeddings.setdefault(h.memory_id, h.embedding)
        except IndexUnavailable as exc:
            raise errors.ServiceUnavailable("The memory index is unavailable; retry the request") from exc
        ids = list(dict.fromkeys([*raw_cos, *bm25, *extra_ids]))
        now = clock.now()
        # The stored memories without their embeddings (the index gave the vectors it holds); a
        # candidate still without a score or a vector from the index is read again, whole.
        repo = self.core.repo
        found = {m: v for m, v in repo.get_many(tenant_id, ids, embeddings=False).items() if self._matches(v, q, now)}
        if qvec is not None:
            unscored = [mid for mid in found if mid not in raw_cos and not embeddings.get(mid)]
            if unscored:
                embeddings.update(
                    {mid: m.embedding for mid, m in repo.get_many(tenant_id, unscored).items() if m.embedding}
                )
            for mid in found:
                if mid not in raw_cos:
                    vec = embeddings.get(mid)
                    if vec is not None and len(vec) == len(qvec):
                        raw_cos[mid] = math.fsum(a * b for a, b in zip(qvec, vec, strict=True))
        texts = {mid: bm25_text(m.title, m.text, m.entities) for mid, m in found.items()}
        found_bm25 = {m: s for m, s in bm25.items() if m in found}
        if q.mode == "hybrid" and self.weights.ranker == "learned":
            ranked = self._learned(q, found, texts, raw_cos, found_bm25, threshold)
        else:
            ranked = self._linear(q, found, texts, raw_cos, found_bm25, threshold)
        ranked.sort(key=lambda r: (-r.score, -r.memory.created_at))
        return ranked

    def _learned(
        self,
        q: Query,
        found: dict[str, Memory],
        texts: dict[str, str],
        raw_cos: dict[str, float],
        bm25: dict[str, float],
        threshold: float,
    ) -> list[Ranked]:
        """engram.rank's fusion: features from the raw cosine, the raw BM25 and the stored memory."""
        from engram import rank

        candidates = [
            rank.Candidate(
                mid,
                texts[mid],
                cosine=raw_cos.get(mid),
                bm25=bm25.get(mid),
                entities=tuple(m.entities),
                timestamp=m.created_at,
                kind=m.type,
                feedback=m.feedback_score,
                access=m.access_count,
            )
            for mid, m in found.items()
        ]
        embedder = self.core.embedder().name
        model = rank.model_for(embedder, self.weights.threshold)
        scored = rank.rank(
            q.text, candidates, embedder=embedder, model=model, threshold=threshold, access_cap=self.weights.access_cap
        )
        return [
            Ranked(
                found[r.candidate.memory_id],
                r.score,
                round(r.values["vector"], ROUND),
                round(r.values["text"], ROUND),
                r.included,
                partial(_learned_explain, r, found[r.candidate.memory_id]),
            )
            for r in scored
        ]

    def _linear(
        self,
        q: Query,
        found: dict[str, Memory],
        texts: dict[str, str],
        raw_cos: dict[str, float],
        bm25: dict[str, float],
        threshold: float,
    ) -> list[Ranked]:
        """The hand-weighted sum of the module doc (the ``text`` and ``vector`` modes, and
        ``ranker="linear"``: the baseline bench/retrieval.py measures)."""
        tscores = text_scores(q.text, bm25, texts, use_coverage=self.weights.text_coverage)
        calibrate = calibration_for(self.core.embedder().name) if q.mode != "text" else None
        weights = self.weights_for(q.mode)
        scorer = HybridScorer(weights)
        ranked: list[Ranked] = []
        for mid, memory in found.items():
            vector_score = calibrate(raw_cos[mid]) if (calibrate is not None and mid in raw_cos) else 0.0
            b = scorer.score(
                vector_score=vector_score,
                text_score=tscores.get(mid, 0.0),
                entities=entities_matched(q.text, memory.entities),
                feedback_score=memory.feedback_score,
                access_count=memory.access_count,
            )
            terms = b.terms(weights)
            ranked.append(
                Ranked(memory, b.score, b.vector_score, b.text_score, b.score >= threshold, partial(_given, b, terms))
            )
        return ranked

    def weights_for(self, mode: str) -> ScoringWeights:
        if mode == "vector":
            return replace(self.weights, text_weight=0.0)
        if mode == "text":  # text alone carries the weight the vector has in hybrid
            return replace(self.weights, vector_weight=0.0, text_weight=self.weights.vector_weight)
        return self.weights

    def _matches(self, memory: Memory, q: Query, now: float) -> bool:
        if not (q.include_superseded or memory.current):
            return False
        if q.namespaces and memory.namespace not in q.namespaces:
            return False
        if q.types and memory.type not in q.types:
            return False
        if q.session_id and memory.session_id != q.session_id:
            return False
        if q.agent_id and memory.agent_id != q.agent_id:
            return False
        return not (q.tiers and self.core.tier_of(memory, now) not in q.tiers)

    def explain(self, tenant_id: str, req: ExplainRequest) -> ExplainOut:
        threshold = self.weights.threshold if req.threshold is None else req.threshold
        q = Query(
            req.query,
            _tuple(req.namespace_list()),
            _tuple(req.type_list()),
            _tuple(req.tier_list()),
            req.session_id,
            req.agent_id,
            req.mode,
        )
        extra: tuple[str, ...] = ()
        if req.memory_id:
            self.core.load(tenant_id, req.memory_id)  # 404 for unknown ids and other tenants' ids
            extra = (req.memory_id,)
        ranked = self.rank(tenant_id, q, top_k=req.top_k, threshold=threshold, extra_ids=extra)
        positions = {r.memory.memory_id: i + 1 for i, r in enumerate(ranked)}
        chosen = [r for r in ranked if r.memory.memory_id == req.memory_id] if req.memory_id else ranked[: req.top_k]
        if req.memory_id and not chosen:
            raise errors.NotFound(f"Memory {req.memory_id!r} does not match the filters of this query")
        weights = self.weights_for(req.mode)
        learned = req.mode == "hybrid" and self.weights.ranker == "learned"
        embedder_name = self.core.embedder().name if req.mode != "text" else "none"
        now = clock.now()
        results = []
        for r in chosen:
            breakdown, terms = r.explain()
            results.append(
                ExplainResult(
                    **asdict(breakdown),
                    memory_id=r.memory.memory_id,
                    title=r.memory.title,
                    tier=self.core.tier_of(r.memory, now),
                    terms=terms,
                    included=r.included,
                    reason=f"Score {r.score:.3f} {'>=' if r.included else '<'} threshold {threshold:g}",
                    rank=positions.get(r.memory.memory_id),
                )
            )
        if learned:
            from engram import rank

            model = rank.model_for(embedder_name, self.weights.threshold)
            breakdown_out = ExplainBreakdown(
                vector_weight=model.weights["vector"],
                text_weight=model.weights["text"],
                entity_weight=model.weights["entities"],
                feedback_weight=model.weights["feedback"],
                access_weight=model.weights["access"],
                access_cap=weights.access_cap,
                embedder=embedder_name,
                calibration=calibration_for(embedder_name).as_dict(),
                text_normalisation=(
                    "learned logistic fusion (engram.rank): score = sigmoid(bias + sum weight * value); "
                    "terms are the prior sigmoid(bias) and each feature's Shapley share of the rest; "
                    "text = bm25 / max_bm25_of_query; " + model.source
                ),
            )
        else:
            breakdown_out = ExplainBreakdown(
                vector_weight=weights.vector_weight,
                text_weight=weights.text_weight,
                entity_weight=weights.entity_weight,
                feedback_weight=weights.feedback_weight,
                access_weight=weights.access_weight,
                access_cap=weights.access_cap,
                embedder=embedder_name,
                calibration=calibration_for(embedder_name).as_dict(),
                text_normalisation="bm25 / max_bm25_of_query * share_of_query_terms_matched",
            )
        return ExplainOut(
            query=req.query,
            threshold=threshold,
            mode=req.mode,
            results=results,
            token_estimate=sum(estimate_tokens(r.memory.text) for r in chosen if r.included),
            breakdown=breakdown_out,
        )

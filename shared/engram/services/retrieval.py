"""Hybrid scoring shared by search, session start/refresh and explain.

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

import re
from collections.abc import Sequence
from dataclasses import dataclass

from engram.index.text import terms

ROUND = 6


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

    def terms(self, w: ScoringWeights) -> list[dict[str, float | str]]:
        return [
            {"name": "vector", "weight": w.vector_weight, "value": self.vector_score, "contribution": self.vector_term},
            {"name": "text", "weight": w.text_weight, "value": self.text_score, "contribution": self.text_term},
            {
                "name": "entities",
                "weight": w.entity_weight,
                "value": float(self.entities_matched),
                "contribution": self.entity_bonus,
            },
            {
                "name": "feedback",
                "weight": w.feedback_weight,
                "value": float(self.feedback_score),
                "contribution": self.feedback_bonus,
            },
            {
                "name": "access",
                "weight": w.access_weight,
                "value": float(min(self.access_count, w.access_cap)),
                "contribution": self.access_bonus,
            },
        ]


def entities_matched(query: str, entities: Sequence[str]) -> int:
    """How many of the memory's entities the query names (case-insensitive, whole words)."""
    lowered = query.lower()
    count = 0
    for entity in {e.strip().lower() for e in entities if e and e.strip()}:
        if re.search(r"(?<!\w)" + re.escape(entity) + r"(?!\w)", lowered):
            count += 1
    return count


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
        self,
        *,
        vector_score: float,
        text_score: float,
        entities: int,
        feedback_score: int,
        access_count: int,
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


def token_estimate(texts: Sequence[str]) -> int:
    """≈4 characters per token (the usual English estimate), at least 1 per non-empty text."""
    return sum(max(1, (len(t) + 3) // 4) for t in texts if t)

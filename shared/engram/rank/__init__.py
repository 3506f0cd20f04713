"""Relevance ranking without storage: features, a learned fusion, and a calibrated score.

A search hands :func:`rank` the query and the candidates its index offered (k-NN hits and BM25
hits, each with its raw score, joined with the stored memory); :func:`rank` returns them scored
and best first. Pure Python, no numpy, no storage: it runs the same behind the local index and
behind OpenSearch, in Lambda and in tests.

* :mod:`engram.rank.query` — what the query names: terms, people and places, dates.
* :mod:`engram.rank.slots` — what the query asks about and what a memory states, in the
  fact-slot vocabulary governance uses (a place, work, a preference, ...).
* :mod:`engram.rank.features` — per-candidate features (vector, text, coverage, names, date,
  vector gap, slot, and the usage signals: entities, feedback, access).
* :mod:`engram.rank.fusion` — the logistic model, its score, and explain terms that add up
  exactly to the score (Shapley values of the model).
* :mod:`engram.rank.weights` — the fitted weights per embedder, written by
  ``bench/retrieval.py --write-weights`` (held-out figures beside them).

**Same on OpenSearch.** Every feature is computed from (a) the raw cosine of a k-NN hit — the
adapter turns OpenSearch's ``(1 + cos) / 2`` back into the cosine — or, for a BM25-only hit,
the cosine with the stored vector; (b) the raw BM25 of a text hit, divided by the best BM25 of
the same query (so the two engines' different analysers and statistics matter only through
ranks within a query); (c) the stored memory: its searchable text and context, type,
entities, date, feedback and accesses, analysed here with one analyser for both engines. Nothing needs
corpus statistics or an index-specific call.

**Index-time text.** A memory's optional ``context`` (what came before it in the conversation:
the question a fact answers; extraction sets the message before the source message) is indexed
with it — embedded and searched by BM25 as :func:`engram.index.text.with_context` — and read by
the ``coverage`` and ``name_unknown`` features, never shown as the memory's text; the features
that read what a memory says (its subject, slot, entities, date) read its own text only. A memory
with a context is scored by the weights fitted on memories with context, one without by those
fitted without (:mod:`engram.rank.weights`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engram.index.text import with_context
from engram.rank.features import DEFAULT_ACCESS_CAP, FEATURES, Candidate, features
from engram.rank.fusion import RankModel, Term, sigmoid
from engram.rank.query import QueryInfo, read_query
from engram.rank.weights import model_for

__all__ = [
    "FEATURES",
    "Candidate",
    "QueryInfo",
    "RankModel",
    "Ranked",
    "Term",
    "features",
    "model_for",
    "rank",
    "read_query",
    "sigmoid",
    "with_context",
]


@dataclass(frozen=True)
class Ranked:
    """One scored candidate; ``terms()`` is its explanation (computed on demand)."""

    candidate: Candidate
    values: dict[str, float]
    score: float
    included: bool
    model: RankModel

    def terms(self) -> list[Term]:
        return self.model.terms(self.values)


def rank(
    query: str | QueryInfo,
    candidates: Sequence[Candidate],
    *,
    embedder: str,
    model: RankModel | None = None,
    context_model: RankModel | None = None,
    threshold: float | None = None,
    access_cap: int = DEFAULT_ACCESS_CAP,
) -> list[Ranked]:
    """Every candidate scored, best first (ties: the input order, so the caller can put newer
    memories first). ``included`` is ``score >= threshold`` (default: the model's). A candidate
    with a context is scored by ``context_model`` (default: the embedder's context fit), one
    without by ``model``."""
    info = read_query(query) if isinstance(query, str) else query
    model = model or model_for(embedder)
    with_context_model = context_model or model_for(embedder, model.threshold, context=True)
    limit = model.threshold if threshold is None else threshold
    rows = features(info, candidates, embedder=embedder, access_cap=access_cap)
    scored = []
    for cand, values in zip(candidates, rows, strict=True):
        chosen = with_context_model if cand.context else model
        score = chosen.score(values)
        scored.append(Ranked(cand, values, score, score >= limit, chosen))
    order = sorted(range(len(scored)), key=lambda i: -scored[i].score)
    return [scored[i] for i in order]

"""Ranking features of one query against its candidate memories.

Everything here is computed from what any index returns per hit — the raw cosine of the k-NN
search, the raw BM25 score of the text search — plus the stored memory (its searchable text,
entities, date, feedback and accesses), so the local index and OpenSearch give the same
features (see :mod:`engram.rank`). Per-query normalisations use only the candidate list.

=================  ======================================================================
``vector``         raw cosine put on the embedder's scale: ``(cos - noise) / (match - noise)``
                   with the anchors of :mod:`engram.embed.calibration` — 0 for a typical
                   unrelated text, 1 for a typical true match, whichever embedder is on
``text``           BM25 divided by the best BM25 among the query's candidates (0: no text hit)
``coverage``       share of the query's analysed terms that the memory's text (or context)
                   contains, each term weighted by its rarity among the candidates
                   (``idf = ln(1 + (P - df + 0.5) / (df + 0.5))``, ``P = max(N, MIN_POOL)`` for
                   N candidates): a word most of a large pool contains ("user" in a namespace
                   about one user) counts for little, a word only this memory holds counts
                   fully. Below ``MIN_POOL`` candidates the pool says little about which words
                   are common (in a namespace of one memory, its own words would look the
                   commonest), so a small pool is read as if padded to ``MIN_POOL`` memories
                   that lack every query term
``name_subject``   1 when the memory is about someone the query names: its first word is one
                   of the query's names ("Caroline: I went ...", "John prefers ...")
``name_unknown``   share of the query's names that no candidate mentions: the query is about
                   someone the memories never mention (same for every candidate of the query)
``date``           1 when the memory's date falls in (or just after) a period the query names
``vector_gap``     ``vector`` minus the best ``vector`` among the query's candidates (0 for the
                   memory nearest in meaning, negative for the others): how far a memory is
                   from the query's best match in meaning, whatever the query's own level
``slot``           the memory fills a fact slot of a topic the query asks about ("What
                   timezone ...?" asks about a place; "User is based in Singapore" fills the
                   residence slot, a place; :mod:`engram.rank.slots`), weighted like a
                   coverage term by how few candidates hold that topic (the same idf and
                   ``MIN_POOL``, divided by the idf of a topic no candidate holds) and ramped
                   by meaning: times ``min(max(vector, 0), SLOT_RAMP) / SLOT_RAMP``, so a slot
                   match counts only for a memory nearer the query than typical unrelated
                   text, fully from half-way to a typical match ("What is the user's
                   favourite colour?" asks about a preference, but no stored preference is
                   near colours in meaning)
``entities``       how many of the memory's entities the query names
``feedback``       the memory's explicit reinforcement (±1 each), clipped to ±FEEDBACK_CAP
``access``         how often the memory was used, capped at ``access_cap``
=================  ======================================================================
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from engram.embed.calibration import calibration_for
from engram.index.text import stem, terms
from engram.rank.query import QueryInfo, day_of
from engram.rank.slots import memory_topics, query_topics

FEEDBACK_CAP = 10
MIN_POOL = 50  # the fewest candidates a search asks its index for (services/search.py)
DEFAULT_ACCESS_CAP = 25
SLOT_RAMP = 0.5  # a slot match counts fully from half-way between typical noise and a typical match

FEATURES = (
    "vector",
    "text",
    "coverage",
    "name_subject",
    "name_unknown",
    "date",
    "vector_gap",
    "slot",
    "entities",
    "feedback",
    "access",
)


@dataclass(frozen=True)
class Candidate:
    """One memory offered by the index for a query.

    ``text`` is the memory's own searchable text (:func:`engram.index.text.bm25_text` of title,
    text and entities); ``context`` is what was indexed with it to help find it (the turn
    before it in its conversation) — BM25 saw both. ``cosine`` is None when the k-NN search did not return the
    memory and its stored vector could not be compared; ``bm25`` is None when the text search
    did not return it.
    """

    memory_id: str
    text: str
    context: str = ""
    cosine: float | None = None
    bm25: float | None = None
    entities: tuple[str, ...] = ()
    timestamp: float | None = None
    kind: str = ""
    feedback: int = 0
    access: int = 0


@lru_cache(maxsize=65536)
def _terms(text: str) -> frozenset[str]:
    return frozenset(terms(text))


def vector_scale(embedder: str) -> tuple[float, float]:
    """(noise, match) cosines of an embedder; an unknown embedder reads cosines as they are."""
    cal = calibration_for(embedder)
    if cal.match > cal.noise:
        return cal.noise, cal.match
    return 0.0, 1.0


_FIRST_WORD = re.compile(r"\w+")


def _subject(text: str) -> str:
    """The analysed first word of a memory: whom or what it is about ("Caroline: I went ...",
    "John prefers ...", "User is based in ...")."""
    m = _FIRST_WORD.search(text)
    return stem(m.group().lower()) if m else ""


def _ramp(vector: float) -> float:
    """How much a slot match counts at this ``vector``: 0 at or below typical unrelated text,
    rising to 1 at ``SLOT_RAMP`` (half-way to a typical match)."""
    return min(max(vector, 0.0), SLOT_RAMP) / SLOT_RAMP


def entities_matched(query: str, entities: Sequence[str]) -> int:
    """How many of the memory's entities the query names (case-insensitive, whole words)."""
    lowered = query.lower()
    count = 0
    for entity in {e.strip().lower() for e in entities if e and e.strip()}:
        if re.search(r"(?<!\w)" + re.escape(entity) + r"(?!\w)", lowered):
            count += 1
    return count


def features(
    query: QueryInfo,
    candidates: Sequence[Candidate],
    *,
    embedder: str,
    access_cap: int = DEFAULT_ACCESS_CAP,
) -> list[dict[str, float]]:
    """The feature values of every candidate, in the candidates' order."""
    noise, match = vector_scale(embedder)
    best_bm25 = max((c.bm25 for c in candidates if c.bm25 is not None and c.bm25 > 0), default=0.0)
    key_terms = [_terms(c.text) | _terms(c.context) if c.context else _terms(c.text) for c in candidates]
    known = {n for n in query.names if any(n in t for t in key_terms)}
    pool = max(len(candidates), MIN_POOL)
    idf = {}
    for term in query.terms:
        df = sum(term in t for t in key_terms)
        idf[term] = math.log(1.0 + (pool - df + 0.5) / (df + 0.5))
    idf_total = math.fsum(idf.values())
    name_unknown = (len(query.names) - len(known)) / len(query.names) if query.names else 0.0
    asks = query_topics(query.text)
    topics = [asks & memory_topics(c.text, c.kind) if asks else frozenset() for c in candidates]
    held = Counter(t for found in topics for t in found)
    slot_idf = {t: math.log(1.0 + (pool - df + 0.5) / (df + 0.5)) for t, df in held.items()}
    slot_top = math.log(1.0 + (pool + 0.5) / 0.5)
    vectors = [0.0 if c.cosine is None else (c.cosine - noise) / (match - noise) for c in candidates]
    best_vector = max(vectors, default=0.0)
    rows = []
    for cand, kterms, vector, found in zip(candidates, key_terms, vectors, topics, strict=True):
        when = day_of(cand.timestamp) if (query.periods and cand.timestamp) else None
        rows.append(
            {
                "vector": vector,
                "vector_gap": vector - best_vector,
                "text": (cand.bm25 or 0.0) / best_bm25 if best_bm25 > 0 else 0.0,
                "coverage": math.fsum(idf[t] for t in query.terms & kterms) / idf_total if idf_total else 0.0,
                "name_subject": 1.0 if known and _subject(cand.text) in known else 0.0,
                "name_unknown": name_unknown,
                "date": 1.0 if when is not None and any(p.near(when) for p in query.periods) else 0.0,
                "slot": max((slot_idf[t] for t in found), default=0.0) / slot_top * _ramp(vector),
                "entities": float(entities_matched(query.text, cand.entities)) if cand.entities else 0.0,
                "feedback": float(max(-FEEDBACK_CAP, min(FEEDBACK_CAP, cand.feedback))),
                "access": float(min(max(cand.access, 0), access_cap)),
            }
        )
    return rows

"""MemoryService: create, read, list, edit, delete, search, explain, reinforce, lock, misses.

DynamoDB is the source of truth. Writes that change what the index holds (create, edit, tier
changes) update the index synchronously too, so a memory is searchable when the call returns;
if that index write fails, the DynamoDB write stands and the memories stream
(``on_memory_change``) repairs the index. Search reads candidates from the index (k-NN + BM25)
and their current state from DynamoDB (so deleted or edited memories are never served stale),
scores them with :class:`~engram.services.retrieval.HybridScorer`, and counts the hits as
accesses. Tiers follow :mod:`engram.services.tiers`.

The programmatic API for the session side (start, turn refresh, extraction) is
:meth:`search`, :meth:`critical_memories`, :meth:`record_access`, :meth:`apply_outcome`,
:meth:`create_memory` and :meth:`find_duplicate`.
"""

from __future__ import annotations

import builtins
import json
import math
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError
from pynamodb.expressions.update import Action

from engram import clock, errors
from engram.config import Settings
from engram.embed import Embedder, EmbeddingError
from engram.embed.calibration import calibration_for
from engram.ids import looks_like_id, new_id
from engram.index import IndexDoc, IndexFilters, IndexUnavailable, VectorIndex
from engram.index.text import bm25_text
from engram.models.common import MAX_METADATA_BYTES, Page
from engram.models.memories import (
    DEFAULT_TIER_BY_TYPE,
    CreateMemory,
    DeleteMemoryOut,
    ExplainBreakdown,
    ExplainOut,
    ExplainRequest,
    ExplainResult,
    ExplainTerm,
    LockOut,
    LogMiss,
    LogMissOut,
    MemoryOut,
    MissesOut,
    MissOut,
    Reinforce,
    ReinforceOut,
    SearchHit,
    SearchMemories,
    SearchOut,
    SourceOut,
    UpdateMemory,
)
from engram.observability import logger
from engram.services.retrieval import (
    HybridScorer,
    ScoreBreakdown,
    ScoringWeights,
    entities_matched,
    text_scores,
    token_estimate,
)
from engram.services.tiers import TierPolicy, rank
from engram.store.memories import (
    ConditionFailed,
    MemoryFilters,
    MemoryItem,
    MemoryRepository,
    MissItem,
    MissRepository,
    content_hash,
    item_doc,
    memory_pk,
    pack_vector,
    tenant_ns,
    tenant_ns_hash,
    tenant_ns_tier,
    tenant_session,
    unpack_vector,
)

MAX_WRITE_ATTEMPTS = 10
MIN_CANDIDATES = 50
MAX_CANDIDATES = 300
TITLE_CHARS = 80
NEAR_DUPLICATE_COSINE = 0.92
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class Scored:
    """One ranked memory: the stored item, its score terms, and whether it passed the threshold."""

    item: MemoryItem
    breakdown: ScoreBreakdown
    included: bool


@dataclass(frozen=True)
class _Query:
    namespaces: tuple[str, ...] | None = None
    types: tuple[str, ...] | None = None
    tiers: tuple[str, ...] | None = None
    session_id: str | None = None
    agent_id: str | None = None

    def index_filters(self, ids: tuple[str, ...] | None = None) -> IndexFilters:
        # Tiers are checked on the effective (decayed) tier after reading DynamoDB; the index
        # holds the stored tier, which can only be higher, so it pre-filters with tier ≥ asked.
        tiers = None
        if self.tiers:
            floor = min(rank(t) for t in self.tiers)
            tiers = tuple(t for t in ("normal", "high", "critical") if rank(t) >= floor)
        return IndexFilters(self.namespaces, self.types, tiers, self.session_id, self.agent_id, ids)


class MemoryService:
    def __init__(
        self,
        repo: MemoryRepository,
        misses: MissRepository,
        settings: Settings,
        *,
        index: Callable[[], VectorIndex],
        embedder: Callable[[], Embedder],
        weights: ScoringWeights | None = None,
        policy: TierPolicy | None = None,
    ) -> None:
        self._repo = repo
        self._misses = misses
        self._settings = settings
        self._index_factory = index
        self._embedder_factory = embedder
        self.weights = weights or ScoringWeights()
        self.policy = policy or TierPolicy()
        self.scorer = HybridScorer(self.weights)

    # --- collaborators ----------------------------------------------------------------------

    def index(self) -> VectorIndex:
        return self._index_factory()

    def embedder(self) -> Embedder:
        return self._embedder_factory()

    def _embed(self, texts: Sequence[str]) -> builtins.list[builtins.list[float]]:
        try:
            return self.embedder().embed(list(texts))
        except EmbeddingError as exc:
            raise errors.ServiceUnavailable(f"Embedding failed; retry the request ({exc})") from exc

    def _embedder_tag(self) -> str:
        e = self.embedder()
        return f"{e.name}:{e.dimensions}"

    # --- create -------------------------------------------------------------------------------

    def create(self, tenant_id: str, req: CreateMemory) -> MemoryOut:
        return self.render(self._create(tenant_id, req))

    def create_memory(
        self,
        tenant_id: str,
        *,
        text: str,
        title: str | None = None,
        namespace: str = "default",
        type: str = "fact",  # noqa: A002 - the API's field name
        tier: str | None = None,
        entities: Sequence[str] = (),
        metadata: dict[str, Any] | None = None,
        session_id: str | None = None,
        agent_id: str | None = None,
        source: dict[str, Any] | None = None,
    ) -> MemoryOut:
        """Programmatic create (extraction, summaries): the same bounds as the API."""
        req = self.memory_request(
            text=text,
            title=title,
            namespace=namespace,
            type=type,
            tier=tier,
            entities=entities,
            metadata=metadata,
            session_id=session_id,
            agent_id=agent_id,
            source=source,
        )
        return self.create(tenant_id, req)

    @staticmethod
    def memory_request(
        *,
        text: str,
        title: str | None = None,
        namespace: str = "default",
        type: str = "fact",  # noqa: A002 - the API's field name
        tier: str | None = None,
        entities: Sequence[str] = (),
        metadata: dict[str, Any] | None = None,
        session_id: str | None = None,
        agent_id: str | None = None,
        source: dict[str, Any] | None = None,
    ) -> CreateMemory:
        """A memory validated as the API would (422 otherwise), not yet written."""
        try:
            return CreateMemory.model_validate(
                {
                    "text": text,
                    "title": title,
                    "namespace": namespace,
                    "type": type,
                    "tier": tier,
                    "entities": list(entities),
                    "metadata": metadata,
                    "session_id": session_id,
                    "agent_id": agent_id,
                    "source": source,
                }
            )
        except ValidationError as exc:
            details = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
            raise errors.ValidationFailed("Invalid memory", details=details) from exc

    def _create(self, tenant_id: str, req: CreateMemory) -> MemoryItem:
        now = clock.now()
        memory_id = new_id("mem")
        title = req.title or derive_title(req.text)
        tier = req.tier or DEFAULT_TIER_BY_TYPE.get(req.type, "normal")
        vector = self._embed([embed_text(title, req.text)])[0]
        source = req.source.model_dump() if req.source else None
        session_id = req.session_id or (req.source.session_id if req.source else None)
        item = MemoryItem(
            pk=memory_pk(tenant_id, memory_id),
            tenant_id=tenant_id,
            memory_id=memory_id,
            tenant_ns=tenant_ns(tenant_id, req.namespace),
            tenant_ns_tier=tenant_ns_tier(tenant_id, req.namespace, tier),
            tenant_ns_hash=tenant_ns_hash(tenant_id, req.namespace, req.text),
            tenant_session=tenant_session(tenant_id, session_id),
            namespace=req.namespace,
            title=title,
            text=req.text,
            type=req.type,
            tier=tier,
            locked=False,
            feedback_score=0,
            access_count=0,
            strength=self.policy.credit(tier),
            strength_at=now,
            entities=list(dict.fromkeys(req.entities)),
            source=source,
            agent_id=req.agent_id,
            session_id=session_id,
            metadata=req.metadata or {},
            created_at=now,
            updated_at=now,
            version=1,
            embedding=pack_vector(vector),
            embedder=self._embedder_tag(),
        )
        self._repo.put_new(item)
        self._sync_index(item)
        return item

    # --- read ---------------------------------------------------------------------------------

    def load(self, tenant_id: str, memory_id: str) -> MemoryItem:
        item = self._repo.get(tenant_id, memory_id) if looks_like_id(memory_id, "mem") else None
        if item is None:
            raise errors.NotFound(f"Memory {_short(memory_id)!r} not found")
        return item

    def get(self, tenant_id: str, memory_id: str) -> MemoryOut:
        return self.render(self.load(tenant_id, memory_id))

    def list(
        self,
        tenant_id: str,
        *,
        namespace: str | None = None,
        type: str | None = None,  # noqa: A002
        tier: str | None = None,
        session_id: str | None = None,
        agent_id: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
        offset: int = 0,
    ) -> Page[MemoryOut]:
        now = clock.now()
        accept = (lambda item: self._tier_of(item, now) == tier) if tier else None
        items, next_cursor, has_more, total = self._repo.list(
            tenant_id,
            MemoryFilters(namespace, type, tier, session_id, agent_id),
            limit=limit,
            cursor=cursor,
            offset=0 if cursor else offset,
            accept=accept,
        )
        return Page[MemoryOut](
            data=[self.render(i, now) for i in items], next_cursor=next_cursor, has_more=has_more, total_count=total
        )

    # --- edit / delete ------------------------------------------------------------------------

    def update(self, tenant_id: str, memory_id: str, req: UpdateMemory) -> MemoryOut:
        sent = {k for k in req.model_fields_set if getattr(req, k) is not None}
        vector: builtins.list[float] | None = None
        if "text" in sent or "title" in sent:
            current = self.load(tenant_id, memory_id)
            text = req.text or current.text
            vector = self._embed([embed_text(_next_title(current, req.title, req.text), text)])[0]

        def build(item: MemoryItem, now: float) -> builtins.list[Action]:
            namespace = req.namespace or item.namespace
            text = req.text or item.text
            actions: builtins.list[Action] = []
            if "text" in sent:
                actions.append(MemoryItem.text.set(text))
            if "text" in sent or "title" in sent:
                actions.append(MemoryItem.title.set(_next_title(item, req.title, req.text)))
            if vector is not None:
                actions += [
                    MemoryItem.embedding.set(pack_vector(vector)),
                    MemoryItem.embedder.set(self._embedder_tag()),
                ]
            if "type" in sent:
                actions.append(MemoryItem.type.set(str(req.type)))
            if "entities" in sent:
                actions.append(MemoryItem.entities.set(list(dict.fromkeys(req.entities or []))))
            if "metadata" in sent and req.metadata is not None:
                merged = {**(item.metadata or {}), **req.metadata}
                for k in [k for k, v in req.metadata.items() if v is None]:
                    merged.pop(k, None)  # a null value removes the key (JSON merge patch)
                _check_metadata(merged)
                actions.append(MemoryItem.metadata.set(merged))
            tier = self._tier_of(item, now)
            if "tier" in sent and req.tier is not None:
                tier = req.tier
                if not item.locked:  # an explicit tier starts from that tier's credit
                    actions += [MemoryItem.strength.set(self.policy.credit(req.tier)), MemoryItem.strength_at.set(now)]
            actions += [
                MemoryItem.namespace.set(namespace),
                MemoryItem.tenant_ns.set(tenant_ns(tenant_id, namespace)),
                MemoryItem.tenant_ns_hash.set(tenant_ns_hash(tenant_id, namespace, text)),
                MemoryItem.tier.set(tier),
                MemoryItem.tenant_ns_tier.set(tenant_ns_tier(tenant_id, namespace, tier)),
                MemoryItem.updated_at.set(now),
            ]
            return actions

        item = self._mutate(tenant_id, memory_id, build)
        self._sync_index(item)
        return self.render(item)

    def delete(self, tenant_id: str, memory_id: str) -> DeleteMemoryOut:
        item = self.load(tenant_id, memory_id)
        if not self._repo.delete(item):
            raise errors.NotFound(f"Memory {_short(memory_id)!r} not found")
        self._unindex(item)
        return DeleteMemoryOut(id=memory_id, deleted=True)

    # --- search -------------------------------------------------------------------------------

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
        )
        miss_id = None
        if req.log_miss and not hits:
            miss_id = self.log_miss(
                tenant_id, LogMiss(query=req.query, session_id=req.session_id, context=req.session_context)
            ).miss_id
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
    ) -> builtins.list[SearchHit]:
        """Ranked memories scoring ≥ threshold (best first, at most ``top_k``); hits count as accesses."""
        threshold = self.weights.threshold if threshold is None else threshold
        q = _Query(_tuple(namespaces), _tuple(types), _tuple(tiers), session_id, agent_id)
        ranked = self.rank(tenant_id, query, q, top_k=top_k, mode=mode, threshold=threshold)
        chosen = [s for s in ranked if s.included][:top_k]
        now = clock.now()
        hits = [
            SearchHit(
                **self.render(s.item, now).model_dump(),
                score=s.breakdown.score,
                vector_score=s.breakdown.vector_score,
                text_score=s.breakdown.text_score,
            )
            for s in chosen
        ]
        if record_access and chosen:
            self._record(tenant_id, [s.item for s in chosen])
        return hits

    def rank(
        self,
        tenant_id: str,
        query: str,
        q: _Query,
        *,
        top_k: int,
        mode: str,
        threshold: float,
        extra_ids: Sequence[str] = (),
    ) -> builtins.list[Scored]:
        """Every candidate the index offers for the query, scored, best first."""
        index = self.index()
        n = min(MAX_CANDIDATES, max(MIN_CANDIDATES, top_k * 3))
        filters = q.index_filters()
        qvec: builtins.list[float] | None = None
        raw_cos: dict[str, float] = {}
        bm25: dict[str, float] = {}
        embeddings: dict[str, builtins.list[float]] = {}
        try:
            if mode != "text":
                qvec = self._embed([query])[0]
                raw_cos = {h.memory_id: h.score for h in index.knn(tenant_id, qvec, n, filters)}
            if mode != "vector":
                for h in index.text_search(tenant_id, query, n, filters):
                    bm25[h.memory_id] = h.score
                    if h.embedding is not None:
                        embeddings[h.memory_id] = h.embedding
                if extra_ids:
                    extra = index.text_search(tenant_id, query, len(extra_ids), q.index_filters(tuple(extra_ids)))
                    for h in extra:
                        bm25.setdefault(h.memory_id, h.score)
        except IndexUnavailable as exc:
            raise errors.ServiceUnavailable("The memory index is unavailable; retry the request") from exc
        ids = list(dict.fromkeys([*raw_cos, *bm25, *extra_ids]))
        items = self._repo.batch_get(tenant_id, ids)
        now = clock.now()
        items = {mid: it for mid, it in items.items() if self._matches(it, q, now)}
        if qvec is not None:
            for mid, item in items.items():
                if mid not in raw_cos:
                    vec = embeddings.get(mid) or unpack_vector(item.embedding)
                    if vec is not None and len(vec) == len(qvec):
                        raw_cos[mid] = math.fsum(a * b for a, b in zip(qvec, vec, strict=True))
        texts = {mid: bm25_text(it.title, it.text, it.entities or []) for mid, it in items.items()}
        tscores = text_scores(
            query, {m: s for m, s in bm25.items() if m in items}, texts, use_coverage=self.weights.text_coverage
        )
        calibrate = calibration_for(self.embedder().name) if mode != "text" else None
        scorer = self._scorer(mode)
        scored: builtins.list[Scored] = []
        for mid, item in items.items():
            vector_score = calibrate(raw_cos[mid]) if (calibrate is not None and mid in raw_cos) else 0.0
            breakdown = scorer.score(
                vector_score=vector_score,
                text_score=tscores.get(mid, 0.0),
                entities=entities_matched(query, item.entities or []),
                feedback_score=int(item.feedback_score or 0),
                access_count=int(item.access_count or 0),
            )
            scored.append(Scored(item, breakdown, breakdown.score >= threshold))
        scored.sort(key=lambda s: (-s.breakdown.score, -float(s.item.created_at or 0)))
        return scored

    def _scorer(self, mode: str) -> HybridScorer:
        if mode == "vector":
            return HybridScorer(replace(self.weights, text_weight=0.0))
        if mode == "text":  # text alone carries the weight the vector has in hybrid
            return HybridScorer(replace(self.weights, vector_weight=0.0, text_weight=self.weights.vector_weight))
        return self.scorer

    def _matches(self, item: MemoryItem, q: _Query, now: float) -> bool:
        if q.namespaces and item.namespace not in q.namespaces:
            return False
        if q.types and item.type not in q.types:
            return False
        if q.session_id and item.session_id != q.session_id:
            return False
        if q.agent_id and item.agent_id != q.agent_id:
            return False
        return not (q.tiers and self._tier_of(item, now) not in q.tiers)

    # --- explain ------------------------------------------------------------------------------

    def explain(self, tenant_id: str, req: ExplainRequest) -> ExplainOut:
        threshold = self.weights.threshold if req.threshold is None else req.threshold
        q = _Query(
            _tuple(req.namespace_list()), _tuple(req.type_list()), _tuple(req.tier_list()), req.session_id, req.agent_id
        )
        extra: tuple[str, ...] = ()
        if req.memory_id:
            self.load(tenant_id, req.memory_id)  # 404 for unknown ids and other tenants' ids
            extra = (req.memory_id,)
        ranked = self.rank(
            tenant_id, req.query, q, top_k=req.top_k, mode=req.mode, threshold=threshold, extra_ids=extra
        )
        positions = {s.item.memory_id: i + 1 for i, s in enumerate(ranked)}
        chosen = [s for s in ranked if s.item.memory_id == req.memory_id] if req.memory_id else ranked[: req.top_k]
        if req.memory_id and not chosen:
            raise errors.NotFound(f"Memory {req.memory_id!r} does not match the filters of this query")
        weights = self._scorer(req.mode).weights
        now = clock.now()
        results = []
        for s in chosen:
            b = s.breakdown
            comparison = ">=" if s.included else "<"
            results.append(
                ExplainResult(
                    memory_id=str(s.item.memory_id),
                    title=s.item.title,
                    tier=self._tier_of(s.item, now),
                    score=b.score,
                    vector_score=b.vector_score,
                    text_score=b.text_score,
                    entities_matched=b.entities_matched,
                    feedback_score=b.feedback_score,
                    access_count=b.access_count,
                    vector_term=b.vector_term,
                    text_term=b.text_term,
                    entity_bonus=b.entity_bonus,
                    feedback_bonus=b.feedback_bonus,
                    access_bonus=b.access_bonus,
                    terms=[ExplainTerm(**t) for t in b.terms(weights)],  # type: ignore[arg-type]
                    included=s.included,
                    reason=f"Score {b.score:.3f} {comparison} threshold {threshold:g}",
                    rank=positions.get(str(s.item.memory_id)),
                )
            )
        embedder_name = self.embedder().name if req.mode != "text" else "none"
        return ExplainOut(
            query=req.query,
            threshold=threshold,
            mode=req.mode,
            results=results,
            token_estimate=token_estimate([s.item.text for s in chosen if s.included]),
            breakdown=ExplainBreakdown(
                vector_weight=weights.vector_weight,
                text_weight=weights.text_weight,
                entity_weight=weights.entity_weight,
                feedback_weight=weights.feedback_weight,
                access_weight=weights.access_weight,
                access_cap=weights.access_cap,
                embedder=embedder_name,
                calibration=calibration_for(embedder_name).as_dict(),
                text_normalisation="bm25 / max_bm25_of_query * share_of_query_terms_matched",
            ),
        )

    # --- reinforcement, access, locks ---------------------------------------------------------

    def reinforce(self, tenant_id: str, memory_id: str, req: Reinforce) -> ReinforceOut:
        before = self.load(tenant_id, memory_id)
        previous = self._tier_of(before, clock.now())
        item = self._feedback(tenant_id, memory_id, int(req.value), first=before)
        new = self._tier_of(item, clock.now())
        promoted, demoted = rank(new) > rank(previous), rank(new) < rank(previous)
        message = "Memory reinforced." if req.value > 0 else "Memory weakened."
        if promoted:
            message += f" Promoted to {new} tier."
        elif demoted:
            message += f" Demoted to {new} tier."
        elif item.locked:
            message += f" Tier locked at {new}."
        return ReinforceOut(
            memory_id=memory_id,
            feedback_score=int(item.feedback_score or 0),
            access_count=int(item.access_count or 0),
            strength=round(self._strength(item, clock.now()), 3),
            previous_tier=previous,
            new_tier=new,
            locked=bool(item.locked),
            promoted=promoted,
            demoted=demoted,
            message=message,
        )

    def apply_outcome(self, tenant_id: str, memory_ids: Iterable[str], delta_feedback: int) -> int:
        """Outcome learning: add ``delta_feedback`` (e.g. +1 success, -1 failure) to each memory's
        feedback score. Missing ids are skipped; returns how many memories were updated."""
        updated = 0
        for memory_id in dict.fromkeys(memory_ids):
            try:
                self._feedback(tenant_id, memory_id, int(delta_feedback))
                updated += 1
            except errors.NotFound:
                continue
        return updated

    def _feedback(self, tenant_id: str, memory_id: str, value: int, first: MemoryItem | None = None) -> MemoryItem:
        old_tier: dict[str, str] = {}

        def build(item: MemoryItem, now: float) -> builtins.list[Action]:
            old_tier["tier"] = str(item.tier)
            strength = self.policy.after_feedback(float(item.strength or 0), float(item.strength_at or now), now, value)
            return [
                MemoryItem.feedback_score.set(int(item.feedback_score or 0) + value),
                MemoryItem.strength.set(strength),
                MemoryItem.strength_at.set(now),
                MemoryItem.updated_at.set(now),
                *self._tier_actions(item, strength),
            ]

        item = self._mutate(tenant_id, memory_id, build, first=first)
        if item.tier != old_tier.get("tier"):
            self._sync_index(item)
        return item

    def record_access(self, tenant_id: str, memory_ids: Iterable[str]) -> int:
        """Count memories as used (a turn used them, a session start injected them)."""
        items = self._repo.batch_get(tenant_id, dict.fromkeys(memory_ids))
        return self._record(tenant_id, list(items.values()))

    def _record(self, tenant_id: str, items: Sequence[MemoryItem]) -> int:
        done = 0
        for known in items:

            def build(item: MemoryItem, now: float) -> builtins.list[Action]:
                strength = self.policy.after_access(float(item.strength or 0), float(item.strength_at or now), now)
                return [
                    MemoryItem.access_count.set(int(item.access_count or 0) + 1),
                    MemoryItem.last_accessed_at.set(now),
                    MemoryItem.strength.set(strength),
                    MemoryItem.strength_at.set(now),
                    *self._tier_actions(item, strength),
                ]

            try:
                item = self._mutate(tenant_id, str(known.memory_id), build, first=known)
            except (errors.NotFound, errors.ServiceUnavailable) as exc:
                logger.warning("access not recorded", extra={"memory_id": known.memory_id, "error": str(exc)})
                continue
            done += 1
            if item.tier != known.tier:
                self._sync_index(item)
        return done

    def lock(self, tenant_id: str, memory_id: str, tier: str) -> LockOut:
        def build(item: MemoryItem, now: float) -> builtins.list[Action]:
            return [MemoryItem.locked.set(True), *_tier_set(item, tier), MemoryItem.updated_at.set(now)]

        item = self._mutate(tenant_id, memory_id, build)
        self._sync_index(item)
        return LockOut(memory_id=memory_id, tier=tier, locked=True, message=f"Memory locked at {tier} tier")

    def unlock(self, tenant_id: str, memory_id: str) -> LockOut:
        def build(item: MemoryItem, now: float) -> builtins.list[Action]:
            tier = self.policy.tier_for(self._strength(item, now))
            return [MemoryItem.locked.set(False), *_tier_set(item, tier), MemoryItem.updated_at.set(now)]

        item = self._mutate(tenant_id, memory_id, build)
        self._sync_index(item)
        return LockOut(
            memory_id=memory_id,
            tier=str(item.tier),
            locked=False,
            message=f"Memory unlocked; its tier follows strength ({item.tier})",
        )

    # --- misses -------------------------------------------------------------------------------

    def log_miss(self, tenant_id: str, req: LogMiss) -> LogMissOut:
        now = clock.now()
        miss_id = new_id("miss")
        retention = self._settings.miss_retention_seconds
        self._misses.put(
            MissItem(
                pk=tenant_id,
                miss_id=miss_id,
                query_text=req.query,
                session_id=req.session_id,
                context=req.context,
                created_at=now,
                purge_at=int(now + retention) if retention else None,
            )
        )
        return LogMissOut(logged=True, miss_id=miss_id)

    def list_misses(
        self, tenant_id: str, *, limit: int = 20, since: str | None = None, cursor: str | None = None
    ) -> MissesOut:
        since_ts = None
        if since:
            try:
                since_ts = clock.parse_iso(since)
            except ValueError as exc:
                raise errors.ValidationFailed("since must be an ISO-8601 date or datetime") from exc
        items, next_cursor, has_more = self._misses.list(tenant_id, limit=limit, since=since_ts, cursor=cursor)
        data = [
            MissOut(
                id=i.miss_id,
                query=i.query_text,
                session_id=i.session_id,
                context=i.context,
                created_at=clock.iso(i.created_at),
            )
            for i in items
        ]
        total = self._misses.count(tenant_id, since_ts)
        return MissesOut(
            data=data, next_cursor=next_cursor, has_more=has_more, total_count=total, misses=data, count=len(data)
        )

    # --- for the session side -----------------------------------------------------------------

    def critical_memories(self, tenant_id: str, namespaces: Sequence[str] | None = None) -> builtins.list[MemoryOut]:
        """Every memory whose effective tier is critical (locked or strong enough), strongest first."""
        now = clock.now()
        found: dict[str, MemoryItem] = {}
        sources: Iterable[MemoryItem]
        if namespaces:
            sources = (i for ns in dict.fromkeys(namespaces) for i in self._repo.by_tier(tenant_id, ns, "critical"))
        else:
            sources = self._repo.by_tier_all_namespaces(tenant_id, "critical")
        for item in sources:
            if self._tier_of(item, now) == "critical":
                found[str(item.memory_id)] = item
        ordered = sorted(found.values(), key=lambda i: (-self._strength(i, now), str(i.memory_id)))
        return [self.render(i, now) for i in ordered]

    def find_duplicate(
        self, tenant_id: str, namespace: str, text: str, *, near_cosine: float | None = NEAR_DUPLICATE_COSINE
    ) -> MemoryOut | None:
        """An existing memory with the same normalised text in the namespace, else (if
        ``near_cosine``) the nearest one whose raw cosine similarity reaches it."""
        for item in self._repo.by_content(tenant_id, namespace, text):
            if content_hash(item.text) == content_hash(text):
                return self.render(item)
        if near_cosine is None:
            return None
        vector = self._embed([text])[0]
        try:
            hits = self.index().knn(tenant_id, vector, 1, IndexFilters(namespaces=(namespace,)))
        except IndexUnavailable:
            return None
        if hits and hits[0].score >= near_cosine:
            near = self._repo.get(tenant_id, hits[0].memory_id)
            if near is not None:
                return self.render(near)
        return None

    def for_session(self, tenant_id: str, session_id: str) -> builtins.list[MemoryOut]:
        now = clock.now()
        return [self.render(i, now) for i in self._repo.for_session(tenant_id, session_id)]

    def delete_for_session(self, tenant_id: str, session_id: str) -> int:
        removed = 0
        for item in list(self._repo.for_session(tenant_id, session_id)):
            if self._repo.delete(item):
                self._unindex(item)
                removed += 1
        return removed

    # --- reindex --------------------------------------------------------------------------------

    def reindex(self, tenant_id: str | None = None, *, batch_size: int = 200) -> int:
        """Rebuild the index from DynamoDB (one tenant or all) with the stored embeddings; memories
        embedded by another model (or none) are re-embedded and the new vector saved."""
        index = self.index()
        index.ensure_index()
        clear = getattr(index, "clear", None)
        if callable(clear):
            clear(tenant_id)
        tag = self._embedder_tag()
        total = 0
        batch: builtins.list[IndexDoc] = []
        for item in self._repo.scan(tenant_id):
            if not item.memory_id:
                continue
            if item.embedder != tag or not item.embedding:
                vector = self._embed([embed_text(item.title, item.text)])[0]
                item.embedding, item.embedder = pack_vector(vector), tag
                self._repo.save(item)  # a new version arrives through the stream too: same content
            batch.append(self.doc(item))
            if len(batch) >= batch_size:
                index.upsert(batch)
                total += len(batch)
                batch = []
        if batch:
            index.upsert(batch)
            total += len(batch)
        return total

    # --- helpers ------------------------------------------------------------------------------

    def _strength(self, item: MemoryItem, now: float) -> float:
        return self.policy.decayed(float(item.strength or 0), float(item.strength_at or item.created_at or now), now)

    def _tier_of(self, item: MemoryItem, now: float) -> str:
        return self.policy.effective_tier(
            tier=str(item.tier),
            locked=bool(item.locked),
            strength=float(item.strength or 0),
            strength_at=float(item.strength_at or now),
            now=now,
        )

    def _tier_actions(self, item: MemoryItem, strength: float) -> builtins.list[Action]:
        tier = str(item.tier) if item.locked else self.policy.tier_for(strength)
        return _tier_set(item, tier)

    def _mutate(
        self,
        tenant_id: str,
        memory_id: str,
        build: Callable[[MemoryItem, float], builtins.list[Action]],
        *,
        first: MemoryItem | None = None,
    ) -> MemoryItem:
        """Optimistic write: build actions from the item as read, apply them if its version is
        unchanged (bumping it), else re-read and rebuild."""
        item = first
        for attempt in range(MAX_WRITE_ATTEMPTS):
            if item is None:
                item = self.load(tenant_id, memory_id)
            now = clock.now()
            version = int(item.version or 0)
            actions = [*build(item, now), MemoryItem.version.set(version + 1)]
            try:
                return self._repo.update(tenant_id, memory_id, actions, expected_version=version)
            except ConditionFailed:
                item = None
                time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        raise errors.ServiceUnavailable("The memory is busy with concurrent writes; retry")

    def doc(self, item: MemoryItem) -> IndexDoc:
        return item_doc(item)

    def _sync_index(self, item: MemoryItem) -> None:
        try:
            self.index().upsert([self.doc(item)])
        except Exception as exc:  # noqa: BLE001 - DynamoDB stands; the stream repairs the index
            logger.warning(
                "index write failed; the stream will repair it", extra={"memory_id": item.memory_id, "error": str(exc)}
            )

    def _unindex(self, item: MemoryItem) -> None:
        try:
            self.index().delete(str(item.tenant_id), [str(item.memory_id)], version=int(item.version or 0) + 1)
        except Exception as exc:  # noqa: BLE001 - the REMOVE stream record deletes it again
            logger.warning(
                "index delete failed; the stream will repair it", extra={"memory_id": item.memory_id, "error": str(exc)}
            )

    def render(self, item: MemoryItem, now: float | None = None) -> MemoryOut:
        now = clock.now() if now is None else now
        source = item.source or None
        return MemoryOut(
            id=str(item.memory_id),
            namespace=item.namespace,
            title=item.title,
            text=item.text,
            type=item.type,
            tier=self._tier_of(item, now),
            locked=bool(item.locked),
            feedback_score=int(item.feedback_score or 0),
            access_count=int(item.access_count or 0),
            strength=round(self._strength(item, now), 3),
            entities=list(item.entities or []),
            source=SourceOut(**source) if source else None,
            agent_id=item.agent_id,
            session_id=item.session_id,
            metadata=item.metadata or {},
            created_at=clock.iso(item.created_at),
            updated_at=clock.iso(item.updated_at),
            last_accessed_at=clock.iso(item.last_accessed_at),
        )


def _tier_set(item: MemoryItem, tier: str) -> builtins.list[Action]:
    """The tier and its GSI key change together, always."""
    return [
        MemoryItem.tier.set(tier),
        MemoryItem.tenant_ns_tier.set(tenant_ns_tier(str(item.tenant_id), item.namespace, tier)),
    ]


def derive_title(text: str) -> str:
    """The first sentence or ~80 characters of the text, cut at a word."""
    flat = _SPACE_RE.sub(" ", text.strip())
    first = re.split(r"(?<=[.!?])\s", flat, maxsplit=1)[0]
    if len(first) <= TITLE_CHARS:
        return first
    cut = first[:TITLE_CHARS].rsplit(" ", 1)[0] or first[:TITLE_CHARS]
    return cut + "…"


def embed_text(title: str, text: str) -> str:
    """What is embedded: the text, preceded by the title when the title adds words."""
    if not title or text.startswith(title.rstrip(". …")):
        return text
    return f"{title}. {text}"


def _next_title(item: MemoryItem, title: str | None, text: str | None) -> str:
    """An explicit title wins; a title derived from the old text follows the new text."""
    if title:
        return title
    if text is not None and item.title == derive_title(item.text):
        return derive_title(text)
    return str(item.title)


def _short(ref: str, limit: int = 64) -> str:
    """Ids echoed in errors are bounded: a hostile 10 KB path never comes back whole."""
    return ref if len(ref) <= limit else ref[:limit] + "…"


def _tuple(values: Sequence[str] | None) -> tuple[str, ...] | None:
    return tuple(values) if values else None


def _check_metadata(merged: dict[str, Any]) -> None:
    size = len(json.dumps(merged, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_METADATA_BYTES:
        raise errors.PayloadTooLarge(f"merged metadata would be {size} bytes; the limit is {MAX_METADATA_BYTES}")


def reindex(tenant: str | None = None) -> int:
    """``engram reindex``: rebuild the vector index from DynamoDB; returns documents indexed."""
    from engram.services.container_memories import memories

    return memories().reindex(tenant)

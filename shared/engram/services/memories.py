"""MemoryService: create, read, list, edit and delete memories; what the session side reads.

The programmatic API for the session side (start, extraction, summaries, cascades) is
:meth:`create_memory`, :meth:`critical_memories`, :meth:`find_duplicate`, :meth:`for_session`
and :meth:`delete_for_session`; search lives in :mod:`engram.services.search`, reinforcement,
accesses and locks in :mod:`engram.services.feedback`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError

from engram import clock, errors
from engram.config import Settings
from engram.ids import new_id
from engram.index.ports import IndexDoc, IndexFilters, IndexUnavailable
from engram.models.common import Page
from engram.models.memories import CreateMemory, DeleteMemoryOut, MemoryOut, UpdateMemory
from engram.ports import StaleWrite
from engram.ports.memories import Memory, MemoryChanges, MemoryFilters
from engram.services.memory_core import MemoryCore, derive_title, embed_text, index_doc, short
from engram.services.metadata import merge_metadata
from engram.vocabulary import default_tier

NEAR_DUPLICATE_COSINE = 0.92


class MemoryService:
    def __init__(self, core: MemoryCore, settings: Settings) -> None:
        self.core = core
        self._settings = settings

    # --- create -------------------------------------------------------------------------------

    def create(
        self,
        tenant_id: str,
        req: CreateMemory,
        *,
        memory_id: str | None = None,
        vector: Sequence[float] | None = None,
        created_at: float | None = None,
    ) -> MemoryOut:
        """Store a memory. Batch writes and imports pass ``memory_id`` (kept: a Conflict if the tenant
        already has it), ``vector`` (the embedding of :func:`embed_text`, computed for the whole
        batch at once) and ``created_at`` (the source's time)."""
        now = clock.now()
        title = req.title or derive_title(req.text)
        tier = req.tier or default_tier(req.type)
        if vector is None:
            vector = self.core.embed([embed_text(title, req.text)])[0]
        memory = Memory(
            tenant_id=tenant_id,
            memory_id=memory_id or new_id("mem"),
            namespace=req.namespace,
            title=title,
            text=req.text,
            type=req.type,
            tier=tier,
            created_at=now if created_at is None else created_at,
            updated_at=now,
            strength=self.core.policy.credit(tier),
            strength_at=now,
            entities=tuple(dict.fromkeys(req.entities)),
            source=req.source.model_dump() if req.source else None,
            agent_id=req.agent_id,
            session_id=req.session_id or (req.source.session_id if req.source else None),
            metadata=req.metadata or {},
            embedding=list(vector),
            embedder=self.core.embedder_tag(),
        )
        try:
            memory = self.core.repo.add(memory)
        except StaleWrite as exc:  # only a kept id (an import) can already be there
            raise errors.Conflict(f"Memory {memory.memory_id!r} already exists") from exc
        self.core.sync_index(memory)
        return self.core.render(memory)

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
        try:
            req = CreateMemory.model_validate(
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
        return self.create(tenant_id, req)

    # --- read ---------------------------------------------------------------------------------

    def existing(self, tenant_id: str, memory_ids: Sequence[str]) -> set[str]:
        """Which of these ids the tenant already has (one batched read)."""
        return set(self.core.repo.get_many(tenant_id, list(dict.fromkeys(memory_ids))))

    def get(self, tenant_id: str, memory_id: str) -> MemoryOut:
        return self.core.render(self.core.load(tenant_id, memory_id))

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
        accept = (lambda m: self.core.tier_of(m, now) == tier) if tier else None
        found = self.core.repo.listing(
            tenant_id,
            MemoryFilters(namespace, type, tier, session_id, agent_id),
            limit=limit,
            cursor=cursor,
            offset=0 if cursor else offset,
            accept=accept,
        )
        return Page[MemoryOut](
            data=[self.core.render(m, now) for m in found.items],
            next_cursor=found.next_cursor,
            has_more=found.has_more,
            total_count=found.total,
        )

    # --- edit / delete ------------------------------------------------------------------------

    def update(self, tenant_id: str, memory_id: str, req: UpdateMemory) -> MemoryOut:
        sent = {k for k in req.model_fields_set if getattr(req, k) is not None}
        vector: builtins.list[float] | None = None
        if "text" in sent or "title" in sent:
            current = self.core.load(tenant_id, memory_id)
            vector = self.core.embed([embed_text(_next_title(current, req.title, req.text), req.text or current.text)])[
                0
            ]

        def build(memory: Memory, now: float) -> MemoryChanges:
            tier = self.core.tier_of(memory, now)
            strength: float | None = None
            if "tier" in sent and req.tier is not None:
                tier = req.tier
                if not memory.locked:  # an explicit tier starts from that tier's credit
                    strength = self.core.policy.credit(req.tier)
            return MemoryChanges(
                text=req.text if "text" in sent else None,
                title=_next_title(memory, req.title, req.text) if "text" in sent or "title" in sent else None,
                embedding=vector,
                embedder=self.core.embedder_tag() if vector is not None else None,
                type=str(req.type) if "type" in sent else None,
                entities=list(dict.fromkeys(req.entities or [])) if "entities" in sent else None,
                metadata=merge_metadata(memory.metadata, req.metadata) if req.metadata is not None else None,
                namespace=req.namespace or memory.namespace,
                tier=tier,
                strength=strength,
                strength_at=now if strength is not None else None,
                updated_at=now,
            )

        memory = self.core.change(tenant_id, memory_id, build)
        self.core.sync_index(memory)
        return self.core.render(memory)

    def delete(self, tenant_id: str, memory_id: str) -> DeleteMemoryOut:
        memory = self.core.load(tenant_id, memory_id)
        if not self.core.repo.delete(memory):
            raise errors.NotFound(f"Memory {short(memory_id)!r} not found")
        self.core.unindex(memory)
        return DeleteMemoryOut(id=memory_id, deleted=True)

    # --- for the session side -----------------------------------------------------------------

    def critical_memories(self, tenant_id: str, namespaces: Sequence[str] | None = None) -> builtins.list[MemoryOut]:
        """Every memory whose effective tier is critical (locked or strong enough), strongest first."""
        now = clock.now()
        found = {
            m.memory_id: m
            for m in self.core.repo.stored_at_tier(tenant_id, "critical", namespaces or None)
            if self.core.tier_of(m, now) == "critical"
        }
        ordered = sorted(found.values(), key=lambda m: (-self.core.strength(m, now), m.memory_id))
        return [self.core.render(m, now) for m in ordered]

    def find_duplicate(
        self, tenant_id: str, namespace: str, text: str, *, near_cosine: float | None = NEAR_DUPLICATE_COSINE
    ) -> MemoryOut | None:
        """An existing memory with the same normalised text in the namespace, else (if
        ``near_cosine``) the nearest one whose raw cosine similarity reaches it."""
        for memory in self.core.repo.same_text(tenant_id, namespace, text):
            return self.core.render(memory)
        if near_cosine is None:
            return None
        vector = self.core.embed([text])[0]
        try:
            hits = self.core.index().knn(tenant_id, vector, 1, IndexFilters(namespaces=(namespace,)))
        except IndexUnavailable:
            return None
        if hits and hits[0].score >= near_cosine:
            near = self.core.repo.get(tenant_id, hits[0].memory_id)
            if near is not None:
                return self.core.render(near)
        return None

    def for_session(self, tenant_id: str, session_id: str) -> builtins.list[MemoryOut]:
        now = clock.now()
        return [self.core.render(m, now) for m in self.core.repo.for_session(tenant_id, session_id)]

    def delete_for_session(self, tenant_id: str, session_id: str) -> int:
        removed = 0
        for memory in builtins.list(self.core.repo.for_session(tenant_id, session_id)):
            if self.core.repo.delete(memory):
                self.core.unindex(memory)
                removed += 1
        return removed

    # --- reindex --------------------------------------------------------------------------------

    def reindex(
        self, tenant_id: str | None = None, *, batch_size: int = 200, progress: Callable[[int], None] | None = None
    ) -> int:
        """Rebuild the index from DynamoDB (one tenant or all) with the stored embeddings; memories
        embedded by another model (or none) are re-embedded and the new vector saved.
        ``progress(n)`` is told each time n more documents are indexed."""
        index = self.core.index()
        index.ensure_index()
        clear = getattr(index, "clear", None)
        if callable(clear):
            clear(tenant_id)
        tag = self.core.embedder_tag()
        total = 0
        batch: builtins.list[IndexDoc] = []
        for memory in self.core.repo.scan(tenant_id):
            if memory.embedder != tag or not memory.embedding:
                vector = self.core.embed([embed_text(memory.title, memory.text)])[0]
                memory = self.core.repo.replace_embedding(memory, vector, tag)
            batch.append(index_doc(memory))
            if len(batch) >= batch_size:
                index.upsert(batch)
                total += len(batch)
                if progress is not None:
                    progress(len(batch))
                batch = []
        if batch:
            index.upsert(batch)
            total += len(batch)
            if progress is not None:
                progress(len(batch))
        return total


def _next_title(memory: Memory, title: str | None, text: str | None) -> str:
    """An explicit title wins; a title derived from the old text follows the new text."""
    if title:
        return title
    if text is not None and memory.title == derive_title(memory.text):
        return derive_title(text)
    return memory.title

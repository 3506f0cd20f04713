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
from engram.extract.slots import FactSlot, Verdict, compare, read_slot
from engram.ids import new_id
from engram.index.ports import IndexDoc, IndexFilters, IndexUnavailable
from engram.models.common import Page
from engram.models.memories import (
    CreateMemory,
    DeleteMemoryOut,
    DeletionReceiptOut,
    EditedMemoryOut,
    KeptMemoryOut,
    MemoryOut,
    UpdateMemory,
    WrittenMemoryOut,
)
from engram.ports import StaleWrite
from engram.ports.memories import Memory, MemoryChanges, MemoryFilters
from engram.services.governance import GovernanceService
from engram.services.memory_core import MemoryCore, derive_title, embed_text, index_doc, short
from engram.services.metadata import merge_metadata
from engram.vocabulary import default_tier

NEAR_DUPLICATE_COSINE = 0.92
# Memories of these types record what happened, not what holds now: they never supersede.
UNSLOTTED_TYPES = frozenset({"event", "summary"})


class MemoryService:
    def __init__(self, core: MemoryCore, settings: Settings) -> None:
        self.core = core
        self._settings = settings
        self.governance = GovernanceService(core)

    # --- create -------------------------------------------------------------------------------

    def create(
        self,
        tenant_id: str,
        req: CreateMemory,
        *,
        memory_id: str | None = None,
        vector: Sequence[float] | None = None,
        created_at: float | None = None,
        cause: str = "api",
    ) -> WrittenMemoryOut:
        """Store a memory through the one write path: dedupe -> supersede -> create.

        A memory with the same normalised text in the namespace is a duplicate: it comes back
        (with this write's session added to its sources) instead of a copy. A memory that
        contradicts a current one about the same subject and attribute supersedes it, or opens a
        conflict for review when the rule is unsure or the old memory is locked. Batch writes
        and imports pass ``memory_id`` (kept: a Conflict if the tenant already has it; an import
        restores memories as they were, so it skips dedupe and supersede), ``vector`` (the
        embedding of :func:`embed_text`, computed for the whole batch at once) and
        ``created_at`` (the source's time)."""
        return self.write(tenant_id, req, memory_id=memory_id, vector=vector, created_at=created_at, cause=cause)[0]

    def write(
        self,
        tenant_id: str,
        req: CreateMemory,
        *,
        memory_id: str | None = None,
        vector: Sequence[float] | None = None,
        created_at: float | None = None,
        cause: str = "api",
        near_cosine: float | None = None,
    ) -> tuple[WrittenMemoryOut, bool]:
        """:meth:`create`, also saying whether this write added anything (False: a duplicate
        that already had this write's source, e.g. a redelivered stream record)."""
        source = _lineage(req)
        if memory_id is None:
            duplicate = self._duplicate_of(tenant_id, req, source, near_cosine)
            if duplicate is not None:
                return self._reinforce(duplicate, source, cause, context_of(req.context))
        slot = _slot_of(req.text, req.type) if memory_id is None else None
        same, rivals = self._rivals(tenant_id, req.namespace, slot)
        if same is not None:
            return self._reinforce(same, source, cause, context_of(req.context))
        memory = self._add(tenant_id, req, memory_id, vector, created_at, slot.key if slot else None, source, cause)
        memory, action, conflict_id = self._decide(memory, rivals, cause)
        out = self.core.render(memory, cls=WrittenMemoryOut, action=action or "created", conflict_id=conflict_id)
        return out, True

    def _rivals(
        self, tenant_id: str, namespace: str, slot: FactSlot | None, *, exclude: str | None = None
    ) -> tuple[Memory | None, builtins.list[tuple[Memory, Verdict]]]:
        """The current memory of the slot that says the same (a duplicate), else the current ones
        that ``slot`` contradicts, each with the rule's verdict."""
        rivals: builtins.list[tuple[Memory, Verdict]] = []
        if slot is None:
            return None, rivals
        for old in self.core.repo.in_slot(tenant_id, namespace, slot.key):
            if old.memory_id == exclude:
                continue
            verdict = compare(old.text, slot)
            if verdict.relation == "same":
                return old, []
            if verdict.relation == "supersedes":
                rivals.append((old, verdict))
        return None, rivals

    def _decide(
        self, memory: Memory, rivals: Sequence[tuple[Memory, Verdict]], cause: str
    ) -> tuple[Memory, str | None, str | None]:
        """``memory`` supersedes each rival the rule is sure of (and that is not locked); the
        others go to the review queue. Returns it as stored, what happened (``superseded``,
        ``conflict`` or None) and the last conflict opened."""
        action: str | None = None
        conflict_id = None
        for old, verdict in rivals:
            if verdict.automatic and not old.locked:
                memory = self.governance.supersede(old, memory, cause=cause, note=verdict.reason)
                self.core.sync_index(self.core.load(memory.tenant_id, old.memory_id))
                action = "superseded"
            else:
                conflict_id = self.governance.open_conflict(old, memory, memory.slot or "", verdict)
                action = action or "conflict"
        return memory, action, conflict_id

    def _add(
        self,
        tenant_id: str,
        req: CreateMemory,
        memory_id: str | None,
        vector: Sequence[float] | None,
        created_at: float | None,
        slot: str | None,
        source: dict[str, Any] | None,
        cause: str,
    ) -> Memory:
        now = clock.now()
        title = req.title or derive_title(req.text)
        tier = req.tier or default_tier(req.type)
        if vector is None:
            vector = self.core.embed([embed_text(title, req.text, context_of(req.context))])[0]
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
            slot=slot,
            valid_from=now if created_at is None else created_at,
            sources=(source,) if source else (),
            context=context_of(req.context),
        )
        try:
            memory = self.core.repo.add(memory)
        except StaleWrite as exc:  # only a kept id (an import) can already be there
            raise errors.Conflict(f"Memory {memory.memory_id!r} already exists") from exc
        self.core.sync_index(memory)
        self.core.record_change(None, memory, cause)
        return memory

    def _duplicate_of(
        self, tenant_id: str, req: CreateMemory, source: dict[str, Any] | None, near_cosine: float | None
    ) -> Memory | None:
        """A current memory with the same text (or, with ``near_cosine``, nearly the same), or a
        superseded one this very source already wrote (a redelivery, not a fact come back)."""
        for memory in self.core.repo.same_text(tenant_id, req.namespace, req.text):
            if memory.current or (source is not None and source in memory.sources):
                return memory
        if near_cosine is None:
            return None
        near = self.find_duplicate(tenant_id, req.namespace, req.text, near_cosine=near_cosine)
        if near is None or near.superseded:
            return None
        return self.core.repo.get(tenant_id, near.id)

    def _reinforce(
        self, memory: Memory, source: dict[str, Any] | None, cause: str, context: str | None = None
    ) -> tuple[WrittenMemoryOut, bool]:
        """A duplicate: its sources gain this write's (at most once per session, turn and message).

        A duplicate that brings a ``context`` to a memory stored without one gives it that
        context (re-embedded and re-indexed, as a PATCH would): the same fact, now findable by
        what it answers. A memory that has a context keeps its own."""
        adopt = context if context and not memory.context else None
        if (source is None or source in memory.sources) and adopt is None:
            return self.core.render(memory, cls=WrittenMemoryOut, action="duplicate"), False
        vector = self.core.embed([embed_text(memory.title, memory.text, adopt)])[0] if adopt else None

        def build(m: Memory, now: float) -> MemoryChanges:
            sources = [*m.sources, source] if source is not None and source not in m.sources else None
            fill = adopt is not None and not m.context
            if sources is None and not fill:
                return MemoryChanges()
            return MemoryChanges(
                sources=sources,
                context=adopt if fill else None,
                embedding=vector if fill else None,
                embedder=self.core.embedder_tag() if fill else None,
                updated_at=now,
            )

        memory = self.core.change(memory.tenant_id, memory.memory_id, build, first=memory, cause=cause)
        if adopt is not None:
            self.core.sync_index(memory)
        return self.core.render(memory, cls=WrittenMemoryOut, action="duplicate"), True

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
        context: str | None = None,
        cause: str = "extraction",
    ) -> WrittenMemoryOut:
        """Programmatic write (extraction, summaries): the same bounds and the same write path as the API."""
        request = self.memory_request(
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
            context=context,
        )
        return self.write(tenant_id, request, cause=cause)[0]

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
        context: str | None = None,
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
                    "context": context,
                }
            )
        except ValidationError as exc:
            details = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
            raise errors.ValidationFailed("Invalid memory", details=details) from exc

    # --- read ---------------------------------------------------------------------------------

    def existing(self, tenant_id: str, memory_ids: Sequence[str]) -> set[str]:
        """Which of these ids the tenant already has (one batched read, embeddings left out)."""
        return set(self.core.repo.get_many(tenant_id, list(dict.fromkeys(memory_ids)), embeddings=False))

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
        include_superseded: bool = False,
        limit: int = 20,
        cursor: str | None = None,
        offset: int = 0,
    ) -> Page[MemoryOut]:
        """Newest first; superseded memories (in the page and in ``total_count``) only with
        ``include_superseded`` (marked ``superseded``)."""
        now = clock.now()

        def wanted(m: Memory) -> bool:
            return not tier or self.core.tier_of(m, now) == tier

        accept = wanted
        found = self.core.repo.listing(
            tenant_id,
            MemoryFilters(namespace, type, tier, session_id, agent_id, current_only=not include_superseded),
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

    def update(self, tenant_id: str, memory_id: str, req: UpdateMemory) -> EditedMemoryOut:
        """Edit a memory. A new text (or type, or namespace) is read for its fact slot again: a
        memory that now contradicts a current one of its slot supersedes it or opens a conflict,
        as a new memory would; one that no longer fills its slot leaves it, and what it had
        superseded there is current again."""
        sent = {k for k in req.model_fields_set if getattr(req, k) is not None}
        before = self.core.load(tenant_id, memory_id)
        vector: builtins.list[float] | None = None
        context = context_of(req.context) if "context" in sent else before.context
        if sent & {"text", "title", "context"}:
            title = _next_title(before, req.title, req.text)
            vector = self.core.embed([embed_text(title, req.text or before.text, context)])[0]
        reslot = bool(sent & {"text", "type", "namespace"})

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
                slot=_slot_change(memory, req) if reslot else None,
                context=(context or "") if "context" in sent else None,
            )

        memory = self.core.change(tenant_id, memory_id, build, first=before)
        self.core.sync_index(memory)
        if not reslot:
            return self.core.render(memory, cls=EditedMemoryOut)
        return self._reslotted(before, memory)

    def _reslotted(self, before: Memory, memory: Memory) -> EditedMemoryOut:
        """After an edit of text, type or namespace: a memory that left its slot gives back what it
        had superseded there; one that fills a slot meets the current memories of it."""
        restored: builtins.list[str] = []
        if (memory.slot, memory.namespace) != (before.slot, before.namespace) and before.slot and memory.supersedes:
            restored = self.governance.reinstate(memory, note=f"{memory.memory_id} no longer states it (edited)")
            memory = self._forget_replaced(memory, restored)
        action, conflict_id = None, None
        if memory.current and memory.slot:
            slot = read_slot(memory.text)
            _, rivals = self._rivals(memory.tenant_id, memory.namespace, slot, exclude=memory.memory_id)
            memory, action, conflict_id = self._decide(memory, rivals, "api")
        return self.core.render(
            memory, cls=EditedMemoryOut, action=action or "edited", conflict_id=conflict_id, restored=restored
        )

    def _forget_replaced(self, memory: Memory, restored: Sequence[str]) -> Memory:
        """``memory`` no longer supersedes the memories made current again."""
        if not restored:
            return memory

        def build(m: Memory, now: float) -> MemoryChanges:
            return MemoryChanges(supersedes=[i for i in m.supersedes if i not in restored], updated_at=now)

        return self.core.change(memory.tenant_id, memory.memory_id, build, note="replaced memories current again")

    def delete(self, tenant_id: str, memory_id: str) -> DeleteMemoryOut:
        memory = self.core.load(tenant_id, memory_id)
        if not self.core.repo.delete(memory):
            raise errors.NotFound(f"Memory {short(memory_id)!r} not found")
        removed = self.core.unindex(memory)
        self.governance.forget_history(tenant_id, memory.memory_id)
        restored = self.governance.forget(memory, note=f"{memory.memory_id}, which superseded it, was deleted")
        receipt = DeletionReceiptOut(
            id="",
            kind="memory",
            memories_deleted=[memory.memory_id],
            memories_restored=restored,
            index_entries_removed=int(removed),
        )
        return DeleteMemoryOut(id=memory_id, deleted=True, receipt=self.governance.log_deletion(tenant_id, receipt))

    # --- for the session side -----------------------------------------------------------------

    def critical_memories(
        self, tenant_id: str, namespaces: Sequence[str] | None = None, *, include_superseded: bool = False
    ) -> builtins.list[MemoryOut]:
        """Every current memory whose effective tier is critical (locked or strong enough), strongest first."""
        now = clock.now()
        found = {
            m.memory_id: m
            for m in self.core.repo.stored_at_tier(tenant_id, "critical", namespaces or None)
            if self.core.tier_of(m, now) == "critical" and (include_superseded or m.current)
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

    def lookup(self, tenant_id: str, memory_ids: Sequence[str]) -> dict[str, Memory]:
        """The memories of this tenant among ``memory_ids`` (any strings: callers report ids they
        were given, so unknown and other tenants' ids are simply absent), in one batched read that
        leaves the embeddings out: for checking and rendering ids, never to write a memory back."""
        return self.core.repo.get_many(tenant_id, memory_ids, embeddings=False) if memory_ids else {}

    def for_session(self, tenant_id: str, session_id: str) -> builtins.list[MemoryOut]:
        now = clock.now()
        return [self.core.render(m, now) for m in self.core.repo.for_session(tenant_id, session_id)]

    def delete_for_session(
        self, tenant_id: str, session_id: str, *, messages_purged: int = 0, log: bool = True
    ) -> DeletionReceiptOut:
        """A session's cascade: memories whose every source is the session are deleted; those
        that other sessions (or the API) also gave are kept and unlinked from it; what a deleted
        memory had superseded is current again (:meth:`GovernanceService.reinstate`). The receipt
        goes to the deletions log (``log`` False: only if something was removed or unlinked)."""
        deleted: builtins.list[str] = []
        kept: builtins.list[KeptMemoryOut] = []
        restored: builtins.list[str] = []
        unindexed = 0
        for memory in builtins.list(self.core.repo.from_session(tenant_id, session_id)):
            others = memory.source_sessions() - {session_id}
            if not others:
                if self.core.repo.delete(memory):
                    unindexed += self.core.unindex(memory)
                    self.governance.forget_history(tenant_id, memory.memory_id)
                    deleted.append(memory.memory_id)
                    note = f"{memory.memory_id}, which superseded it, was deleted with session {session_id}"
                    restored += self.governance.forget(memory, note=note)
                continue
            self._unlink(memory, session_id)
            kept.append(KeptMemoryOut(id=memory.memory_id, reason="also from " + ", ".join(sorted(others))))
        receipt = DeletionReceiptOut(
            id="",
            kind="session",
            session_id=session_id,
            memories_deleted=deleted,
            memories_kept=kept,
            memories_restored=[m for m in restored if m not in deleted],
            messages_purged=messages_purged,
            index_entries_removed=unindexed,
        )
        if log or deleted or kept or messages_purged:
            return self.governance.log_deletion(tenant_id, receipt)
        return receipt

    def _unlink(self, memory: Memory, session_id: str) -> None:
        def build(m: Memory, now: float) -> MemoryChanges:
            return MemoryChanges(
                sources=[s for s in m.sources if s.get("session_id") != session_id],
                session_id="" if m.session_id == session_id else None,
                updated_at=now,
            )

        try:
            self.core.change(
                memory.tenant_id, memory.memory_id, build, first=memory, cause="api", note="session deleted"
            )
        except errors.NotFound:
            return

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
                vector = self.core.embed([embed_text(memory.title, memory.text, memory.context)])[0]
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


def context_of(value: str | None) -> str | None:
    """A memory's context as stored: None for none (or blank)."""
    return value if value and value.strip() else None


def _lineage(req: CreateMemory) -> dict[str, Any] | None:
    """The source this write records: its session, turn and message (None: not from a session)."""
    session_id = req.session_id or (req.source.session_id if req.source else None)
    if not session_id:
        return None
    source: dict[str, Any] = {"session_id": session_id, "turn": req.source.turn if req.source else None}
    if req.source is not None and req.source.message is not None:
        source["message"] = req.source.message  # absent rather than None: older sources compare equal
    return source


def _slot_of(text: str, type_: str) -> FactSlot | None:
    """The fact slot a memory of this text and type fills (events and summaries fill none)."""
    return read_slot(text) if type_ not in UNSLOTTED_TYPES else None


def _slot_change(memory: Memory, req: UpdateMemory) -> str | None:
    """The slot key an edit leaves the memory in ("" released, None unchanged)."""
    slot = _slot_of(req.text or memory.text, str(req.type or memory.type))
    key = slot.key if slot else ""
    return None if key == (memory.slot or "") else key


def _next_title(memory: Memory, title: str | None, text: str | None) -> str:
    """An explicit title wins; a title derived from the old text follows the new text."""
    if title:
        return title
    if text is not None and memory.title == derive_title(memory.text):
        return derive_title(text)
    return memory.title

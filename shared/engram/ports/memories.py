"""Memories and misses: the domain types and the MemoryRepository / MissRepository ports."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from engram.ids import new_id
from engram.ports import Listing

_SPACE_RE = re.compile(r"\s+")
ATOMIC_WRITE_ITEMS = 100  # the most items one atomic write may touch (a DynamoDB transaction)
ACCESSES_PER_LOG = ATOMIC_WRITE_ITEMS - 1  # a log settles with its memories in one transaction


def content_key(text: str) -> str:
    """Exact-duplicate key: a hash of the text with case, whitespace and trailing punctuation
    normalised ("The user lives in Paris." and "the user  lives in paris" are one memory)."""
    normal = _SPACE_RE.sub(" ", text.strip().lower()).rstrip(".!?… ")
    return hashlib.sha256(normal.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Memory:
    """A memory as stored. ``tier`` is the tier at its last write; the tier readers see follows
    strength (:mod:`engram.services.tiers`). ``version`` goes up by one on every write and guards
    it; the vector index orders its documents by it."""

    tenant_id: str
    memory_id: str
    namespace: str
    title: str
    text: str
    type: str
    tier: str
    created_at: float
    updated_at: float
    locked: bool = False
    feedback_score: int = 0
    access_count: int = 0
    strength: float = 0.0  # decayed accumulator, as of strength_at
    strength_at: float = 0.0
    entities: tuple[str, ...] = ()
    source: dict[str, Any] | None = None
    agent_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    last_accessed_at: float | None = None
    version: int = 1
    embedding: list[float] | None = field(default=None, repr=False)
    embedder: str | None = None  # "<name>:<dimensions>" of the embedding
    purge_at: int | None = None
    # validity and lineage (engram.services.governance)
    slot: str | None = None  # "subject|attribute" of engram.extract.slots, for finding conflicts
    valid_from: float | None = None
    valid_until: float | None = None
    supersedes: tuple[str, ...] = ()
    superseded_by: str | None = None
    sources: tuple[dict[str, Any], ...] = ()  # {"session_id", "turn"}: where it was extracted or reinforced from

    @property
    def current(self) -> bool:
        """Not superseded by a newer memory."""
        return self.superseded_by is None

    def source_sessions(self) -> set[str]:
        """Every session this memory derives from (its sources, and the session it was made in)."""
        found = {str(s["session_id"]) for s in self.sources if s.get("session_id")}
        return found | ({self.session_id} if self.session_id else set())


@dataclass(frozen=True)
class MemoryChanges:
    """What one write of a memory changes (``None``: unchanged). The repository bumps the
    version and keeps whatever it derives from namespace, text and tier in step."""

    text: str | None = None
    title: str | None = None
    embedding: Sequence[float] | None = None
    embedder: str | None = None
    type: str | None = None
    entities: Sequence[str] | None = None
    metadata: dict[str, Any] | None = None
    namespace: str | None = None
    tier: str | None = None
    locked: bool | None = None
    strength: float | None = None
    strength_at: float | None = None
    feedback_score: int | None = None
    access_count: int | None = None
    last_accessed_at: float | None = None
    updated_at: float | None = None
    valid_until: float | None = None
    superseded_by: str | None = None  # "" makes it current again: clears valid_until too
    supersedes: Sequence[str] | None = None
    sources: Sequence[dict[str, Any]] | None = None
    session_id: str | None = None  # "" clears it (a session unlinked by a cascade)
    slot: str | None = None  # "" releases it (an edit that no longer states the fact)


@dataclass(frozen=True)
class Accesses:
    """Memories used at one moment: a search's hits, the memories a turn used, the context a
    session start or refresh injected. Logged with one write (:meth:`MemoryRepository.log_accesses`,
    or inside the turn's transaction) so that reads never wait on a write per memory; the memories
    stream consumer later counts them into each memory, exactly once
    (:meth:`MemoryRepository.settle_accesses`). A memory listed twice is counted twice."""

    tenant_id: str
    log_id: str  # acc_…, time-ordered
    memory_ids: tuple[str, ...]
    at: float  # when the memories were used: strength decays from then


def access_logs(tenant_id: str, memory_ids: Sequence[str], at: float) -> list[Accesses]:
    """The logs for these uses (one per :data:`ACCESSES_PER_LOG` memories; none for no memory)."""
    ids = list(memory_ids)
    return [
        Accesses(tenant_id, new_id("acc"), tuple(ids[i : i + ACCESSES_PER_LOG]), at)
        for i in range(0, len(ids), ACCESSES_PER_LOG)
    ]


@dataclass(frozen=True)
class MemoryFilters:
    namespace: str | None = None
    type: str | None = None
    tier: str | None = None  # the stored tier (the service re-checks the effective one)
    session_id: str | None = None
    agent_id: str | None = None
    current_only: bool = False  # superseded memories are left out of the page and the total


@dataclass(frozen=True)
class MemoryChange:
    """One record of the memories table's change stream, decoded.

    ``upsert`` carries the memory as written; ``remove`` the key and last version of a deleted
    memory; ``unchanged`` is a modification of nothing the index holds; ``accesses`` a new access
    log to settle; ``ignored`` is any other record (a settled log's removal, say)."""

    kind: Literal["upsert", "remove", "unchanged", "accesses", "ignored"]
    tenant_id: str = ""
    memory_id: str = ""
    version: int = 0
    memory: Memory | None = None
    accesses: Accesses | None = None


class MemoryRepository(Protocol):
    """Memories of every tenant. :meth:`apply` is the one guarded write (optimistic: it raises
    :class:`engram.ports.StaleWrite` when the memory is no longer at the version read).

    A memory with a ``session_id`` counts in that session's ``memory_count`` (the session of the
    same tenant, when there is one): :meth:`add` and :meth:`delete` change the count in the same
    atomic write as the memory, so it is exact at once, a repeated delete uncounts nothing, and
    the count never goes below zero. Every path that stores or removes memories goes through them."""

    def add(self, memory: Memory) -> Memory:
        """Store a new memory (StaleWrite if its id exists) and count it in its session."""
        ...

    def get(self, tenant_id: str, memory_id: str) -> Memory | None: ...

    def get_many(
        self, tenant_id: str, memory_ids: Iterable[str], *, consistent: bool = False, embeddings: bool = True
    ) -> dict[str, Memory]:
        """The memories of this tenant among ``memory_ids`` (missing ones are left out). With
        ``embeddings=False`` the embeddings are not read (``embedding`` is None): for reads that
        only render or score, never for a memory that is written back."""
        ...

    def log_accesses(self, logs: Sequence[Accesses]) -> None:
        """Store access logs (one write) for the memories stream to settle."""
        ...

    def settle_accesses(self, logs: Sequence[Accesses], writes: Sequence[tuple[Memory, MemoryChanges]]) -> set[str]:
        """Atomically: apply each change if its memory is still at the version read, and delete the
        logs (at most :data:`ATOMIC_WRITE_ITEMS` items in all). Returns the ids of the logs that were
        gone (settled before): if any, nothing was written. StaleWrite if a memory moved (re-read
        and rebuild the changes)."""
        ...

    def apply(self, memory: Memory, changes: MemoryChanges, *, outcome_of: str | None = None) -> Memory:
        """Apply ``changes`` if the memory is still at ``memory.version``; returns it as stored.

        With ``outcome_of`` (a session of the memory's tenant), the same all-or-nothing write marks
        the memory as credited with that session's outcome (the session's ``outcome_applied``), so a
        crash can never leave a credit claimed but not applied, or applied but not claimed.
        AlreadyClaimed (nothing written) if it was credited before or the session is gone."""
        ...

    def replace_embedding(self, memory: Memory, embedding: Sequence[float], embedder: str) -> Memory:
        """Store a new embedding of unchanged content (reindexing with another embedder)."""
        ...

    def delete(self, memory: Memory) -> bool:
        """Delete it and uncount it from its session; False (nothing changed) if it was gone already."""
        ...

    def listing(
        self,
        tenant_id: str,
        filters: MemoryFilters,
        *,
        limit: int,
        cursor: str | None,
        offset: int,
        accept: Callable[[Memory], bool] | None = None,
    ) -> Listing[Memory]:
        """Newest first; ``accept`` drops memories from the page (not from the total)."""
        ...

    def for_session(self, tenant_id: str, session_id: str) -> Iterator[Memory]: ...

    def stored_at_tier(self, tenant_id: str, tier: str, namespaces: Sequence[str] | None = None) -> Iterator[Memory]:
        """Memories whose stored tier is ``tier``, in the given namespaces (or all)."""
        ...

    def same_text(self, tenant_id: str, namespace: str, text: str) -> list[Memory]:
        """Memories of the namespace with the same :func:`content_key` as ``text``."""
        ...

    def in_slot(self, tenant_id: str, namespace: str, slot: str) -> list[Memory]:
        """Current (not superseded) memories of the namespace that fill ``slot``."""
        ...

    def from_session(self, tenant_id: str, session_id: str) -> Iterator[Memory]:
        """Memories made in the session or with it among their sources."""
        ...

    def scan(self, tenant_id: str | None = None) -> Iterator[Memory]:
        """Every memory of a tenant, or of every tenant."""
        ...


@dataclass(frozen=True)
class Miss:
    """A question memory could not answer."""

    tenant_id: str
    miss_id: str
    query: str
    created_at: float
    session_id: str | None = None
    context: str | None = None
    purge_at: int | None = None
    namespaces: tuple[str, ...] = ()  # where it was asked; empty: every namespace


class MissRepository(Protocol):
    def add(self, miss: Miss) -> None: ...

    def listing(self, tenant_id: str, *, limit: int, since: float | None, cursor: str | None) -> Listing[Miss]:
        """Newest first, created at or after ``since``; no total (see :meth:`count`)."""
        ...

    def count(self, tenant_id: str, since: float | None) -> int: ...

"""Memories and misses: the domain types and the MemoryRepository / MissRepository ports."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from engram.ports import Listing

_SPACE_RE = re.compile(r"\s+")


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


@dataclass(frozen=True)
class MemoryFilters:
    namespace: str | None = None
    type: str | None = None
    tier: str | None = None  # the stored tier (the service re-checks the effective one)
    session_id: str | None = None
    agent_id: str | None = None


@dataclass(frozen=True)
class MemoryChange:
    """One record of the memories table's change stream, decoded for the index.

    ``upsert`` carries the memory as written; ``remove`` the key and last version of a deleted
    memory; ``unchanged`` is a modification of nothing the index holds; ``ignored`` is a record
    that is not about a memory."""

    kind: Literal["upsert", "remove", "unchanged", "ignored"]
    tenant_id: str = ""
    memory_id: str = ""
    version: int = 0
    memory: Memory | None = None


class MemoryRepository(Protocol):
    """Memories of every tenant. :meth:`apply` is the one guarded write (optimistic: it raises
    :class:`engram.ports.StaleWrite` when the memory is no longer at the version read)."""

    def add(self, memory: Memory) -> Memory:
        """Store a new memory; returns it as stored."""
        ...

    def get(self, tenant_id: str, memory_id: str) -> Memory | None: ...

    def get_many(self, tenant_id: str, memory_ids: Iterable[str]) -> dict[str, Memory]:
        """The memories of this tenant among ``memory_ids`` (missing ones are left out)."""
        ...

    def apply(self, memory: Memory, changes: MemoryChanges) -> Memory:
        """Apply ``changes`` if the memory is still at ``memory.version``; returns it as stored."""
        ...

    def replace_embedding(self, memory: Memory, embedding: Sequence[float], embedder: str) -> Memory:
        """Store a new embedding of unchanged content (reindexing with another embedder)."""
        ...

    def delete(self, memory: Memory) -> bool:
        """False if it was gone already."""
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


class MissRepository(Protocol):
    def add(self, miss: Miss) -> None: ...

    def listing(self, tenant_id: str, *, limit: int, since: float | None, cursor: str | None) -> Listing[Miss]:
        """Newest first, created at or after ``since``; no total (see :meth:`count`)."""
        ...

    def count(self, tenant_id: str, since: float | None) -> int: ...

"""The vector index port: k-NN and BM25 over memories, per tenant, ordered by version.

The index is derived data (DynamoDB is the source of truth): every document carries the
memory's ``version`` and an upsert of an older version than the one held is ignored, so a
stream delivered out of order or twice never overwrites newer data. Adapters live beside it
(:mod:`engram.index.local`, :mod:`engram.index.opensearch`); :func:`engram.index.get_index`
picks one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

UpsertResult = Literal["indexed", "stale"]


@dataclass(frozen=True)
class IndexDoc:
    """What the index holds for one memory: everything filters and ranking need."""

    tenant_id: str
    memory_id: str
    namespace: str
    type: str
    tier: str
    title: str
    text: str
    embedding: Sequence[float]
    version: int
    entities: tuple[str, ...] = ()
    session_id: str | None = None
    agent_id: str | None = None
    created_at: float = 0.0
    context: str = ""  # what came before the memory in its conversation: searched (and embedded) with it


@dataclass(frozen=True)
class IndexFilters:
    namespaces: tuple[str, ...] | None = None
    types: tuple[str, ...] | None = None
    tiers: tuple[str, ...] | None = None
    session_id: str | None = None
    agent_id: str | None = None
    ids: tuple[str, ...] | None = None


@dataclass
class IndexHit:
    """``score`` is the raw cosine similarity (k-NN) or the raw BM25 score (text search)."""

    memory_id: str
    score: float
    version: int
    namespace: str = ""
    embedding: list[float] | None = field(default=None, repr=False)


class IndexUnavailable(Exception):
    """The index backend failed; callers fall back (DynamoDB stands; the stream repairs)."""


@runtime_checkable
class VectorIndex(Protocol):
    def ensure_index(self) -> None: ...

    def upsert(self, docs: Sequence[IndexDoc]) -> dict[str, UpsertResult]: ...

    def delete(self, tenant_id: str, ids: Sequence[str], version: int | None = None) -> int: ...

    def knn(
        self, tenant_id: str, vector: Sequence[float], k: int, filters: IndexFilters | None = None
    ) -> list[IndexHit]: ...

    def text_search(
        self, tenant_id: str, query: str, k: int, filters: IndexFilters | None = None
    ) -> list[IndexHit]: ...

    def get(self, tenant_id: str, memory_id: str) -> IndexHit | None: ...

    def count(self, tenant_id: str | None = None, namespace: str | None = None) -> int: ...

"""The ledger: what governance keeps beside memories (conflicts waiting for review, memory
histories, deletion receipts), as append-mostly streams of entries per tenant."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from engram.ports import Listing


@dataclass(frozen=True)
class LedgerEntry:
    """One entry of a tenant's stream (``conflicts``, ``deletions``, ``history:<memory id>``).
    ``entry_id`` is time-ordered, so a stream lists newest first by id. ``status`` is the one
    field a listing filters on; ``version`` guards :meth:`LedgerRepository.settle`."""

    tenant_id: str
    stream: str
    entry_id: str
    created_at: float
    body: dict[str, Any] = field(default_factory=dict)
    status: str | None = None
    version: int = 1


class LedgerRepository(Protocol):
    def append(self, entry: LedgerEntry) -> bool:
        """Store a new entry; False (nothing written) if the stream already has its id."""
        ...

    def get(self, tenant_id: str, stream: str, entry_id: str) -> LedgerEntry | None: ...

    def settle(self, entry: LedgerEntry, status: str, body: dict[str, Any]) -> LedgerEntry:
        """Set status and body if the entry is still at ``entry.version``, else
        :class:`engram.ports.StaleWrite`."""
        ...

    def listing(
        self, tenant_id: str, stream: str, *, limit: int, cursor: str | None, status: str | None = None
    ) -> Listing[LedgerEntry]:
        """Newest first; ``status`` keeps only entries with that status. No total."""
        ...

    def drop(self, tenant_id: str, stream: str) -> int:
        """Delete every entry of a stream; how many there were."""
        ...

"""API keys and rate counters: the domain type and the ApiKeyRepository / RateCounter ports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ApiKey:
    """An API key; ``digest`` is the SHA-256 of the secret (the secret itself is never stored)."""

    digest: str
    key_id: str
    tenant_id: str
    created_at: float
    name: str | None = None
    prefix: str | None = None  # first characters, to recognise a key in listings
    revoked_at: float | None = None


class ApiKeyRepository(Protocol):
    def add(self, key: ApiKey) -> bool:
        """Store a new key; False (nothing written) if a key with the same digest exists."""
        ...

    def get(self, digest: str, *, consistent: bool = False) -> ApiKey | None: ...

    def find(self, key_id: str) -> ApiKey | None:
        """A key by its public id, read consistently."""
        ...

    def revoke(self, key: ApiKey, at: float) -> ApiKey: ...

    def for_tenant(self, tenant_id: str) -> list[ApiKey]: ...


class RateCounter(Protocol):
    def hit(self, counter: str, expires_at: int) -> int:
        """Count one hit atomically; returns the count including it. The counter may be
        forgotten after ``expires_at`` (epoch seconds)."""
        ...

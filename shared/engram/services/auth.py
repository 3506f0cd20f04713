"""API keys (stored hashed), the authorizer's verdict, and rate limits per key and per source IP.

**Key cache.** The authorizer resolves a key from DynamoDB once, then from an in-process cache for
``ENGRAM_API_KEY_CACHE_SECONDS`` (30 s): most requests make no key read. A key revoked elsewhere
(``engram keys revoke``, another container) therefore stops working within that bound; revoked in
this process, at once. Only valid keys are cached, so a new key works at once.

**Rate limits.** Fixed one-minute windows, each counted with one atomic ADD (exact under
concurrency). Every authenticated request counts against its key. What counts against the source
address is ``ENGRAM_RATE_LIMIT_ADDRESS_SCOPE``:

- ``all`` (default): every request, as the contract says (DESIGN.md: "Rate limits per API key and
  per source IP"; the seed API: "Per-IP: 60 requests/min, Per-token: 60 requests/min"). The
  address is counted *before* the key is looked up, so guessing keys is slowed to the limit per
  address. Two counter writes per request: exactness across keys for an address and across
  addresses for a key cannot come from one write to per-key or per-address items (a request would
  have to update the one item both share, i.e. one item for every key and address), and a
  transaction over both items costs twice the write units and conflicts under concurrency.
- ``unverified`` (opt-in, a departure from the contract): only requests whose key the authorizer
  has not verified within the cache bound count against the address: missing, malformed, unknown
  and revoked keys (and a valid key's first use per container and bound). Key guessing is still
  slowed per address; a fleet of agents behind one NAT address is limited per key, not per
  address. One counter write per request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache

from engram import clock, errors
from engram.config import Settings
from engram.ids import new_id
from engram.ports.auth import ApiKey, ApiKeyRepository, RateCounter

SECRET_PREFIX = "egm_"  # noqa: S105 - a prefix, not a secret
_TENANT_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_SECRET_RE = re.compile(r"^[\x21-\x7e]{16,256}$")  # printable ASCII, no spaces


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedKey:
    key_id: str
    tenant_id: str
    secret: str
    name: str | None


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    tenant_id: str
    name: str | None
    prefix: str | None
    created_at: str | None
    revoked_at: str | None


class ApiKeyService:
    def __init__(self, repo: ApiKeyRepository, *, cache_seconds: float = 30.0, cache_size: int = 4096) -> None:
        self._repo = repo
        self._lock = threading.Lock()
        # digest → the valid key as last read; expires cache_seconds after the read (clock.now, so
        # tests move time instead of sleeping)
        self._verified: TTLCache[str, ApiKey] | None = (
            TTLCache(maxsize=cache_size, ttl=cache_seconds, timer=lambda: clock.now()) if cache_seconds > 0 else None
        )

    def create(self, tenant_id: str, name: str | None = None, secret: str | None = None) -> CreatedKey:
        """Create a key for a tenant. With an explicit secret that already exists for the same
        tenant, the existing key is returned (so local mode can re-register its key on restart)."""
        if not _TENANT_RE.match(tenant_id):
            raise errors.ValidationFailed("tenant must be 1-64 characters of letters, digits, _ . -")
        secret = secret or SECRET_PREFIX + secrets.token_urlsafe(30)
        if not _SECRET_RE.match(secret):
            raise errors.ValidationFailed("an API key must be 16-256 printable ASCII characters without spaces")
        key = ApiKey(
            digest=hash_secret(secret),
            key_id=new_id("key"),
            tenant_id=tenant_id,
            created_at=clock.now(),
            name=name,
            prefix=secret[:8],
        )
        if self._repo.add(key):
            return CreatedKey(key.key_id, tenant_id, secret, name)
        existing = self._repo.get(key.digest, consistent=True)
        if existing is None or existing.tenant_id != tenant_id or existing.revoked_at is not None:
            raise errors.Conflict("that key is already registered (or revoked); choose another")
        return CreatedKey(existing.key_id, tenant_id, secret, existing.name)

    def revoke(self, key_id: str) -> KeyInfo:
        key = self._repo.find(key_id)
        if key is None:
            raise errors.NotFound(f"API key {key_id} not found")
        if key.revoked_at is None:
            key = self._repo.revoke(key, clock.now())
        if self._verified is not None:
            with self._lock:
                self._verified.pop(key.digest, None)  # in this process, at once
        return _info(key)

    def list(self, tenant_id: str) -> list[KeyInfo]:
        return [_info(k) for k in self._repo.for_tenant(tenant_id)]

    def verified(self, secret: str) -> ApiKey | None:
        """The key if this process verified it within the cache bound (no storage call)."""
        if self._verified is None or not _SECRET_RE.match(secret):
            return None
        with self._lock:
            return self._verified.get(hash_secret(secret))

    def authenticate(self, secret: str) -> ApiKey | None:
        """The valid key for ``secret`` (from the cache, else one read), or None."""
        cached = self.verified(secret)
        if cached is not None or not _SECRET_RE.match(secret):
            return cached
        key = self._repo.get(hash_secret(secret))
        if key is None or key.revoked_at is not None:
            return None
        if self._verified is not None:
            with self._lock:
                self._verified[key.digest] = key
        return key


def _info(key: ApiKey) -> KeyInfo:
    return KeyInfo(
        key.key_id, key.tenant_id, key.name, key.prefix, clock.iso(key.created_at), clock.iso(key.revoked_at)
    )


class RateLimiter:
    """Fixed one-minute windows per scope and identity (per key, per source IP)."""

    def __init__(self, counter: RateCounter, settings: Settings) -> None:
        self._counter = counter
        self._settings = settings
        self.every_request_per_address = settings.rate_limit_address_scope == "all"

    def hit(self, scope: str, ident: str) -> int | None:
        """Count one request; returns seconds to wait when over the limit, else None."""
        now = clock.now()
        window = int(now // 60)
        hits = self._counter.hit(f"{scope}#{ident}#{window}", expires_at=(window + 2) * 60)
        if hits > self._settings.rate_limit_per_minute:
            return max(1, int((window + 1) * 60 - now + 0.999))
        return None


def authorize(event: dict[str, Any], keys: ApiKeyService, limiter: RateLimiter) -> dict[str, Any]:
    """The HTTP API authorizer's answer (simple response). Always authorizes, with a verdict in the
    context that the function's resolver enforces, because an HTTP API authorizer cannot answer
    401/429 with our error body or a Retry-After header (docs/CONVENTIONS.md, "Auth")."""
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    source_ip = str(((event.get("requestContext") or {}).get("http") or {}).get("sourceIp") or "unknown")

    def verdict(context: dict[str, Any]) -> dict[str, Any]:
        return {"isAuthorized": True, "context": context}

    header = headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    bearer = scheme.lower() == "bearer" and bool(secret.strip())
    item = keys.verified(secret.strip()) if bearer else None
    if item is None or limiter.every_request_per_address:
        wait = limiter.hit("ip", source_ip)
        if wait is not None:
            return verdict(
                {"error": "rate_limited", "message": "Too many requests from this address", "retry_after": str(wait)}
            )
    if item is None:
        if not header:
            return verdict({"error": "unauthorized", "message": "Missing Authorization header (Bearer <api key>)"})
        if not bearer:
            return verdict({"error": "unauthorized", "message": "Authorization must be 'Bearer <api key>'"})
        item = keys.authenticate(secret.strip())
        if item is None:
            return verdict({"error": "unauthorized", "message": "Invalid or revoked API key"})
    wait = limiter.hit("key", item.key_id)
    if wait is not None:
        return verdict(
            {"error": "rate_limited", "message": "Too many requests for this API key", "retry_after": str(wait)}
        )
    return verdict({"tenant_id": item.tenant_id, "key_id": item.key_id})

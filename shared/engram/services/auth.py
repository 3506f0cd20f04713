"""API keys (stored hashed), the authorizer's verdict, and rate limits per key and per source IP."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

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
    def __init__(self, repo: ApiKeyRepository) -> None:
        self._repo = repo

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
        return _info(key)

    def list(self, tenant_id: str) -> list[KeyInfo]:
        return [_info(k) for k in self._repo.for_tenant(tenant_id)]

    def authenticate(self, secret: str) -> ApiKey | None:
        if not _SECRET_RE.match(secret):
            return None
        key = self._repo.get(hash_secret(secret))
        return None if key is None or key.revoked_at is not None else key


def _info(key: ApiKey) -> KeyInfo:
    return KeyInfo(
        key.key_id, key.tenant_id, key.name, key.prefix, clock.iso(key.created_at), clock.iso(key.revoked_at)
    )


class RateLimiter:
    """Fixed one-minute windows per scope and identity (per key, per source IP)."""

    def __init__(self, counter: RateCounter, settings: Settings) -> None:
        self._counter = counter
        self._settings = settings

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

    wait = limiter.hit("ip", source_ip)
    if wait is not None:
        return verdict(
            {"error": "rate_limited", "message": "Too many requests from this address", "retry_after": str(wait)}
        )
    header = headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if not header:
        return verdict({"error": "unauthorized", "message": "Missing Authorization header (Bearer <api key>)"})
    if scheme.lower() != "bearer" or not secret.strip():
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

"""API keys resolved from the in-process cache: one read per key and bound, revocation within it."""

from __future__ import annotations

from typing import Any

from engram.config import Settings
from engram.ports.auth import ApiKey
from engram.services.auth import ApiKeyService, RateLimiter, authorize
from engram.testing.fakes import FakeApiKeyRepository, FakeRateCounter


class CountingKeys(FakeApiKeyRepository):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, digest: str, *, consistent: bool = False) -> ApiKey | None:
        self.reads += 1
        return super().get(digest, consistent=consistent)


def test_a_key_is_read_once_per_bound(now: list[float]) -> None:
    repo = CountingKeys()
    service = ApiKeyService(repo, cache_seconds=30)
    secret = service.create("acme").secret
    keys = [service.authenticate(secret) for _ in range(5)]
    assert {k.tenant_id for k in keys if k is not None} == {"acme"} and None not in keys
    assert repo.reads == 1
    now[0] += 29.9
    assert service.authenticate(secret) is not None and repo.reads == 1
    now[0] += 0.2  # past the bound: read again
    assert service.authenticate(secret) is not None and repo.reads == 2


def test_revoked_in_another_process_stops_working_within_the_bound(now: list[float]) -> None:
    repo = CountingKeys()
    authorizer = ApiKeyService(repo, cache_seconds=30)  # one Lambda container's authorizer
    cli = ApiKeyService(repo, cache_seconds=30)  # `engram keys revoke`, another process
    created = cli.create("acme")
    assert authorizer.authenticate(created.secret) is not None
    now[0] += 10
    cli.revoke(created.key_id)
    assert cli.authenticate(created.secret) is None  # revoked where it was revoked: at once
    assert authorizer.verified(created.secret) is not None  # still cached here: the documented bound
    now[0] += 19.9  # 29.9 s after the authorizer read it
    assert authorizer.authenticate(created.secret) is not None
    now[0] += 0.2
    assert authorizer.verified(created.secret) is None
    assert authorizer.authenticate(created.secret) is None


def test_unknown_keys_are_not_cached_so_a_new_key_works_at_once(now: list[float]) -> None:
    repo = CountingKeys()
    service = ApiKeyService(repo, cache_seconds=30)
    secret = "egm_" + "k" * 40
    assert service.authenticate(secret) is None
    assert service.create("acme", secret=secret).secret == secret
    key: Any = service.authenticate(secret)
    assert key is not None and key.tenant_id == "acme" and repo.reads == 2
    assert service.authenticate("short") is None and repo.reads == 2  # malformed: never read


def test_no_cache_reads_every_time(now: list[float]) -> None:
    repo = CountingKeys()
    service = ApiKeyService(repo, cache_seconds=0)
    secret = service.create("acme").secret
    assert all(service.authenticate(secret) is not None for _ in range(3))
    assert repo.reads == 3 and service.verified(secret) is None


def _event(secret: str, ip: str) -> dict[str, Any]:
    return {"headers": {"authorization": f"Bearer {secret}"}, "requestContext": {"http": {"sourceIp": ip}}}


def test_by_default_every_request_counts_against_its_key_and_its_address(now: list[float]) -> None:
    # DESIGN.md: "Rate limits per API key and per source IP"; a verified key's requests are not
    # counted per address only when ENGRAM_RATE_LIMIT_ADDRESS_SCOPE=unverified says so.
    keys = ApiKeyService(FakeApiKeyRepository(), cache_seconds=30)
    secret = keys.create("acme").secret
    counts: dict[str, dict[str, int]] = {}
    for scope in ("all", "unverified"):
        counter = FakeRateCounter()
        limiter = RateLimiter(counter, Settings(rate_limit_address_scope=scope, rate_limit_per_minute=1000))  # type: ignore[arg-type]
        verdicts = [authorize(_event(secret, "10.0.0.1"), keys, limiter) for _ in range(5)]
        assert all(v["context"].get("tenant_id") == "acme" for v in verdicts), verdicts
        counts[scope] = {name.split("#")[0]: n for name, n in counter.hits.items()}
    assert Settings().rate_limit_address_scope == "all"
    assert counts["all"] == {"ip": 5, "key": 5}
    assert counts["unverified"] == {"key": 5}  # the key was verified (cached) by the first pass

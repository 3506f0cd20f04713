"""The authorizer's verdicts, with in-memory fakes for the key store and the rate limiter."""

from __future__ import annotations

from typing import Any

from engram.ports.auth import ApiKey
from engram.services.auth import authorize


class FakeKeys:
    """Keys by secret; ``verified`` answers from what ``authenticate`` has looked up (the cache)."""

    def __init__(self, keys: dict[str, str]) -> None:
        self.keys = keys
        self.lookups = 0
        self.seen: dict[str, ApiKey] = {}

    def verified(self, secret: str) -> ApiKey | None:
        return self.seen.get(secret)

    def authenticate(self, secret: str) -> ApiKey | None:
        self.lookups += 1
        tenant = self.keys.get(secret)
        if not tenant:
            return None
        key = self.seen[secret] = ApiKey(digest="h", key_id=f"key_{tenant}", tenant_id=tenant, created_at=0)
        return key


class FakeLimiter:
    def __init__(self, limit: int, *, every_request_per_address: bool = False) -> None:
        self.limit = limit
        self.every_request_per_address = every_request_per_address
        self.hits: dict[str, int] = {}

    def hit(self, scope: str, ident: str) -> int | None:
        key = f"{scope}#{ident}"
        self.hits[key] = self.hits.get(key, 0) + 1
        return 30 if self.hits[key] > self.limit else None


def event(auth: str | None, ip: str = "10.0.0.1") -> dict[str, Any]:
    headers = {"Authorization": auth} if auth is not None else {}
    return {"headers": headers, "requestContext": {"http": {"sourceIp": ip}}}


def test_valid_key_puts_the_tenant_on_the_request() -> None:
    verdict = authorize(event("Bearer secret-a-123456789"), FakeKeys({"secret-a-123456789": "acme"}), FakeLimiter(5))  # type: ignore[arg-type]
    assert verdict == {"isAuthorized": True, "context": {"tenant_id": "acme", "key_id": "key_acme"}}


def test_missing_malformed_and_unknown_keys_are_unauthorized() -> None:
    keys = FakeKeys({"good-secret-123456": "acme"})
    for header, fragment in (
        (None, "Missing"),
        ("Basic abc", "Bearer"),
        ("Bearer ", "Bearer"),
        ("Bearer nope-nope-nope-nope", "Invalid"),
    ):
        verdict = authorize(event(header), keys, FakeLimiter(5))  # type: ignore[arg-type]
        assert verdict["context"]["error"] == "unauthorized", header
        assert fragment in verdict["context"]["message"]
        assert "tenant_id" not in verdict["context"]


def test_rate_limits_apply_per_ip_before_the_key_and_per_key() -> None:
    keys = FakeKeys({"good-secret-123456": "acme"})
    limiter = FakeLimiter(2, every_request_per_address=True)
    verdicts = [authorize(event("Bearer good-secret-123456"), keys, limiter)["context"] for _ in range(3)]  # type: ignore[arg-type]
    assert [v.get("error") for v in verdicts] == [None, None, "rate_limited"]
    assert verdicts[2]["retry_after"] == "30"
    assert limiter.hits == {"ip#10.0.0.1": 3, "key#key_acme": 2}
    # a flood of bad keys from one address is throttled too, before any key lookup
    for _ in range(3):
        last = authorize(event("Bearer wrong-wrong-wrong-1", ip="10.9.9.9"), keys, limiter)["context"]  # type: ignore[arg-type]
    assert last["error"] == "rate_limited"


def test_a_verified_key_counts_once_against_the_address_then_only_against_itself() -> None:
    keys = FakeKeys({"good-secret-123456": "acme", "other-secret-123456": "beta"})
    limiter = FakeLimiter(3)
    ok = [authorize(event(f"Bearer {s}"), keys, limiter)["context"] for s in ["good-secret-123456"] * 3]  # type: ignore[arg-type]
    ok += [authorize(event("Bearer other-secret-123456"), keys, limiter)["context"] for _ in range(3)]  # type: ignore[arg-type]
    assert [v.get("error") for v in ok] == [None] * 6
    # one counter write per request: the address only for the first (unverified) use of each key
    assert limiter.hits == {"ip#10.0.0.1": 2, "key#key_acme": 3, "key#key_beta": 3}
    assert keys.lookups == 2
    over = authorize(event("Bearer good-secret-123456"), keys, limiter)["context"]  # type: ignore[arg-type]
    assert over["error"] == "rate_limited" and "API key" in over["message"]


def test_unverified_keys_count_against_the_address_before_any_lookup() -> None:
    keys = FakeKeys({"good-secret-123456": "acme"})
    limiter = FakeLimiter(2)
    verdicts = [authorize(event("Bearer wrong-wrong-wrong-1"), keys, limiter)["context"] for _ in range(4)]  # type: ignore[arg-type]
    assert [v["error"] for v in verdicts] == ["unauthorized", "unauthorized", "rate_limited", "rate_limited"]
    assert "address" in verdicts[3]["message"] and keys.lookups == 2
    # a valid key not yet verified here is an unverified request too: the address is over its limit
    assert authorize(event("Bearer good-secret-123456"), keys, limiter)["context"]["error"] == "rate_limited"  # type: ignore[arg-type]
    assert keys.lookups == 2

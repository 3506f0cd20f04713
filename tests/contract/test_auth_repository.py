"""ApiKeyRepository and RateCounter, for the fake and for DynamoDB."""

from __future__ import annotations

from typing import Any

from engram.ids import new_id
from engram.ports.auth import ApiKey

T0 = 1_800_000_000.0


def test_keys_are_unique_by_digest_found_by_id_and_revoked(keys: Any) -> None:
    key = ApiKey(digest="d" * 64, key_id=new_id("key"), tenant_id="acme", created_at=T0, name="ops", prefix="egm_abcd")
    assert keys.add(key)
    assert not keys.add(ApiKey(digest="d" * 64, key_id=new_id("key"), tenant_id="other", created_at=T0))
    assert keys.get("d" * 64) == key and keys.get("e" * 64) is None
    assert keys.find(key.key_id) == key and keys.find("key_nope") is None
    second = ApiKey(digest="f" * 64, key_id=new_id("key"), tenant_id="acme", created_at=T0)
    keys.add(second)
    assert [k.key_id for k in keys.for_tenant("acme")] == sorted([key.key_id, second.key_id])
    assert keys.for_tenant("nobody") == []
    revoked = keys.revoke(key, T0 + 5)
    assert revoked.revoked_at == T0 + 5 and keys.get("d" * 64, consistent=True) == revoked


def test_rate_counter_counts_per_counter(counter: Any) -> None:
    assert [counter.hit("ip#1.2.3.4#100", 6120) for _ in range(3)] == [1, 2, 3]
    assert counter.hit("ip#1.2.3.4#101", 6180) == 1

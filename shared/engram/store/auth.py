"""DynamoApiKeyRepository and DynamoRateCounter: API keys and rate-limit windows in DynamoDB."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, PutError

from engram.config import Settings
from engram.ports.auth import ApiKey
from engram.store.base import bind, storage_errors
from engram.store.models import ApiKeyItem, RateCounterItem


def to_key(item: ApiKeyItem) -> ApiKey:
    return ApiKey(
        digest=item.pk,
        key_id=item.key_id,
        tenant_id=item.tenant_id,
        created_at=item.created_at,
        name=item.name,
        prefix=item.prefix,
        revoked_at=item.revoked_at,
    )


class DynamoApiKeyRepository:
    def __init__(self, settings: Settings) -> None:
        bind(ApiKeyItem, settings.api_keys_table, settings.region)

    def add(self, key: ApiKey) -> bool:
        item = ApiKeyItem(
            pk=key.digest,
            key_id=key.key_id,
            tenant_id=key.tenant_id,
            name=key.name,
            prefix=key.prefix,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )
        with storage_errors():
            try:
                item.save(condition=ApiKeyItem.pk.does_not_exist())
            except PutError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise
                return False
        return True

    def get(self, digest: str, *, consistent: bool = False) -> ApiKey | None:
        with storage_errors():
            try:
                return to_key(ApiKeyItem.get(digest, consistent_read=consistent))
            except DoesNotExist:
                return None

    def find(self, key_id: str) -> ApiKey | None:
        with storage_errors():
            matches = list(ApiKeyItem.by_key_id.query(key_id, limit=1))
        return self.get(matches[0].pk, consistent=True) if matches else None

    def revoke(self, key: ApiKey, at: float) -> ApiKey:
        item = ApiKeyItem(pk=key.digest)
        with storage_errors():
            item.update(actions=[ApiKeyItem.revoked_at.set(at)])
        return to_key(item)

    def for_tenant(self, tenant_id: str) -> list[ApiKey]:
        with storage_errors():
            return [to_key(i) for i in ApiKeyItem.by_tenant.query(tenant_id)]


class DynamoRateCounter:
    """Fixed windows counted with an atomic ADD, shared by every function."""

    def __init__(self, settings: Settings) -> None:
        bind(RateCounterItem, settings.rate_limits_table, settings.region)

    def hit(self, counter: str, expires_at: int) -> int:
        item = RateCounterItem(pk=counter)
        with storage_errors():
            item.update(actions=[RateCounterItem.hits.add(1), RateCounterItem.expires_at.set(expires_at)])
        return int(item.hits)

"""MemoryRepository and MissRepository: memories and misses in DynamoDB (PynamoDB).

Memory items: pk ``<tenant>#mem_…``; the GSI keys of docs/CONVENTIONS.md (``by_tenant``,
``by_namespace``, ``by_session``, ``by_tier``, ``by_content``) are written with every item.
``by_session`` is sparse (only memories with a session). The embedding is stored as float32
bytes so reindexing never re-embeds. ``version`` goes up by one on every write and guards
every update (optimistic concurrency); the index orders its documents by it.
"""

from __future__ import annotations

import builtins
import hashlib
import re
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from engram.config import Settings
from engram.ids import id_floor
from engram.index import IndexDoc
from engram.store.base import (
    ConditionFailed,
    bind,
    conditional_update,
    decode_cursor,
    encode_cursor,
    storage_errors,
    take_page,
)
from engram.store.models import _Meta


class _ByTenant(GlobalSecondaryIndex["MemoryItem"]):
    class Meta:
        index_name = "by_tenant"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    memory_id = UnicodeAttribute(range_key=True)


class _ByNamespace(GlobalSecondaryIndex["MemoryItem"]):
    class Meta:
        index_name = "by_namespace"
        projection = AllProjection()

    tenant_ns = UnicodeAttribute(hash_key=True)
    memory_id = UnicodeAttribute(range_key=True)


class _BySession(GlobalSecondaryIndex["MemoryItem"]):
    class Meta:
        index_name = "by_session"
        projection = AllProjection()

    tenant_session = UnicodeAttribute(hash_key=True)
    memory_id = UnicodeAttribute(range_key=True)


class _ByTier(GlobalSecondaryIndex["MemoryItem"]):
    class Meta:
        index_name = "by_tier"
        projection = AllProjection()

    tenant_ns_tier = UnicodeAttribute(hash_key=True)
    memory_id = UnicodeAttribute(range_key=True)


class _ByContent(GlobalSecondaryIndex["MemoryItem"]):
    class Meta:
        index_name = "by_content"
        projection = AllProjection()

    tenant_ns_hash = UnicodeAttribute(hash_key=True)
    memory_id = UnicodeAttribute(range_key=True)


class MemoryItem(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    tenant_id = UnicodeAttribute()
    memory_id = UnicodeAttribute()
    tenant_ns = UnicodeAttribute()
    tenant_ns_tier = UnicodeAttribute()
    tenant_ns_hash = UnicodeAttribute()
    tenant_session = UnicodeAttribute(null=True)

    namespace = UnicodeAttribute(default="default")
    title = UnicodeAttribute()
    text = UnicodeAttribute()
    type = UnicodeAttribute(default="fact")
    tier = UnicodeAttribute(default="normal")
    locked = BooleanAttribute(default=False)
    feedback_score = NumberAttribute(default=0)
    access_count = NumberAttribute(default=0)
    strength = NumberAttribute(default=0)  # decayed accumulator, as of strength_at (services/tiers.py)
    strength_at = NumberAttribute(default=0)
    entities = ListAttribute[str](of=UnicodeAttribute, null=True)  # type: ignore[arg-type]
    source = JSONAttribute(null=True)
    agent_id = UnicodeAttribute(null=True)
    session_id = UnicodeAttribute(null=True)
    metadata = JSONAttribute(null=True)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    last_accessed_at = NumberAttribute(null=True)
    version = NumberAttribute(default=1)
    embedding = BinaryAttribute(null=True, legacy_encoding=False)
    embedder = UnicodeAttribute(null=True)  # "<name>:<dimensions>" of the embedding
    purge_at = NumberAttribute(null=True)

    by_tenant = _ByTenant()
    by_namespace = _ByNamespace()
    by_session = _BySession()
    by_tier = _ByTier()
    by_content = _ByContent()


class MissItem(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)  # tenant id
    miss_id = UnicodeAttribute(range_key=True)
    query_text = UnicodeAttribute(attr_name="query")  # not ``query``: that would hide Model.query
    session_id = UnicodeAttribute(null=True)
    context = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    purge_at = NumberAttribute(null=True)


# --- keys ---------------------------------------------------------------------------------------

_SPACE_RE = re.compile(r"\s+")


def memory_pk(tenant_id: str, memory_id: str) -> str:
    return f"{tenant_id}#{memory_id}"


def tenant_ns(tenant_id: str, namespace: str) -> str:
    return f"{tenant_id}#{namespace}"


def tenant_ns_tier(tenant_id: str, namespace: str, tier: str) -> str:
    return f"{tenant_id}#{namespace}#{tier}"


def tenant_session(tenant_id: str, session_id: str | None) -> str | None:
    return f"{tenant_id}#{session_id}" if session_id else None


def content_hash(text: str) -> str:
    """Hash of the normalised text (case, whitespace, trailing punctuation): exact-duplicate key."""
    normal = _SPACE_RE.sub(" ", text.strip().lower()).rstrip(".!?… ")
    return hashlib.sha256(normal.encode()).hexdigest()[:32]


def tenant_ns_hash(tenant_id: str, namespace: str, text: str) -> str:
    return f"{tenant_id}#{namespace}#{content_hash(text)}"


def pack_vector(vector: Sequence[float]) -> bytes:
    packed = array("f", (float(v) for v in vector))  # float32; stored little-endian
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tobytes()


def unpack_vector(raw: bytes | None) -> builtins.list[float] | None:
    if not raw:
        return None
    unpacked = array("f")
    unpacked.frombytes(raw)
    if sys.byteorder != "little":
        unpacked.byteswap()
    return list(unpacked)


@dataclass(frozen=True)
class MemoryFilters:
    namespace: str | None = None
    type: str | None = None
    tier: str | None = None
    session_id: str | None = None
    agent_id: str | None = None


class MemoryRepository:
    def __init__(self, settings: Settings) -> None:
        bind(MemoryItem, settings.memories_table, settings.region)

    def put_new(self, item: MemoryItem) -> None:
        with storage_errors():
            try:
                item.save(condition=MemoryItem.pk.does_not_exist())
            except PutError as exc:
                if exc.cause_response_code == "ConditionalCheckFailedException":
                    raise ConditionFailed() from exc
                raise

    def save(self, item: MemoryItem) -> None:
        with storage_errors():
            item.save()

    def get(self, tenant_id: str, memory_id: str, *, consistent: bool = True) -> MemoryItem | None:
        with storage_errors():
            try:
                item = MemoryItem.get(memory_pk(tenant_id, memory_id), consistent_read=consistent)
            except DoesNotExist:
                return None
        return item if item.tenant_id == tenant_id else None

    def batch_get(self, tenant_id: str, memory_ids: Iterable[str]) -> dict[str, MemoryItem]:
        keys = list(dict.fromkeys(memory_pk(tenant_id, m) for m in memory_ids))
        found: dict[str, MemoryItem] = {}
        if not keys:
            return found
        with storage_errors():
            for item in MemoryItem.batch_get(keys):
                if item.tenant_id == tenant_id:
                    found[str(item.memory_id)] = item
        return found

    def update(self, tenant_id: str, memory_id: str, actions: Sequence[Action], *, expected_version: int) -> MemoryItem:
        """Apply actions if the item still has ``expected_version``; returns the stored item."""
        item = MemoryItem(pk=memory_pk(tenant_id, memory_id))
        conditional_update(item, actions, MemoryItem.pk.exists() & (MemoryItem.version == expected_version))
        return item

    def delete(self, item: MemoryItem) -> bool:
        with storage_errors():
            try:
                item.delete(condition=MemoryItem.pk.exists())
            except DeleteError as exc:
                if exc.cause_response_code == "ConditionalCheckFailedException":
                    return False
                raise
        return True

    def list(
        self,
        tenant_id: str,
        filters: MemoryFilters,
        *,
        limit: int,
        cursor: str | None,
        offset: int,
        accept: Callable[[MemoryItem], bool] | None = None,
    ) -> tuple[builtins.list[MemoryItem], str | None, bool, int]:
        """Newest first, through the narrowest GSI the filters allow. (page, cursor, more, total)."""
        index, hash_value, index_attr, condition = self._plan(tenant_id, filters)
        start_key = None
        if cursor:
            key = decode_cursor(
                cursor,
                {"pk", "h", "memory_id", "ix"},
                lambda k: k.get("ix") == index.Meta.index_name and k.get("h") == hash_value,
            )
            start_key = {
                "pk": {"S": key["pk"]},
                "memory_id": {"S": key["memory_id"]},
                "tenant_id": {"S": tenant_id},
                index_attr: {"S": key["h"]},
            }
        with storage_errors():
            total = index.count(hash_value, filter_condition=condition)
            results = index.query(
                hash_value,
                filter_condition=condition,
                scan_index_forward=False,
                last_evaluated_key=start_key,
                page_size=max(limit + 1, 25),
            )
            page, has_more = take_page(results, limit, offset, accept)
        next_cursor = None
        if has_more and page:
            last = page[-1]
            next_cursor = encode_cursor(
                {"pk": last.pk, "h": hash_value, "memory_id": last.memory_id, "ix": index.Meta.index_name}
            )
        return page, next_cursor, has_more, total

    @staticmethod
    def _plan(tenant_id: str, f: MemoryFilters) -> tuple[Any, str, str, Condition | None]:
        conditions: builtins.list[Condition] = []
        if f.session_id:
            index: Any = MemoryItem.by_session
            hash_value, attr = tenant_session(tenant_id, f.session_id), "tenant_session"
            if f.namespace:
                conditions.append(MemoryItem.namespace == f.namespace)
            if f.tier:
                conditions.append(MemoryItem.tier == f.tier)
        elif f.namespace and f.tier:
            index, hash_value, attr = (
                MemoryItem.by_tier,
                tenant_ns_tier(tenant_id, f.namespace, f.tier),
                "tenant_ns_tier",
            )
        elif f.namespace:
            index, hash_value, attr = MemoryItem.by_namespace, tenant_ns(tenant_id, f.namespace), "tenant_ns"
        else:
            index, hash_value, attr = MemoryItem.by_tenant, tenant_id, "tenant_id"
            if f.tier:
                conditions.append(MemoryItem.tier == f.tier)
        if f.type:
            conditions.append(MemoryItem.type == f.type)
        if f.agent_id:
            conditions.append(MemoryItem.agent_id == f.agent_id)
        condition: Condition | None = None
        for c in conditions:
            condition = c if condition is None else (condition & c)
        assert hash_value is not None
        return index, hash_value, attr, condition

    def for_session(self, tenant_id: str, session_id: str) -> Iterator[MemoryItem]:
        with storage_errors():
            yield from MemoryItem.by_session.query(tenant_session(tenant_id, session_id))

    def by_tier(self, tenant_id: str, namespace: str, tier: str) -> Iterator[MemoryItem]:
        with storage_errors():
            yield from MemoryItem.by_tier.query(tenant_ns_tier(tenant_id, namespace, tier))

    def by_tier_all_namespaces(self, tenant_id: str, tier: str) -> Iterator[MemoryItem]:
        with storage_errors():
            yield from MemoryItem.by_tenant.query(tenant_id, filter_condition=MemoryItem.tier == tier)

    def by_content(self, tenant_id: str, namespace: str, text: str) -> builtins.list[MemoryItem]:
        with storage_errors():
            return list(MemoryItem.by_content.query(tenant_ns_hash(tenant_id, namespace, text)))

    def scan(self, tenant_id: str | None = None) -> Iterator[MemoryItem]:
        with storage_errors():
            if tenant_id is not None:
                yield from MemoryItem.by_tenant.query(tenant_id)
            else:
                yield from MemoryItem.scan()


class MissRepository:
    def __init__(self, settings: Settings) -> None:
        bind(MissItem, settings.misses_table, settings.region)

    def put(self, item: MissItem) -> None:
        with storage_errors():
            item.save()

    def list(
        self, tenant_id: str, *, limit: int, since: float | None, cursor: str | None
    ) -> tuple[builtins.list[MissItem], str | None, bool]:
        """Newest first; ``since`` bounds the time-ordered ids from below."""
        condition = MissItem.miss_id >= id_floor("miss", since) if since is not None else None
        start_key = None
        if cursor:
            key = decode_cursor(cursor, {"miss_id"}, lambda k: str(k.get("miss_id", "")).startswith("miss_"))
            start_key = {"pk": {"S": tenant_id}, "miss_id": {"S": key["miss_id"]}}
        with storage_errors():
            results = MissItem.query(
                tenant_id,
                range_key_condition=condition,
                scan_index_forward=False,
                limit=limit + 1,
                last_evaluated_key=start_key,
            )
            items = list(results)
        has_more = len(items) > limit
        items = items[:limit]
        next_cursor = encode_cursor({"miss_id": items[-1].miss_id}) if has_more and items else None
        return items, next_cursor, has_more

    def count(self, tenant_id: str, since: float | None) -> int:
        condition = MissItem.miss_id >= id_floor("miss", since) if since is not None else None
        with storage_errors():
            return MissItem.count(tenant_id, range_key_condition=condition)


def item_doc(item: MemoryItem) -> IndexDoc:
    """What the vector index holds of a memory (built from the stored item, never re-embedded)."""
    vector = unpack_vector(item.embedding) or []
    return IndexDoc(
        tenant_id=str(item.tenant_id),
        memory_id=str(item.memory_id),
        namespace=item.namespace,
        type=item.type,
        tier=str(item.tier),
        title=item.title,
        text=item.text,
        embedding=vector,
        version=int(item.version or 0),
        entities=tuple(item.entities or ()),
        session_id=item.session_id,
        agent_id=item.agent_id,
        created_at=float(item.created_at or 0),
    )

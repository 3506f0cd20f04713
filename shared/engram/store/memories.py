"""DynamoMemoryRepository and DynamoMissRepository: memories and misses in DynamoDB (PynamoDB).

Memory items: pk ``<tenant>#mem_…``; the GSI keys of docs/CONVENTIONS.md (``by_tenant``,
``by_namespace``, ``by_session``, ``by_tier``, ``by_content``) are written with every item.
``by_session`` is sparse (only memories with a session). The embedding is stored as float32
bytes so reindexing never re-embeds. ``version`` goes up by one on every write and guards
every update (optimistic concurrency); the index orders its documents by it.
"""

from __future__ import annotations

import base64
import builtins
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from engram.config import Settings
from engram.ids import id_floor
from engram.paging import decode_cursor, encode_cursor, take_page
from engram.ports import AlreadyClaimed, Listing, StaleWrite
from engram.ports.memories import (
    Accesses,
    Memory,
    MemoryChange,
    MemoryChanges,
    MemoryFilters,
    Miss,
    content_key,
)
from engram.store.base import bind, cancellation_codes, conditional_update, connection, storage_errors, transact
from engram.store.models import AccessLogItem, MemoryItem, MissItem, SessionItem, session_pk

ACCESS_LOG_RETENTION_SECONDS = 14 * 86400  # as long as the dead-letter queue keeps a failed record

# --- keys ---------------------------------------------------------------------------------------


# Every stored attribute of a memory but its embedding (up to 4 KB of a ~5 KB item): what a read
# that only renders or scores asks for. DynamoDB bills the whole item all the same; the saving is
# the bytes sent, decoded and unpacked.
_WITHOUT_EMBEDDING = [a.attr_name for name, a in MemoryItem.get_attributes().items() if name != "embedding"]


def memory_pk(tenant_id: str, memory_id: str) -> str:
    return f"{tenant_id}#{memory_id}"


def access_log_pk(tenant_id: str, log_id: str) -> str:
    return f"{tenant_id}#{log_id}"


def access_log_item(log: Accesses) -> AccessLogItem:
    return AccessLogItem(
        pk=access_log_pk(log.tenant_id, log.log_id),
        memory_ids=builtins.list(log.memory_ids),
        accessed_at=log.at,
        purge_at=int(log.at + ACCESS_LOG_RETENTION_SECONDS),
    )


def tenant_ns(tenant_id: str, namespace: str) -> str:
    return f"{tenant_id}#{namespace}"


def tenant_ns_tier(tenant_id: str, namespace: str, tier: str) -> str:
    return f"{tenant_id}#{namespace}#{tier}"


def tenant_session(tenant_id: str, session_id: str | None) -> str | None:
    return f"{tenant_id}#{session_id}" if session_id else None


def tenant_ns_hash(tenant_id: str, namespace: str, text: str) -> str:
    return f"{tenant_id}#{namespace}#{content_key(text)}"


def tenant_ns_slot(tenant_id: str, namespace: str, slot: str | None, current: bool = True) -> str | None:
    """The sparse ``by_slot`` key: only a current memory with a slot has one."""
    return f"{tenant_id}#{namespace}#{slot}" if slot and current else None


def source_sessions(sources: Sequence[dict[str, Any]]) -> set[str] | None:
    found = {str(s["session_id"]) for s in sources if s.get("session_id")}
    return found or None  # DynamoDB has no empty sets


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


def to_memory(item: MemoryItem) -> Memory:
    # Read from the values the item holds rather than through each attribute's descriptor (a
    # search converts up to 50 items; the descriptors were three quarters of this function's CPU).
    get: Callable[[str], Any] = item.attribute_values.get
    purge_at = get("purge_at")
    return Memory(
        tenant_id=str(get("tenant_id")),
        memory_id=str(get("memory_id")),
        namespace=get("namespace"),
        title=get("title"),
        text=get("text"),
        type=get("type"),
        tier=str(get("tier")),
        created_at=float(get("created_at") or 0),
        updated_at=float(get("updated_at") or 0),
        locked=bool(get("locked")),
        feedback_score=int(get("feedback_score") or 0),
        access_count=int(get("access_count") or 0),
        strength=float(get("strength") or 0),
        strength_at=float(get("strength_at") or 0),
        entities=tuple(get("entities") or ()),
        source=get("source") or None,
        agent_id=get("agent_id"),
        session_id=get("session_id"),
        metadata=get("metadata") or {},
        last_accessed_at=get("last_accessed_at"),
        version=int(get("version") or 0),
        embedding=unpack_vector(get("embedding")),
        embedder=get("embedder"),
        purge_at=int(purge_at) if purge_at is not None else None,
        slot=get("slot"),
        valid_from=get("valid_from"),
        valid_until=get("valid_until"),
        supersedes=tuple(get("supersedes") or ()),
        superseded_by=get("superseded_by"),
        sources=tuple(get("sources") or ()),
        context=get("context") or None,
    )


def to_item(memory: Memory) -> MemoryItem:
    m = memory
    return MemoryItem(
        pk=memory_pk(m.tenant_id, m.memory_id),
        tenant_id=m.tenant_id,
        memory_id=m.memory_id,
        tenant_ns=tenant_ns(m.tenant_id, m.namespace),
        tenant_ns_tier=tenant_ns_tier(m.tenant_id, m.namespace, m.tier),
        tenant_ns_hash=tenant_ns_hash(m.tenant_id, m.namespace, m.text),
        tenant_session=tenant_session(m.tenant_id, m.session_id),
        namespace=m.namespace,
        title=m.title,
        text=m.text,
        type=m.type,
        tier=m.tier,
        locked=m.locked,
        feedback_score=m.feedback_score,
        access_count=m.access_count,
        strength=m.strength,
        strength_at=m.strength_at,
        entities=list(m.entities),
        source=m.source,
        agent_id=m.agent_id,
        session_id=m.session_id,
        metadata=m.metadata,
        created_at=m.created_at,
        updated_at=m.updated_at,
        last_accessed_at=m.last_accessed_at,
        version=m.version,
        embedding=pack_vector(m.embedding) if m.embedding is not None else None,
        embedder=m.embedder,
        purge_at=m.purge_at,
        slot=m.slot,
        tenant_ns_slot=tenant_ns_slot(m.tenant_id, m.namespace, m.slot, m.current),
        valid_from=m.valid_from,
        valid_until=m.valid_until,
        supersedes=list(m.supersedes) or None,
        superseded_by=m.superseded_by,
        sources=list(m.sources) or None,
        source_sessions=source_sessions(m.sources),
        context=m.context or None,
    )


def _actions(memory: Memory, changes: MemoryChanges) -> builtins.list[Action]:
    """The update actions for ``changes``, with the GSI keys derived from what changes."""
    c = changes
    actions: builtins.list[Action] = []
    simple: builtins.list[tuple[Any, Any]] = [
        (MemoryItem.text, c.text),
        (MemoryItem.title, c.title),
        (MemoryItem.embedder, c.embedder),
        (MemoryItem.type, c.type),
        (MemoryItem.metadata, c.metadata),
        (MemoryItem.namespace, c.namespace),
        (MemoryItem.tier, c.tier),
        (MemoryItem.locked, c.locked),
        (MemoryItem.strength, c.strength),
        (MemoryItem.strength_at, c.strength_at),
        (MemoryItem.feedback_score, c.feedback_score),
        (MemoryItem.access_count, c.access_count),
        (MemoryItem.last_accessed_at, c.last_accessed_at),
        (MemoryItem.updated_at, c.updated_at),
    ]
    if c.superseded_by == "":  # current again
        actions += [MemoryItem.superseded_by.remove(), MemoryItem.valid_until.remove()]
    else:
        simple += [(MemoryItem.valid_until, c.valid_until), (MemoryItem.superseded_by, c.superseded_by)]
    actions += [attribute.set(value) for attribute, value in simple if value is not None]
    if c.embedding is not None:
        actions.append(MemoryItem.embedding.set(pack_vector(c.embedding)))
    if c.entities is not None:
        actions.append(MemoryItem.entities.set(builtins.list(c.entities)))
    if c.context is not None:
        actions.append(MemoryItem.context.set(c.context) if c.context else MemoryItem.context.remove())
    tenant = memory.tenant_id
    namespace = c.namespace or memory.namespace
    text = c.text or memory.text
    tier = c.tier or memory.tier
    if c.namespace is not None:
        actions.append(MemoryItem.tenant_ns.set(tenant_ns(tenant, namespace)))
    if c.namespace is not None or c.text is not None:
        actions.append(MemoryItem.tenant_ns_hash.set(tenant_ns_hash(tenant, namespace, text)))
    if c.namespace is not None or c.tier is not None:
        actions.append(MemoryItem.tenant_ns_tier.set(tenant_ns_tier(tenant, namespace, tier)))
    if c.supersedes is not None:
        actions.append(MemoryItem.supersedes.set(builtins.list(c.supersedes)))
    if c.sources is not None:
        sessions = source_sessions(c.sources)
        actions.append(MemoryItem.sources.set(builtins.list(c.sources)))
        actions.append(MemoryItem.source_sessions.set(sessions) if sessions else MemoryItem.source_sessions.remove())
    if c.session_id is not None:
        if c.session_id:
            actions.append(MemoryItem.session_id.set(c.session_id))
            actions.append(MemoryItem.tenant_session.set(f"{tenant}#{c.session_id}"))
        else:
            actions += [MemoryItem.session_id.remove(), MemoryItem.tenant_session.remove()]
    slot = memory.slot if c.slot is None else (c.slot or None)
    if c.slot is not None:
        actions.append(MemoryItem.slot.set(slot) if slot else MemoryItem.slot.remove())
    if (memory.slot or slot) and (c.namespace is not None or c.superseded_by is not None or c.slot is not None):
        current = memory.current if c.superseded_by is None else c.superseded_by == ""
        slot_key = tenant_ns_slot(tenant, namespace, slot, current)
        actions.append(MemoryItem.tenant_ns_slot.set(slot_key) if slot_key else MemoryItem.tenant_ns_slot.remove())
    actions.append(MemoryItem.version.set(memory.version + 1))
    return actions


class DynamoMemoryRepository:
    """Memories, and the ``memory_count`` of their sessions (an attribute of the session item,
    changed in one transaction with the memory: see :class:`engram.ports.memories.MemoryRepository`)."""

    def __init__(self, settings: Settings) -> None:
        self._region = settings.region
        bind(MemoryItem, settings.memories_table, settings.region)
        bind(AccessLogItem, settings.memories_table, settings.region)
        bind(SessionItem, settings.sessions_table, settings.region)

    def add(self, memory: Memory) -> Memory:
        item = to_item(memory)
        is_new = MemoryItem.pk.does_not_exist()
        with storage_errors():
            counted = self._counted(memory, lambda tx: tx.save(item, condition=is_new), +1)
            if counted is False:
                raise StaleWrite()
            if counted is None:  # no session of this tenant to count in
                try:
                    item.save(condition=is_new)
                except PutError as exc:
                    if exc.cause_response_code == "ConditionalCheckFailedException":
                        raise StaleWrite() from exc
                    raise
        return to_memory(item)

    def _counted(self, memory: Memory, write: Callable[[TransactWrite], Any], delta: int) -> bool | None:
        """``write`` (the memory's own conditional put or delete) and ``memory_count += delta`` on
        its session, in one transaction. True: both done; False: the memory's condition failed
        (nothing written); None: the memory has no session of this tenant to count in (or, for
        ``delta < 0``, a count already at zero), so nothing was written and the caller writes
        the memory alone."""
        if not memory.session_id:
            return None
        session = SessionItem(pk=session_pk(memory.tenant_id, memory.session_id))
        guard = SessionItem.pk.exists() & (SessionItem.kind == "session")
        if delta < 0:
            guard &= SessionItem.memory_count > 0

        def both(tx: TransactWrite) -> None:
            write(tx)
            tx.update(session, actions=[SessionItem.memory_count.add(delta)], condition=guard)

        reasons = transact(self._region, both)
        if reasons[:1] == ["ConditionalCheckFailed"]:
            return False
        return None if reasons else True

    def get(self, tenant_id: str, memory_id: str) -> Memory | None:
        with storage_errors():
            try:
                item = MemoryItem.get(memory_pk(tenant_id, memory_id), consistent_read=True)
            except DoesNotExist:
                return None
        return to_memory(item) if item.tenant_id == tenant_id else None

    def get_many(
        self, tenant_id: str, memory_ids: Iterable[str], *, consistent: bool = False, embeddings: bool = True
    ) -> dict[str, Memory]:
        keys = builtins.list(dict.fromkeys(memory_pk(tenant_id, m) for m in memory_ids))
        found: dict[str, Memory] = {}
        if not keys:
            return found
        projection = None if embeddings else _WITHOUT_EMBEDDING
        with storage_errors():
            for item in MemoryItem.batch_get(keys, consistent_read=consistent, attributes_to_get=projection):
                if item.tenant_id == tenant_id and item.memory_id:
                    found[str(item.memory_id)] = to_memory(item)
        return found

    def log_accesses(self, logs: Sequence[Accesses]) -> None:
        items = [access_log_item(log) for log in logs]
        with storage_errors():
            if len(items) == 1:
                items[0].save()
            elif items:
                with AccessLogItem.batch_write() as batch:
                    for item in items:
                        batch.save(item)

    def settle_accesses(self, logs: Sequence[Accesses], writes: Sequence[tuple[Memory, MemoryChanges]]) -> set[str]:
        with storage_errors():
            try:
                with TransactWrite(connection=connection(self._region)) as tx:
                    for memory, changes in writes:
                        guard = MemoryItem.pk.exists() & (MemoryItem.version == memory.version)
                        item = MemoryItem(pk=memory_pk(memory.tenant_id, memory.memory_id))
                        tx.update(item, actions=_actions(memory, changes), condition=guard)
                    for log in logs:
                        tx.delete(AccessLogItem(pk=access_log_pk(log.tenant_id, log.log_id)), AccessLogItem.pk.exists())
            except TransactWriteError as exc:
                codes = cancellation_codes(exc)
                gone = {log.log_id for log, code in zip(logs, codes, strict=False) if code == "ConditionalCheckFailed"}
                if gone:  # the deletes go first: these logs were settled before
                    return gone
                if {"ConditionalCheckFailed", "TransactionConflict"} & set(codes):
                    raise StaleWrite() from exc
                raise
        return set()

    def apply(self, memory: Memory, changes: MemoryChanges, *, outcome_of: str | None = None) -> Memory:
        item = MemoryItem(pk=memory_pk(memory.tenant_id, memory.memory_id))
        guard = MemoryItem.pk.exists() & (MemoryItem.version == memory.version)
        if outcome_of is None:
            conditional_update(item, _actions(memory, changes), guard)
            return to_memory(item)
        session = SessionItem(pk=session_pk(memory.tenant_id, outcome_of))
        unclaimed = SessionItem.pk.exists() & ~SessionItem.outcome_applied.contains(memory.memory_id)

        def both(tx: TransactWrite) -> None:  # updates go in the order added: the memory, then the claim
            tx.update(item, actions=_actions(memory, changes), condition=guard)
            tx.update(session, actions=[SessionItem.outcome_applied.add({memory.memory_id})], condition=unclaimed)

        with storage_errors():
            reasons = transact(self._region, both)
        if reasons[:1] == ["ConditionalCheckFailed"]:
            raise StaleWrite()
        if reasons:
            raise AlreadyClaimed()
        stored = self.get(memory.tenant_id, memory.memory_id)  # a transaction returns no item
        if stored is None:
            raise StaleWrite()
        return stored

    def replace_embedding(self, memory: Memory, embedding: Sequence[float], embedder: str) -> Memory:
        item = to_item(memory)
        item.embedding, item.embedder = pack_vector(embedding), embedder
        with storage_errors():
            item.save()  # a new version arrives through the stream too: same content
        return to_memory(item)

    def delete(self, memory: Memory) -> bool:
        key = MemoryItem(pk=memory_pk(memory.tenant_id, memory.memory_id))
        exists = MemoryItem.pk.exists()
        with storage_errors():
            counted = self._counted(memory, lambda tx: tx.delete(key, condition=exists), -1)
            if counted is not None:
                return counted
            try:
                key.delete(condition=exists)
            except DeleteError as exc:
                if exc.cause_response_code == "ConditionalCheckFailedException":
                    return False
                raise
        return True

    def listing(
        self,
        tenant_id: str,
        filters: MemoryFilters,
        *,
        limit: int,
        cursor: str | None,
        offset: int,
        accept: Callable[[Memory], bool] | None = None,
    ) -> Listing[Memory]:
        """Through the narrowest GSI the filters allow."""
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
            memories = (to_memory(i) for i in results)
            page, has_more = take_page(memories, limit, offset, accept)
        next_cursor = None
        if has_more and page:
            last = page[-1]
            next_cursor = encode_cursor(
                {
                    "pk": memory_pk(tenant_id, last.memory_id),
                    "h": hash_value,
                    "memory_id": last.memory_id,
                    "ix": index.Meta.index_name,
                }
            )
        return Listing(page, next_cursor, has_more, total)

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
        if f.current_only:
            conditions.append(MemoryItem.superseded_by.does_not_exist())
        condition: Condition | None = None
        for c in conditions:
            condition = c if condition is None else (condition & c)
        assert hash_value is not None
        return index, hash_value, attr, condition

    def for_session(self, tenant_id: str, session_id: str) -> Iterator[Memory]:
        with storage_errors():
            for item in MemoryItem.by_session.query(tenant_session(tenant_id, session_id)):
                yield to_memory(item)

    def stored_at_tier(self, tenant_id: str, tier: str, namespaces: Sequence[str] | None = None) -> Iterator[Memory]:
        with storage_errors():
            if namespaces:
                for namespace in dict.fromkeys(namespaces):
                    for item in MemoryItem.by_tier.query(tenant_ns_tier(tenant_id, namespace, tier)):
                        yield to_memory(item)
            else:
                for item in MemoryItem.by_tenant.query(tenant_id, filter_condition=MemoryItem.tier == tier):
                    yield to_memory(item)

    def same_text(self, tenant_id: str, namespace: str, text: str) -> builtins.list[Memory]:
        key = content_key(text)
        with storage_errors():
            found = MemoryItem.by_content.query(tenant_ns_hash(tenant_id, namespace, text))
            return [to_memory(i) for i in found if content_key(i.text) == key]

    def in_slot(self, tenant_id: str, namespace: str, slot: str) -> builtins.list[Memory]:
        with storage_errors():
            found = MemoryItem.by_slot.query(tenant_ns_slot(tenant_id, namespace, slot))
            return [m for m in (to_memory(i) for i in found) if m.current and m.slot == slot]

    def from_session(self, tenant_id: str, session_id: str) -> Iterator[Memory]:
        """A filtered read of the tenant's memories: sources are not keyed (a cascade is rare)."""
        condition = (MemoryItem.session_id == session_id) | MemoryItem.source_sessions.contains(session_id)
        with storage_errors():
            for item in MemoryItem.by_tenant.query(tenant_id, filter_condition=condition):
                yield to_memory(item)

    def scan(self, tenant_id: str | None = None) -> Iterator[Memory]:
        with storage_errors():
            items = MemoryItem.by_tenant.query(tenant_id) if tenant_id is not None else MemoryItem.scan()
            for item in items:
                if item.memory_id:
                    yield to_memory(item)


class DynamoMissRepository:
    def __init__(self, settings: Settings) -> None:
        bind(MissItem, settings.misses_table, settings.region)

    def add(self, miss: Miss) -> None:
        item = MissItem(
            pk=miss.tenant_id,
            miss_id=miss.miss_id,
            query_text=miss.query,
            session_id=miss.session_id,
            context=miss.context,
            created_at=miss.created_at,
            purge_at=miss.purge_at,
            namespaces=list(miss.namespaces) or None,
        )
        with storage_errors():
            item.save()

    def listing(self, tenant_id: str, *, limit: int, since: float | None, cursor: str | None) -> Listing[Miss]:
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
            items = builtins.list(results)
        has_more = len(items) > limit
        items = items[:limit]
        next_cursor = encode_cursor({"miss_id": items[-1].miss_id}) if has_more and items else None
        misses = [
            Miss(
                tenant_id=tenant_id,
                miss_id=i.miss_id,
                query=i.query_text,
                created_at=float(i.created_at),
                session_id=i.session_id,
                context=i.context,
                purge_at=int(i.purge_at) if i.purge_at is not None else None,
                namespaces=tuple(i.namespaces or ()),
            )
            for i in items
        ]
        return Listing(misses, next_cursor, has_more)

    def count(self, tenant_id: str, since: float | None) -> int:
        condition = MissItem.miss_id >= id_floor("miss", since) if since is not None else None
        with storage_errors():
            return MissItem.count(tenant_id, range_key_condition=condition)


# --- the memories table's stream ----------------------------------------------------------------

# The attributes the index document is built from; a MODIFY that changes none of them is "unchanged".
INDEXED = (
    "namespace",
    "type",
    "tier",
    "title",
    "text",
    "context",
    "entities",
    "session_id",
    "agent_id",
    "embedding",
    "tenant_id",
)


def _decode_binary(image: dict[str, Any]) -> dict[str, Any]:
    """Lambda delivers B values base64-encoded in JSON; PynamoDB wants bytes."""
    out: dict[str, Any] = {}
    for name, value in image.items():
        if isinstance(value, dict) and isinstance(value.get("B"), str):
            out[name] = {"B": base64.b64decode(value["B"])}
        else:
            out[name] = value
    return out


def image_memory(image: dict[str, Any]) -> Memory:
    """A memory from a stream image (DynamoDB JSON); a malformed image raises."""
    return to_memory(MemoryItem.from_raw_data(_decode_binary(image)))


def decode_change(raw: dict[str, Any]) -> MemoryChange:
    """One raw stream record (``eventName`` + ``dynamodb``) as a :class:`MemoryChange`."""
    event_name = raw.get("eventName")
    data = raw.get("dynamodb") or {}
    if event_name == "INSERT" and "accessed_at" in (data.get("NewImage") or {}):
        log = AccessLogItem.from_raw_data(data["NewImage"])
        tenant_id, _, log_id = str(log.pk).rpartition("#")
        accesses = Accesses(tenant_id, log_id, tuple(log.memory_ids or ()), float(log.accessed_at))
        return MemoryChange("accesses", tenant_id, accesses=accesses)
    if event_name == "REMOVE":
        old = data.get("OldImage") or data.get("Keys") or {}
        pk = str((old.get("pk") or {}).get("S", ""))
        tenant_id, _, memory_id = pk.rpartition("#")
        if not memory_id.startswith("mem_"):
            return MemoryChange("ignored")
        version = int((old.get("version") or {}).get("N", "0"))
        return MemoryChange("remove", tenant_id, memory_id, version)
    new = data.get("NewImage")
    if not new or "memory_id" not in new:
        return MemoryChange("ignored")
    old = data.get("OldImage")
    if event_name == "MODIFY" and old and all(old.get(k) == new.get(k) for k in INDEXED):
        return MemoryChange("unchanged")
    memory = image_memory(new)
    return MemoryChange("upsert", memory.tenant_id, memory.memory_id, memory.version, memory)

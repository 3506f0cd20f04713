"""SessionRepository: sessions, key aliases, messages and turn records in DynamoDB."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from engram.config import Settings
from engram.store.base import (
    ConditionFailed,
    bind,
    conditional_update,
    connection,
    decode_cursor,
    encode_cursor,
    storage_errors,
    take_page,
)
from engram.store.models import MessageItem, SessionItem

ACTIVE_BUCKETS = 8


def session_pk(tenant_id: str, session_id: str) -> str:
    return f"{tenant_id}#{session_id}"


def alias_pk(tenant_id: str, key: str) -> str:
    return f"{tenant_id}#key#{key}"


def turns_pk(tenant_id: str, session_id: str) -> str:
    return f"{tenant_id}#{session_id}#turn"


def active_bucket(session_id: str) -> str:
    """Active sessions are spread over a few GSI partitions so the sweeper's index never runs hot."""
    shard = int(hashlib.sha256(session_id.encode()).hexdigest(), 16) % ACTIVE_BUCKETS
    return f"active#{shard}"


class KeyTaken(Exception):
    def __init__(self, session_id: str | None) -> None:
        super().__init__("key already in use")
        self.session_id = session_id


@dataclass(frozen=True)
class ListFilters:
    status: str | None = None
    agent_id: str | None = None
    project: str | None = None
    namespace: str | None = None
    key_prefix: str | None = None


@dataclass(frozen=True)
class NewMessage:
    role: str
    content: str
    tool_call_id: str | None = None
    tool_name: str | None = None


@dataclass(frozen=True)
class TurnRecord:
    turn_number: int
    request_hash: str
    response: dict[str, Any]


class SessionRepository:
    def __init__(self, settings: Settings) -> None:
        self._region = settings.region
        bind(SessionItem, settings.sessions_table, settings.region)
        bind(MessageItem, settings.messages_table, settings.region)

    # --- sessions ---------------------------------------------------------------------------

    def create(self, item: SessionItem) -> None:
        """Write a new session and, if it has a key, its alias, atomically."""
        with storage_errors():
            if not item.key:
                item.save(condition=SessionItem.pk.does_not_exist())
                return
            alias = SessionItem(pk=alias_pk(str(item.tenant_id), item.key), kind="key", target_id=item.session_id)
            try:
                with TransactWrite(connection=connection(self._region)) as tx:
                    tx.save(item, condition=SessionItem.pk.does_not_exist())
                    tx.save(alias, condition=SessionItem.pk.does_not_exist())
            except TransactWriteError as exc:
                reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
                if "ConditionalCheckFailed" in reasons:
                    raise KeyTaken(self.resolve_key(str(item.tenant_id), item.key)) from exc
                raise

    def get(self, tenant_id: str, session_id: str, *, consistent: bool = True) -> SessionItem | None:
        with storage_errors():
            try:
                item = SessionItem.get(session_pk(tenant_id, session_id), consistent_read=consistent)
            except DoesNotExist:
                return None
        return item if item.kind == "session" and item.tenant_id == tenant_id else None

    def resolve_key(self, tenant_id: str, key: str) -> str | None:
        with storage_errors():
            try:
                alias = SessionItem.get(alias_pk(tenant_id, key), consistent_read=True)
            except DoesNotExist:
                return None
        return alias.target_id

    def update(
        self, tenant_id: str, session_id: str, actions: Sequence[Action], condition: Condition | None
    ) -> SessionItem:
        """Apply update actions under a condition; returns the item as stored afterwards."""
        item = SessionItem(pk=session_pk(tenant_id, session_id))
        guard = SessionItem.pk.exists() if condition is None else (SessionItem.pk.exists() & condition)
        conditional_update(item, actions, guard)
        return item

    def delete_alias(self, tenant_id: str, key: str) -> None:
        with storage_errors():
            SessionItem(pk=alias_pk(tenant_id, key)).delete()

    def list_page(
        self,
        tenant_id: str,
        filters: ListFilters,
        status_condition: Condition | None,
        *,
        limit: int,
        cursor: str | None,
        offset: int,
    ) -> tuple[list[SessionItem], str | None, bool, int]:
        """Newest first. Returns (page, next_cursor, has_more, total_count)."""
        condition = self._filter(filters, status_condition)
        start_key = None
        if cursor:
            start_key = decode_cursor(
                cursor, {"pk", "tenant_id", "session_id"}, lambda k: k.get("tenant_id") == tenant_id
            )
            start_key = {name: {"S": str(value)} for name, value in start_key.items()}
        with storage_errors():
            total = SessionItem.by_tenant.count(tenant_id, filter_condition=condition)
            results = SessionItem.by_tenant.query(
                tenant_id,
                filter_condition=condition,
                scan_index_forward=False,
                last_evaluated_key=start_key,
                page_size=max(limit + 1, 25),
            )
            page, has_more = take_page(results, limit, offset)
        next_cursor = None
        if has_more and page:
            last = page[-1]
            next_cursor = encode_cursor({"pk": last.pk, "tenant_id": tenant_id, "session_id": last.session_id})
        return page, next_cursor, has_more, total

    @staticmethod
    def _filter(filters: ListFilters, status_condition: Condition | None) -> Condition:
        condition: Condition = SessionItem.deleted_at.does_not_exist()
        if status_condition is not None:
            condition &= status_condition
        if filters.agent_id:
            condition &= SessionItem.agent_id == filters.agent_id
        if filters.project:
            condition &= SessionItem.project == filters.project
        if filters.namespace:
            condition &= SessionItem.namespace == filters.namespace
        if filters.key_prefix:
            condition &= SessionItem.key.startswith(filters.key_prefix)
        return condition

    # --- messages -----------------------------------------------------------------------------

    def append(
        self,
        session: SessionItem,
        messages: Sequence[NewMessage],
        *,
        now: float,
        writable: Condition,
        extra_actions: Sequence[Action] = (),
        turn: TurnRecord | None = None,
    ) -> list[MessageItem]:
        """Append messages with seq numbers following ``session.message_count``, atomically.

        The session's count is the optimistic lock: if another writer appended first, the
        transaction fails with ConditionFailed and the caller re-reads and retries, so messages
        never share a number and none is lost.
        """
        tenant_id, session_id = str(session.tenant_id), str(session.session_id)
        base = int(session.message_count or 0)
        purge_at = session.purge_at
        items = [
            MessageItem(
                pk=session_pk(tenant_id, session_id),
                seq=base + index + 1,
                role=message.role,
                content=message.content,
                tool_call_id=message.tool_call_id,
                tool_name=message.tool_name,
                turn_number=turn.turn_number if turn else None,
                created_at=now,
                purge_at=purge_at,
            )
            for index, message in enumerate(messages)
        ]
        actions: list[Action] = [
            SessionItem.message_count.set(base + len(items)),
            SessionItem.last_activity_at.set(now),
            SessionItem.updated_at.set(now),
            *extra_actions,
        ]
        condition = writable & (SessionItem.message_count == base)
        if turn is not None:
            actions.append(SessionItem.turn_count.set(max(int(session.turn_count or 0), turn.turn_number)))
        with storage_errors():
            try:
                with TransactWrite(connection=connection(self._region)) as tx:
                    tx.update(SessionItem(pk=session.pk), actions=actions, condition=condition)
                    for item in items:
                        tx.save(item)
                    if turn is not None:
                        record = MessageItem(
                            pk=turns_pk(tenant_id, session_id),
                            seq=turn.turn_number,
                            turn_number=turn.turn_number,
                            request_hash=turn.request_hash,
                            response=turn.response,
                            created_at=now,
                            purge_at=purge_at,
                        )
                        tx.save(record, condition=MessageItem.pk.does_not_exist())
            except TransactWriteError as exc:
                reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
                if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                    raise ConditionFailed() from exc
                raise
        return items

    def get_turn(self, tenant_id: str, session_id: str, turn_number: int) -> MessageItem | None:
        with storage_errors():
            try:
                return MessageItem.get(turns_pk(tenant_id, session_id), turn_number, consistent_read=True)
            except DoesNotExist:
                return None

    def list_messages(
        self, tenant_id: str, session_id: str, *, limit: int, after_seq: int
    ) -> tuple[list[MessageItem], bool]:
        with storage_errors():
            results = MessageItem.query(
                session_pk(tenant_id, session_id),
                range_key_condition=MessageItem.seq > after_seq,
                limit=limit + 1,
                consistent_read=True,
            )
            items = list(results)
        return items[:limit], len(items) > limit

    def recent_messages(self, tenant_id: str, session_id: str, count: int) -> list[MessageItem]:
        """The last ``count`` messages, oldest first."""
        with storage_errors():
            newest = list(
                MessageItem.query(
                    session_pk(tenant_id, session_id), scan_index_forward=False, limit=count, consistent_read=True
                )
            )
        return newest[::-1]

    def all_messages(self, tenant_id: str, session_id: str) -> Iterable[MessageItem]:
        with storage_errors():
            yield from MessageItem.query(session_pk(tenant_id, session_id), consistent_read=True)

    def purge_messages(self, tenant_id: str, session_id: str) -> int:
        """Delete every message and turn record of a session; returns how many were removed."""
        removed = 0
        with storage_errors():
            for pk in (session_pk(tenant_id, session_id), turns_pk(tenant_id, session_id)):
                keys = list(MessageItem.query(pk, attributes_to_get=["pk", "seq"]))
                with MessageItem.batch_write() as batch:
                    for item in keys:
                        batch.delete(item)
                        removed += 1 if pk == session_pk(tenant_id, session_id) else 0
        return removed

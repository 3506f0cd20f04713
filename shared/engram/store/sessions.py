"""DynamoSessionRepository: sessions, key aliases, messages and turn records in DynamoDB.

Implements :class:`engram.ports.sessions.SessionRepository`. Every guard the port documents is a
DynamoDB condition here, so a write that lost a race changes nothing and raises StaleWrite.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from engram import errors
from engram.config import Settings
from engram.paging import decode_cursor, encode_cursor, take_page
from engram.ports import Listing, StaleWrite
from engram.ports.memories import Accesses
from engram.ports.sessions import (
    Ending,
    KeyTaken,
    Message,
    NewMessage,
    Session,
    SessionEdit,
    SessionFilters,
    TurnRecord,
    TurnTaken,
)
from engram.store.base import bind, cancellation_codes, conditional_update, connection, storage_errors, transact
from engram.store.memories import access_log_item
from engram.store.models import AccessLogItem, MessageItem, SessionItem, session_pk

ACTIVE_BUCKETS = 8


def alias_pk(tenant_id: str, key: str) -> str:
    return f"{tenant_id}#key#{key}"


def turns_pk(tenant_id: str, session_id: str) -> str:
    return f"{tenant_id}#{session_id}#turn"


def agent_pk(tenant_id: str, session_id: str, agent_id: str) -> str:
    return f"{tenant_id}#{session_id}#agent#{agent_id}"


def agent_key(tenant_id: str, agent_id: str) -> str:
    return f"{tenant_id}#{agent_id}"


def agent_entry(tenant_id: str, session_id: str, agent_id: str) -> SessionItem:
    """The session's entry in ``by_agent`` for one agent that created or joined it."""
    return SessionItem(
        pk=agent_pk(tenant_id, session_id, agent_id),
        kind="agent",
        agent_key=agent_key(tenant_id, agent_id),
        session_id=session_id,
    )


def active_bucket(session_id: str) -> str:
    """Active sessions are spread over a few GSI partitions so the sweeper's index never runs hot."""
    shard = int(hashlib.sha256(session_id.encode()).hexdigest(), 16) % ACTIVE_BUCKETS
    return f"active#{shard}"


def writable(now: float, inactivity_timeout: float) -> Condition:
    """The condition every write to a session carries: active, not deleted, not idle, not expired
    (the stored mirror of :func:`engram.services.lifecycle.ensure_writable`)."""
    return (
        (SessionItem.status == "active")
        & SessionItem.deleted_at.does_not_exist()
        & (SessionItem.last_activity_at >= now - inactivity_timeout)
        & (SessionItem.expires_at.does_not_exist() | (SessionItem.expires_at > now))
    )


def status_condition(status: str, now: float, inactivity_timeout: float) -> Condition:
    """A filter matching sessions whose *effective* status (services/lifecycle.py) is ``status``."""
    cutoff = now - inactivity_timeout
    stored_active = SessionItem.status == "active"
    not_expired = SessionItem.expires_at.does_not_exist() | (SessionItem.expires_at > now)
    idle_ended = stored_active & (SessionItem.last_activity_at < cutoff) & not_expired
    if status == "active":
        return stored_active & (SessionItem.last_activity_at >= cutoff) & not_expired
    if status == "expired":
        return (SessionItem.status == "expired") | (stored_active & (SessionItem.expires_at <= now))
    if status == "ended":
        return (SessionItem.status == "ended") | idle_ended
    if status == "closed":
        return SessionItem.status == "closed"
    if status == "completed":
        return (SessionItem.status == "ended") | (SessionItem.status == "closed") | idle_ended
    raise errors.ValidationFailed(f"unknown status filter {status!r}")


def to_session(item: SessionItem) -> Session:
    return Session(
        tenant_id=str(item.tenant_id),
        session_id=str(item.session_id),
        status=item.status or "active",
        key=item.key,
        agent_id=item.agent_id,
        contributors=tuple(str(c) for c in (item.contributors or ())),
        namespace=item.namespace,
        project=item.project,
        title=item.title,
        outcome=item.outcome,
        summary=item.summary,
        metadata=item.metadata or {},
        context=item.context or {},
        extract_memories=item.extract_memories,
        ttl_seconds=int(item.ttl_seconds) if item.ttl_seconds else None,
        expires_at=item.expires_at,
        message_count=int(item.message_count or 0),
        turn_count=int(item.turn_count or 0),
        memory_count=int(item.memory_count or 0),
        memories_used=frozenset(str(m) for m in (item.memories_used or ())),
        outcome_applied=frozenset(str(m) for m in (item.outcome_applied or ())),
        started_at=item.started_at,
        last_activity_at=item.last_activity_at,
        ended_at=item.ended_at,
        created_at=item.created_at,
        updated_at=item.updated_at,
        deleted_at=item.deleted_at,
        cascade_memories=item.cascade_memories,
        summary_generated_at=item.summary_generated_at,
        purge_at=int(item.purge_at) if item.purge_at is not None else None,
        version=int(item.version or 0),
    )


def to_item(session: Session) -> SessionItem:
    return SessionItem(
        pk=session_pk(session.tenant_id, session.session_id),
        kind="session",
        tenant_id=session.tenant_id,
        session_id=session.session_id,
        key=session.key,
        agent_id=session.agent_id,
        contributors=list(session.contributors),
        namespace=session.namespace,
        project=session.project,
        title=session.title,
        status=session.status,
        outcome=session.outcome,
        summary=session.summary,
        metadata=session.metadata,
        context=session.context,
        extract_memories=session.extract_memories,
        ttl_seconds=session.ttl_seconds,
        expires_at=session.expires_at,
        message_count=session.message_count,
        turn_count=session.turn_count,
        memory_count=session.memory_count,
        memories_used=set(session.memories_used) or None,
        outcome_applied=set(session.outcome_applied) or None,
        started_at=session.started_at,
        last_activity_at=session.last_activity_at,
        ended_at=session.ended_at,
        created_at=session.created_at,
        updated_at=session.updated_at,
        deleted_at=session.deleted_at,
        cascade_memories=session.cascade_memories,
        summary_generated_at=session.summary_generated_at,
        purge_at=session.purge_at,
        active_bucket=active_bucket(session.session_id) if session.status == "active" else None,
        version=session.version,
    )


def to_message(item: MessageItem) -> Message:
    return Message(
        seq=int(item.seq),
        role=str(item.role or ""),
        content=item.content or "",
        tool_call_id=item.tool_call_id,
        tool_name=item.tool_name,
        turn_number=int(item.turn_number) if item.turn_number is not None else None,
        created_at=item.created_at,
    )


def to_turn(item: MessageItem) -> TurnRecord:
    number = item.turn_number if item.turn_number is not None else item.seq
    return TurnRecord(int(number), item.request_hash or "", item.response or {}, item.created_at)


def _by_seq(pk: str, field: str, *, after: int, limit: int, cursor: str | None) -> Listing[MessageItem]:
    """One page of the items under ``pk`` in ``seq`` order, after ``after`` or the cursor's position
    (kept under ``field``, so one list's cursor is refused by the other)."""
    if cursor:
        after = int(decode_cursor(cursor, {field}, lambda k: isinstance(k.get(field), int))[field])
    with storage_errors():
        results = MessageItem.query(
            pk, range_key_condition=MessageItem.seq > after, limit=limit + 1, consistent_read=True
        )
        items = list(results)
    has_more = len(items) > limit
    items = items[:limit]
    next_cursor = encode_cursor({field: int(items[-1].seq)}) if has_more and items else None
    return Listing(items, next_cursor, has_more)


def _cancelled_by(exc: TransactWriteError, *codes: str) -> bool:
    reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
    return any(code in reasons for code in codes)


class DynamoSessionRepository:
    def __init__(self, settings: Settings) -> None:
        self._region = settings.region
        bind(SessionItem, settings.sessions_table, settings.region)
        bind(MessageItem, settings.messages_table, settings.region)
        bind(AccessLogItem, settings.memories_table, settings.region)  # a turn's access logs

    # --- sessions ---------------------------------------------------------------------------

    def create(self, session: Session) -> None:
        item = to_item(session)
        new = SessionItem.pk.does_not_exist()
        entries = [agent_entry(session.tenant_id, session.session_id, a) for a in session.agents]
        with storage_errors():
            if not session.key and not entries:
                item.save(condition=new)
                return
            alias = None
            if session.key:
                pk = alias_pk(session.tenant_id, session.key)
                alias = SessionItem(pk=pk, kind="key", target_id=session.session_id)

            def write(tx: TransactWrite) -> None:
                tx.save(item, condition=new)
                if alias is not None:
                    tx.save(alias, condition=new)
                for entry in entries:
                    tx.save(entry)

            if transact(self._region, write):
                if session.key:
                    raise KeyTaken(self.resolve_key(session.tenant_id, session.key))
                raise StaleWrite()  # the id exists (ids are minted fresh: never in practice)

    def get(self, tenant_id: str, session_id: str) -> Session | None:
        with storage_errors():
            try:
                item = SessionItem.get(session_pk(tenant_id, session_id), consistent_read=True)
            except DoesNotExist:
                return None
        return to_session(item) if item.kind == "session" and item.tenant_id == tenant_id else None

    def resolve_key(self, tenant_id: str, key: str) -> str | None:
        with storage_errors():
            try:
                alias = SessionItem.get(alias_pk(tenant_id, key), consistent_read=True)
            except DoesNotExist:
                return None
        return alias.target_id

    def listing(
        self,
        tenant_id: str,
        filters: SessionFilters,
        *,
        now: float,
        inactivity_timeout: float,
        limit: int,
        cursor: str | None,
        offset: int,
    ) -> Listing[Session]:
        if filters.agent_id:
            return self._by_agent(tenant_id, filters, now, inactivity_timeout, limit, cursor, offset)
        condition = self._filter(filters, now, inactivity_timeout)
        start_key = None
        if cursor:
            key = decode_cursor(cursor, {"pk", "tenant_id", "session_id"}, lambda k: k.get("tenant_id") == tenant_id)
            start_key = {name: {"S": str(value)} for name, value in key.items()}
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
        return Listing([to_session(i) for i in page], next_cursor, has_more, total)

    def _by_agent(
        self,
        tenant_id: str,
        filters: SessionFilters,
        now: float,
        inactivity_timeout: float,
        limit: int,
        cursor: str | None,
        offset: int,
    ) -> Listing[Session]:
        """The sessions an agent created or joined: its entries in ``by_agent`` (small items,
        newest first), then those sessions read in batches and filtered like the tenant listing.
        Every entry is read, for ``total_count``: the cost is the agent's sessions, not the tenant's."""
        agent = str(filters.agent_id)
        if filters.status:
            status_condition(filters.status, now, inactivity_timeout)  # an unknown status is a 422
        after = None
        if cursor:
            key = decode_cursor(
                cursor,
                {"agent", "tenant_id", "session_id"},
                lambda k: k.get("tenant_id") == tenant_id and k.get("agent") == agent,
            )
            after = str(key["session_id"])
        with storage_errors():
            entries = SessionItem.by_agent.query(agent_key(tenant_id, agent), scan_index_forward=False)
            ids = [str(e.session_id) for e in entries]
            stored = self._sessions(tenant_id, ids)
        visible = (s for s in (stored.get(i) for i in ids) if s is not None and s.deleted_at is None)
        found = [s for s in visible if filters.admits(s, now=now, inactivity_timeout=inactivity_timeout)]
        total = len(found)
        if after is not None:
            found = [s for s in found if s.session_id < after]
        page, has_more = take_page(found, limit, offset)
        next_cursor = None
        if has_more and page:
            next_cursor = encode_cursor({"agent": agent, "tenant_id": tenant_id, "session_id": page[-1].session_id})
        return Listing(page, next_cursor, has_more, total)

    @staticmethod
    def _sessions(tenant_id: str, session_ids: Sequence[str]) -> dict[str, Session]:
        keys = list(dict.fromkeys(session_pk(tenant_id, i) for i in session_ids))
        if not keys:
            return {}
        return {
            str(item.session_id): to_session(item)
            for item in SessionItem.batch_get(keys, consistent_read=True)
            if item.kind == "session" and item.tenant_id == tenant_id
        }

    @staticmethod
    def _filter(filters: SessionFilters, now: float, inactivity_timeout: float) -> Condition:
        """The tenant listing's filter (``agent_id`` is answered from ``by_agent`` instead)."""
        condition: Condition = SessionItem.deleted_at.does_not_exist()
        if filters.status:
            condition &= status_condition(filters.status, now, inactivity_timeout)
        if filters.project:
            condition &= SessionItem.project == filters.project
        if filters.namespace:
            condition &= SessionItem.namespace == filters.namespace
        if filters.key_prefix:
            condition &= SessionItem.key.startswith(filters.key_prefix)
        return condition

    def add_contributor(self, session: Session, agent_id: str) -> Session:
        """The contributor and its agent entry in one transaction; a session that has it already or
        is deleted is left as it is."""
        tenant_id, session_id = session.tenant_id, session.session_id
        condition = (
            SessionItem.pk.exists()
            & SessionItem.deleted_at.does_not_exist()
            & ~SessionItem.contributors.contains(agent_id)
        )

        def write(tx: TransactWrite) -> None:
            tx.update(
                SessionItem(pk=session_pk(tenant_id, session_id)),
                actions=[SessionItem.contributors.set(SessionItem.contributors.append([agent_id]))],
                condition=condition,
            )
            tx.save(agent_entry(tenant_id, session_id, agent_id))

        with storage_errors():
            transact(self._region, write)
        return self.get(tenant_id, session_id) or session

    def edit(self, session: Session, edit: SessionEdit, *, now: float, inactivity_timeout: float) -> Session:
        actions: list[Action] = [SessionItem.updated_at.set(now), SessionItem.version.set(session.version + 1)]
        if edit.title is not None:
            actions.append(SessionItem.title.set(edit.title))
        if edit.metadata is not None:
            actions.append(SessionItem.metadata.set(edit.metadata))
        if edit.context is not None:
            actions.append(SessionItem.context.set(edit.context))
        if edit.ttl_seconds is not None:
            actions.append(SessionItem.ttl_seconds.set(edit.ttl_seconds))
        if edit.expires_at is not None:
            actions.append(SessionItem.expires_at.set(edit.expires_at))
        if edit.purge_at is not None:
            actions.append(SessionItem.purge_at.set(edit.purge_at))
        if edit.touch:
            actions.append(SessionItem.last_activity_at.set(now))
        guard = writable(now, inactivity_timeout) & (SessionItem.version == session.version)
        return to_session(self._update(session, actions, guard))

    def finish(self, session: Session, ending: Ending, *, now: float, inactivity_timeout: float) -> Session:
        guard = writable(now, inactivity_timeout) & (SessionItem.version == session.version)
        return to_session(self._update(session, self._ending(session, ending, now), guard))

    def finish_idle(self, session: Session, ending: Ending, *, now: float) -> bool:
        untouched = (
            (SessionItem.status == "active")
            & (SessionItem.version == session.version)
            & (SessionItem.last_activity_at == session.last_activity_at)
        )
        try:
            self._update(session, self._ending(session, ending, now), untouched)
        except StaleWrite:
            return False
        return True

    @staticmethod
    def _ending(session: Session, ending: Ending, now: float) -> list[Action]:
        actions: list[Action] = [
            SessionItem.status.set(ending.status),
            SessionItem.ended_at.set(ending.ended_at),
            SessionItem.updated_at.set(now),
            SessionItem.active_bucket.remove(),
            SessionItem.version.set(session.version + 1),
        ]
        if ending.outcome is not None:
            actions.append(SessionItem.outcome.set(ending.outcome))
        if ending.summary is not None:
            actions.append(SessionItem.summary.set(ending.summary))
        if ending.metadata is not None:
            actions.append(SessionItem.metadata.set(ending.metadata))
        if ending.extract_memories is not None:
            actions.append(SessionItem.extract_memories.set(ending.extract_memories))
        if ending.memories_used:
            actions.append(SessionItem.memories_used.add(set(ending.memories_used)))
        return actions

    def delete(self, session: Session, *, now: float, cascade_memories: bool, purge_at: int) -> bool:
        actions = [
            SessionItem.deleted_at.set(now),
            SessionItem.updated_at.set(now),
            SessionItem.cascade_memories.set(cascade_memories),
            SessionItem.purge_at.set(purge_at),
            SessionItem.active_bucket.remove(),
        ]
        try:
            stored = to_session(self._update(session, actions, SessionItem.deleted_at.does_not_exist()))
        except StaleWrite:
            return False
        if session.key:  # the key can name a new session now
            with storage_errors():
                SessionItem(pk=alias_pk(session.tenant_id, session.key)).delete()
        # a deleted session is never listed again: its agent entries go (the listing checks too)
        self.forget_contributors(session.tenant_id, session.session_id, stored.agents)
        return True

    def forget_contributors(self, tenant_id: str, session_id: str, agents: Sequence[str]) -> None:
        with storage_errors(), SessionItem.batch_write() as batch:
            for agent in dict.fromkeys(agents):
                batch.delete(SessionItem(pk=agent_pk(tenant_id, session_id, agent)))

    def reindex_agents(self, tenant_id: str | None = None) -> int:
        written = 0
        with storage_errors():
            if tenant_id is not None:
                items = SessionItem.by_tenant.query(tenant_id)
            else:
                items = SessionItem.scan(filter_condition=SessionItem.kind == "session")
            with SessionItem.batch_write() as batch:
                for item in items:
                    session = to_session(item)
                    if item.kind != "session" or session.deleted_at is not None:
                        continue
                    for agent in session.agents:
                        batch.save(agent_entry(session.tenant_id, session.session_id, agent))
                        written += 1
        return written

    def _update(self, session: Session, actions: Sequence[Action], condition: Condition | None) -> SessionItem:
        """Apply update actions under a condition; returns the item as stored afterwards."""
        item = SessionItem(pk=session_pk(session.tenant_id, session.session_id))
        guard = SessionItem.pk.exists() if condition is None else (SessionItem.pk.exists() & condition)
        conditional_update(item, actions, guard)
        return item

    # --- messages -----------------------------------------------------------------------------

    def append(
        self,
        session: Session,
        messages: Sequence[NewMessage],
        *,
        now: float,
        inactivity_timeout: float,
        memories_used: Collection[str] = (),
        turn: TurnRecord | None = None,
        accesses: Sequence[Accesses] = (),
    ) -> list[Message]:
        """The session's message count is the optimistic lock: if another writer appended first,
        the transaction fails and the caller re-reads and retries, so messages never share a
        number and none is lost. The turn record is written only if absent (TurnTaken)."""
        tenant_id, session_id = session.tenant_id, session.session_id
        base = session.message_count
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
                purge_at=session.purge_at,
            )
            for index, message in enumerate(messages)
        ]
        actions: list[Action] = [
            SessionItem.message_count.set(base + len(items)),
            SessionItem.last_activity_at.set(now),
            SessionItem.updated_at.set(now),
        ]
        if memories_used:
            actions.append(SessionItem.memories_used.add(set(memories_used)))
        if turn is not None:
            actions.append(SessionItem.turn_count.set(max(session.turn_count, turn.turn_number)))
        condition = writable(now, inactivity_timeout) & (SessionItem.message_count == base)
        with storage_errors():
            try:
                with TransactWrite(connection=connection(self._region)) as tx:
                    if turn is not None:  # the first put: its cancellation reason comes first
                        record = MessageItem(
                            pk=turns_pk(tenant_id, session_id),
                            seq=turn.turn_number,
                            turn_number=turn.turn_number,
                            request_hash=turn.request_hash,
                            response=turn.response,
                            created_at=now,
                            purge_at=session.purge_at,
                        )
                        tx.save(record, condition=MessageItem.pk.does_not_exist())
                    for item in items:
                        tx.save(item)
                    for log in accesses:
                        tx.save(access_log_item(log))
                    tx.update(SessionItem(pk=session_pk(tenant_id, session_id)), actions=actions, condition=condition)
            except TransactWriteError as exc:
                codes = cancellation_codes(exc)
                if turn is not None and codes and codes[0] == "ConditionalCheckFailed":
                    raise TurnTaken() from exc
                if {"ConditionalCheckFailed", "TransactionConflict"} & set(codes):
                    raise StaleWrite() from exc
                raise
        return [to_message(i) for i in items]

    def get_turn(self, tenant_id: str, session_id: str, turn_number: int) -> TurnRecord | None:
        with storage_errors():
            try:
                item = MessageItem.get(turns_pk(tenant_id, session_id), turn_number, consistent_read=True)
            except DoesNotExist:
                return None
        return to_turn(item)

    def save_start(self, session: Session, record: TurnRecord, *, now: float) -> None:
        item = MessageItem(
            pk=turns_pk(session.tenant_id, session.session_id),
            seq=record.turn_number,
            turn_number=record.turn_number,
            request_hash=record.request_hash,
            response=record.response,
            created_at=now,
            purge_at=session.purge_at,
        )
        with storage_errors():
            item.save(condition=MessageItem.pk.does_not_exist())

    def turns(self, tenant_id: str, session_id: str, *, limit: int, cursor: str | None) -> Listing[TurnRecord]:
        page = _by_seq(turns_pk(tenant_id, session_id), "turn", after=-1, limit=limit, cursor=cursor)  # start: 0
        return Listing([to_turn(i) for i in page.items], page.next_cursor, page.has_more)

    def messages(
        self, tenant_id: str, session_id: str, *, limit: int, cursor: str | None, offset: int
    ) -> Listing[Message]:
        page = _by_seq(session_pk(tenant_id, session_id), "seq", after=offset, limit=limit, cursor=cursor)
        return Listing([to_message(i) for i in page.items], page.next_cursor, page.has_more)

    def recent_messages(self, tenant_id: str, session_id: str, count: int) -> list[Message]:
        with storage_errors():
            newest = list(
                MessageItem.query(
                    session_pk(tenant_id, session_id), scan_index_forward=False, limit=count, consistent_read=True
                )
            )
        return [to_message(i) for i in newest[::-1]]

    def all_messages(self, tenant_id: str, session_id: str) -> Iterator[Message]:
        with storage_errors():
            for item in MessageItem.query(session_pk(tenant_id, session_id), consistent_read=True):
                yield to_message(item)

    def purge_messages(self, tenant_id: str, session_id: str) -> int:
        removed = 0
        with storage_errors():
            for pk in (session_pk(tenant_id, session_id), turns_pk(tenant_id, session_id)):
                keys = list(MessageItem.query(pk, attributes_to_get=["pk", "seq"]))
                with MessageItem.batch_write() as batch:
                    for item in keys:
                        batch.delete(item)
                        removed += 1 if pk == session_pk(tenant_id, session_id) else 0
        return removed

    # --- what the session stream and summaries write ----------------------------------------------

    def save_summary(self, tenant_id: str, session_id: str, summary: str, *, now: float) -> None:
        actions = [
            SessionItem.summary.set(summary),
            SessionItem.summary_generated_at.set(now),
            SessionItem.updated_at.set(now),
        ]
        condition = SessionItem.deleted_at.does_not_exist() & (SessionItem.status != "expired")
        self._update(Session(tenant_id, session_id), actions, condition)

    def fill_summary(self, tenant_id: str, session_id: str, summary: str) -> bool:
        try:
            self._update(
                Session(tenant_id, session_id), [SessionItem.summary.set(summary)], SessionItem.summary.does_not_exist()
            )
        except StaleWrite:
            return False
        return True

    # --- what the sweeper reads -----------------------------------------------------------------------

    def expired_active(self, now: float, limit: int) -> list[Session]:
        return self._active(
            lambda bucket: SessionItem.active_by_expiry.query(bucket, SessionItem.expires_at <= now, limit=limit)
        )

    def idle_active(self, cutoff: float, limit: int) -> list[Session]:
        return self._active(
            lambda bucket: SessionItem.active_by_activity.query(
                bucket, SessionItem.last_activity_at < cutoff, limit=limit
            )
        )

    @staticmethod
    def _active(query: Any) -> list[Session]:
        found: list[Session] = []
        with storage_errors():
            for shard in range(ACTIVE_BUCKETS):
                found += [to_session(i) for i in query(f"active#{shard}")]
        return found

"""In-memory fakes of the repository ports: dictionaries behind the same guards as DynamoDB.

Each fake keeps the contract of its port exactly as the PynamoDB repository does (guards that
raise StaleWrite and write nothing, newest-first listings, opaque cursors that reject what they
did not mint); ``tests/contract`` runs one suite against both, so they cannot drift. Sessions,
misses and keys are copied in and out, so a caller never sees a later write through an object it
holds; memories are shared frozen values (see FakeMemoryRepository).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from engram import errors
from engram.ids import id_floor
from engram.paging import decode_cursor, encode_cursor, take_page
from engram.ports import AlreadyClaimed, Listing, StaleWrite
from engram.ports.auth import ApiKey
from engram.ports.ledger import LedgerEntry
from engram.ports.memories import Accesses, Memory, MemoryChanges, MemoryFilters, Miss, content_key
from engram.ports.sessions import (
    STATUS_FILTERS,
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

T = TypeVar("T")


def _copy(value: T) -> T:
    return copy.deepcopy(value)


# --- sessions -------------------------------------------------------------------------------------


def _writable(s: Session, now: float, inactivity_timeout: float) -> bool:
    return (
        s.status == "active"
        and s.deleted_at is None
        and s.last_activity_at is not None
        and s.last_activity_at >= now - inactivity_timeout
        and (s.expires_at is None or s.expires_at > now)
    )


class FakeSessionRepository:
    """:class:`engram.ports.sessions.SessionRepository` in memory. A turn's access logs go to
    ``memories`` (the memories table, in DynamoDB), in the same step as the turn."""

    def __init__(self, memories: FakeMemoryRepository | None = None) -> None:
        self._memories = memories
        self._lock = threading.RLock()
        self.sessions: dict[tuple[str, str], Session] = {}
        self.aliases: dict[tuple[str, str], str] = {}
        self.messages_by_session: dict[tuple[str, str], list[Message]] = {}
        self.turn_records: dict[tuple[str, str], dict[int, TurnRecord]] = {}
        self.agent_index: dict[tuple[str, str], set[str]] = {}  # (tenant, agent) -> session ids

    def _current(self, session: Session) -> Session | None:
        return self.sessions.get((session.tenant_id, session.session_id))

    def _store(self, session: Session) -> Session:
        self.sessions[(session.tenant_id, session.session_id)] = _copy(session)
        return _copy(session)

    def create(self, session: Session) -> None:
        with self._lock:
            if (session.tenant_id, session.session_id) in self.sessions:
                raise StaleWrite()
            if session.key:
                taken = self.aliases.get((session.tenant_id, session.key))
                if taken is not None:
                    raise KeyTaken(taken)
                self.aliases[(session.tenant_id, session.key)] = session.session_id
            for agent in session.agents:
                self.agent_index.setdefault((session.tenant_id, agent), set()).add(session.session_id)
            self._store(session)

    def get(self, tenant_id: str, session_id: str) -> Session | None:
        with self._lock:
            found = self.sessions.get((tenant_id, session_id))
            return _copy(found) if found is not None else None

    def resolve_key(self, tenant_id: str, key: str) -> str | None:
        with self._lock:
            return self.aliases.get((tenant_id, key))

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
        if filters.status and filters.status not in STATUS_FILTERS:
            raise errors.ValidationFailed(f"unknown status filter {filters.status!r}")
        agent = filters.agent_id
        scope: dict[str, str] = {"tenant_id": tenant_id, **({"agent": agent} if agent else {})}
        with self._lock:
            after = None
            if cursor:
                required = {"agent", "tenant_id", "session_id"} if agent else {"pk", "tenant_id", "session_id"}
                after = decode_cursor(cursor, required, lambda k: all(k.get(n) == v for n, v in scope.items()))[
                    "session_id"
                ]
            if agent:  # as in DynamoDB, from the agent's index entries
                ids = self.agent_index.get((tenant_id, agent), set())
                pool = [self.sessions[(tenant_id, i)] for i in ids if (tenant_id, i) in self.sessions]
            else:
                pool = [s for (t, _), s in self.sessions.items() if t == tenant_id]
            found = sorted(
                (
                    s
                    for s in pool
                    if s.deleted_at is None and filters.admits(s, now=now, inactivity_timeout=inactivity_timeout)
                ),
                key=lambda s: s.session_id,
                reverse=True,
            )
            total = len(found)
            if after is not None:
                found = [s for s in found if s.session_id < after]
            page, has_more = take_page(found, limit, offset)
            next_cursor = None
            if has_more and page:
                last = page[-1].session_id
                key = (
                    {**scope, "session_id": last}
                    if agent
                    else {**scope, "pk": f"{tenant_id}#{last}", "session_id": last}
                )
                next_cursor = encode_cursor(key)
            return Listing([_copy(s) for s in page], next_cursor, has_more, total)

    def add_contributor(self, session: Session, agent_id: str) -> Session:
        with self._lock:
            current = self._current(session)
            if current is None:
                return session
            if current.deleted_at is not None or agent_id in current.contributors:
                return _copy(current)
            self.agent_index.setdefault((session.tenant_id, agent_id), set()).add(session.session_id)
            return self._store(replace(current, contributors=(*current.contributors, agent_id)))

    def _guarded(self, session: Session, check: Callable[[Session], bool]) -> Session:
        current = self._current(session)
        if current is None or not check(current):
            raise StaleWrite()
        return current

    def edit(self, session: Session, edit: SessionEdit, *, now: float, inactivity_timeout: float) -> Session:
        with self._lock:
            current = self._guarded(
                session, lambda c: _writable(c, now, inactivity_timeout) and c.version == session.version
            )
            changes: dict[str, Any] = {"updated_at": now, "version": session.version + 1}
            for name in ("title", "metadata", "context", "ttl_seconds", "expires_at", "purge_at"):
                value = getattr(edit, name)
                if value is not None:
                    changes[name] = value
            if edit.touch:
                changes["last_activity_at"] = now
            return self._store(replace(current, **changes))

    def finish(self, session: Session, ending: Ending, *, now: float, inactivity_timeout: float) -> Session:
        with self._lock:
            current = self._guarded(
                session, lambda c: _writable(c, now, inactivity_timeout) and c.version == session.version
            )
            return self._store(self._ended(current, session, ending, now))

    def finish_idle(self, session: Session, ending: Ending, *, now: float) -> bool:
        with self._lock:
            try:
                current = self._guarded(
                    session,
                    lambda c: (
                        c.status == "active"
                        and c.version == session.version
                        and c.last_activity_at == session.last_activity_at
                    ),
                )
            except StaleWrite:
                return False
            self._store(self._ended(current, session, ending, now))
            return True

    @staticmethod
    def _ended(current: Session, read: Session, ending: Ending, now: float) -> Session:
        changes: dict[str, Any] = {
            "status": ending.status,
            "ended_at": ending.ended_at,
            "updated_at": now,
            "version": read.version + 1,
        }
        for name in ("outcome", "summary", "metadata", "extract_memories"):
            value = getattr(ending, name)
            if value is not None:
                changes[name] = value
        if ending.memories_used:
            changes["memories_used"] = current.memories_used | ending.memories_used
        return replace(current, **changes)

    def delete(self, session: Session, *, now: float, cascade_memories: bool, purge_at: int) -> bool:
        with self._lock:
            current = self._current(session)
            if current is None or current.deleted_at is not None:
                return False
            self._store(
                replace(current, deleted_at=now, updated_at=now, cascade_memories=cascade_memories, purge_at=purge_at)
            )
            if session.key:
                self.aliases.pop((session.tenant_id, session.key), None)
            self.forget_contributors(session.tenant_id, session.session_id, current.agents)
            return True

    def forget_contributors(self, tenant_id: str, session_id: str, agents: Sequence[str]) -> None:
        with self._lock:
            for agent in agents:
                self.agent_index.get((tenant_id, agent), set()).discard(session_id)

    def reindex_agents(self, tenant_id: str | None = None) -> int:
        written = 0
        with self._lock:
            for (tenant, session_id), session in self.sessions.items():
                if (tenant_id is None or tenant == tenant_id) and session.deleted_at is None:
                    for agent in session.agents:
                        self.agent_index.setdefault((tenant, agent), set()).add(session_id)
                        written += 1
        return written

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
        key = (session.tenant_id, session.session_id)
        if accesses and self._memories is None:
            raise ValueError("this FakeSessionRepository has no memories repository for access logs")
        with self._lock:
            base = session.message_count
            if turn is not None and turn.turn_number in self.turn_records.get(key, {}):
                raise TurnTaken()  # the transaction is all or nothing
            current = self._guarded(
                session, lambda c: _writable(c, now, inactivity_timeout) and c.message_count == base
            )
            stored = [
                Message(
                    seq=base + i + 1,
                    role=m.role,
                    content=m.content,
                    tool_call_id=m.tool_call_id,
                    tool_name=m.tool_name,
                    turn_number=turn.turn_number if turn else None,
                    created_at=now,
                )
                for i, m in enumerate(messages)
            ]
            self.messages_by_session.setdefault(key, []).extend(stored)
            changes: dict[str, Any] = {
                "message_count": base + len(stored),
                "last_activity_at": now,
                "updated_at": now,
                "memories_used": current.memories_used | frozenset(memories_used),
            }
            if turn is not None:
                changes["turn_count"] = max(session.turn_count, turn.turn_number)
                self.turn_records.setdefault(key, {})[turn.turn_number] = replace(_copy(turn), created_at=now)
            if accesses and self._memories is not None:
                self._memories.log_accesses(accesses)
            self._store(replace(current, **changes))
            return _copy(stored)

    def get_turn(self, tenant_id: str, session_id: str, turn_number: int) -> TurnRecord | None:
        with self._lock:
            found = self.turn_records.get((tenant_id, session_id), {}).get(turn_number)
            return _copy(found) if found is not None else None

    def save_start(self, session: Session, record: TurnRecord, *, now: float) -> None:
        with self._lock:
            turns = self.turn_records.setdefault((session.tenant_id, session.session_id), {})
            if record.turn_number in turns:
                raise TurnTaken()
            turns[record.turn_number] = replace(_copy(record), created_at=now)

    def turns(self, tenant_id: str, session_id: str, *, limit: int, cursor: str | None) -> Listing[TurnRecord]:
        after = -1
        if cursor:
            after = int(decode_cursor(cursor, {"turn"}, lambda k: isinstance(k.get("turn"), int))["turn"])
        with self._lock:
            found = sorted(
                (t for n, t in self.turn_records.get((tenant_id, session_id), {}).items() if n > after),
                key=lambda t: t.turn_number,
            )
        page, has_more = found[:limit], len(found) > limit
        next_cursor = encode_cursor({"turn": page[-1].turn_number}) if has_more and page else None
        return Listing(_copy(page), next_cursor, has_more)

    def messages(
        self, tenant_id: str, session_id: str, *, limit: int, cursor: str | None, offset: int
    ) -> Listing[Message]:
        after = offset
        if cursor:
            after = int(decode_cursor(cursor, {"seq"}, lambda k: isinstance(k.get("seq"), int))["seq"])
        with self._lock:
            found = [m for m in self.messages_by_session.get((tenant_id, session_id), []) if m.seq > after]
        page, has_more = found[:limit], len(found) > limit
        next_cursor = encode_cursor({"seq": page[-1].seq}) if has_more and page else None
        return Listing(_copy(page), next_cursor, has_more)

    def recent_messages(self, tenant_id: str, session_id: str, count: int) -> list[Message]:
        with self._lock:
            found = self.messages_by_session.get((tenant_id, session_id), [])
            return _copy(found[-count:]) if count > 0 else []

    def all_messages(self, tenant_id: str, session_id: str) -> Iterator[Message]:
        with self._lock:
            found = _copy(self.messages_by_session.get((tenant_id, session_id), []))
        yield from found

    def purge_messages(self, tenant_id: str, session_id: str) -> int:
        with self._lock:
            self.turn_records.pop((tenant_id, session_id), None)
            return len(self.messages_by_session.pop((tenant_id, session_id), []))

    def claim_outcome(self, tenant_id: str, session_id: str, memory_id: str) -> bool:
        """What an outcome credit does to its session (FakeMemoryRepository.apply calls it): False,
        and nothing changes, when the session is gone or already credited this memory."""
        with self._lock:
            current = self.sessions.get((tenant_id, session_id))
            if current is None or memory_id in current.outcome_applied:
                return False
            self._store(replace(current, outcome_applied=current.outcome_applied | {memory_id}))
            return True

    def save_summary(self, tenant_id: str, session_id: str, summary: str, *, now: float) -> None:
        with self._lock:
            current = self.sessions.get((tenant_id, session_id))
            if current is None or current.deleted_at is not None or current.status == "expired":
                raise StaleWrite()
            self._store(replace(current, summary=summary, summary_generated_at=now, updated_at=now))

    def fill_summary(self, tenant_id: str, session_id: str, summary: str) -> bool:
        with self._lock:
            current = self.sessions.get((tenant_id, session_id))
            if current is None or current.summary is not None:
                return False
            self._store(replace(current, summary=summary))
            return True

    def count_memory(self, tenant_id: str, session_id: str, delta: int) -> bool:
        """What a memory write does to its session (FakeMemoryRepository calls it): False, and
        nothing changes, when there is no such session or the count would go below zero."""
        with self._lock:
            current = self.sessions.get((tenant_id, session_id))
            if current is None or current.memory_count + delta < 0:
                return False
            self._store(replace(current, memory_count=current.memory_count + delta))
            return True

    def _active(self, match: Callable[[Session], bool], limit: int) -> list[Session]:
        with self._lock:
            found = [s for s in self.sessions.values() if s.status == "active" and s.deleted_at is None and match(s)]
        return _copy(found[:limit])

    def expired_active(self, now: float, limit: int) -> list[Session]:
        return self._active(lambda s: s.expires_at is not None and s.expires_at <= now, limit)

    def idle_active(self, cutoff: float, limit: int) -> list[Session]:
        return self._active(lambda s: s.last_activity_at is not None and s.last_activity_at < cutoff, limit)


# --- memories and misses -------------------------------------------------------------------------


class FakeMemoryRepository:
    """:class:`engram.ports.memories.MemoryRepository` in memory.

    Memories are frozen values, stored and returned as they are (not copied): a search reads
    hundreds of them, embeddings included, and services never mutate what they read. With
    ``sessions``, a memory counts in its session's ``memory_count`` as in DynamoDB."""

    def __init__(self, sessions: FakeSessionRepository | None = None) -> None:
        self._lock = threading.RLock()
        self.memories: dict[tuple[str, str], Memory] = {}
        self.access_logs: dict[tuple[str, str], Accesses] = {}  # (tenant, log id): not yet settled
        self.sessions = sessions

    def _count(self, memory: Memory, delta: int) -> None:
        if self.sessions is not None and memory.session_id:
            self.sessions.count_memory(memory.tenant_id, memory.session_id, delta)

    def _of(self, tenant_id: str) -> list[Memory]:
        return [m for (t, _), m in self.memories.items() if t == tenant_id]

    def add(self, memory: Memory) -> Memory:
        with self._lock:
            if (memory.tenant_id, memory.memory_id) in self.memories:
                raise StaleWrite()
            self.memories[(memory.tenant_id, memory.memory_id)] = memory
            self._count(memory, +1)
            return memory

    def get(self, tenant_id: str, memory_id: str) -> Memory | None:
        with self._lock:
            return self.memories.get((tenant_id, memory_id))

    def get_many(
        self, tenant_id: str, memory_ids: Iterable[str], *, consistent: bool = False, embeddings: bool = True
    ) -> dict[str, Memory]:
        with self._lock:
            found = {
                mid: self.memories[(tenant_id, mid)]
                for mid in dict.fromkeys(memory_ids)
                if (tenant_id, mid) in self.memories
            }
        return found if embeddings else {mid: replace(m, embedding=None) for mid, m in found.items()}

    def log_accesses(self, logs: Sequence[Accesses]) -> None:
        with self._lock:
            for log in logs:
                self.access_logs[(log.tenant_id, log.log_id)] = log

    def pending_accesses(self) -> list[Accesses]:
        """The logs not settled yet, in the order they were written (as the memories stream delivers)."""
        with self._lock:
            return list(self.access_logs.values())

    def settle_accesses(self, logs: Sequence[Accesses], writes: Sequence[tuple[Memory, MemoryChanges]]) -> set[str]:
        with self._lock:
            gone = {log.log_id for log in logs if (log.tenant_id, log.log_id) not in self.access_logs}
            if gone:
                return gone
            for memory, _ in writes:
                current = self.memories.get((memory.tenant_id, memory.memory_id))
                if current is None or current.version != memory.version:
                    raise StaleWrite()
            for memory, changes in writes:
                self.apply(memory, changes)
            for log in logs:
                del self.access_logs[(log.tenant_id, log.log_id)]
            return set()

    def apply(self, memory: Memory, changes: MemoryChanges, *, outcome_of: str | None = None) -> Memory:
        with self._lock:
            current = self.memories.get((memory.tenant_id, memory.memory_id))
            if current is None or current.version != memory.version:
                raise StaleWrite()
            if outcome_of is not None and not (
                self.sessions is not None
                and self.sessions.claim_outcome(memory.tenant_id, outcome_of, memory.memory_id)
            ):
                raise AlreadyClaimed()
            values: dict[str, Any] = {
                name: getattr(changes, name)
                for name in MemoryChanges.__dataclass_fields__
                if getattr(changes, name) is not None
            }
            if "embedding" in values:
                values["embedding"] = list(values["embedding"])
            if "entities" in values:
                values["entities"] = tuple(values["entities"])
            for name in ("supersedes", "sources"):
                if name in values:
                    values[name] = tuple(copy.deepcopy(list(values[name])))
            for name in ("session_id", "slot"):
                if values.get(name) == "":
                    values[name] = None
            if values.get("superseded_by") == "":
                values["superseded_by"] = values["valid_until"] = None
            updated = replace(current, **values, version=memory.version + 1)
            self.memories[(memory.tenant_id, memory.memory_id)] = updated
            return updated

    def replace_embedding(self, memory: Memory, embedding: Sequence[float], embedder: str) -> Memory:
        with self._lock:
            updated = replace(memory, embedding=list(embedding), embedder=embedder)
            self.memories[(memory.tenant_id, memory.memory_id)] = updated
            return updated

    def delete(self, memory: Memory) -> bool:
        with self._lock:
            if self.memories.pop((memory.tenant_id, memory.memory_id), None) is None:
                return False
            self._count(memory, -1)
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
        f = filters
        scope = self._scope(tenant_id, f)
        after = None
        if cursor:
            after = decode_cursor(cursor, {"memory_id", "scope"}, lambda k: k.get("scope") == scope)["memory_id"]
        with self._lock:
            found = sorted(
                (
                    m
                    for m in self._of(tenant_id)
                    if (m.current or not f.current_only)
                    and all(
                        wanted is None or wanted == have
                        for wanted, have in (
                            (f.session_id, m.session_id),
                            (f.namespace, m.namespace),
                            (f.tier, m.tier),
                            (f.type, m.type),
                            (f.agent_id, m.agent_id),
                        )
                    )
                ),
                key=lambda m: m.memory_id,
                reverse=True,
            )
        total = len(found)
        if after is not None:
            found = [m for m in found if m.memory_id < after]
        page, has_more = take_page(found, limit, offset, accept)
        next_cursor = encode_cursor({"memory_id": page[-1].memory_id, "scope": scope}) if has_more and page else None
        return Listing(page, next_cursor, has_more, total)

    @staticmethod
    def _scope(tenant_id: str, f: MemoryFilters) -> str:
        """What a cursor is valid for: as in DynamoDB, the index the filters pick and its key."""
        if f.session_id:
            return f"session|{tenant_id}|{f.session_id}"
        if f.namespace and f.tier:
            return f"tier|{tenant_id}|{f.namespace}|{f.tier}"
        if f.namespace:
            return f"namespace|{tenant_id}|{f.namespace}"
        return f"tenant|{tenant_id}"

    def for_session(self, tenant_id: str, session_id: str) -> Iterator[Memory]:
        with self._lock:
            found = [m for m in self._of(tenant_id) if m.session_id == session_id]
        yield from found

    def stored_at_tier(self, tenant_id: str, tier: str, namespaces: Sequence[str] | None = None) -> Iterator[Memory]:
        with self._lock:
            found = [m for m in self._of(tenant_id) if m.tier == tier and (not namespaces or m.namespace in namespaces)]
        yield from found

    def same_text(self, tenant_id: str, namespace: str, text: str) -> list[Memory]:
        key = content_key(text)
        with self._lock:
            return [m for m in self._of(tenant_id) if m.namespace == namespace and content_key(m.text) == key]

    def in_slot(self, tenant_id: str, namespace: str, slot: str) -> list[Memory]:
        with self._lock:
            return [m for m in self._of(tenant_id) if m.namespace == namespace and m.slot == slot and m.current]

    def from_session(self, tenant_id: str, session_id: str) -> Iterator[Memory]:
        with self._lock:
            found = [m for m in self._of(tenant_id) if session_id in m.source_sessions()]
        yield from found

    def scan(self, tenant_id: str | None = None) -> Iterator[Memory]:
        with self._lock:
            found = [m for (t, _), m in self.memories.items() if tenant_id is None or t == tenant_id]
        yield from found


class FakeMissRepository:
    """:class:`engram.ports.memories.MissRepository` in memory."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.misses: dict[str, list[Miss]] = {}

    def add(self, miss: Miss) -> None:
        with self._lock:
            kept = [m for m in self.misses.get(miss.tenant_id, []) if m.miss_id != miss.miss_id]
            self.misses[miss.tenant_id] = [*kept, _copy(miss)]

    def _since(self, tenant_id: str, since: float | None) -> list[Miss]:
        floor = id_floor("miss", since) if since is not None else ""
        with self._lock:
            found = [m for m in self.misses.get(tenant_id, []) if m.miss_id >= floor]
        return sorted(found, key=lambda m: m.miss_id, reverse=True)

    def listing(self, tenant_id: str, *, limit: int, since: float | None, cursor: str | None) -> Listing[Miss]:
        found = self._since(tenant_id, since)
        if cursor:
            after = decode_cursor(cursor, {"miss_id"}, lambda k: str(k.get("miss_id", "")).startswith("miss_"))
            found = [m for m in found if m.miss_id < after["miss_id"]]
        page, has_more = found[:limit], len(found) > limit
        next_cursor = encode_cursor({"miss_id": page[-1].miss_id}) if has_more and page else None
        return Listing(_copy(page), next_cursor, has_more)

    def count(self, tenant_id: str, since: float | None) -> int:
        return len(self._since(tenant_id, since))


# --- keys and rate limits ------------------------------------------------------------------------


class FakeLedgerRepository:
    """:class:`engram.ports.ledger.LedgerRepository` in memory."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.entries: dict[tuple[str, str, str], LedgerEntry] = {}

    def append(self, entry: LedgerEntry) -> bool:
        key = (entry.tenant_id, entry.stream, entry.entry_id)
        with self._lock:
            if key in self.entries:
                return False
            self.entries[key] = _copy(entry)
            return True

    def get(self, tenant_id: str, stream: str, entry_id: str) -> LedgerEntry | None:
        with self._lock:
            found = self.entries.get((tenant_id, stream, entry_id))
            return _copy(found) if found is not None else None

    def settle(self, entry: LedgerEntry, status: str, body: dict[str, Any]) -> LedgerEntry:
        key = (entry.tenant_id, entry.stream, entry.entry_id)
        with self._lock:
            current = self.entries.get(key)
            if current is None or current.version != entry.version:
                raise StaleWrite()
            settled = replace(current, status=status, body=copy.deepcopy(body), version=entry.version + 1)
            self.entries[key] = settled
            return _copy(settled)

    def listing(
        self, tenant_id: str, stream: str, *, limit: int, cursor: str | None, status: str | None = None
    ) -> Listing[LedgerEntry]:
        after = None
        if cursor:
            after = decode_cursor(cursor, {"entry_id", "stream"}, lambda k: k.get("stream") == stream)["entry_id"]
        with self._lock:
            found = sorted(
                (
                    e
                    for (t, s, _), e in self.entries.items()
                    if t == tenant_id and s == stream and (status is None or e.status == status)
                ),
                key=lambda e: e.entry_id,
                reverse=True,
            )
        if after is not None:
            found = [e for e in found if e.entry_id < after]
        page = [_copy(e) for e in found[:limit]]
        has_more = len(found) > limit
        next_cursor = encode_cursor({"stream": stream, "entry_id": page[-1].entry_id}) if has_more and page else None
        return Listing(page, next_cursor, has_more)

    def drop(self, tenant_id: str, stream: str) -> int:
        with self._lock:
            keys = [k for k in self.entries if k[0] == tenant_id and k[1] == stream]
            for key in keys:
                del self.entries[key]
            return len(keys)


class FakeApiKeyRepository:
    """:class:`engram.ports.auth.ApiKeyRepository` in memory."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.keys: dict[str, ApiKey] = {}

    def add(self, key: ApiKey) -> bool:
        with self._lock:
            if key.digest in self.keys:
                return False
            self.keys[key.digest] = key
            return True

    def get(self, digest: str, *, consistent: bool = False) -> ApiKey | None:
        with self._lock:
            return self.keys.get(digest)

    def find(self, key_id: str) -> ApiKey | None:
        with self._lock:
            return next((k for k in self.keys.values() if k.key_id == key_id), None)

    def revoke(self, key: ApiKey, at: float) -> ApiKey:
        with self._lock:
            revoked = replace(self.keys[key.digest], revoked_at=at)
            self.keys[key.digest] = revoked
            return revoked

    def for_tenant(self, tenant_id: str) -> list[ApiKey]:
        with self._lock:
            return sorted((k for k in self.keys.values() if k.tenant_id == tenant_id), key=lambda k: k.key_id)


class FakeRateCounter:
    """:class:`engram.ports.auth.RateCounter` in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.hits: dict[str, int] = {}

    def hit(self, counter: str, expires_at: int) -> int:
        with self._lock:
            self.hits[counter] = self.hits.get(counter, 0) + 1
            return self.hits[counter]

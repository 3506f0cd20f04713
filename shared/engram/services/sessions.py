"""SessionService: create, address (by id or key), list, edit, append, end, close, delete, export."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import quote

from engram import clock, errors
from engram.config import Settings
from engram.ids import looks_like_id, new_id
from engram.models.common import Page
from engram.models.intelligence import ContextStats, InjectedContext, TurnEntryOut, TurnMemoryOut
from engram.models.sessions import (
    MESSAGES_PAGE,
    AppendMessages,
    AppendMessagesOut,
    CloseSession,
    CreateSession,
    DeleteSessionOut,
    EndSession,
    EndSessionOut,
    MessageOut,
    SessionDetail,
    SessionOut,
    UpdateSession,
)
from engram.ports.sessions import (
    Ending,
    KeyTaken,
    Message,
    NewMessage,
    Session,
    SessionEdit,
    SessionFilters,
    SessionRepository,
    TurnRecord,
)
from engram.services.lifecycle import effective, ensure_writable
from engram.services.metadata import merge_metadata
from engram.services.optimistic import optimistic

if TYPE_CHECKING:
    from engram.models.memories import DeletionReceiptOut, MemoryOut  # only the memory side builds them
    from engram.ports.memories import Memory

T = TypeVar("T")
MAX_WRITE_ATTEMPTS = 30


class SessionMemories(Protocol):
    """What sessions need from the memory side (the memory service)."""

    def for_session(self, tenant_id: str, session_id: str) -> Sequence[MemoryOut]: ...

    def lookup(self, tenant_id: str, memory_ids: Sequence[str]) -> Mapping[str, Memory]: ...

    def delete_for_session(
        self, tenant_id: str, session_id: str, *, messages_purged: int = 0, log: bool = True
    ) -> DeletionReceiptOut: ...


class SessionService:
    def __init__(
        self,
        repo: SessionRepository,
        settings: Settings,
        memories: Callable[[], SessionMemories] | None = None,
    ) -> None:
        self._repo = repo
        self._settings = settings
        self._memories = memories

    # --- addressing ---------------------------------------------------------------------------

    def load(self, tenant_id: str, ref: str) -> Session:
        """A session by id or by key; deleted sessions and other tenants' sessions are 404."""
        session_id = ref if looks_like_id(ref, "sess") else self._repo.resolve_key(tenant_id, ref)
        session = self._repo.get(tenant_id, session_id) if session_id else None
        if session is None or session.deleted_at is not None:
            raise errors.NotFound(f"Session {ref!r} not found")
        return session

    # --- create -------------------------------------------------------------------------------

    def create(self, tenant_id: str, req: CreateSession) -> SessionOut:
        return self.render(self.create_stored(tenant_id, req))

    def create_stored(self, tenant_id: str, req: CreateSession) -> Session:
        """Create a session; the session as stored (what a caller writing more for it needs)."""
        session = self._new(tenant_id, req)
        try:
            self._repo.create(session)
        except KeyTaken as exc:
            raise errors.Conflict(
                f"Key {req.key!r} is already used by session {exc.session_id}; use get-or-create to reuse it"
            ) from exc
        return session

    def get_or_create(self, tenant_id: str, req: CreateSession) -> SessionDetail:
        """Idempotent by key: one session per key even under concurrent calls (the alias write is
        conditional and transactional); the caller's agent joins ``contributors``."""
        assert req.key is not None
        for _ in range(MAX_WRITE_ATTEMPTS):
            existing_id = self._repo.resolve_key(tenant_id, req.key)
            if existing_id is None:
                session = self._new(tenant_id, req)
                try:
                    self._repo.create(session)
                except KeyTaken:
                    continue  # another caller won the race: read theirs
                return SessionDetail(**self.render(session).model_dump(), created=True)
            found = self._repo.get(tenant_id, existing_id)
            if found is None:
                continue
            self._refuse_expired(found, req.key)
            if req.agent_id and req.agent_id not in found.contributors:
                found = self._repo.add_contributor(found, req.agent_id)
            return SessionDetail(**self.render(found).model_dump(), created=False)
        raise errors.ServiceUnavailable("Could not settle get-or-create under contention; retry")

    def _refuse_expired(self, session: Session, key: str) -> None:
        """An expired session is read-only: handing it back would make every later write a 410.
        Say so now, and how to go on (the key is freed by deleting the session)."""
        state = effective(session, clock.now(), self._timeout)
        if state.status == "expired":
            raise errors.Gone(
                f"Session {session.session_id} for key {key!r} expired at {clock.iso(state.ended_at)} and is read-only;"
                f" read it by id, or DELETE /v1/sessions/{quote(key, safe='')} to free the key for a new session",
                details=[{"field": "key", "in": "body", "message": "the session for this key has expired"}],
            )

    def _new(self, tenant_id: str, req: CreateSession) -> Session:
        now = clock.now()
        ttl = req.ttl_seconds or (self._settings.default_session_ttl_seconds or None)
        expires_at = now + ttl if ttl else None
        return Session(
            tenant_id=tenant_id,
            session_id=new_id("sess"),
            key=req.key,
            agent_id=req.agent_id,
            contributors=(req.agent_id,) if req.agent_id else (),
            namespace=req.namespace,
            project=req.project,
            title=req.title,
            metadata=req.metadata or {},
            context=req.context or {},
            ttl_seconds=ttl,
            expires_at=expires_at,
            started_at=now,
            last_activity_at=now,
            created_at=now,
            updated_at=now,
            purge_at=int(expires_at + self._settings.retention_seconds) if expires_at else None,
        )

    # --- read ---------------------------------------------------------------------------------

    def get(
        self,
        tenant_id: str,
        ref: str,
        *,
        include_messages: bool = True,
        include_memories: bool = False,
        messages_limit: int = MESSAGES_PAGE,
    ) -> SessionDetail:
        """The session with its first page of messages (seed 003: "the session metadata plus all
        messages in order"; paged, so a long session stays one bounded read)."""
        session = self.load(tenant_id, ref)
        detail = SessionDetail(**self.render(session).model_dump())
        if include_messages:
            page = self._repo.messages(tenant_id, session.session_id, limit=messages_limit, cursor=None, offset=0)
            detail.messages = [self._message(m) for m in page.items]
            detail.messages_next_cursor, detail.messages_has_more = page.next_cursor, page.has_more
        if include_memories:
            detail.memories = self._memories_of(tenant_id, session.session_id)
        return detail

    def list_sessions(
        self,
        tenant_id: str,
        *,
        status: str | None = None,
        agent_id: str | None = None,
        project: str | None = None,
        namespace: str | None = None,
        key_prefix: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
        offset: int = 0,
    ) -> Page[SessionOut]:
        found = self._repo.listing(
            tenant_id,
            SessionFilters(status, agent_id, project, namespace, key_prefix),
            now=clock.now(),
            inactivity_timeout=self._settings.inactivity_timeout_seconds,
            limit=limit,
            cursor=cursor,
            offset=offset if not cursor else 0,
        )
        return Page[SessionOut](
            data=[self.render(s) for s in found.items],
            next_cursor=found.next_cursor,
            has_more=found.has_more,
            total_count=found.total,
        )

    def list_messages(
        self, tenant_id: str, ref: str, *, limit: int = 20, cursor: str | None = None, offset: int = 0
    ) -> Page[MessageOut]:
        session = self.load(tenant_id, ref)
        found = self._repo.messages(tenant_id, session.session_id, limit=limit, cursor=cursor, offset=offset)
        return Page[MessageOut](
            data=[self._message(m) for m in found.items],
            next_cursor=found.next_cursor,
            has_more=found.has_more,
            total_count=session.message_count,
        )

    def list_turns(self, tenant_id: str, ref: str, *, limit: int = 20, cursor: str | None = None) -> Page[TurnEntryOut]:
        """The session's start (what it injected) and its turns (what each used, and injected on a
        refresh), in order. Memories are named by id with their title now, read in one batch."""
        session = self.load(tenant_id, ref)
        found = self._repo.turns(tenant_id, session.session_id, limit=limit, cursor=cursor)
        entries = [turn_entry(t) for t in found.items]
        named = [m.id for e in entries for m in (*e.injected, *e.memories_used)]
        current = self._session_memories().lookup(tenant_id, list(dict.fromkeys(named))) if named else {}
        for entry in entries:
            for ref_ in (*entry.injected, *entry.memories_used):
                memory = current.get(ref_.id)
                ref_.title, ref_.exists = (memory.title, True) if memory is not None else (None, False)
        if cursor is None:
            has_start = bool(entries) and entries[0].kind == "start"
        else:
            has_start = self._repo.get_turn(tenant_id, session.session_id, 0) is not None
        return Page[TurnEntryOut](
            data=entries,
            next_cursor=found.next_cursor,
            has_more=found.has_more,
            total_count=session.turn_count + int(has_start),
        )

    def record_start(self, session: Session, context: InjectedContext, stats: ContextStats) -> None:
        """Keep what a start injected (ids, not text) as turn 0 of the session's turn log (``session``
        as :meth:`create_stored` returned it: no read of what the start just wrote)."""
        self._repo.save_start(session, start_record(context, stats), now=clock.now())

    def export(self, tenant_id: str, ref: str) -> dict[str, Any]:
        session = self.load(tenant_id, ref)
        session_id = session.session_id
        return {
            "format": "engram.session.v1",
            "exported_at": clock.iso(clock.now()),
            "session": self.render(session).model_dump(mode="json"),
            "messages": [
                self._message(m).model_dump(mode="json") for m in self._repo.all_messages(tenant_id, session_id)
            ],
            "memories": self._memories_of(tenant_id, session_id) if self._memories else [],
        }

    # --- write --------------------------------------------------------------------------------

    def update(self, tenant_id: str, ref: str, req: UpdateSession) -> SessionOut:
        def edit(session: Session, now: float) -> Session:
            sent = req.model_fields_set
            expires_at = now + req.ttl_seconds if "ttl_seconds" in sent and req.ttl_seconds is not None else None
            changes = SessionEdit(
                title=req.title if "title" in sent else None,
                metadata=merge_metadata(session.metadata, req.metadata)
                if "metadata" in sent and req.metadata is not None
                else None,
                ttl_seconds=req.ttl_seconds if expires_at is not None else None,
                expires_at=expires_at,
                purge_at=int(expires_at + self._settings.retention_seconds) if expires_at is not None else None,
            )
            return self._repo.edit(session, changes, now=now, inactivity_timeout=self._timeout)

        return self.render(self._write(tenant_id, ref, edit))

    def replace_context(self, tenant_id: str, ref: str, context: dict[str, Any]) -> SessionOut:
        def edit(session: Session, now: float) -> Session:
            changes = SessionEdit(context=context, touch=True)
            return self._repo.edit(session, changes, now=now, inactivity_timeout=self._timeout)

        return self.render(self._write(tenant_id, ref, edit))

    def append_messages(self, tenant_id: str, ref: str, req: AppendMessages) -> AppendMessagesOut:
        new = [NewMessage(m.role, m.content, m.tool_call_id, m.tool_name) for m in req.messages]

        def append(session: Session, now: float) -> tuple[Session, list[Message]]:
            stored = self._repo.append(session, new, now=now, inactivity_timeout=self._timeout)
            return session, stored

        session, stored = self._write(tenant_id, ref, append)
        return AppendMessagesOut(
            session_id=session.session_id,
            messages=[self._message(m) for m in stored],
            message_count=session.message_count + len(new),
        )

    def end(self, tenant_id: str, ref: str, req: EndSession) -> EndSessionOut:
        extract = req.extract_memories if req.extract_memories is not None else self._settings.extract_on_end
        reported = list(dict.fromkeys(req.memories_used))
        known = self._session_memories().lookup(tenant_id, reported) if reported else {}

        def finish(session: Session, now: float) -> Session:
            ending = self._ending(session, now, "ended", req.summary, req.metadata)
            ending = replace(ending, outcome=req.outcome, extract_memories=extract, memories_used=frozenset(known))
            return self._repo.finish(session, ending, now=now, inactivity_timeout=self._timeout)

        out = self.render(self._write(tenant_id, ref, finish))
        return EndSessionOut(
            **out.model_dump(),
            session_id=out.id,
            ended=True,
            duration=out.duration_seconds,
            unknown_memories=[m for m in reported if m not in known],
        )

    def close(self, tenant_id: str, ref: str, req: CloseSession) -> SessionOut:
        def finish(session: Session, now: float) -> Session:
            ending = self._ending(session, now, "closed", req.summary, req.metadata)
            return self._repo.finish(session, ending, now=now, inactivity_timeout=self._timeout)

        return self.render(self._write(tenant_id, ref, finish))

    @staticmethod
    def _ending(
        session: Session, now: float, status: str, summary: str | None, metadata: dict[str, Any] | None
    ) -> Ending:
        merged = merge_metadata(session.metadata, metadata) if metadata else None
        return Ending(status=status, ended_at=now, summary=summary, metadata=merged)

    def delete(
        self, tenant_id: str, ref: str, *, cascade_memories: bool = False, purge: bool = False
    ) -> DeleteSessionOut:
        session = self.load(tenant_id, ref)
        now = clock.now()
        purge_at = int(now + self._settings.retention_seconds)
        if not self._repo.delete(session, now=now, cascade_memories=cascade_memories, purge_at=purge_at):
            raise errors.NotFound(f"Session {ref!r} not found")
        purged = self._repo.purge_messages(tenant_id, session.session_id) if purge else 0
        receipt = None
        if cascade_memories and self._memories is not None:
            receipt = self._session_memories().delete_for_session(tenant_id, session.session_id, messages_purged=purged)
        return DeleteSessionOut(
            id=session.session_id,
            deleted=True,
            deleted_at=clock.iso(now),
            cascade_memories=cascade_memories,
            purged_messages=purged,
            receipt=receipt,
        )

    # --- helpers ------------------------------------------------------------------------------

    @property
    def _timeout(self) -> int:
        return self._settings.inactivity_timeout_seconds

    def _write(self, tenant_id: str, ref: str, write: Callable[[Session, float], T]) -> T:
        """Load, check the session still takes writes, write under a guard; on a lost race, again."""

        def attempt(_: int) -> T:
            session = self.load(tenant_id, ref)
            now = clock.now()
            ensure_writable(session, now, self._timeout)
            return write(session, now)

        return optimistic(
            attempt, attempts=MAX_WRITE_ATTEMPTS, busy="The session is busy with concurrent writes; retry"
        )

    def _session_memories(self) -> SessionMemories:
        if self._memories is None:
            raise errors.ServiceUnavailable("memories are not available in this function")
        return self._memories()

    def _memories_of(self, tenant_id: str, session_id: str) -> list[dict[str, Any]]:
        return [m.model_dump(mode="json") for m in self._session_memories().for_session(tenant_id, session_id)]

    def render(self, session: Session) -> SessionOut:
        now = clock.now()
        state = effective(session, now, self._timeout)
        started = session.started_at or session.created_at or now
        end = state.ended_at if state.ended_at is not None else now
        return SessionOut(
            id=session.session_id,
            key=session.key,
            external_id=session.key,
            agent_id=session.agent_id,
            contributors=list(session.contributors),
            namespace=session.namespace,
            project=session.project,
            title=session.title,
            name=session.title,
            status=state.status,  # type: ignore[arg-type]
            outcome=state.outcome,  # type: ignore[arg-type]
            summary=session.summary,
            metadata=session.metadata,
            context=session.context,
            ttl_seconds=session.ttl_seconds,
            expires_at=clock.iso(session.expires_at),
            message_count=session.message_count,
            turn_count=session.turn_count,
            memory_count=session.memory_count,
            memories_used=len(session.memories_used),
            started_at=clock.iso(started),
            last_activity_at=clock.iso(session.last_activity_at),
            ended_at=clock.iso(state.ended_at),
            created_at=clock.iso(session.created_at),
            updated_at=clock.iso(session.updated_at),
            age_seconds=round(max(0.0, now - (session.created_at or now)), 1),
            duration_seconds=round(max(0.0, end - started), 1),
        )

    @staticmethod
    def _message(message: Message) -> MessageOut:
        return MessageOut(
            seq=message.seq,
            role=message.role,  # type: ignore[arg-type]
            content=message.content,
            tool_call_id=message.tool_call_id,
            tool_name=message.tool_name,
            turn_number=message.turn_number,
            created_at=clock.iso(message.created_at),
        )


def start_record(context: InjectedContext, stats: ContextStats) -> TurnRecord:
    """What a start injected, as turn 0 of the session's turn log: ids, groups and scores (never text)."""
    injected = [
        {"id": m.id, "group": group, "score": m.score}
        for group, memories in (("critical", context.critical), ("high", context.high))
        for m in memories
    ]
    return TurnRecord(0, "", {"kind": "start", "injected": injected, "stats": stats.model_dump(mode="json")})


def turn_entry(record: TurnRecord) -> TurnEntryOut:
    """A stored start or turn record as the API shows it."""
    body = record.response
    if record.turn_number == 0:
        injected = [
            TurnMemoryOut(id=m["id"], group=m.get("group"), score=m.get("score")) for m in body.get("injected", [])
        ]
        used: list[TurnMemoryOut] = []
    else:  # a turn record holds the turn's first answer (TurnOut)
        context = body.get("new_context") or {}
        injected = [
            TurnMemoryOut(id=m["id"], group=group, score=m.get("score"))  # type: ignore[arg-type]
            for group in ("critical", "high")
            for m in context.get(group, [])
        ]
        used = [TurnMemoryOut(id=m) for m in body.get("memories_used", [])]
    stats = body.get("stats")
    return TurnEntryOut(
        turn_number=record.turn_number,
        kind="start" if record.turn_number == 0 else "turn",
        created_at=clock.iso(record.created_at),
        refresh_needed=bool(body.get("refresh_needed", False)),
        injected=injected,
        memories_used=used,
        unknown_memories=list(body.get("unknown_memories", [])),
        stats=ContextStats.model_validate(stats) if stats else None,
    )

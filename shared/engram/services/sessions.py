"""SessionService: create, address (by id or key), list, edit, append, end, close, delete, export."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from pynamodb.expressions.update import Action

from engram import clock, errors
from engram.config import Settings
from engram.ids import looks_like_id, new_id
from engram.models.common import MAX_METADATA_BYTES, Page
from engram.models.sessions import (
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
from engram.services.lifecycle import effective, ensure_writable, status_condition, writable
from engram.store.base import ConditionFailed, decode_cursor, encode_cursor
from engram.store.models import MessageItem, SessionItem, plain
from engram.store.sessions import (
    KeyTaken,
    ListFilters,
    NewMessage,
    SessionRepository,
    active_bucket,
    session_pk,
)

T = TypeVar("T")
MAX_WRITE_ATTEMPTS = 30


class SessionMemories(Protocol):
    """What sessions need from the memory side (implemented by the memory service)."""

    def for_session(self, tenant_id: str, session_id: str) -> list[dict[str, Any]]: ...

    def delete_for_session(self, tenant_id: str, session_id: str) -> int: ...


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

    def load(self, tenant_id: str, ref: str) -> SessionItem:
        """A session by id or by key; deleted sessions and other tenants' sessions are 404."""
        session_id = ref if looks_like_id(ref, "sess") else self._repo.resolve_key(tenant_id, ref)
        item = self._repo.get(tenant_id, session_id) if session_id else None
        if item is None or item.deleted_at is not None:
            raise errors.NotFound(f"Session {ref!r} not found")
        return item

    # --- create -------------------------------------------------------------------------------

    def create(self, tenant_id: str, req: CreateSession) -> SessionOut:
        item = self._new_item(tenant_id, req)
        try:
            self._repo.create(item)
        except KeyTaken as exc:
            raise errors.Conflict(
                f"Key {req.key!r} is already used by session {exc.session_id}; use get-or-create to reuse it"
            ) from exc
        return self.render(item)

    def get_or_create(self, tenant_id: str, req: CreateSession) -> SessionDetail:
        """Idempotent by key: one session per key even under concurrent calls (the alias write is
        conditional and transactional); the caller's agent joins ``contributors``."""
        assert req.key is not None
        for _ in range(MAX_WRITE_ATTEMPTS):
            existing_id = self._repo.resolve_key(tenant_id, req.key)
            if existing_id is None:
                item = self._new_item(tenant_id, req)
                try:
                    self._repo.create(item)
                except KeyTaken:
                    continue  # another caller won the race: read theirs
                return SessionDetail(**self.render(item).model_dump(), created=True)
            found = self._repo.get(tenant_id, existing_id)
            if found is None:
                continue
            self._refuse_expired(found, req.key)
            if req.agent_id and req.agent_id not in (found.contributors or []):
                found = self._add_contributor(tenant_id, found, req.agent_id)
            return SessionDetail(**self.render(found).model_dump(), created=False)
        raise errors.ServiceUnavailable("Could not settle get-or-create under contention; retry")

    def _refuse_expired(self, item: SessionItem, key: str) -> None:
        """An expired session is read-only: handing it back would make every later write a 410.
        Say so now, and how to go on (the key is freed by deleting the session)."""
        state = effective(item, clock.now(), self._settings.inactivity_timeout_seconds)
        if state.status == "expired":
            raise errors.Gone(
                f"Session {item.session_id} for key {key!r} expired at {clock.iso(state.ended_at)} and is read-only;"
                f" read it by id, or DELETE /v1/sessions/{quote(key, safe='')} to free the key for a new session",
                details=[{"field": "key", "in": "body", "message": "the session for this key has expired"}],
            )

    def _add_contributor(self, tenant_id: str, item: SessionItem, agent_id: str) -> SessionItem:
        condition = SessionItem.deleted_at.does_not_exist() & ~SessionItem.contributors.contains(agent_id)
        try:
            return self._repo.update(
                tenant_id,
                str(item.session_id),
                [SessionItem.contributors.set(SessionItem.contributors.append([agent_id]))],
                condition,
            )
        except ConditionFailed:
            fresh = self._repo.get(tenant_id, str(item.session_id))
            return fresh or item

    def _new_item(self, tenant_id: str, req: CreateSession) -> SessionItem:
        now = clock.now()
        session_id = new_id("sess")
        ttl = req.ttl_seconds or (self._settings.default_session_ttl_seconds or None)
        expires_at = now + ttl if ttl else None
        return SessionItem(
            pk=session_pk(tenant_id, session_id),
            kind="session",
            tenant_id=tenant_id,
            session_id=session_id,
            key=req.key,
            agent_id=req.agent_id,
            contributors=[req.agent_id] if req.agent_id else [],
            namespace=req.namespace,
            project=req.project,
            title=req.title,
            status="active",
            metadata=req.metadata or {},
            context=req.context or {},
            ttl_seconds=ttl,
            expires_at=expires_at,
            message_count=0,
            turn_count=0,
            memory_count=0,
            started_at=now,
            last_activity_at=now,
            created_at=now,
            updated_at=now,
            purge_at=int(expires_at + self._settings.retention_seconds) if expires_at else None,
            active_bucket=active_bucket(session_id),
            version=0,
        )

    # --- read ---------------------------------------------------------------------------------

    def get(
        self, tenant_id: str, ref: str, *, include_messages: bool = False, include_memories: bool = False
    ) -> SessionDetail:
        item = self.load(tenant_id, ref)
        detail = SessionDetail(**self.render(item).model_dump())
        if include_messages:
            detail.messages = [self._message(m) for m in self._repo.all_messages(tenant_id, str(item.session_id))]
        if include_memories:
            detail.memories = self._session_memories().for_session(tenant_id, str(item.session_id))
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
        now = clock.now()
        timeout = self._settings.inactivity_timeout_seconds
        condition = status_condition(status, now, timeout) if status else None
        filters = ListFilters(status, agent_id, project, namespace, key_prefix)
        items, next_cursor, has_more, total = self._repo.list_page(
            tenant_id, filters, condition, limit=limit, cursor=cursor, offset=offset if not cursor else 0
        )
        return Page[SessionOut](
            data=[self.render(i) for i in items], next_cursor=next_cursor, has_more=has_more, total_count=total
        )

    def list_messages(
        self, tenant_id: str, ref: str, *, limit: int = 20, cursor: str | None = None, offset: int = 0
    ) -> Page[MessageOut]:
        item = self.load(tenant_id, ref)
        after = offset
        if cursor:
            after = int(decode_cursor(cursor, {"seq"}, lambda k: isinstance(k.get("seq"), int))["seq"])
        messages, has_more = self._repo.list_messages(tenant_id, str(item.session_id), limit=limit, after_seq=after)
        next_cursor = encode_cursor({"seq": int(messages[-1].seq)}) if has_more and messages else None
        return Page[MessageOut](
            data=[self._message(m) for m in messages],
            next_cursor=next_cursor,
            has_more=has_more,
            total_count=int(item.message_count or 0),
        )

    def export(self, tenant_id: str, ref: str) -> dict[str, Any]:
        item = self.load(tenant_id, ref)
        session_id = str(item.session_id)
        return {
            "format": "engram.session.v1",
            "exported_at": clock.iso(clock.now()),
            "session": self.render(item).model_dump(mode="json"),
            "messages": [
                self._message(m).model_dump(mode="json") for m in self._repo.all_messages(tenant_id, session_id)
            ],
            "memories": self._session_memories().for_session(tenant_id, session_id) if self._memories else [],
        }

    # --- write --------------------------------------------------------------------------------

    def update(self, tenant_id: str, ref: str, req: UpdateSession) -> SessionOut:
        def attempt(item: SessionItem, now: float) -> SessionItem:
            actions: list[Action] = [
                SessionItem.updated_at.set(now),
                SessionItem.version.set(int(item.version or 0) + 1),
            ]
            if "title" in req.model_fields_set and req.title is not None:
                actions.append(SessionItem.title.set(req.title))
            if "metadata" in req.model_fields_set and req.metadata is not None:
                merged = {**(item.metadata or {}), **req.metadata}
                for k in [k for k, v in req.metadata.items() if v is None]:
                    merged.pop(k, None)  # a null value removes the key (JSON merge patch)
                _check_metadata(merged)
                actions.append(SessionItem.metadata.set(merged))
            if "ttl_seconds" in req.model_fields_set and req.ttl_seconds is not None:
                expires_at = now + req.ttl_seconds
                actions += [
                    SessionItem.ttl_seconds.set(req.ttl_seconds),
                    SessionItem.expires_at.set(expires_at),
                    SessionItem.purge_at.set(int(expires_at + self._settings.retention_seconds)),
                ]
            return self._repo.update(tenant_id, str(item.session_id), actions, self._guard(item, now))

        return self.render(self._write(tenant_id, ref, attempt))

    def replace_context(self, tenant_id: str, ref: str, context: dict[str, Any]) -> SessionOut:
        def attempt(item: SessionItem, now: float) -> SessionItem:
            actions = [
                SessionItem.context.set(context),
                SessionItem.updated_at.set(now),
                SessionItem.last_activity_at.set(now),
                SessionItem.version.set(int(item.version or 0) + 1),
            ]
            return self._repo.update(tenant_id, str(item.session_id), actions, self._guard(item, now))

        return self.render(self._write(tenant_id, ref, attempt))

    def append_messages(self, tenant_id: str, ref: str, req: AppendMessages) -> AppendMessagesOut:
        new = [NewMessage(m.role, m.content, m.tool_call_id, m.tool_name) for m in req.messages]
        holder: dict[str, list[MessageItem]] = {}

        def attempt(item: SessionItem, now: float) -> SessionItem:
            timeout = self._settings.inactivity_timeout_seconds
            holder["items"] = self._repo.append(item, new, now=now, writable=writable(now, timeout))
            item.message_count = int(item.message_count or 0) + len(new)
            return item

        item = self._write(tenant_id, ref, attempt)
        return AppendMessagesOut(
            session_id=str(item.session_id),
            messages=[self._message(m) for m in holder["items"]],
            message_count=int(item.message_count or 0),
        )

    def end(self, tenant_id: str, ref: str, req: EndSession) -> EndSessionOut:
        def attempt(item: SessionItem, now: float) -> SessionItem:
            actions = self._finish_actions(item, now, "ended", req.summary, req.metadata)
            actions.append(SessionItem.outcome.set(req.outcome))
            extract = req.extract_memories if req.extract_memories is not None else self._settings.extract_on_end
            actions.append(SessionItem.extract_memories.set(extract))
            return self._repo.update(tenant_id, str(item.session_id), actions, self._guard(item, now))

        item = self._write(tenant_id, ref, attempt)
        out = self.render(item)
        return EndSessionOut(**out.model_dump(), session_id=out.id, ended=True, duration=out.duration_seconds)

    def close(self, tenant_id: str, ref: str, req: CloseSession) -> SessionOut:
        def attempt(item: SessionItem, now: float) -> SessionItem:
            actions = self._finish_actions(item, now, "closed", req.summary, req.metadata)
            return self._repo.update(tenant_id, str(item.session_id), actions, self._guard(item, now))

        return self.render(self._write(tenant_id, ref, attempt))

    def _finish_actions(
        self, item: SessionItem, now: float, status: str, summary: str | None, metadata: dict[str, Any] | None
    ) -> list[Action]:
        actions: list[Action] = [
            SessionItem.status.set(status),
            SessionItem.ended_at.set(now),
            SessionItem.updated_at.set(now),
            SessionItem.active_bucket.remove(),
            SessionItem.version.set(int(item.version or 0) + 1),
        ]
        if summary is not None:
            actions.append(SessionItem.summary.set(summary))
        if metadata:
            merged = {**(item.metadata or {}), **metadata}
            _check_metadata(merged)
            actions.append(SessionItem.metadata.set(merged))
        return actions

    def delete(
        self, tenant_id: str, ref: str, *, cascade_memories: bool = False, purge: bool = False
    ) -> DeleteSessionOut:
        item = self.load(tenant_id, ref)
        now = clock.now()
        session_id = str(item.session_id)
        try:
            self._repo.update(
                tenant_id,
                session_id,
                [
                    SessionItem.deleted_at.set(now),
                    SessionItem.updated_at.set(now),
                    SessionItem.cascade_memories.set(cascade_memories),
                    SessionItem.purge_at.set(int(now + self._settings.retention_seconds)),
                    SessionItem.active_bucket.remove(),
                ],
                SessionItem.deleted_at.does_not_exist(),
            )
        except ConditionFailed as exc:
            raise errors.NotFound(f"Session {ref!r} not found") from exc
        if item.key:
            self._repo.delete_alias(tenant_id, item.key)  # the key can name a new session now
        purged = self._repo.purge_messages(tenant_id, session_id) if purge else 0
        if cascade_memories and self._memories is not None:
            self._session_memories().delete_for_session(tenant_id, session_id)
        return DeleteSessionOut(
            id=session_id,
            deleted=True,
            deleted_at=clock.iso(now),
            cascade_memories=cascade_memories,
            purged_messages=purged,
        )

    # --- helpers ------------------------------------------------------------------------------

    def _guard(self, item: SessionItem, now: float) -> Any:
        return writable(now, self._settings.inactivity_timeout_seconds) & (
            SessionItem.version == int(item.version or 0)
        )

    def _write(self, tenant_id: str, ref: str, attempt: Callable[[SessionItem, float], T]) -> T:
        """Optimistic write loop: load, check writable, try; on a lost race re-read and retry."""
        timeout = self._settings.inactivity_timeout_seconds
        for n in range(MAX_WRITE_ATTEMPTS):
            item = self.load(tenant_id, ref)
            now = clock.now()
            ensure_writable(item, now, timeout)
            try:
                return attempt(item, now)
            except ConditionFailed:
                time.sleep(random.uniform(0, 0.005 * (n + 1)))
        raise errors.ServiceUnavailable("The session is busy with concurrent writes; retry")

    def _session_memories(self) -> SessionMemories:
        if self._memories is None:
            raise errors.ServiceUnavailable("memories are not available in this function")
        return self._memories()

    def render(self, item: SessionItem) -> SessionOut:
        now = clock.now()
        state = effective(item, now, self._settings.inactivity_timeout_seconds)
        started = item.started_at or item.created_at or now
        end = state.ended_at if state.ended_at is not None else now
        used = plain(item.memories_used) or []
        return SessionOut(
            id=str(item.session_id),
            key=item.key,
            external_id=item.key,
            agent_id=item.agent_id,
            contributors=[str(c) for c in (item.contributors or [])],
            namespace=item.namespace,
            project=item.project,
            title=item.title,
            name=item.title,
            status=state.status,  # type: ignore[arg-type]
            outcome=state.outcome,  # type: ignore[arg-type]
            summary=item.summary,
            metadata=item.metadata or {},
            context=item.context or {},
            ttl_seconds=int(item.ttl_seconds) if item.ttl_seconds else None,
            expires_at=clock.iso(item.expires_at),
            message_count=int(item.message_count or 0),
            turn_count=int(item.turn_count or 0),
            memory_count=int(item.memory_count or 0),
            memories_used=len(used),
            started_at=clock.iso(started),
            last_activity_at=clock.iso(item.last_activity_at),
            ended_at=clock.iso(state.ended_at),
            created_at=clock.iso(item.created_at),
            updated_at=clock.iso(item.updated_at),
            age_seconds=round(max(0.0, now - (item.created_at or now)), 1),
            duration_seconds=round(max(0.0, end - started), 1),
        )

    @staticmethod
    def _message(item: MessageItem) -> MessageOut:
        return MessageOut(
            seq=int(item.seq),
            role=item.role,  # type: ignore[arg-type]
            content=item.content or "",
            tool_call_id=item.tool_call_id,
            tool_name=item.tool_name,
            turn_number=int(item.turn_number) if item.turn_number is not None else None,
            created_at=clock.iso(item.created_at),
        )


def _check_metadata(merged: dict[str, Any]) -> None:
    size = len(json.dumps(merged, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_METADATA_BYTES:
        raise errors.PayloadTooLarge(f"merged metadata would be {size} bytes; the limit is {MAX_METADATA_BYTES}")

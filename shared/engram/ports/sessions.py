"""Sessions, their messages and turn records: the domain types and the SessionRepository port."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from engram.ports import Listing


@dataclass(frozen=True)
class Session:
    """A session as stored. ``status`` is the stored one; what readers see (idle sessions read as
    abandoned, sessions past ``expires_at`` as expired) is :func:`engram.services.lifecycle.effective`.
    ``version`` goes up by one on every edit and guards it."""

    tenant_id: str
    session_id: str
    status: str = "active"
    key: str | None = None
    agent_id: str | None = None
    contributors: tuple[str, ...] = ()
    namespace: str | None = None
    project: str | None = None
    title: str | None = None
    outcome: str | None = None
    summary: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    extract_memories: bool | None = None
    ttl_seconds: int | None = None
    expires_at: float | None = None
    message_count: int = 0
    turn_count: int = 0
    memory_count: int = 0
    memories_used: frozenset[str] = frozenset()
    outcome_applied: frozenset[str] = frozenset()  # memories already credited with the outcome
    started_at: float | None = None
    last_activity_at: float | None = None
    ended_at: float | None = None
    created_at: float | None = None
    updated_at: float | None = None
    deleted_at: float | None = None
    cascade_memories: bool | None = None
    summary_generated_at: float | None = None
    purge_at: int | None = None
    version: int = 0


@dataclass(frozen=True)
class NewMessage:
    role: str
    content: str
    tool_call_id: str | None = None
    tool_name: str | None = None


@dataclass(frozen=True)
class Message:
    """A stored message: ``seq`` numbers a session's messages 1..n in order."""

    seq: int
    role: str
    content: str
    tool_call_id: str | None = None
    tool_name: str | None = None
    turn_number: int | None = None
    created_at: float | None = None


@dataclass(frozen=True)
class TurnRecord:
    """The first answer to a turn, kept so that re-sending the same turn replays it."""

    turn_number: int
    request_hash: str
    response: dict[str, Any]


@dataclass(frozen=True)
class SessionFilters:
    status: str | None = None  # the *effective* status (or "completed": ended or closed)
    agent_id: str | None = None
    project: str | None = None
    namespace: str | None = None
    key_prefix: str | None = None


@dataclass(frozen=True)
class SessionEdit:
    """What an edit of a writable session changes (``None``: unchanged)."""

    title: str | None = None
    metadata: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    ttl_seconds: int | None = None
    expires_at: float | None = None
    purge_at: int | None = None
    touch: bool = False  # the edit counts as activity (last_activity_at = now)


@dataclass(frozen=True)
class Ending:
    """How a session leaves ``active``: ended (with an outcome), closed or expired."""

    status: str
    ended_at: float
    outcome: str | None = None
    summary: str | None = None
    metadata: dict[str, Any] | None = None
    extract_memories: bool | None = None


class KeyTaken(Exception):
    """A session key names another session already (``session_id``, when it could be read)."""

    def __init__(self, session_id: str | None) -> None:
        super().__init__("key already in use")
        self.session_id = session_id


class SessionRepository(Protocol):
    """Sessions, key aliases, messages and turn records.

    "Writable" below means: stored status active, not deleted, active within the inactivity
    timeout and not past ``expires_at``, all at ``now``. Methods documented as guarded raise
    :class:`engram.ports.StaleWrite` when the guard fails, and write nothing."""

    def create(self, session: Session) -> None:
        """Store a new session and its key alias atomically; :class:`KeyTaken` if the key is in use."""
        ...

    def get(self, tenant_id: str, session_id: str) -> Session | None:
        """A session of this tenant (deleted ones too), read consistently."""
        ...

    def resolve_key(self, tenant_id: str, key: str) -> str | None:
        """The id of the session a key names."""
        ...

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
        """Sessions that are not deleted, newest first, with the total count of matches."""
        ...

    def add_contributor(self, session: Session, agent_id: str) -> Session:
        """Add an agent to ``contributors`` unless it is there or the session is deleted; returns
        the session as stored afterwards."""
        ...

    def edit(self, session: Session, edit: SessionEdit, *, now: float, inactivity_timeout: float) -> Session:
        """Guarded (writable and still at ``session.version``): apply the edit, bump the version."""
        ...

    def finish(self, session: Session, ending: Ending, *, now: float, inactivity_timeout: float) -> Session:
        """Guarded like :meth:`edit`: the session leaves ``active`` as ``ending`` says."""
        ...

    def finish_idle(self, session: Session, ending: Ending, *, now: float) -> bool:
        """The sweeper's finish: only if the session is still active and untouched since it was
        read (same version and last activity). False when it moved."""
        ...

    def delete(self, session: Session, *, now: float, cascade_memories: bool, purge_at: int) -> bool:
        """Soft-delete and free its key for a new session. False if it was already deleted."""
        ...

    def append(
        self,
        session: Session,
        messages: Sequence[NewMessage],
        *,
        now: float,
        inactivity_timeout: float,
        memories_used: Collection[str] = (),
        turn: TurnRecord | None = None,
    ) -> list[Message]:
        """Guarded (writable and still at ``session.message_count``): append the messages
        numbered after that count, with the turn record and memories used, atomically."""
        ...

    def get_turn(self, tenant_id: str, session_id: str, turn_number: int) -> TurnRecord | None: ...

    def messages(
        self, tenant_id: str, session_id: str, *, limit: int, cursor: str | None, offset: int
    ) -> Listing[Message]:
        """Messages in order, after ``cursor`` (or skipping the first ``offset``); no total."""
        ...

    def recent_messages(self, tenant_id: str, session_id: str, count: int) -> list[Message]:
        """The last ``count`` messages, oldest first."""
        ...

    def all_messages(self, tenant_id: str, session_id: str) -> Iterator[Message]: ...

    def purge_messages(self, tenant_id: str, session_id: str) -> int:
        """Delete every message and turn record; returns how many messages were removed."""
        ...

    def claim_outcome(self, tenant_id: str, session_id: str, memory_id: str) -> bool:
        """Mark a memory as credited with the session's outcome; False if it already was."""
        ...

    def release_outcome(self, tenant_id: str, session_id: str, memory_id: str) -> None:
        """Undo :meth:`claim_outcome` (the credit could not be applied)."""
        ...

    def save_summary(self, tenant_id: str, session_id: str, summary: str, *, now: float) -> None:
        """Guarded (not deleted, stored status not expired): store a generated summary."""
        ...

    def fill_summary(self, tenant_id: str, session_id: str, summary: str) -> bool:
        """Store a summary only if the session has none; False if it had one."""
        ...

    def expired_active(self, now: float, limit: int) -> list[Session]:
        """Sessions stored as active whose ``expires_at`` has passed (``limit`` per shard)."""
        ...

    def idle_active(self, cutoff: float, limit: int) -> list[Session]:
        """Sessions stored as active with no activity since ``cutoff`` (``limit`` per shard)."""
        ...

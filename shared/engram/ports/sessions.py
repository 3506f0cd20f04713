"""Sessions, their messages and turn records: the domain types and the SessionRepository port."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from engram import errors
from engram.ports import Listing
from engram.ports.memories import Accesses

STATUS_FILTERS = ("active", "expired", "ended", "closed", "completed")


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

    @property
    def agents(self) -> tuple[str, ...]:
        """The agents that created or joined it: what ``agent_id`` filters a listing by."""
        return tuple(dict.fromkeys([*([self.agent_id] if self.agent_id else []), *self.contributors]))


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
    """The first answer to a turn, kept so that re-sending the same turn replays it. Turn number 0
    is the session's start: its ``response`` names the memories injected (ids, never their text)."""

    turn_number: int
    request_hash: str
    response: dict[str, Any]
    created_at: float | None = field(default=None, compare=False)  # when it was written


@dataclass(frozen=True)
class SessionFilters:
    status: str | None = None  # the *effective* status (or "completed": ended or closed)
    agent_id: str | None = None  # an agent that created or joined the session (Session.agents)
    project: str | None = None
    namespace: str | None = None
    key_prefix: str | None = None

    def admits(self, session: Session, *, now: float, inactivity_timeout: float) -> bool:
        """Whether a stored session passes these filters, ``agent_id`` aside: repositories answer
        that one from their agent index (the sessions an agent created or joined)."""
        s = session
        return (
            (not self.status or has_status(s, self.status, now, inactivity_timeout))
            and (not self.project or s.project == self.project)
            and (not self.namespace or s.namespace == self.namespace)
            and (not self.key_prefix or (s.key or "").startswith(self.key_prefix))
        )


def has_status(s: Session, status: str, now: float, inactivity_timeout: float) -> bool:
    """The effective-status filter (:func:`engram.services.lifecycle.effective`) on a stored session,
    as the DynamoDB repository's filter condition evaluates it."""
    cutoff = now - inactivity_timeout
    stored_active = s.status == "active"
    not_expired = s.expires_at is None or s.expires_at > now
    last = s.last_activity_at
    idle_ended = stored_active and last is not None and last < cutoff and not_expired
    if status == "active":
        return stored_active and last is not None and last >= cutoff and not_expired
    if status == "expired":
        return s.status == "expired" or (stored_active and s.expires_at is not None and s.expires_at <= now)
    if status == "ended":
        return s.status == "ended" or idle_ended
    if status == "closed":
        return s.status == "closed"
    if status == "completed":
        return s.status in ("ended", "closed") or idle_ended
    raise errors.ValidationFailed(f"unknown status filter {status!r}")


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
    memories_used: frozenset[str] = frozenset()  # added to the session's memories used


class KeyTaken(Exception):
    """A session key names another session already (``session_id``, when it could be read)."""

    def __init__(self, session_id: str | None) -> None:
        super().__init__("key already in use")
        self.session_id = session_id


class TurnTaken(Exception):
    """A turn record with this number exists already: nothing was written (read it with
    :meth:`SessionRepository.get_turn` to replay or refuse)."""


class SessionRepository(Protocol):
    """Sessions, key aliases, messages and turn records.

    "Writable" below means: stored status active, not deleted, active within the inactivity
    timeout and not past ``expires_at``, all at ``now``. Methods documented as guarded raise
    :class:`engram.ports.StaleWrite` when the guard fails, and write nothing."""

    def create(self, session: Session) -> None:
        """Store a new session, its key alias and its agents' index entries atomically;
        :class:`KeyTaken` if the key is in use."""
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
        """Sessions that are not deleted, newest first, with the total count of matches. With
        ``filters.agent_id``: the sessions that agent created or joined (its index entries), each
        read once, so the cost follows the agent's sessions, not the tenant's. A cursor is valid
        for the listing (tenant, agent or not) that minted it."""
        ...

    def add_contributor(self, session: Session, agent_id: str) -> Session:
        """Add an agent to ``contributors`` (and its index entry) unless it is there or the session
        is deleted; returns the session as stored afterwards."""
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
        """Soft-delete, free its key for a new session and drop its agents' index entries. False if
        it was already deleted."""
        ...

    def forget_contributors(self, tenant_id: str, session_id: str, agents: Sequence[str]) -> None:
        """Drop the agents' index entries of a session whose item is gone (DynamoDB TTL purged it)."""
        ...

    def reindex_agents(self, tenant_id: str | None = None) -> int:
        """Write the agent index entries of every session that is not deleted (of one tenant, or
        all), e.g. of sessions stored before the index existed; returns how many were written."""
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
        accesses: Sequence[Accesses] = (),
    ) -> list[Message]:
        """Guarded (writable and still at ``session.message_count``): append the messages
        numbered after that count, with the turn record, the memories used and the access logs
        of the turn (:class:`engram.ports.memories.Accesses`), atomically. :class:`TurnTaken` if
        the turn record exists (checked with the write: a new turn needs no read of it)."""
        ...

    def get_turn(self, tenant_id: str, session_id: str, turn_number: int) -> TurnRecord | None: ...

    def save_start(self, session: Session, record: TurnRecord, *, now: float) -> None:
        """Keep the start record (turn number 0: what start injected) beside the turn records."""
        ...

    def turns(self, tenant_id: str, session_id: str, *, limit: int, cursor: str | None) -> Listing[TurnRecord]:
        """The start record and the turn records, in turn order, paged."""
        ...

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

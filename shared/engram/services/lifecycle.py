"""Session status as readers see it, before any background job has run.

A stored ``active`` session reads as ``expired`` once its ``expires_at`` has passed (expiry wins
when both apply), and as ``ended`` with outcome ``abandoned`` once it has been idle longer than
the inactivity timeout (its ``ended_at`` is then the moment the timeout elapsed).
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.expressions.condition import Condition

from engram import errors
from engram.store.models import SessionItem


@dataclass(frozen=True)
class Effective:
    status: str
    outcome: str | None
    ended_at: float | None


def effective(item: SessionItem, now: float, inactivity_timeout: float) -> Effective:
    status = item.status or "active"
    if status != "active":
        return Effective(status, item.outcome, item.ended_at)
    if item.expires_at is not None and item.expires_at <= now:
        return Effective("expired", None, item.expires_at)
    last = item.last_activity_at or item.created_at or now
    if now - last > inactivity_timeout:
        return Effective("ended", "abandoned", last + inactivity_timeout)
    return Effective("active", None, None)


def writable(now: float, inactivity_timeout: float) -> Condition:
    """The condition every write to a session carries: active, not deleted, not idle, not expired."""
    return (
        (SessionItem.status == "active")
        & SessionItem.deleted_at.does_not_exist()
        & (SessionItem.last_activity_at >= now - inactivity_timeout)
        & (SessionItem.expires_at.does_not_exist() | (SessionItem.expires_at > now))
    )


def ensure_writable(item: SessionItem, now: float, inactivity_timeout: float) -> None:
    state = effective(item, now, inactivity_timeout)
    if state.status == "expired":
        raise errors.Gone(f"Session {item.session_id} has expired and is read-only")
    if state.status != "active":
        reason = " (abandoned after inactivity)" if state.outcome == "abandoned" and item.status == "active" else ""
        raise errors.Conflict(f"Session {item.session_id} is {state.status}{reason}; it no longer accepts writes")


def status_condition(status: str, now: float, inactivity_timeout: float) -> Condition:
    """A DynamoDB filter matching sessions whose *effective* status is ``status``."""
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

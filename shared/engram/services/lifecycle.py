"""Session status as readers see it, before any background job has run.

A stored ``active`` session reads as ``expired`` once its ``expires_at`` has passed (expiry wins
when both apply), and as ``ended`` with outcome ``abandoned`` once it has been idle longer than
the inactivity timeout (its ``ended_at`` is then the moment the timeout elapsed). The store
mirrors these rules in its guards and status filters (``engram.store.sessions``).
"""

from __future__ import annotations

from dataclasses import dataclass

from engram import errors
from engram.ports.sessions import Session


@dataclass(frozen=True)
class Effective:
    status: str
    outcome: str | None
    ended_at: float | None


def effective(item: Session, now: float, inactivity_timeout: float) -> Effective:
    status = item.status or "active"
    if status != "active":
        return Effective(status, item.outcome, item.ended_at)
    if item.expires_at is not None and item.expires_at <= now:
        return Effective("expired", None, item.expires_at)
    last = item.last_activity_at or item.created_at or now
    if now - last > inactivity_timeout:
        return Effective("ended", "abandoned", last + inactivity_timeout)
    return Effective("active", None, None)


def ensure_writable(item: Session, now: float, inactivity_timeout: float) -> None:
    state = effective(item, now, inactivity_timeout)
    if state.status == "expired":
        raise errors.Gone(f"Session {item.session_id} has expired and is read-only")
    if state.status != "active":
        reason = " (abandoned after inactivity)" if state.outcome == "abandoned" and item.status == "active" else ""
        raise errors.Conflict(f"Session {item.session_id} is {state.status}{reason}; it no longer accepts writes")

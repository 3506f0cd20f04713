"""One injectable clock, so expiry, idleness and decay can be tested without sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

_now: Callable[[], float] = time.time


def now() -> float:
    """Seconds since the epoch, from the current clock."""
    return _now()


def set_clock(fn: Callable[[], float] | None) -> None:
    """Replace the clock (tests, the local sweeper); ``None`` restores the wall clock."""
    global _now
    _now = fn or time.time


def iso(ts: float | None) -> str | None:
    """ISO-8601 UTC with a ``Z`` suffix, second precision (``2026-03-17T10:00:00Z``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> float:
    """Parse an ISO-8601 date or datetime (``Z`` or offset; naive means UTC) to epoch seconds."""
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()

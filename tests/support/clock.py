"""Helpers for tests that depend on the wall clock the server also reads."""

from __future__ import annotations

import time


def same_rate_window(margin: float = 15.0) -> None:
    """The rate limiter counts fixed one-minute windows (engram.services.auth.RateLimiter): a burst
    started in a window's last seconds would be split across two windows and never reach the limit.
    Wait for the next window when fewer than ``margin`` seconds of this one are left."""
    into = time.time() % 60
    if into > 60 - margin:
        time.sleep(60 - into + 0.5)

"""The one optimistic-write loop: read, decide, write under a guard; on a lost race, again.

Repositories raise :class:`engram.ports.StaleWrite` when a guarded write finds the record moved
since it was read. The attempt re-reads (so it sees the winner's write) and rebuilds its change;
a short random pause spreads out writers that keep colliding.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from engram import errors
from engram.ports import StaleWrite

T = TypeVar("T")


def optimistic(attempt: Callable[[int], T], *, attempts: int, busy: str) -> T:
    """Call ``attempt(n)`` for n = 0, 1, … until it returns without StaleWrite; after
    ``attempts`` lost races, a retryable 503 with the ``busy`` message."""
    for n in range(attempts):
        try:
            return attempt(n)
        except StaleWrite:
            time.sleep(random.uniform(0, 0.005 * (n + 1)))
    raise errors.ServiceUnavailable(busy)

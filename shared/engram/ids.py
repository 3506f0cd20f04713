"""Prefixed, time-ordered identifiers: ``sess_…``, ``mem_…``, ``miss_…``, ``key_…``.

26 characters of Crockford base32 after the prefix: 48 bits of milliseconds, then 80 random
bits, so ids sort by creation time and never collide in practice (the ULID layout).
"""

from __future__ import annotations

import hashlib
import os
import re

from engram import clock

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ID_RE = re.compile(r"^[a-z]{2,5}_[0-9A-HJKMNP-TV-Z]{26}$")


def new_id(prefix: str) -> str:
    millis = int(clock.now() * 1000)
    return _encode(prefix, (millis << 80) | int.from_bytes(os.urandom(10), "big"))


def derived_id(prefix: str, ts: float, seed: str) -> str:
    """A stable id for something that already has an id elsewhere (an import): the time part is
    ``ts`` (so it sorts by the source's time) and the random part a hash of ``seed``."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()[:10]
    return _encode(prefix, (max(0, int(ts * 1000)) << 80) | int.from_bytes(digest, "big"))


def id_floor(prefix: str, ts: float) -> str:
    """The smallest id minted at ``ts``: ``id >= id_floor(p, t)`` means "created at or after t"."""
    return _encode(prefix, int(ts * 1000) << 80)


def _encode(prefix: str, value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def looks_like_id(value: str, prefix: str) -> bool:
    return value.startswith(prefix + "_") and bool(_ID_RE.match(value))

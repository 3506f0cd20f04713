"""Paging for repositories: opaque cursors (a small JSON key, base64url-encoded, with a check of
the payload; anything not minted here is a 400) and cutting a page from a filtered stream of results."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from engram import errors

T = TypeVar("T")


# Cursors carry a check of their payload, so one that was edited, truncated or made up is a clear
# 400 instead of a silently empty or shifted page. The check is keyed with a constant: it detects
# tampering, it is not a secret (a cursor only ever reads the caller's own tenant).
_CURSOR_CHECK_KEY = b"engram-cursor-v1"
_BAD_CURSOR = "cursor is not valid; pass next_cursor from a previous page unchanged"


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())


def _cursor_check(raw: bytes) -> bytes:
    return hashlib.blake2b(raw, digest_size=12, key=_CURSOR_CHECK_KEY).digest()


def encode_cursor(key: dict[str, Any]) -> str:
    raw = json.dumps(key, separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64encode(raw)}.{_b64encode(_cursor_check(raw))}"


def decode_cursor(
    cursor: str, required: set[str], check: Callable[[dict[str, Any]], bool] | None = None
) -> dict[str, Any]:
    """Decode a cursor this service issued; anything else is a clear 400."""
    payload, _, mac = cursor.partition(".")
    try:
        raw = _b64decode(payload)
        intact = hmac.compare_digest(_b64decode(mac), _cursor_check(raw))
        key = json.loads(raw) if intact else None
    except (ValueError, UnicodeDecodeError) as exc:  # binascii.Error is a ValueError
        raise errors.BadRequest(_BAD_CURSOR) from exc
    if not isinstance(key, dict) or not required.issubset(key) or (check is not None and not check(key)):
        raise errors.BadRequest(_BAD_CURSOR)
    return key


def take_page(
    results: Iterable[T], limit: int, offset: int = 0, accept: Callable[[T], bool] | None = None
) -> tuple[list[T], bool]:
    """Skip ``offset`` accepted items, then take up to ``limit``; also says whether more follow.
    DynamoDB filters after its own Limit, so pages are cut here, not with the query's limit."""
    page: list[T] = []
    skipped = 0
    for item in results:
        if accept is not None and not accept(item):
            continue
        if skipped < offset:
            skipped += 1
            continue
        if len(page) == limit:
            return page, True
        page.append(item)
    return page, False

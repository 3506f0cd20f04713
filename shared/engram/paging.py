"""Paging for repositories: opaque cursors (a small JSON key, base64url-encoded; anything not
minted here is a 400) and cutting a page from a filtered stream of results."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from engram import errors

T = TypeVar("T")


def encode_cursor(key: dict[str, Any]) -> str:
    raw = json.dumps(key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(
    cursor: str, required: set[str], check: Callable[[dict[str, Any]], bool] | None = None
) -> dict[str, Any]:
    """Decode an opaque cursor; anything that was not produced by us is a clear 400."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.BadRequest("cursor is not valid; pass next_cursor from a previous page") from exc
    if not isinstance(key, dict) or not required.issubset(key) or (check is not None and not check(key)):
        raise errors.BadRequest("cursor is not valid; pass next_cursor from a previous page")
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

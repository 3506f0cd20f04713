"""Table binding, cursors and SDK-error wrapping shared by the repositories."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from engram import errors
from engram.errors import map_storage_error

T = TypeVar("T")


class ConditionFailed(Exception):
    """A conditional write lost (the item changed or vanished since it was read): the caller
    re-reads and decides whether that means gone, conflict, or retry."""


def conditional_update(item: Model, actions: Sequence[Action], condition: Condition) -> None:
    """``item.update`` under a condition; a lost condition is ConditionFailed, not an SDK error."""
    with storage_errors():
        try:
            item.update(actions=list(actions), condition=condition)
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise ConditionFailed() from exc
            raise


def bind(model: type[Model], table_name: str, region: str) -> None:
    """Point a PynamoDB model at a table; drops a cached connection when the name changes."""
    meta = model.Meta
    if getattr(meta, "table_name", None) != table_name or getattr(meta, "region", None) != region:
        meta.table_name = table_name  # type: ignore[attr-defined]
        meta.region = region  # type: ignore[attr-defined]
        model._connection = None


@lru_cache(maxsize=8)
def connection(region: str) -> Connection:
    """One PynamoDB connection per region for transactions: building one builds a botocore client
    (re-reading the service model), which cost ~140 ms per transactional write when done each time."""
    return Connection(region=region)


@contextmanager
def storage_errors() -> Iterator[None]:
    """Throttling and outages become ServiceUnavailable (503); the rest propagate unchanged."""
    try:
        yield
    except PynamoDBException as exc:
        mapped = map_storage_error(exc)
        if mapped is not None:
            raise mapped from exc
        raise


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

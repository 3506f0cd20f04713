"""Table binding, cursors and SDK-error wrapping shared by the repositories."""

from __future__ import annotations

import base64
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

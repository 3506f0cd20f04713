"""Table binding, conditional writes and SDK-error wrapping shared by the repositories."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache

import botocore.session
import pynamodb.connection.base
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from engram.errors import ServiceUnavailable, map_storage_error
from engram.ports import StaleWrite

TRANSACTION_ATTEMPTS = 5

_sessions = threading.local()


def _thread_session() -> botocore.session.Session:
    """One botocore session per thread, shared by every PynamoDB connection of the thread.

    PynamoDB gives each model's connection a session of its own, and a new session reads the
    DynamoDB service model and the endpoint rules from disk again when its client is built:
    ~120 ms per model on a cold container (a function touching four models paid half a second on
    its first request), ~7 ms with a shared session. Sessions stay per thread, as PynamoDB keeps
    them, because building clients from one session is not thread-safe."""
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = botocore.session.get_session()
    return session


# Engram's models never carry credentials of their own (PynamoDB would set them on the session).
pynamodb.connection.base.get_session = _thread_session  # type: ignore[attr-defined]


def conditional_update(item: Model, actions: Sequence[Action], condition: Condition) -> None:
    """``item.update`` under a condition; a lost condition is StaleWrite, not an SDK error."""
    with storage_errors():
        try:
            item.update(actions=list(actions), condition=condition)
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise StaleWrite() from exc
            raise


def cancellation_codes(exc: TransactWriteError) -> list[str | None]:
    """Why each item of a cancelled transaction failed (``None``: not that one), in the order
    PynamoDB sends the items: condition checks, then deletes, puts and updates, each kind in the
    order it was added to the ``TransactWrite``."""
    return [getattr(r, "code", None) if r is not None else None for r in (exc.cancellation_reasons or [])]


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


def transact(region: str, write: Callable[[TransactWrite], object]) -> list[str | None]:
    """One all-or-nothing write of the items ``write`` adds. ``[]`` when it committed; else, when a
    condition failed, nothing was written and the answer is each item's reason code, in order
    (``"ConditionalCheckFailed"``, or None for the items that were fine). A collision with a
    concurrent transaction on the same items is tried again after a short random pause."""
    for attempt in range(TRANSACTION_ATTEMPTS):
        try:
            with TransactWrite(connection=connection(region)) as tx:
                write(tx)
            return []
        except TransactWriteError as exc:
            reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
            if "ConditionalCheckFailed" in reasons:
                return reasons
            if "TransactionConflict" not in reasons:
                raise
        time.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # spread out writers that keep colliding
    raise ServiceUnavailable("The item is busy with concurrent writes; retry")


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

"""Table binding, conditional writes and SDK-error wrapping shared by the repositories."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from engram.errors import map_storage_error
from engram.ports import StaleWrite


def conditional_update(item: Model, actions: Sequence[Action], condition: Condition) -> None:
    """``item.update`` under a condition; a lost condition is StaleWrite, not an SDK error."""
    with storage_errors():
        try:
            item.update(actions=list(actions), condition=condition)
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise StaleWrite() from exc
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

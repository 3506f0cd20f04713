"""DynamoDB Streams, locally: every table's change records, kept until each consumer has them.

moto appends a record to a table's in-memory shard on every write and never lets go of it, and
a record's sequence number is only good until the process exits. So right after each write
(under the lock that orders the journal) :class:`~engram.local.dynamo.LocalDynamo` moves the
new records out of moto into a :class:`StreamLog`, giving each a *position* derived from the
write's journal number::

    position = write_number * 100_000 + index of the record within that write

Positions are the records' ``SequenceNumber``s. They are the same after a restart, because
replaying the journal gives every write its old number again, so a consumer's checkpoint (the
position it has delivered up to) stays meaningful across a ``kill -9``, as a Lambda event source
mapping's does. A log keeps a record until every consumer subscribed to its table is past it;
records not yet delivered when DynamoDB is snapshotted go into the snapshot.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# What DynamoDB puts on a REMOVE record caused by TTL expiry.
TTL_USER_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}

# Records per write: a TransactWriteItems changes at most 100 items, a BatchWriteItem 25.
PER_WRITE = 100_000


def after_write(write_number: int) -> int:
    """The position just past every record a write made."""
    return (write_number + 1) * PER_WRITE - 1


def lambda_record(table_name: str, region: str, raw: dict[str, Any], position: int, created: float) -> dict[str, Any]:
    """moto's record → the record Lambda is given (without ``eventSourceARN``: the stream's ARN
    changes when local mode recreates the table on a restart, so the consumer adds it)."""
    stream = raw["dynamodb"]
    sequence = str(position)
    record: dict[str, Any] = {
        # Stable across redeliveries, like DynamoDB's: consumers may use it to deduplicate.
        "eventID": hashlib.md5(f"{table_name}/{sequence}".encode(), usedforsecurity=False).hexdigest(),
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": {
            "ApproximateCreationDateTime": int(created),  # Lambda sends whole seconds
            "Keys": stream["Keys"],
            "SequenceNumber": sequence,
            "SizeBytes": stream.get("SizeBytes", 1),
            "StreamViewType": stream["StreamViewType"],
        },
    }
    for image in ("NewImage", "OldImage"):
        if image in stream:
            record["dynamodb"][image] = stream[image]
    return record


def position_of(record: dict[str, Any]) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


class StreamLog:
    """One table's undelivered records, in position order, and its consumers' cursors."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        self._lock = threading.Lock()
        self._records: deque[dict[str, Any]] = deque()
        self._cursors: dict[str, int] = {}
        self._subscribed = False  # until consumers attach, every record is kept (start-up replay)

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        with self._lock:
            if self._subscribed and not self._cursors:
                return  # nobody reads this table's stream: keep nothing
            self._records.extend(records)

    def read(self, after: int, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` records past position ``after``."""
        with self._lock:
            out: list[dict[str, Any]] = []
            for record in self._records:
                if position_of(record) > after:
                    out.append(record)
                    if len(out) >= limit:
                        break
            return out

    def oldest(self) -> int | None:
        with self._lock:
            return position_of(self._records[0]) if self._records else None

    def subscribe(self, name: str, position: int) -> None:
        with self._lock:
            self._cursors[name] = position
            self._subscribed = True
            self._trim_locked()

    def close_subscriptions(self) -> None:
        """Every consumer has subscribed: from now on a table without one keeps no records."""
        with self._lock:
            self._subscribed = True
            self._trim_locked()

    def advance(self, name: str, position: int) -> None:
        with self._lock:
            self._cursors[name] = max(position, self._cursors.get(name, position))
            self._trim_locked()

    def pending(self) -> list[dict[str, Any]]:
        """What some consumer has not been given yet (for the snapshot)."""
        with self._lock:
            return list(self._records)

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def _trim_locked(self) -> None:
        if not self._subscribed:
            return
        if not self._cursors:
            self._records.clear()
            return
        low = min(self._cursors.values())
        while self._records and position_of(self._records[0]) <= low:
            self._records.popleft()


class Checkpoints:
    """Each consumer's position, one small file each, replaced atomically after every batch."""

    def __init__(self, directory: Path, fsync: bool = False) -> None:
        self.directory = directory
        self._fsync = fsync

    def _path(self, name: str) -> Path:
        return self.directory / f"{name}.json"

    def load(self, name: str) -> int | None:
        try:
            data = json.loads(self._path(name).read_text(encoding="utf-8"))
            return int(data["position"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, name: str, position: int) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(name)
        temporary = path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(json.dumps({"position": position}))
            if self._fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, path)

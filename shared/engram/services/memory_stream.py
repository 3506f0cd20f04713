"""Keeping the index in step with the memories table (the ``on_memory_change`` stream consumer).

INSERT/MODIFY upsert the memory's document with its version, so a repeated or out-of-order
delivery is ignored by the index ("stale"); a MODIFY that changed nothing the index holds
(an access count, a feedback score) is skipped without a write; REMOVE deletes the document
with version + 1, so it wins over any copy of the memory. Each record is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engram.index.ports import VectorIndex
from engram.ports.memories import MemoryChange
from engram.services.memory_core import index_doc


class MemoryStreamHandler:
    def __init__(self, index: VectorIndex, decode: Callable[[dict[str, Any]], MemoryChange]) -> None:
        """``decode`` turns a raw stream record into a MemoryChange (the store knows the format)."""
        self._index = index
        self._decode = decode

    def handle(self, record: Any) -> str:
        """Process one stream record (a Powertools ``DynamoDBRecord`` or its raw dict)."""
        change = self._decode(record.raw_event if hasattr(record, "raw_event") else record)
        if change.kind == "remove":
            self._index.delete(change.tenant_id, [change.memory_id], version=change.version + 1)
            return "deleted"
        if change.kind == "upsert" and change.memory is not None:
            result = self._index.upsert([index_doc(change.memory)])
            return next(iter(result.values()), "stale")
        return change.kind

"""The memories table's stream consumer (``on_memory_change``): the index kept in step, and
access logs settled.

INSERT/MODIFY upsert the memory's document with its version, so a repeated or out-of-order
delivery is ignored by the index ("stale"); a MODIFY that changed nothing the index holds
(an access count, a feedback score) is skipped without a write; REMOVE deletes the document
with version + 1, so it wins over any copy of the memory. The INSERT of an access log counts its
accesses into the memories (services/feedback.py: settled with the log's deletion, so a
redelivery counts nothing). Each record is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engram.index.ports import VectorIndex
from engram.ports.memories import Accesses, MemoryChange
from engram.services.memory_core import index_doc


class MemoryStreamHandler:
    def __init__(
        self,
        index: VectorIndex,
        decode: Callable[[dict[str, Any]], MemoryChange],
        settle: Callable[[Accesses], int],
    ) -> None:
        """``decode`` turns a raw stream record into a MemoryChange (the store knows the format);
        ``settle`` counts an access log into its memories (FeedbackService.settle)."""
        self._index = index
        self._decode = decode
        self._settle = settle

    def handle(self, record: Any) -> str:
        """Process one stream record (a Powertools ``DynamoDBRecord`` or its raw dict)."""
        change = self._decode(record.raw_event if hasattr(record, "raw_event") else record)
        if change.kind == "remove":
            self._index.delete(change.tenant_id, [change.memory_id], version=change.version + 1)
            return "deleted"
        if change.kind == "accesses" and change.accesses is not None:
            return f"settled {self._settle(change.accesses)} accesses"
        if change.kind == "upsert" and change.memory is not None:
            result = self._index.upsert([index_doc(change.memory)])
            return next(iter(result.values()), "stale")
        return change.kind

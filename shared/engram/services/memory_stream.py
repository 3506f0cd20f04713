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

from collections.abc import Callable, Sequence
from typing import Any

from engram.index.ports import VectorIndex
from engram.observability import logger
from engram.ports.memories import Accesses, MemoryChange
from engram.services.memory_core import index_doc


class MemoryStreamHandler:
    def __init__(
        self,
        index: VectorIndex,
        decode: Callable[[dict[str, Any]], MemoryChange],
        settle: Callable[[Sequence[Accesses]], int],
    ) -> None:
        """``decode`` turns a raw stream record into a MemoryChange (the store knows the format);
        ``settle`` counts access logs into their memories (FeedbackService.settle)."""
        self._index = index
        self._decode = decode
        self._settle = settle
        self._settled: set[str] = set()  # logs this batch settled together

    def settle_batch(self, records: Sequence[Any]) -> int:
        """Settle every access log of a batch together (a memory the batch names many times is
        written once). If that fails, nothing is lost: each log is then settled on its own by
        :meth:`handle`, and a failure there is that record's failure."""
        logs = [c.accesses for c in map(self._decode_raw, records) if c.kind == "accesses" and c.accesses]
        if not logs:
            return 0
        try:
            counted = self._settle(logs)
        except Exception as exc:  # noqa: BLE001 - retried record by record below
            logger.warning("batch settle failed; settling record by record", extra={"error": str(exc)})
            return 0
        self._settled.update(log.log_id for log in logs)
        return counted

    def _decode_raw(self, record: Any) -> MemoryChange:
        try:
            return self._decode(record.raw_event if hasattr(record, "raw_event") else record)
        except Exception:  # noqa: BLE001 - a malformed record fails in handle(), on its own
            return MemoryChange("ignored")

    def handle(self, record: Any) -> str:
        """Process one stream record (a Powertools ``DynamoDBRecord`` or its raw dict)."""
        change = self._decode(record.raw_event if hasattr(record, "raw_event") else record)
        if change.kind == "remove":
            self._index.delete(change.tenant_id, [change.memory_id], version=change.version + 1)
            return "deleted"
        if change.kind == "accesses" and change.accesses is not None:
            if change.accesses.log_id in self._settled:
                return "settled with its batch"
            return f"settled {self._settle([change.accesses])} accesses"
        if change.kind == "upsert" and change.memory is not None:
            result = self._index.upsert([index_doc(change.memory)])
            return next(iter(result.values()), "stale")
        return change.kind

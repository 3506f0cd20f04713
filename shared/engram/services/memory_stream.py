"""Keeping the index in step with the memories table (the ``on_memory_change`` stream consumer).

INSERT/MODIFY upsert the memory's document with its version, so a repeated or out-of-order
delivery is ignored by the index ("stale"); a MODIFY that changed nothing the index holds
(an access count, a feedback score) is skipped without a write; REMOVE deletes the document
with version + 1, so it wins over any copy of the memory. Each record is idempotent.
"""

from __future__ import annotations

import base64
from typing import Any

from engram.index import VectorIndex
from engram.store.memories import MemoryItem, item_doc

# The attributes the index document is built from; a MODIFY that changes none of them is skipped.
INDEXED = ("namespace", "type", "tier", "title", "text", "entities", "session_id", "agent_id", "embedding", "tenant_id")


def _decode_binary(image: dict[str, Any]) -> dict[str, Any]:
    """Lambda delivers B values base64-encoded in JSON; PynamoDB wants bytes."""
    out: dict[str, Any] = {}
    for name, value in image.items():
        if isinstance(value, dict) and isinstance(value.get("B"), str):
            out[name] = {"B": base64.b64decode(value["B"])}
        else:
            out[name] = value
    return out


def image_item(image: dict[str, Any]) -> MemoryItem:
    return MemoryItem.from_raw_data(_decode_binary(image))


class MemoryStreamHandler:
    def __init__(self, index: VectorIndex) -> None:
        self._index = index

    def handle(self, record: Any) -> str:
        """Process one stream record (a Powertools ``DynamoDBRecord`` or its raw dict)."""
        raw = record.raw_event if hasattr(record, "raw_event") else record
        event_name = raw.get("eventName")
        data = raw.get("dynamodb") or {}
        if event_name == "REMOVE":
            old = data.get("OldImage") or data.get("Keys") or {}
            pk = str((old.get("pk") or {}).get("S", ""))
            tenant_id, _, memory_id = pk.rpartition("#")
            if not memory_id.startswith("mem_"):
                return "ignored"
            version = int((old.get("version") or {}).get("N", "0"))
            self._index.delete(tenant_id, [memory_id], version=version + 1)
            return "deleted"
        new = data.get("NewImage")
        if not new or "memory_id" not in new:
            return "ignored"
        old = data.get("OldImage")
        if event_name == "MODIFY" and old and all(old.get(k) == new.get(k) for k in INDEXED):
            return "unchanged"
        result = self._index.upsert([item_doc(image_item(new))])
        return next(iter(result.values()), "stale")

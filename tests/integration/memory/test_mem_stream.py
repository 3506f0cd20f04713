"""on_memory_change: DynamoDB stream records (built from real stored items) → the index."""

from __future__ import annotations

import base64
from typing import Any

from engram.index.local import LocalIndex
from engram.store.memories import MemoryItem, memory_pk


def image(item: MemoryItem) -> dict[str, Any]:
    """The item as a stream image: DynamoDB JSON with B values base64-encoded, as Lambda gets it."""
    out = {}
    for name, value in item.serialize().items():
        if "B" in value:
            value = {"B": base64.b64encode(value["B"]).decode()}
        out[name] = value
    return out


def record(event: str, seq: str, new: MemoryItem | None = None, old: MemoryItem | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"SequenceNumber": seq, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    ref = new or old
    assert ref is not None
    data["Keys"] = {"pk": {"S": ref.pk}}
    if new is not None:
        data["NewImage"] = image(new)
    if old is not None:
        data["OldImage"] = image(old)
    return {
        "eventID": seq,
        "eventName": event,
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": data,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/test-memories/stream/2026",
    }


def snapshot(tenant: str, memory_id: str) -> MemoryItem:
    return MemoryItem.get(memory_pk(tenant, memory_id), consistent_read=True)


def test_insert_modify_remove_keep_a_fresh_index_in_step(service: Any, tmp_path: Any, stream_process: Any) -> None:
    mem = service.create_memory("tenant-a", text="The user plays chess on Sundays")
    v1 = snapshot("tenant-a", mem.id)
    from engram.models.memories import UpdateMemory

    service.update("tenant-a", mem.id, UpdateMemory(text="The user plays go on Sundays"))
    v2 = snapshot("tenant-a", mem.id)
    fresh = LocalIndex(str(tmp_path / "replica"))  # an index that only the stream feeds

    out = stream_process({"Records": [record("INSERT", "1", new=v1)]}, index=fresh)
    assert out == {"batchItemFailures": []}
    assert fresh.document("tenant-a", mem.id)["version"] == 1  # type: ignore[index]

    events = {"Records": [record("MODIFY", "2", new=v2, old=v1), record("INSERT", "3", new=v1)]}  # a late redelivery
    assert stream_process(events, index=fresh) == {"batchItemFailures": []}
    doc = fresh.document("tenant-a", mem.id)
    assert doc is not None and doc["version"] == 2 and doc["text"] == "The user plays go on Sundays"

    assert stream_process({"Records": [record("REMOVE", "4", old=v2)]}, index=fresh) == {"batchItemFailures": []}
    assert fresh.document("tenant-a", mem.id) is None
    stream_process({"Records": [record("MODIFY", "5", new=v2, old=v1)]}, index=fresh)  # replay after delete
    assert fresh.document("tenant-a", mem.id) is None


def test_access_only_modifications_are_skipped(service: Any) -> None:
    from engram import container

    mem = service.create_memory("tenant-a", text="Loves sourdough bread")
    before = snapshot("tenant-a", mem.id)
    [log] = container.feedback().record_access("tenant-a", [mem.id])
    assert container.feedback().settle([log]) == 1
    after = snapshot("tenant-a", mem.id)
    assert after.version == before.version + 1 and after.access_count == 1

    class Spy:
        calls = 0

        def upsert(self, docs: Any) -> Any:
            Spy.calls += 1
            return {}

    assert container.memory_stream(Spy()).handle(record("MODIFY", "9", new=after, old=before)) == "unchanged"  # type: ignore[arg-type]
    assert Spy.calls == 0


def test_failures_are_reported_per_record(service: Any, stream_process: Any) -> None:
    a = snapshot("tenant-a", service.create_memory("tenant-a", text="first memory").id)
    b = snapshot("tenant-a", service.create_memory("tenant-a", text="second memory").id)

    class Flaky:
        def upsert(self, docs: Any) -> Any:
            if docs[0].memory_id == b.memory_id:
                raise RuntimeError("index down")
            return {docs[0].memory_id: "indexed"}

    out = stream_process({"Records": [record("INSERT", "10", new=a), record("INSERT", "11", new=b)]}, index=Flaky())
    assert out == {"batchItemFailures": [{"itemIdentifier": "11"}]}

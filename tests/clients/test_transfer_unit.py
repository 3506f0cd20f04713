"""The import file readers and the importer's batching, without a server."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from engram.progress import Progress
from engram.transfer.formats import Malformed, Record, read
from engram.transfer.importer import BATCH_BYTES, Importer


def test_mem0_records_carry_their_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "dump.json"
    path.write_text(
        '{"count": 2,\n "results": [\n  {"id": "a", "memory": "one",\n   "user_id": "bob"},\n'
        '  {"id": "b"},\n  {"id": "c", "memory": "three", "created_at": 1700000000}\n ]\n}\n'
    )
    records = list(read(path, "mem0"))
    assert [r.line for r in records] == [3, 5, 6]
    assert isinstance(records[1], Malformed) and "without 'memory'" in records[1].reason
    first, third = records[0], records[2]
    assert isinstance(first, Record) and first.data["namespace"] == "bob" and first.data["external_id"] == "mem0:a"
    assert isinstance(third, Record) and third.data["created_at"] == "2023-11-14T22:13:20Z"


def test_ndjson_and_bare_lists_are_read_too(tmp_path: Path) -> None:
    ndjson = tmp_path / "dump.ndjson"
    ndjson.write_text('{"id": "a", "memory": "one"}\nnot json\n\n{"id": "b", "memory": "two"}\n')
    kinds = [(type(r).__name__, r.line) for r in read(ndjson, "mem0", namespace="team")]
    assert kinds == [("Record", 1), ("Malformed", 2), ("Record", 4)]
    bare = tmp_path / "records.json"
    bare.write_text(json.dumps([{"memoryRecordId": "r1", "content": {"text": "hello"}, "namespaces": ["/a/b"]}]))
    (only,) = list(read(bare, "agentcore"))
    assert isinstance(only, Record) and only.data["namespace"] == "a/b" and only.data["external_id"] == "agentcore:r1"


def test_engram_export_records_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "export.ndjson"
    lines = [
        {"kind": "header", "format": "engram-export", "version": 1},
        {"kind": "memory", "data": {"id": "mem_1", "text": "x"}},
        {"kind": "message", "data": {"role": "user", "content": "hi"}},
        {"kind": "bogus", "data": {}},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    out = list(read(path, "engram"))
    assert isinstance(out[0], Record) and out[0].line == 2
    assert [(m.line, m.reason) for m in out[1:] if isinstance(m, Malformed)] == [
        (3, "message without a session_id"),
        (4, "unknown record kind 'bogus'"),
    ]


class FakeMemories:
    def __init__(self) -> None:
        self.bodies: list[int] = []

    def batch_create(self, memories: list[dict[str, Any]]) -> Any:
        self.bodies.append(len(json.dumps({"memories": memories}).encode()))
        results = [SimpleNamespace(status="created", id=f"mem_{i}", error=None) for i in range(len(memories))]
        return SimpleNamespace(results=results)


def test_batches_stay_under_the_body_limit(tmp_path: Path) -> None:
    client = SimpleNamespace(memories=FakeMemories())
    records = [Record(i + 1, "memory", {"text": "x" * 15_000, "external_id": f"s:{i}"}) for i in range(150)]
    with Progress("test", stream=open(tmp_path / "progress.log", "w")) as progress:
        report = Importer(client, progress=progress, clock=lambda: 0.0).run(records)  # type: ignore[arg-type]
    assert report.counts["memory created"] == 150
    assert len(client.memories.bodies) == 3  # 60 + 60 + 30: by size, not the 100-item cap
    assert max(client.memories.bodies) < 1_000_000 and BATCH_BYTES < 1_000_000


def test_an_exported_memory_imports_with_its_context(tmp_path: Path) -> None:
    sent: list[dict[str, Any]] = []

    class Recording(FakeMemories):
        def batch_create(self, memories: list[dict[str, Any]]) -> Any:
            sent.extend(memories)
            return super().batch_create(memories)

    client = SimpleNamespace(memories=Recording())
    records = [
        Record(1, "memory", {"id": "mem_1", "text": "Ann wrote it", "context": "Who wrote it?"}),
        Record(2, "memory", {"id": "mem_2", "text": "No context", "context": None}),
    ]
    with Progress("test", stream=open(tmp_path / "progress.log", "w")) as progress:
        Importer(client, progress=progress, clock=lambda: 0.0).run(records)  # type: ignore[arg-type]
    assert [m.get("context") for m in sent] == ["Who wrote it?", None]

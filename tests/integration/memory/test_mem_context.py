"""A memory's ``context`` (what came before it in the conversation) through the handlers: stored,
returned, bounded, embedded and BM25-searched with the text, re-indexed on an edit, declared in
the OpenAPI document. Moto tables, the hashing embedder and a local index in a tmp dir."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engram.models.memories import MAX_MEMORY_CONTEXT
from engram.services.intelligence import context_before
from engram.store.memories import MemoryItem, memory_pk, unpack_vector

MEM = "/v1/memories/{id}"
TEXT = "Caroline: Sure, it was last Friday."
CONTEXT = "Melanie: When did you go to the pride parade?"
ROOT = Path(__file__).resolve().parents[3]


def create(call: Any, **body: Any) -> dict[str, Any]:
    status, out, _ = call("create_memory", "POST", "/v1/memories", body=body)
    assert status == 201, out
    return out


def search(call: Any, query: str, namespace: str, mode: str = "text") -> list[dict[str, Any]]:
    body = {"query": query, "namespace": namespace, "mode": mode, "threshold": 0.0}
    status, out, _ = call("search_memories", "POST", "/v1/memories/search", body=body)
    assert status == 200, out
    return list(out["results"])


def patch(call: Any, memory_id: str, body: dict[str, Any]) -> tuple[int, Any]:
    status, out, _ = call("update_memory", "PATCH", f"/v1/memories/{memory_id}", route=MEM, body=body)
    return status, out


def stored(memory_id: str) -> MemoryItem:
    return MemoryItem.get(memory_pk("tenant-a", memory_id), consistent_read=True)


def test_context_is_stored_returned_and_makes_the_memory_findable(call: Any, service: Any) -> None:
    with_context = create(call, text=TEXT, context=CONTEXT, namespace="a")
    without = create(call, text=TEXT, namespace="b")
    assert with_context["context"] == CONTEXT and with_context["text"] == TEXT and without["context"] is None
    status, got, _ = call("get_memory", "GET", f"/v1/memories/{with_context['id']}", route=MEM)
    assert status == 200 and got["context"] == CONTEXT
    listed = call("list_memories", "GET", "/v1/memories", query={"namespace": "a"})[1]["data"]
    assert [m["context"] for m in listed] == [CONTEXT]
    assert stored(with_context["id"]).context == CONTEXT and stored(without["id"]).context is None
    assert service.core.index().document("tenant-a", with_context["id"])["context"] == CONTEXT
    # the same text, embedded with and without the turn before it: two different vectors
    assert unpack_vector(stored(with_context["id"]).embedding) != unpack_vector(stored(without["id"]).embedding)

    # "pride parade" is only in the context: BM25 finds the memory, search returns its own text
    hits = search(call, "When was the pride parade?", "a")
    assert [h["id"] for h in hits] == [with_context["id"]] and hits[0]["text"] == TEXT
    assert search(call, "When was the pride parade?", "b") == []
    hybrid = search(call, "When was the pride parade?", "a", mode="hybrid")
    assert hybrid[0]["id"] == with_context["id"] and hybrid[0]["text_score"] > 0


def test_context_bounds_answer_422_and_store_nothing(call: Any) -> None:
    for context, why in (("x" * (MAX_MEMORY_CONTEXT + 1), "at most"), ("a\x00b", "control characters")):
        status, out, _ = call("create_memory", "POST", "/v1/memories", body={"text": TEXT, "context": context})
        assert status == 422, out
        assert out["error"]["code"] and out["request_id"]
        assert any(d["field"].endswith("context") and why in d["message"] for d in out["error"]["details"]), out
    assert call("list_memories", "GET", "/v1/memories")[1]["total_count"] == 0
    edge = create(call, text=TEXT, context="y" * MAX_MEMORY_CONTEXT)
    assert len(edge["context"]) == MAX_MEMORY_CONTEXT
    assert create(call, text="Blank context is none", context="  ")["context"] is None


def test_patch_context_re_embeds_and_re_indexes(call: Any, service: Any) -> None:
    memory = create(call, text=TEXT, namespace="a")
    before = unpack_vector(stored(memory["id"]).embedding)
    assert search(call, "pride parade", "a") == []

    status, out = patch(call, memory["id"], {"context": CONTEXT})
    assert status == 200 and out["context"] == CONTEXT and out["text"] == TEXT
    assert unpack_vector(stored(memory["id"]).embedding) != before
    doc = service.core.index().document("tenant-a", memory["id"])
    assert doc["context"] == CONTEXT and doc["version"] == stored(memory["id"]).version
    assert [h["id"] for h in search(call, "pride parade", "a")] == [memory["id"]]

    status, out = patch(call, memory["id"], {"text": "Caroline: It was last Friday, in the rain."})
    assert status == 200 and out["context"] == CONTEXT  # a new text keeps the context
    assert [h["id"] for h in search(call, "pride parade", "a")] == [memory["id"]]

    status, out = patch(call, memory["id"], {"context": ""})  # "" removes it
    assert status == 200 and out["context"] is None and stored(memory["id"]).context is None
    assert search(call, "pride parade", "a") == []

    status, out = patch(call, memory["id"], {"context": "z" * (MAX_MEMORY_CONTEXT + 1)})
    assert status == 422 and out["error"]["details"][0]["field"].endswith("context")
    assert stored(memory["id"]).context is None


def test_a_duplicate_brings_its_context_to_a_memory_without_one(call: Any, service: Any) -> None:
    bare = create(call, text=TEXT, namespace="a")
    before = stored(bare["id"])
    assert search(call, "pride parade", "a") == []

    again = create(call, text=TEXT, context=CONTEXT, namespace="a")
    assert again["id"] == bare["id"] and again["action"] == "duplicate" and again["context"] == CONTEXT
    after = stored(bare["id"])
    assert after.context == CONTEXT and after.version == before.version + 1
    assert unpack_vector(after.embedding) != unpack_vector(before.embedding)
    assert service.core.index().document("tenant-a", bare["id"])["context"] == CONTEXT
    assert [h["id"] for h in search(call, "pride parade", "a")] == [bare["id"]]

    # a memory that has a context keeps its own; a duplicate without one changes nothing
    other = create(call, text=TEXT, context="Melanie: Where were you on Friday?", namespace="a")
    assert other["id"] == bare["id"] and other["context"] == CONTEXT
    create(call, text=TEXT, namespace="a")
    assert stored(bare["id"]).version == after.version and stored(bare["id"]).context == CONTEXT
    assert call("list_memories", "GET", "/v1/memories", query={"namespace": "a"})[1]["total_count"] == 1


def test_batch_items_carry_a_context(call: Any) -> None:
    items = [{"text": TEXT, "context": CONTEXT, "namespace": "a"}, {"text": "No context here", "namespace": "a"}]
    status, out, _ = call("batch_create_memories", "POST", "/v1/memories/batch", body={"memories": items})
    assert status == 200 and out["created"] == 2, out
    ids = [r["id"] for r in out["results"]]
    assert [stored(i).context for i in ids] == [CONTEXT, None]
    assert [h["id"] for h in search(call, "pride parade", "a")] == [ids[0]]


def test_context_before_is_the_message_before_the_source_message() -> None:
    contents = ["Which city do you work from?", "I live in Singapore", "", "I like tea"]
    assert context_before(contents, 1) == "Which city do you work from?"
    assert context_before(contents, 0) is None and context_before(contents, None) is None
    assert context_before(contents, 3) is None  # the message before is blank
    assert context_before(contents, 9) is None
    assert context_before(["a\x01b" + "c" * MAX_MEMORY_CONTEXT, "x"], 1) == "c" * MAX_MEMORY_CONTEXT
    assert context_before(["a\x01b", "x"], 1) == "a b"


def test_openapi_declares_the_context() -> None:
    schemas = json.loads((ROOT / "shared/engram/api/openapi.json").read_text())["components"]["schemas"]
    for name in ("CreateMemory", "UpdateMemory", "BatchMemory"):
        declared = schemas[name]["properties"]["context"]
        options = declared.get("anyOf", [declared])
        text = next(o for o in options if o.get("type") == "string")
        assert text["maxLength"] == MAX_MEMORY_CONTEXT and "pattern" in text, (name, declared)
    for name in ("MemoryOut", "SearchHit", "WrittenMemoryOut", "EditedMemoryOut"):
        assert "context" in schemas[name]["properties"], name

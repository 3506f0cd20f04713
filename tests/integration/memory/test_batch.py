"""POST /v1/memories/batch through its lambda_handler: per-item status, one embedder call,
stable ids for external ids, Idempotency-Key, against moto tables and a local index."""

from __future__ import annotations

from typing import Any

import pytest

from engram.store.memories import MemoryItem, memory_pk

BATCH = "/v1/memories/batch"


def batch(call: Any, memories: list[Any], tenant: str = "tenant-a", **kwargs: Any) -> tuple[int, Any, dict[str, str]]:
    return call("batch_create_memories", "POST", BATCH, body={"memories": memories}, tenant=tenant, **kwargs)


def stored(tenant: str, memory_id: str) -> MemoryItem | None:
    try:
        return MemoryItem.get(memory_pk(tenant, memory_id), consistent_read=True)
    except MemoryItem.DoesNotExist:
        return None


def test_one_bad_item_does_not_fail_the_rest(call: Any, service: Any) -> None:
    status, body, _ = batch(
        call,
        [
            {"text": "The user lives in Lisbon", "namespace": "user-1", "type": "fact"},
            {"text": ""},
            {"text": "Deploys happen on Thursdays", "tier": "bogus"},
            "not an object",
            {"content": "The user prefers tea", "memoryType": "preference"},
        ],
    )
    assert status == 200, body
    assert [r["status"] for r in body["results"]] == ["created", "failed", "failed", "failed", "created"]
    assert [r["index"] for r in body["results"]] == [0, 1, 2, 3, 4]
    assert (body["created"], body["existing"], body["failed"]) == (2, 0, 3)
    empty, bad_tier = body["results"][1]["error"], body["results"][2]["error"]
    assert empty["code"] == "validation_error" and empty["details"][0]["field"] == "text"
    assert bad_tier["details"][0]["field"] == "tier" and "bogus" not in str(bad_tier)  # never echo input
    first, last = body["results"][0]["id"], body["results"][4]["id"]
    item = stored("tenant-a", first)
    assert item is not None and item.text == "The user lives in Lisbon" and item.namespace == "user-1"
    assert stored("tenant-a", last).type == "preference"  # type: ignore[union-attr]
    assert service.core.index().document("tenant-a", first) is not None  # searchable when the call returns
    from engram.container import search

    hits = search().search("tenant-a", "where does the user live", threshold=0.0)
    assert first in [h.id for h in hits]


def test_embeds_the_whole_batch_in_one_call(call: Any, service: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = service.core.embedder()
    calls: list[int] = []
    original = embedder.embed

    def counting(texts: list[str]) -> list[list[float]]:
        calls.append(len(texts))
        return original(texts)

    monkeypatch.setattr(embedder, "embed", counting)
    status, body, _ = batch(call, [{"text": f"Fact number {i} about the project"} for i in range(25)])
    assert status == 200 and body["created"] == 25
    assert calls == [25]


def test_external_ids_make_a_reimport_write_nothing(call: Any) -> None:
    items = [
        {"text": "Prefers dark mode", "external_id": "7f3c2a10-aaaa", "created_at": "2025-02-01T09:30:00Z"},
        {"text": "Works at Acme", "external_id": "7f3c2a10-bbbb"},
    ]
    status, first, _ = batch(call, items)
    assert status == 200 and first["created"] == 2
    ids = [r["id"] for r in first["results"]]
    assert [r["external_id"] for r in first["results"]] == ["7f3c2a10-aaaa", "7f3c2a10-bbbb"]
    kept = stored("tenant-a", ids[0])
    assert kept is not None and kept.created_at == pytest.approx(1738402200.0)  # the source's time is kept

    status, again, _ = batch(call, [*items, {"text": "New one", "external_id": "7f3c2a10-cccc"}])
    assert status == 200 and (again["created"], again["existing"]) == (1, 2)
    assert [r["id"] for r in again["results"][:2]] == ids
    assert [r["status"] for r in again["results"]] == ["exists", "exists", "created"]
    assert stored("tenant-a", ids[0]).text == "Prefers dark mode"  # type: ignore[union-attr]

    # Another tenant with the same external ids gets its own memories.
    status, other, _ = batch(call, items, tenant="tenant-b")
    assert other["created"] == 2 and stored("tenant-b", ids[0]) is not None


def test_an_engram_memory_id_is_kept(call: Any) -> None:
    source_id = "mem_01JBZ8Q7X4N5M6P7Q8R9S0T1V2"
    status, body, _ = batch(call, [{"text": "Kept id", "external_id": source_id}], tenant="tenant-b")
    assert status == 200 and body["results"][0]["id"] == source_id
    assert stored("tenant-b", source_id) is not None
    status, body, _ = call(
        "get_memory",
        "GET",
        f"/v1/memories/{source_id}",
        route="/v1/memories/{id}",
        path_params={"id": source_id},
        tenant="tenant-b",
    )
    assert status == 200 and body["text"] == "Kept id"


def test_created_at_in_the_future_fails_that_item(call: Any) -> None:
    status, body, _ = batch(call, [{"text": "From the future", "created_at": "2999-01-01T00:00:00Z"}, {"text": "Now"}])
    assert status == 200 and [r["status"] for r in body["results"]] == ["failed", "created"]
    assert body["results"][0]["error"]["details"] == [{"field": "created_at", "message": "must not be in the future"}]


@pytest.mark.parametrize(
    ("memories", "status"),
    [([], 422), ([{"text": "x"}] * 101, 422), (None, 422)],
)
def test_the_envelope_is_validated(call: Any, memories: Any, status: int) -> None:
    body = {} if memories is None else {"memories": memories}
    got, out, _ = call("batch_create_memories", "POST", BATCH, body=body)
    assert got == status and out["error"]["code"] == "validation_error"
    assert "request_id" in out
    assert MemoryItem.count() == 0


def test_idempotency_key_replays_the_first_answer(call: Any) -> None:
    headers = {"idempotency-key": "batch-1"}
    first = batch(call, [{"text": "Only once"}], headers=headers)
    second = batch(call, [{"text": "Only once"}], headers=headers)
    assert first[0] == second[0] == 200
    assert first[1] == second[1]
    assert second[2].get("Idempotent-Replayed") == "true"
    assert MemoryItem.count() == 1


def test_auth_is_required(call: Any) -> None:
    status, body, _ = batch(call, [{"text": "x"}], tenant=None)
    assert status == 401 and body["error"]["code"] == "unauthorized"


def test_a_batch_counts_its_memories_on_their_session(call: Any) -> None:
    """Issue 8 defect 1 through the batch route: memory_count is kept with each memory written."""
    status, session, _ = call("create_session", "POST", "/v1/sessions", body={"title": "batch"}, tenant="tenant-a")
    assert status == 201, session
    sid = session["id"]
    status, body, _ = batch(
        call,
        [
            {"text": "The user lives in Lisbon", "session_id": sid},
            {"text": "Deploys happen on Thursdays", "source": {"session_id": sid}},
            {"text": "The user prefers tea"},
        ],
    )
    assert status == 200 and body["created"] == 3, body
    status, got, _ = call(
        "get_session",
        "GET",
        f"/v1/sessions/{sid}",
        route="/v1/sessions/{id}",
        path_params={"id": sid},
        tenant="tenant-a",
    )
    assert status == 200 and got["memory_count"] == 2, got

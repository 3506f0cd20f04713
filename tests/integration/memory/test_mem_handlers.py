"""Every memory endpoint through its lambda_handler, with API Gateway HTTP API v2 events,
against moto tables, a hashing embedder and a local index in a tmp dir."""

from __future__ import annotations

from typing import Any

import pytest

from engram import container, rank
from engram.models.memories import Reinforce
from engram.store.memories import MemoryItem, MissItem, memory_pk, unpack_vector
from tests.support.streams import settle_accesses

MEM = "/v1/memories/{id}"


def create(
    call: Any, text: str = "The user lives in Singapore", tenant: str = "tenant-a", **fields: Any
) -> dict[str, Any]:
    status, body, _ = call("create_memory", "POST", "/v1/memories", body={"text": text, **fields}, tenant=tenant)
    assert status == 201, body
    return body


def stored(tenant: str, memory_id: str) -> MemoryItem:
    return MemoryItem.get(memory_pk(tenant, memory_id), consistent_read=True)


def indexed(service: Any, tenant: str, memory_id: str) -> dict[str, Any] | None:
    return service.core.index().document(tenant, memory_id)


# --- create -------------------------------------------------------------------------------------


def test_create_stores_embeds_and_indexes(call: Any, service: Any) -> None:
    body = create(
        call,
        "I prefer morning meetings, usually around 9am",
        type="preference",
        entities=["meetings"],
        metadata={"k": "v"},
        sessionId="sess_1",
        agent_id="bot",
    )
    assert body["id"].startswith("mem_") and body["type"] == "preference"
    assert body["tier"] == "high" and body["strength"] == 30.0  # preferences start high
    assert body["title"] == "I prefer morning meetings, usually around 9am"
    assert body["session_id"] == "sess_1" and body["agent_id"] == "bot" and body["metadata"] == {"k": "v"}
    item = stored("tenant-a", body["id"])
    assert item.version == 1 and item.tenant_ns == "tenant-a#default" and item.tenant_ns_tier == "tenant-a#default#high"
    assert item.tenant_session == "tenant-a#sess_1" and item.tenant_ns_hash.startswith("tenant-a#default#")
    assert len(unpack_vector(item.embedding) or []) == 384 and item.embedder == "hashing:384"
    doc = indexed(service, "tenant-a", body["id"])
    assert doc is not None and doc["version"] == 1 and doc["tier"] == "high" and doc["session"] == "sess_1"


def test_create_accepts_seed_spellings(call: Any) -> None:
    status, out, _ = call(
        "create_memory",
        "POST",
        "/v1/memories",
        body={
            "content": "My name is John",
            "memoryType": "identity",
            "source": {"session_id": "sess_9", "turn": 2, "extracted": True, "confidence": 0.9},
        },
    )
    assert status == 201
    assert out["text"] == "My name is John" and out["type"] == "identity" and out["tier"] == "critical"
    assert out["source"] == {"session_id": "sess_9", "turn": 2, "message": None, "extracted": True, "confidence": 0.9}
    assert out["session_id"] == "sess_9"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"text": ""}, 422),
        ({"text": "   "}, 422),
        ({"text": "x" * 16_001}, 422),
        ({"text": "ok", "title": "t" * 501}, 422),
        ({"text": "ok", "metadata": {"blob": "x" * 11_000}}, 422),
        ({"text": "ok", "type": "gossip"}, 422),
        ({"text": "ok", "tier": "legendary"}, 422),
        ({"text": "ok", "unknown": 1}, 422),
        ({"text": "ok", "entities": ["e"] * 51}, 422),
        ({"text": "ok", "namespace": "has space"}, 422),
    ],
)
def test_create_rejects_bad_input(call: Any, body: dict[str, Any], status: int) -> None:
    got, out, _ = call("create_memory", "POST", "/v1/memories", body=body)
    assert got == status
    assert out["error"]["code"] == "validation_error" and out["request_id"]
    assert list(MemoryItem.scan()) == []


def test_create_rejects_non_json_and_missing_auth(call: Any) -> None:
    status, out, _ = call("create_memory", "POST", "/v1/memories", raw_body="{not json")
    assert status == 400 and out["error"]["code"] == "bad_request"
    status, out, _ = call("create_memory", "POST", "/v1/memories", body={"text": "x"}, tenant=None)
    assert status == 401 and out["error"]["code"] == "unauthorized"
    assert list(MemoryItem.scan()) == []


def test_create_is_idempotent_with_a_key(call: Any) -> None:
    headers = {"Idempotency-Key": "abc-123"}
    s1, first, _ = call("create_memory", "POST", "/v1/memories", body={"text": "once"}, headers=headers)
    s2, second, h2 = call("create_memory", "POST", "/v1/memories", body={"text": "once"}, headers=headers)
    assert (s1, s2) == (201, 201) and first["id"] == second["id"] and h2.get("Idempotent-Replayed") == "true"
    assert len(list(MemoryItem.scan())) == 1


# --- get / list ---------------------------------------------------------------------------------


def test_get_and_tenant_isolation(call: Any) -> None:
    mem = create(call)
    written = {"action": mem.pop("action"), "conflict_id": mem.pop("conflict_id")}
    assert written == {"action": "created", "conflict_id": None}  # what the write did, on the write only
    status, body, _ = call("get_memory", "GET", f"/v1/memories/{mem['id']}", route=MEM)
    assert status == 200 and body == mem
    for tenant, path in (
        ("tenant-b", mem["id"]),
        ("tenant-a", "mem_01AAAAAAAAAAAAAAAAAAAAAAAA"),
        ("tenant-a", "not-an-id"),
    ):
        status, body, _ = call("get_memory", "GET", f"/v1/memories/{path}", route=MEM, tenant=tenant)
        assert status == 404 and body["error"]["code"] == "not_found"


def test_list_pages_filters_and_isolates(call: Any) -> None:
    ids = [
        create(
            call,
            f"note {i} about cooking",
            namespace="kitchen" if i % 2 else "default",
            type="fact" if i < 3 else "goal",
        )["id"]
        for i in range(5)
    ]
    create(call, "other tenant note", tenant="tenant-b")
    status, page1, _ = call("list_memories", "GET", "/v1/memories", query={"limit": "2"})
    assert status == 200 and page1["total_count"] == 5 and page1["has_more"] is True
    assert [m["id"] for m in page1["data"]] == ids[::-1][:2]  # newest first
    status, page2, _ = call(
        "list_memories", "GET", "/v1/memories", query={"limit": "2", "cursor": page1["next_cursor"]}
    )
    status, page3, _ = call(
        "list_memories", "GET", "/v1/memories", query={"limit": "2", "cursor": page2["next_cursor"]}
    )
    assert [m["id"] for m in page2["data"] + page3["data"]] == ids[::-1][2:]
    assert page3["has_more"] is False and page3["next_cursor"] is None
    _, by_offset, _ = call("list_memories", "GET", "/v1/memories", query={"limit": "2", "offset": "2"})
    assert [m["id"] for m in by_offset["data"]] == ids[::-1][2:4]
    _, kitchen, _ = call("list_memories", "GET", "/v1/memories", query={"namespace": "kitchen"})
    assert sorted(m["id"] for m in kitchen["data"]) == sorted([ids[1], ids[3]]) and kitchen["total_count"] == 2
    _, goals, _ = call("list_memories", "GET", "/v1/memories", query={"type": "goal", "namespace": "kitchen"})
    assert [m["id"] for m in goals["data"]] == [ids[3]]
    _, normal, _ = call("list_memories", "GET", "/v1/memories", query={"tier": "normal", "namespace": "default"})
    assert len(normal["data"]) == 3
    _, other, _ = call("list_memories", "GET", "/v1/memories", tenant="tenant-b")
    assert other["total_count"] == 1 and other["data"][0]["text"] == "other tenant note"


def test_list_by_session_and_agent(call: Any) -> None:
    a = create(call, "from session one", session_id="sess_1", agent_id="bot")
    create(call, "from session two", session_id="sess_2", agent_id="bot")
    _, body, _ = call("list_memories", "GET", "/v1/memories", query={"session_id": "sess_1"})
    assert [m["id"] for m in body["data"]] == [a["id"]]
    _, body, _ = call("list_memories", "GET", "/v1/memories", query={"agent_id": "bot"})
    assert body["total_count"] == 2


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "101"}, {"tier": "gold"}, {"offset": "-1"}])
def test_list_rejects_bad_parameters(call: Any, query: dict[str, str]) -> None:
    status, body, _ = call("list_memories", "GET", "/v1/memories", query=query)
    assert status == 422 and body["error"]["code"] == "validation_error"


def test_list_rejects_foreign_cursor(call: Any) -> None:
    status, body, _ = call("list_memories", "GET", "/v1/memories", query={"cursor": "bm9wZQ"})
    assert status == 400 and body["error"]["code"] == "bad_request"


# --- patch / delete -----------------------------------------------------------------------------


def test_patch_reembeds_text_merges_metadata_and_reindexes(call: Any, service: Any) -> None:
    mem = create(call, "The user drinks coffee", metadata={"a": 1, "b": 2})
    before = stored("tenant-a", mem["id"])
    status, body, _ = call(
        "update_memory",
        "PATCH",
        f"/v1/memories/{mem['id']}",
        route=MEM,
        body={"text": "The user drinks green tea", "metadata": {"b": None, "c": 3}, "entities": ["tea"]},
    )
    assert status == 200
    assert (
        body["text"] == "The user drinks green tea" and body["title"] == "The user drinks green tea"
    )  # derived title follows
    assert body["metadata"] == {"a": 1, "c": 3} and body["entities"] == ["tea"]
    after = stored("tenant-a", mem["id"])
    assert after.version == before.version + 1 and after.embedding != before.embedding
    assert after.tenant_ns_hash != before.tenant_ns_hash
    doc = indexed(service, "tenant-a", mem["id"])
    assert doc is not None and doc["text"] == "The user drinks green tea" and doc["version"] == after.version
    hits = container.search().search("tenant-a", "green tea", threshold=0, record_access=False)
    assert hits and hits[0].id == mem["id"]


def test_patch_namespace_tier_and_type(call: Any) -> None:
    mem = create(call, "Budget is 5k")
    _, body, _ = call(
        "update_memory",
        "PATCH",
        f"/v1/memories/{mem['id']}",
        route=MEM,
        body={"namespace": "finance", "tier": "critical", "type": "constraint"},
    )
    assert (body["namespace"], body["tier"], body["type"], body["strength"]) == (
        "finance",
        "critical",
        "constraint",
        100.0,
    )
    item = stored("tenant-a", mem["id"])
    assert item.tenant_ns == "tenant-a#finance" and item.tenant_ns_tier == "tenant-a#finance#critical"


@pytest.mark.parametrize(("body", "status"), [({}, 422), ({"text": ""}, 422), ({"tier": "x"}, 422), ({"nope": 1}, 422)])
def test_patch_rejects_bad_input(call: Any, body: dict[str, Any], status: int) -> None:
    mem = create(call)
    got, _, _ = call("update_memory", "PATCH", f"/v1/memories/{mem['id']}", route=MEM, body=body)
    assert got == status
    assert stored("tenant-a", mem["id"]).version == 1


def test_patch_other_tenant_is_404(call: Any) -> None:
    mem = create(call)
    status, _, _ = call(
        "update_memory", "PATCH", f"/v1/memories/{mem['id']}", route=MEM, body={"text": "hijack"}, tenant="tenant-b"
    )
    assert status == 404 and stored("tenant-a", mem["id"]).text == "The user lives in Singapore"


def test_delete_removes_from_table_and_index(call: Any, service: Any) -> None:
    mem = create(call)
    status, _, _ = call("delete_memory", "DELETE", f"/v1/memories/{mem['id']}", route=MEM, tenant="tenant-b")
    assert status == 404 and indexed(service, "tenant-a", mem["id"]) is not None
    status, body, _ = call("delete_memory", "DELETE", f"/v1/memories/{mem['id']}", route=MEM)
    receipt = body.pop("receipt")
    assert status == 200 and body == {"id": mem["id"], "deleted": True}
    assert receipt["memories_deleted"] == [mem["id"]] and receipt["index_entries_removed"] == 1
    assert list(MemoryItem.scan()) == [] and indexed(service, "tenant-a", mem["id"]) is None
    status, _, _ = call("delete_memory", "DELETE", f"/v1/memories/{mem['id']}", route=MEM)
    assert status == 404


# --- search -------------------------------------------------------------------------------------


def test_search_ranks_counts_accesses_and_isolates_tenants(call: Any) -> None:
    target = create(call, "The user lives in Singapore and works remotely", entities=["Singapore"])
    create(call, "The user likes jazz music")
    create(call, "Tenant B lives in Singapore too", tenant="tenant-b")
    status, body, _ = call(
        "search_memories",
        "POST",
        "/v1/memories/search",
        body={"query": "Where does the user live? Singapore?", "topK": 5, "threshold": 0.0},
    )
    assert status == 200 and body["threshold"] == 0.0
    assert body["results"][0]["id"] == target["id"] and body["count"] == len(body["results"])
    assert all(r["id"] != "" and "Tenant B" not in r["text"] for r in body["results"])
    assert body["results"][0]["score"] >= body["results"][-1]["score"]
    assert stored("tenant-a", target["id"]).access_count == 0  # the search logged its hits, wrote no memory
    assert settle_accesses() == {"batchItemFailures": []}  # the memories stream counts them
    item = stored("tenant-a", target["id"])
    assert item.access_count == 1 and item.last_accessed_at is not None and item.strength == 1.0
    settle_accesses()  # a redelivered stream counts nothing twice
    assert stored("tenant-a", target["id"]).access_count == 1


def test_search_threshold_filters_and_logs_miss(call: Any) -> None:
    create(call, "The user likes jazz music")
    status, body, _ = call(
        "search_memories",
        "POST",
        "/v1/memories/search",
        body={"query": "favourite restaurant", "threshold": 5, "logMiss": True, "sessionId": "sess_7"},
    )
    assert status == 200 and body["results"] == [] and body["miss_id"].startswith("miss_")
    misses = list(MissItem.query("tenant-a"))
    assert [(m.query_text, m.session_id) for m in misses] == [("favourite restaurant", "sess_7")]


def test_search_filters(call: Any) -> None:
    a = create(call, "coffee in the morning", namespace="habits", type="preference")
    create(call, "coffee beans are from Kenya", namespace="facts")
    _, body, _ = call(
        "search_memories",
        "POST",
        "/v1/memories/search",
        body={"query": "coffee", "namespace": "habits", "threshold": 0},
    )
    assert [r["id"] for r in body["results"]] == [a["id"]]
    _, body, _ = call(
        "search_memories", "POST", "/v1/memories/search", body={"query": "coffee", "tier": "high", "threshold": 0}
    )
    assert [r["id"] for r in body["results"]] == [a["id"]]
    _, body, _ = call(
        "search_memories",
        "POST",
        "/v1/memories/search",
        body={"query": "coffee", "mode": "text", "threshold": 0, "types": ["fact"]},
    )
    assert len(body["results"]) == 1 and body["results"][0]["namespace"] == "facts"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"query": ""},
        {"query": "x", "topK": 0},
        {"query": "x", "top_k": 101},
        {"query": "x", "mode": "magic"},
        {"query": "x", "threshold": -1},
    ],
)
def test_search_rejects_bad_input(call: Any, body: dict[str, Any]) -> None:
    status, out, _ = call("search_memories", "POST", "/v1/memories/search", body=body)
    assert status == 422 and out["error"]["code"] == "validation_error"


# --- explain ------------------------------------------------------------------------------------


def test_explain_terms_add_up_and_nothing_is_counted(call: Any, service: Any) -> None:
    a = create(call, "User is based in Singapore", entities=["Singapore"])
    create(call, "User prefers morning meetings")
    container.feedback().reinforce("tenant-a", a["id"], Reinforce(value=1))
    status, body, _ = call(
        "explain", "POST", "/v1/explain", body={"query": "What timezone is Singapore in?", "threshold": 0.7}
    )
    model = rank.model_for("hashing")  # hybrid explain shows the learned ranker's weights
    assert status == 200 and body["threshold"] == 0.7 and body["breakdown"]["vector_weight"] == model.weights["vector"]
    assert (
        body["breakdown"]["entity_weight"] == model.weights["entities"]
        and body["breakdown"]["access_cap"] == 25
        and body["breakdown"]["embedder"] == "hashing"
    )
    first = body["results"][0]
    assert first["memory_id"] == a["id"] and first["entities_matched"] == 1 and first["feedback_bonus"] > 0
    for r in body["results"]:
        terms = {t["name"]: t["contribution"] for t in r["terms"]}
        assert list(terms)[:3] == ["prior", "vector", "text"] and terms["prior"] == round(rank.sigmoid(model.bias), 6)
        parts = terms["prior"] + terms["coverage"] + terms["name_subject"] + terms["name_unknown"] + terms["date"]
        parts += terms["vector_gap"] + terms["slot"]
        parts += r["vector_term"] + r["text_term"] + r["entity_bonus"] + r["feedback_bonus"] + r["access_bonus"]
        assert round(parts, 6) == r["score"]
        assert round(sum(terms.values()), 6) == r["score"]
        assert r["included"] == (r["score"] >= 0.7)
        assert r["reason"] == f"Score {r['score']:.3f} {'>=' if r['included'] else '<'} threshold 0.7"
    assert body["token_estimate"] >= 0
    assert stored("tenant-a", a["id"]).access_count == 0  # explain never counts as use


def test_explain_one_memory_and_errors(call: Any) -> None:
    a = create(call, "The cat is named Whiskers")
    create(call, "Quarterly taxes are due")
    status, body, _ = call("explain", "POST", "/v1/explain", body={"query": "taxes", "memoryId": a["id"]})
    assert status == 200 and [r["memory_id"] for r in body["results"]] == [a["id"]]
    status, body, _ = call(
        "explain", "POST", "/v1/explain", body={"query": "taxes", "memoryId": a["id"]}, tenant="tenant-b"
    )
    assert status == 404
    status, body, _ = call("explain", "POST", "/v1/explain", body={"memoryId": a["id"]})
    assert status == 422


# --- reinforce / lock ---------------------------------------------------------------------------


def test_reinforce_updates_feedback_and_promotes(call: Any) -> None:
    mem = create(call, "The user is vegetarian")
    for expected in (1, 2):
        status, body, _ = call(
            "reinforce_memory",
            "POST",
            f"/v1/memories/{mem['id']}/reinforce",
            route=MEM + "/reinforce",
            body={"value": 1, "reason": "accurate"},
        )
        assert (
            status == 200
            and body["feedback_score"] == expected
            and body["new_tier"] == "normal"
            and body["message"] == "Memory reinforced."
        )
    _, body, _ = call(
        "reinforce_memory", "POST", f"/v1/memories/{mem['id']}/reinforce", route=MEM + "/reinforce", body={"value": 1}
    )
    assert body == {
        "memory_id": mem["id"],
        "feedback_score": 3,
        "access_count": 0,
        "strength": 15.0,
        "previous_tier": "normal",
        "new_tier": "high",
        "locked": False,
        "promoted": True,
        "demoted": False,
        "message": "Memory reinforced. Promoted to high tier.",
    }
    item = stored("tenant-a", mem["id"])
    assert item.tier == "high" and item.tenant_ns_tier == "tenant-a#default#high" and item.feedback_score == 3
    _, body, _ = call(
        "reinforce_memory", "POST", f"/v1/memories/{mem['id']}/reinforce", route=MEM + "/reinforce", body={"value": -1}
    )
    assert (
        body["demoted"] is True
        and body["new_tier"] == "normal"
        and body["message"] == "Memory weakened. Demoted to normal tier."
    )


@pytest.mark.parametrize("body", [{"value": 2}, {"value": 0}, {}, {"value": 1, "reason": "r" * 1001}])
def test_reinforce_rejects_bad_input(call: Any, body: dict[str, Any]) -> None:
    mem = create(call)
    status, _, _ = call(
        "reinforce_memory", "POST", f"/v1/memories/{mem['id']}/reinforce", route=MEM + "/reinforce", body=body
    )
    assert status == 422 and stored("tenant-a", mem["id"]).feedback_score == 0


def test_reinforce_other_tenant_is_404(call: Any) -> None:
    mem = create(call)
    status, _, _ = call(
        "reinforce_memory",
        "POST",
        f"/v1/memories/{mem['id']}/reinforce",
        route=MEM + "/reinforce",
        body={"value": 1},
        tenant="tenant-b",
    )
    assert status == 404


def test_lock_and_unlock(call: Any, service: Any) -> None:
    mem = create(call)
    status, body, _ = call(
        "lock_memory", "POST", f"/v1/memories/{mem['id']}/lock", route=MEM + "/lock", body={"tier": "critical"}
    )
    assert status == 200 and body == {
        "memory_id": mem["id"],
        "tier": "critical",
        "locked": True,
        "message": "Memory locked at critical tier",
    }
    item = stored("tenant-a", mem["id"])
    assert item.locked and item.tier == "critical" and item.tenant_ns_tier == "tenant-a#default#critical"
    assert indexed(service, "tenant-a", mem["id"])["tier"] == "critical"  # type: ignore[index]
    _, body, _ = call(
        "reinforce_memory", "POST", f"/v1/memories/{mem['id']}/reinforce", route=MEM + "/reinforce", body={"value": -1}
    )
    assert body["new_tier"] == "critical" and body["message"] == "Memory weakened. Tier locked at critical."
    status, body, _ = call("unlock_memory", "DELETE", f"/v1/memories/{mem['id']}/lock", route=MEM + "/lock")
    assert status == 200 and body["locked"] is False and body["tier"] == "normal"
    assert not stored("tenant-a", mem["id"]).locked
    status, _, _ = call(
        "lock_memory", "POST", f"/v1/memories/{mem['id']}/lock", route=MEM + "/lock", body={"tier": "ultra"}
    )
    assert status == 422
    status, _, _ = call(
        "unlock_memory", "DELETE", f"/v1/memories/{mem['id']}/lock", route=MEM + "/lock", tenant="tenant-b"
    )
    assert status == 404


# --- misses -------------------------------------------------------------------------------------


def test_log_and_list_misses(call: Any) -> None:
    from engram import clock

    clock.set_clock(lambda: 1_773_741_600.0)  # 2026-03-17T10:00:00Z
    status, body, _ = call(
        "log_miss",
        "POST",
        "/v1/memories/miss",
        body={"query": "What is the users favorite restaurant?", "sessionId": "sess_xyz", "context": "dinner plans"},
    )
    assert status == 201 and body["logged"] is True and body["miss_id"].startswith("miss_")
    clock.set_clock(lambda: 1_773_741_600.0 + 86400)
    call("log_miss", "POST", "/v1/memories/miss", body={"query": "Where did they travel?"})
    call("log_miss", "POST", "/v1/memories/miss", body={"query": "Who is Ann?"}, tenant="tenant-b")
    status, body, _ = call("list_misses", "GET", "/v1/memories/misses")
    assert status == 200 and body["count"] == 2 and body["total_count"] == 2
    assert [m["query"] for m in body["misses"]] == ["Where did they travel?", "What is the users favorite restaurant?"]
    assert body["misses"][1] == {
        "id": body["misses"][1]["id"],
        "query": "What is the users favorite restaurant?",
        "session_id": "sess_xyz",
        "context": "dinner plans",
        "namespaces": [],
        "created_at": "2026-03-17T10:00:00Z",
    }
    assert body["data"] == body["misses"]
    _, body, _ = call("list_misses", "GET", "/v1/memories/misses", query={"since": "2026-03-18"})
    assert [m["query"] for m in body["misses"]] == ["Where did they travel?"]
    _, body, _ = call("list_misses", "GET", "/v1/memories/misses", query={"limit": "1"})
    assert body["count"] == 1 and body["has_more"] is True and body["next_cursor"]
    _, body, _ = call("list_misses", "GET", "/v1/memories/misses", query={"limit": "1", "cursor": body["next_cursor"]})
    assert [m["query"] for m in body["misses"]] == ["What is the users favorite restaurant?"]


@pytest.mark.parametrize(
    ("fn", "method", "path", "kwargs"),
    [
        ("log_miss", "POST", "/v1/memories/miss", {"body": {}}),
        ("log_miss", "POST", "/v1/memories/miss", {"body": {"query": "x", "context": "c" * 4001}}),
        ("list_misses", "GET", "/v1/memories/misses", {"query": {"since": "yesterday"}}),
        ("list_misses", "GET", "/v1/memories/misses", {"query": {"limit": "0"}}),
    ],
)
def test_misses_reject_bad_input(call: Any, fn: str, method: str, path: str, kwargs: dict[str, Any]) -> None:
    status, body, _ = call(fn, method, path, **kwargs)
    assert status == 422 and body["error"]["code"] == "validation_error"

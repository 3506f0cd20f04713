"""GET /v1/memories/misses/clusters and POST /v1/memories/misses/replay through their handlers,
against moto tables, the hashing embedder and a local index."""

from __future__ import annotations

from typing import Any

import pytest

from engram.store.memories import MissItem

CI = ["What CI provider do we use?", "Which CI provider do we use?"]
COLOUR = "What is the user's favourite colour?"


def miss(call: Any, query: str, tenant: str = "tenant-a", **fields: Any) -> str:
    status, body, _ = call("log_miss", "POST", "/v1/memories/miss", body={"query": query, **fields}, tenant=tenant)
    assert status == 201, body
    return str(body["miss_id"])


def test_clusters_group_misses_by_meaning_per_tenant(call: Any) -> None:
    first = miss(call, CI[0], namespace="work")
    second = miss(call, CI[1], namespace="work")
    colour = miss(call, COLOUR)
    miss(call, CI[0], tenant="tenant-b")
    status, body, _ = call("miss_clusters", "GET", "/v1/memories/misses/clusters")
    assert status == 200, body
    assert [(c["id"], c["count"]) for c in body["data"]] == [(first, 2), (colour, 1)]
    ci = body["data"][0]
    assert ci["representative"] in CI and [e["id"] for e in ci["examples"]] == [second, first]
    assert ci["namespaces"] == ["work"] and ci["examples"][0]["namespaces"] == ["work"]
    assert body["total_count"] == 2 and body["misses_considered"] == 3 and body["similarity"] == 0.6
    assert MissItem.get("tenant-a", first).namespaces == ["work"]  # stored with the miss
    _, page, _ = call("miss_clusters", "GET", "/v1/memories/misses/clusters", query={"limit": "1"})
    assert page["has_more"] and [c["id"] for c in page["data"]] == [first]
    _, rest, _ = call(
        "miss_clusters", "GET", "/v1/memories/misses/clusters", query={"limit": "1", "cursor": page["next_cursor"]}
    )
    assert [c["id"] for c in rest["data"]] == [colour] and not rest["has_more"]
    _, other, _ = call("miss_clusters", "GET", "/v1/memories/misses/clusters", tenant="tenant-b")
    assert [c["count"] for c in other["data"]] == [1] and other["data"][0]["id"] not in {first, colour}


def test_replay_says_which_misses_memory_answers_now(call: Any) -> None:
    status, searched, _ = call(
        "search_memories", "POST", "/v1/memories/search", body={"query": CI[0], "namespace": "work", "log_miss": True}
    )
    assert status == 200 and searched["miss_id"], searched
    colour = miss(call, COLOUR)
    status, before, _ = call("replay_misses", "POST", "/v1/memories/misses/replay", body={})
    assert status == 200, before
    assert (before["replayed"], before["answered"], before["unanswered"]) == (2, 0, 2)
    created = call(
        "create_memory",
        "POST",
        "/v1/memories",
        body={"text": "We use the CI provider GitHub Actions", "namespace": "work"},
    )[1]
    call(
        "create_memory",
        "POST",
        "/v1/memories",
        body={"text": "Favourite colour: teal", "namespace": "home"},
        tenant="tenant-b",
    )
    _, after, _ = call("replay_misses", "POST", "/v1/memories/misses/replay", body={})
    rows = {r["miss_id"]: r for r in after["data"]}
    assert (after["replayed"], after["answered"], after["unanswered"]) == (2, 1, 1)
    ci = rows[searched["miss_id"]]
    assert ci["answered"] and ci["namespaces"] == ["work"] and ci["top"]["memory_id"] == created["id"]
    assert ci["top"]["score"] >= after["threshold"] == 0.7
    assert not rows[colour]["answered"]  # tenant-b's colour memory is not tenant-a's
    _, clusters, _ = call("miss_clusters", "GET", "/v1/memories/misses/clusters")
    cluster_id = next(c["id"] for c in clusters["data"] if c["representative"] == COLOUR)
    _, one, _ = call("replay_misses", "POST", "/v1/memories/misses/replay", body={"cluster_id": cluster_id})
    assert [r["miss_id"] for r in one["data"]] == [colour]
    _, theirs, _ = call("replay_misses", "POST", "/v1/memories/misses/replay", body={}, tenant="tenant-b")
    assert theirs["replayed"] == 0 and theirs["data"] == []
    status, body, _ = call(
        "replay_misses", "POST", "/v1/memories/misses/replay", body={"cluster_id": cluster_id}, tenant="tenant-b"
    )
    assert status == 404 and body["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("fn", "method", "path", "kwargs", "code"),
    [
        ("miss_clusters", "GET", "/v1/memories/misses/clusters", {"query": {"since": "yesterday"}}, 422),
        ("miss_clusters", "GET", "/v1/memories/misses/clusters", {"query": {"similarity": "1.5"}}, 422),
        ("miss_clusters", "GET", "/v1/memories/misses/clusters", {"query": {"limit": "0"}}, 422),
        ("miss_clusters", "GET", "/v1/memories/misses/clusters", {"query": {"cursor": "bogus"}}, 400),
        ("miss_clusters", "GET", "/v1/memories/misses/clusters", {"query": {"namespace": "a b/c"}}, 422),
        ("replay_misses", "POST", "/v1/memories/misses/replay", {"body": {"limit": 0}}, 422),
        ("replay_misses", "POST", "/v1/memories/misses/replay", {"body": {"limit": 101}}, 422),
        (
            "replay_misses",
            "POST",
            "/v1/memories/misses/replay",
            {"body": {"since": "2026-03-02", "until": "2026-03-01"}},
            422,
        ),
        ("replay_misses", "POST", "/v1/memories/misses/replay", {"body": {"unknown": 1}}, 422),
        ("replay_misses", "POST", "/v1/memories/misses/replay", {"raw_body": "{not json"}, 400),
    ],
)
def test_miss_review_rejects_bad_input(
    call: Any, fn: str, method: str, path: str, kwargs: dict[str, Any], code: int
) -> None:
    miss(call, CI[0])
    status, body, _ = call(fn, method, path, **kwargs)
    assert status == code, body
    assert set(body) == {"error", "request_id"} and body["error"]["message"]
    assert MissItem.count("tenant-a") == 1  # nothing stored or removed

"""Memory that stays true, over HTTP through the local server: a move supersedes a residence;
a locked memory lands in the review queue; a session deleted with cascade returns a receipt that
matches what is gone, and what is gone is gone from DynamoDB and the index."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from engram.testing.server import LocalServer

pytestmark = pytest.mark.e2e
KEY = "egm_e2e_governance_key_0123456789ab"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalServer]:
    srv = LocalServer(tmp_path / "data", KEY, env={"ENGRAM_RATE_LIMIT_PER_MINUTE": "1000"}).start()
    yield srv
    if srv.process is not None:
        srv.stop()


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _memory_items(server: LocalServer) -> dict[str, dict[str, Any]]:
    """The memory items of the memories table as DynamoDB holds them (the server's own moto, found
    by runtime.json). The table also holds a start's or search's access logs until the stream
    consumer settles them; those have no ``memory_id`` and are left out."""
    runtime = json.loads((server.data_dir / "runtime.json").read_text())
    env = runtime["env"]
    client = boto3.client(
        "dynamodb",
        endpoint_url=env["AWS_ENDPOINT_URL_DYNAMODB"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    items = client.scan(TableName=env["ENGRAM_MEMORIES_TABLE"])["Items"]
    return {item["memory_id"]["S"]: item for item in items if "memory_id" in item}


def test_a_move_supersedes_a_residence(server: LocalServer) -> None:
    old = _ok(server.request("POST", "/v1/memories", json={"text": "I live in Singapore", "type": "identity"}), 201)
    new = _ok(
        server.request("POST", "/v1/memories", json={"text": "I moved to Berlin last month", "type": "identity"}), 201
    )
    assert new["action"] == "superseded" and new["supersedes"] == [old["id"]]
    stored = _ok(server.request("GET", f"/v1/memories/{old['id']}"))
    assert stored["superseded"] is True and stored["superseded_by"] == new["id"] and stored["valid_until"]
    hits = _ok(
        server.request("POST", "/v1/memories/search", json={"query": "Where does the user live", "threshold": 0})
    )
    assert old["id"] not in [h["id"] for h in hits["results"]] and new["id"] in [h["id"] for h in hits["results"]]
    marked = _ok(
        server.request(
            "POST",
            "/v1/memories/search",
            json={"query": "Where does the user live", "threshold": 0, "include_superseded": True},
        )
    )
    assert {h["id"]: h["superseded"] for h in marked["results"]}[old["id"]] is True
    assert [m["id"] for m in _ok(server.request("GET", "/v1/memories"))["data"]] == [new["id"]]
    listed = _ok(server.request("GET", "/v1/memories", params={"include_superseded": "true"}))
    assert [(m["id"], m["superseded"]) for m in listed["data"]] == [(new["id"], False), (old["id"], True)]
    started = _ok(server.request("POST", "/v1/sessions/start", json={"firstMessage": "Where do I live?"}), 201)
    context_ids = [m["id"] for group in started["context"].values() if isinstance(group, list) for m in group]
    assert new["id"] in context_ids and old["id"] not in context_ids
    history = _ok(server.request("GET", f"/v1/memories/{old['id']}/history"))
    assert [e["change"] for e in history["data"]] == ["superseded", "created"]


def test_a_locked_memory_lands_in_the_review_queue(server: LocalServer) -> None:
    old = _ok(server.request("POST", "/v1/memories", json={"text": "I work at Acme", "type": "identity"}), 201)
    _ok(server.request("POST", f"/v1/memories/{old['id']}/lock", json={"tier": "critical"}))
    new = _ok(server.request("POST", "/v1/memories", json={"text": "I joined Globex", "type": "identity"}), 201)
    assert new["action"] == "conflict" and new["conflict_id"]
    queue = _ok(server.request("GET", "/v1/memories/conflicts"))
    assert [(c["id"], c["old_memory_id"], c["new_memory_id"], c["why_review"]) for c in queue["data"]] == [
        (new["conflict_id"], old["id"], new["id"], "locked")
    ]
    assert _ok(server.request("GET", f"/v1/memories/{old['id']}"))["superseded"] is False
    bad = server.request("POST", f"/v1/memories/conflicts/{new['conflict_id']}/resolve", json={"resolution": "maybe"})
    assert bad.status_code in (400, 422) and set(bad.json()) == {"error", "request_id"}
    done = _ok(
        server.request("POST", f"/v1/memories/conflicts/{new['conflict_id']}/resolve", json={"resolution": "keep_new"})
    )
    assert done["status"] == "resolved" and done["old_memory"]["superseded_by"] == new["id"]
    again = server.request(
        "POST", f"/v1/memories/conflicts/{new['conflict_id']}/resolve", json={"resolution": "keep_old"}
    )
    assert again.status_code == 409 and again.json()["error"]["code"]
    assert _ok(server.request("GET", "/v1/memories/conflicts"))["data"] == []


def test_cascade_delete_answers_a_receipt_that_matches_what_is_gone(server: LocalServer) -> None:
    from engram.index.local import LocalIndex

    sid = _ok(server.request("POST", "/v1/sessions", json={"name": "to forget"}), 201)["id"]
    other = _ok(server.request("POST", "/v1/sessions", json={"name": "to keep"}), 201)["id"]
    _ok(
        server.request("POST", f"/v1/sessions/{sid}/messages", json={"messages": [{"role": "user", "content": "hi"}]}),
        201,
    )
    only = _ok(server.request("POST", "/v1/memories", json={"text": "My cat is called Miso", "session_id": sid}), 201)
    shared = _ok(server.request("POST", "/v1/memories", json={"text": "I like hiking", "session_id": sid}), 201)
    _ok(server.request("POST", "/v1/memories", json={"text": "I like hiking", "session_id": other}), 201)
    stays = _ok(server.request("POST", "/v1/memories", json={"text": "I have a dog", "session_id": other}), 201)
    before = _memory_items(server)
    assert {only["id"], shared["id"]} <= set(before)

    out = _ok(server.request("DELETE", f"/v1/sessions/{sid}", params={"cascade_memories": "true", "purge": "true"}))
    receipt = out["receipt"]
    assert receipt["memories_deleted"] == [only["id"]]
    assert receipt["memories_kept"] == [{"id": shared["id"], "reason": f"also from {other}"}]
    assert receipt["messages_purged"] == 1 and receipt["index_entries_removed"] == 1

    after = _memory_items(server)
    assert only["id"] not in after and shared["id"] in after and stays["id"] in after
    assert _ok(server.request("GET", f"/v1/memories/{shared['id']}"))["session_id"] is None
    assert server.request("GET", f"/v1/memories/{only['id']}").status_code == 404
    log = _ok(server.request("GET", "/v1/deletions"))
    assert [r["id"] for r in log["data"]] == [receipt["id"]] and "Miso" not in json.dumps(log)

    deleted = _ok(server.request("DELETE", f"/v1/memories/{shared['id']}"))
    assert deleted["receipt"]["memories_deleted"] == [shared["id"]]
    assert _ok(server.request("GET", "/v1/deletions"))["data"][0]["id"] == deleted["receipt"]["id"]
    runtime = json.loads((server.data_dir / "runtime.json").read_text())
    server.stop()
    index = LocalIndex(runtime["env"]["ENGRAM_DATA_DIR"])
    assert index.document("local", stays["id"]) is not None  # the index that was read is the server's
    assert index.document("local", only["id"]) is None and index.document("local", shared["id"]) is None


def test_governance_endpoints_refuse_bad_input_and_other_tenants(server: LocalServer) -> None:
    mem = _ok(server.request("POST", "/v1/memories", json={"text": "My name is Ada", "type": "identity"}), 201)
    for method, path, params in (
        ("GET", "/v1/memories/conflicts", {"status": "nope"}),
        ("GET", "/v1/memories/conflicts", {"limit": "0"}),
        ("GET", "/v1/deletions", {"cursor": "not-a-cursor"}),
        ("GET", f"/v1/memories/{mem['id']}/history", {"limit": "1000"}),
    ):
        response = server.request(method, path, params=params)
        assert 400 <= response.status_code < 500, (path, response.text)
        assert set(response.json()) == {"error", "request_id"}
    assert server.request("GET", "/v1/memories/mem_01JBZ9A2C3D4E5F6G7H8J9K0M1/history").status_code == 404
    assert (
        server.request("POST", "/v1/memories/conflicts/cfl_nope/resolve", json={"resolution": "keep_new"}).status_code
        == 404
    )
    assert server.request("GET", "/v1/deletions", key=None).status_code == 401


def _context(answer: dict[str, Any]) -> dict[str, bool]:
    return {m["id"]: m["superseded"] for group in ("critical", "high") for m in answer[group]}


def test_superseded_memories_stay_out_of_start_refresh_and_totals_and_come_back_on_delete(
    server: LocalServer,
) -> None:
    old = _ok(server.request("POST", "/v1/memories", json={"text": "I live in Singapore", "type": "identity"}), 201)
    new = _ok(
        server.request("POST", "/v1/memories", json={"text": "I moved to Berlin last month", "type": "identity"}), 201
    )
    _ok(server.request("POST", "/v1/memories", json={"text": "I have a dog"}), 201)
    assert _ok(server.request("GET", "/v1/memories", params={"limit": 1}))["total_count"] == 2
    every = _ok(server.request("GET", "/v1/memories", params={"limit": 1, "include_superseded": "true"}))
    assert every["total_count"] == 3

    started = _ok(server.request("POST", "/v1/sessions/start", json={"firstMessage": "Where do I live?"}), 201)
    assert _context(started["context"]) == {new["id"]: False}
    marked = _ok(
        server.request(
            "POST", "/v1/sessions/start", json={"firstMessage": "Where do I live?", "include_superseded": True}
        ),
        201,
    )
    assert _context(marked["context"]) == {new["id"]: False, old["id"]: True}
    sid = marked["session_id"]
    turn = {"messages": [{"role": "user", "content": "Where do I live?"}]}
    plain = _ok(server.request("POST", f"/v1/sessions/{sid}/turn", json={**turn, "turn_number": 5}))
    assert plain["refresh_needed"] and _context(plain["new_context"]) == {new["id"]: False}
    both = _ok(
        server.request("POST", f"/v1/sessions/{sid}/turn", json={**turn, "turn_number": 10, "includeSuperseded": True})
    )
    assert _context(both["new_context"]) == {new["id"]: False, old["id"]: True}
    bad = server.request("POST", "/v1/sessions/start", json={"include_superseded": "maybe"})
    assert bad.status_code in (400, 422) and set(bad.json()) == {"error", "request_id"}

    deleted = _ok(server.request("DELETE", f"/v1/memories/{new['id']}"))
    assert deleted["receipt"]["memories_restored"] == [old["id"]]
    back = _ok(server.request("GET", f"/v1/memories/{old['id']}"))
    assert back["superseded"] is False and back["valid_until"] is None and back["superseded_by"] is None
    assert _ok(server.request("GET", f"/v1/memories/{old['id']}/history"))["data"][0]["change"] == "reinstated"
    assert _ok(server.request("GET", "/v1/deletions"))["data"][0]["memories_restored"] == [old["id"]]
    item = _memory_items(server)[old["id"]]
    assert "superseded_by" not in item and "valid_until" not in item and "tenant_ns_slot" in item
    again = _ok(server.request("POST", "/v1/sessions/start", json={"firstMessage": "Where do I live?"}), 201)
    assert old["id"] in _context(again["context"])


def test_editing_a_memory_rereads_its_fact_slot(server: LocalServer) -> None:
    home = _ok(server.request("POST", "/v1/memories", json={"text": "I live in Singapore", "type": "identity"}), 201)
    pet = _ok(server.request("POST", "/v1/memories", json={"text": "I have a dog", "type": "identity"}), 201)
    moved = _ok(server.request("PATCH", f"/v1/memories/{pet['id']}", json={"text": "I moved to Lisbon this year"}))
    assert moved["action"] == "superseded" and moved["supersedes"] == [home["id"]]
    assert _ok(server.request("GET", f"/v1/memories/{home['id']}"))["superseded_by"] == pet["id"]
    assert [m["id"] for m in _ok(server.request("GET", "/v1/memories"))["data"]] == [pet["id"]]
    undone = _ok(server.request("PATCH", f"/v1/memories/{pet['id']}", json={"text": "I have a cat"}))
    assert undone["action"] == "edited" and undone["restored"] == [home["id"]] and undone["supersedes"] == []
    assert _ok(server.request("GET", f"/v1/memories/{home['id']}"))["superseded"] is False
    history = _ok(server.request("GET", f"/v1/memories/{pet['id']}/history"))["data"]
    assert [e["change"] for e in history] == ["supersedes", "edited", "supersedes", "edited", "created"]
    assert history[1]["fields"]["slot"] == "user|has:cat" and history[3]["fields"]["slot"] == "user|residence"


def test_extracted_memories_record_the_turn_they_came_from_and_the_cascade_follows(server: LocalServer) -> None:
    def session_with(*said: str) -> str:
        sid = _ok(server.request("POST", "/v1/sessions", json={}), 201)["id"]
        for text in said:
            messages = [{"role": "user", "content": text}, {"role": "assistant", "content": "Noted."}]
            _ok(server.request("POST", f"/v1/sessions/{sid}/turn", json={"messages": messages}))
        _ok(server.request("POST", f"/v1/sessions/{sid}/end", json={"extractMemories": True}))
        return sid

    def extracted(sid: str) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = _ok(server.request("GET", "/v1/memories", params={"session_id": sid}))["data"]
            if found:
                return list(found)
            time.sleep(0.2)
        raise AssertionError("nothing extracted in time")

    first = session_with("Hello there.", "My name is Ada Lovelace.")
    [name] = extracted(first)
    assert name["sources"] == [{"session_id": first, "turn": 2, "message": 3}]
    assert (name["source"]["turn"], name["source"]["message"]) == (2, 3)
    second = session_with("My name is Ada Lovelace.")
    deadline = time.monotonic() + 20
    while len(_ok(server.request("GET", f"/v1/memories/{name['id']}"))["sources"]) < 2:
        assert time.monotonic() < deadline, "not reinforced in time"
        time.sleep(0.2)
    assert _ok(server.request("GET", f"/v1/memories/{name['id']}"))["sources"] == [
        {"session_id": first, "turn": 2, "message": 3},
        {"session_id": second, "turn": 1, "message": 1},
    ]
    out = _ok(server.request("DELETE", f"/v1/sessions/{first}", params={"cascade_memories": "true"}))
    assert out["receipt"]["memories_deleted"] == []
    assert out["receipt"]["memories_kept"] == [{"id": name["id"], "reason": f"also from {second}"}]
    assert _ok(server.request("GET", f"/v1/memories/{name['id']}"))["sources"] == [
        {"session_id": second, "turn": 1, "message": 1}
    ]

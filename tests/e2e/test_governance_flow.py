"""Memory that stays true, over HTTP through the local server: a move supersedes a residence;
a locked memory lands in the review queue; a session deleted with cascade returns a receipt that
matches what is gone, and what is gone is gone from DynamoDB and the index."""

from __future__ import annotations

import json
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
    """The memories table as DynamoDB holds it (the server's own moto, found by runtime.json)."""
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
    return {item["memory_id"]["S"]: item for item in items}


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

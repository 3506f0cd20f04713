"""engram_client against the real local server: every resource, errors, cursors, idempotent retries."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from engram.testing.server import LocalServer
from engram_client import AsyncEngram, Engram, InvalidRequest, NotFound, Unauthorized, models


@pytest.fixture
def client(server: LocalServer) -> Engram:
    return Engram(server.url, server.api_key)


def ns() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def test_sessions_resource_round_trip(client: Engram) -> None:
    key = f"telegram:{uuid.uuid4().int % 10**9}"
    started = client.sessions.start(first_message="Planning the Lisbon trip", key=key, agent_id="planner")
    assert isinstance(started, models.StartSessionOut) and started.session.key == key
    sid = started.session_id

    turn = client.sessions.turn(key, [{"role": "user", "content": "Book a window seat"}], turn_number=1)
    assert turn.session_id == sid and turn.turn_number == 1
    added = client.sessions.messages.add(sid, [{"role": "assistant", "content": "Done"}])
    assert added.message_count == 2
    page = client.sessions.messages.list(sid, limit=1)
    assert [m.content for m in page.data] == ["Book a window seat"] and page.has_more
    assert [m.content for m in client.iter_messages(sid, page_size=1)] == ["Book a window seat", "Done"]

    again = client.sessions.get_or_create(key, agent_id="reviewer")
    assert again.id == sid and again.created is False and "reviewer" in again.contributors
    client.sessions.context.replace(sid, {"step": 2})
    client.sessions.update(sid, title="Lisbon", metadata={"team": "travel"})
    got = client.sessions.get(key, include_messages=True)
    assert got.title == "Lisbon" and got.context == {"step": 2} and got.metadata == {"team": "travel"}
    assert [m.role for m in got.messages or []] == ["user", "assistant"]
    assert sid in [s.id for s in client.iter_sessions(agent_id="planner")]

    ended = client.sessions.end(sid, outcome="success", summary="Seat booked")
    assert ended.status == "ended" and ended.outcome == "success"
    assert client.sessions.summarize(sid).session_id == sid
    exported = client.sessions.export(sid)
    assert exported["session"]["id"] == sid and len(exported["messages"]) == 2

    other = client.sessions.create(project="travel")
    closed = client.sessions.close(other.id, summary="Nothing happened")
    assert closed.status == "closed"
    deleted = client.sessions.delete(other.id)
    assert deleted.deleted is True
    with pytest.raises(NotFound):
        client.sessions.get(other.id)


def test_memories_resource_round_trip(client: Engram) -> None:
    space = ns()
    memory = client.memories.create("The user is allergic to peanuts", namespace=space, type="constraint")
    assert memory.tier == "high" and client.memories.get(memory.id).text == memory.text
    edited = client.memories.update(memory.id, entities=["peanuts"], metadata={"source": "chat"})
    assert edited.entities == ["peanuts"] and edited.metadata == {"source": "chat"}

    found = client.memories.search("peanut allergy", namespace=space, threshold=0.0)
    assert memory.id in [hit.id for hit in found.results]
    explained = client.memories.explain("peanut allergy", memory_id=memory.id, namespace=space)
    assert explained.results[0].memory_id == memory.id
    assert client.memories.reinforce(memory.id, 1, reason="helpful").feedback_score == 1
    assert client.memories.lock(memory.id, "critical").locked is True
    assert client.memories.get(memory.id).tier == "critical"
    assert client.memories.unlock(memory.id).locked is False

    batch = client.memories.batch_create(
        [{"text": "Flies economy", "namespace": space}, {"text": ""}, models.BatchMemory(text="Likes aisle seats")]
    )
    assert [r.status for r in batch.results] == ["created", "failed", "created"]
    assert {m.id for m in client.iter_memories(namespace=space, page_size=1)} == {memory.id, batch.results[0].id}

    miss = client.memories.miss("What is the user's blood type?", context="intake form")
    assert miss.logged and miss.miss_id in [m.id for m in client.iter_misses()]
    assert client.memories.misses(limit=1).count == 1

    suggestions = client.extract([{"role": "user", "content": "I prefer morning meetings"}])
    assert suggestions.suggestions and suggestions.saved == 0

    assert client.memories.delete(memory.id).deleted is True
    with pytest.raises(NotFound) as caught:
        client.memories.get(memory.id)
    assert caught.value.status == 404 and caught.value.code == "not_found" and caught.value.request_id


def test_miss_clusters_and_replay(client: Engram) -> None:
    space = ns()
    asked = ["Which CI provider do we use?", "What CI provider do we use?"]
    ids = [client.memories.miss(q, namespace=space).miss_id for q in asked]
    clusters = client.memories.miss_clusters(namespace=space, examples=5)
    ci = next(c for c in clusters.data if c.id == ids[0])
    assert ci.count == 2 and [e.id for e in ci.examples] == ids[::-1] and ci.namespaces == [space]
    before = client.memories.replay_misses(cluster_id=ci.id, namespace=space)
    assert before.replayed == 2 and before.answered == 0
    memory = client.memories.create("We use the CI provider GitHub Actions", namespace=space)
    after = client.memories.replay_misses(cluster_id=ci.id, namespace=space)
    assert after.answered == 2 and {r.top.memory_id for r in after.data if r.top} == {memory.id}
    with pytest.raises(NotFound):
        client.memories.replay_misses(cluster_id="miss_nope", namespace=space)


def test_errors_carry_status_code_and_details(server: LocalServer, client: Engram) -> None:
    with pytest.raises(InvalidRequest) as invalid:
        client.memories.create("x", tier="bogus")  # type: ignore[arg-type]
    assert invalid.value.status == 422 and invalid.value.details[0]["field"] == "tier"
    with pytest.raises(Unauthorized) as denied:
        Engram(server.url, "egm_not_a_key").memories.list()
    assert denied.value.status == 401 and denied.value.code == "unauthorized"


def test_a_lost_answer_is_retried_with_the_same_idempotency_key(server: LocalServer) -> None:
    """The first POST reaches the server, its answer is lost; the retry is replayed, not re-run."""
    seen: list[str] = []

    class LosesFirstAnswer(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = super().handle_request(request)
            seen.append(request.headers.get("idempotency-key", ""))
            if len(seen) == 1:
                response.read()
                raise httpx.ReadError("connection reset", request=request)
            return response

    space = ns()
    client = Engram(server.url, server.api_key, transport=LosesFirstAnswer())
    memory = client.memories.create("Written exactly once", namespace=space)
    assert len(seen) == 2 and seen[0] == seen[1] and seen[0].startswith("engram-client-")
    listed = Engram(server.url, server.api_key).memories.list(namespace=space)
    assert [m.id for m in listed.data] == [memory.id]


def test_async_client_mirrors_the_sync_one(server: LocalServer) -> None:
    space = ns()

    async def scenario() -> dict[str, Any]:
        async with AsyncEngram(server.url, server.api_key) as client:
            created = await client.memories.create("Async memories work too", namespace=space)
            batch = await client.memories.batch_create([{"text": f"item {i}", "namespace": space} for i in range(3)])
            listed = [m.id async for m in client.iter_memories(namespace=space, page_size=2)]
            session = await client.sessions.start(first_message="hello", namespace=space)
            ended = await client.sessions.end(session.session_id, outcome="partial")
            try:
                await client.memories.get("mem_01JBZ8Q7X4N5M6P7Q8R9S0T1V2")
            except NotFound as exc:
                missing = exc.status
            return {"created": created, "batch": batch, "listed": listed, "ended": ended, "missing": missing}

    out = asyncio.run(scenario())
    assert out["batch"].created == 3
    assert set(out["listed"]) == {out["created"].id, *(r.id for r in out["batch"].results)}
    assert out["ended"].outcome == "partial" and out["missing"] == 404

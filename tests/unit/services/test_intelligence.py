"""Turns, context injection, summaries, the session stream, the sweeper and keys, on the fakes."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from engram import errors
from engram.models.intelligence import ExtractRequest, RecordTurn, StartSession
from engram.models.memories import UpdateMemory
from engram.models.sessions import AppendMessages, CreateSession, EndSession
from engram.testing.world import World

from .conftest import T0, TENANT


def turn(world: World, sid: str, n: int | None, text: str = "hello", used: list[str] | None = None) -> Any:
    body = {"messages": [{"role": "user", "content": text}], "memories_used": used or []}
    if n is not None:
        body["turn_number"] = n
    return world.intelligence.record_turn(TENANT, sid, RecordTurn.model_validate(body))


def stream_record(name: str, new: dict[str, Any] | None = None, old: dict[str, Any] | None = None) -> Any:
    """What the handler reads of a Powertools DynamoDBRecord: the images and the event name."""
    return SimpleNamespace(dynamodb=SimpleNamespace(new_image=new, old_image=old), raw_event={"eventName": name})


def test_start_injects_critical_memories_within_the_budget(world: World) -> None:
    who = world.memories.create_memory(TENANT, text="My name is Ada", type="identity")
    world.memories.create_memory(TENANT, text="Elsewhere", type="identity", namespace="work")
    out = world.intelligence.start(TENANT, StartSession.model_validate({"first_message": "hi"}))
    assert [m.id for m in out.context.critical] == [who.id] and out.stats.critical_count == 1
    assert [log.memory_ids for log in world.memory_repo.pending_accesses()] == [(who.id,)]  # one write
    assert world.settle_accesses() == 1  # what the memories stream does with the log
    assert world.memory_repo.get(TENANT, who.id).access_count == 1  # type: ignore[union-attr]
    tiny = world.intelligence.start(TENANT, StartSession.model_validate({"token_budget": 50}))
    assert tiny.stats.tokens_injected <= 50


def test_turns_are_numbered_replayed_and_refused_when_different(world: World) -> None:
    mem = world.memories.create_memory(TENANT, text="Prefers dark mode")
    sid = world.sessions.create(TENANT, CreateSession()).id
    first = turn(world, sid, None, used=[mem.id])
    assert first.turn_number == 1 and first.message_count == 1 and not first.refresh_needed
    replay = turn(world, sid, 2, "again")
    assert turn(world, sid, 2, "again") == replay  # a retry answers the first answer, writes nothing
    assert world.session_repo.get(TENANT, sid).message_count == 2  # type: ignore[union-attr]
    with pytest.raises(errors.Conflict):
        turn(world, sid, 2, "something else")
    stored = world.session_repo.get(TENANT, sid)
    assert stored is not None and stored.memories_used == {mem.id} and stored.turn_count == 2
    assert world.settle_accesses() == 1 and world.settle_accesses() == 0  # logged with turn 1 only
    assert world.memory_repo.get(TENANT, mem.id).access_count == 1  # type: ignore[union-attr]


def test_turns_and_end_take_any_memory_id_and_credit_only_the_tenants_own(world: World) -> None:
    """Seed ids (``mem_h1``), well-formed ids that do not exist and other tenants' ids are
    accepted and answered as ``unknown_memories``; only this tenant's memories are credited."""
    mine = world.memories.create_memory(TENANT, text="Prefers REST over GraphQL")
    later = world.memories.create_memory(TENANT, text="Deploys on Fridays")
    theirs = world.memories.create_memory("tenant_b", text="Another tenant's memory")
    absent = "mem_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    sid = world.sessions.create(TENANT, CreateSession()).id
    out = turn(world, sid, 1, used=[mine.id, "mem_h1", theirs.id, absent, mine.id])
    assert out.memories_used == [mine.id] and out.unknown_memories == ["mem_h1", theirs.id, absent]
    stored = world.session_repo.get(TENANT, sid)
    assert stored is not None and stored.memories_used == {mine.id}
    assert turn(world, sid, 1, used=[mine.id, "mem_h1", theirs.id, absent, mine.id]) == out  # replayed as is
    assert world.settle_accesses() == 1  # one access logged, by the first turn only, for mine only
    assert world.memory_repo.get(TENANT, mine.id).access_count == 1  # type: ignore[union-attr]
    assert world.memory_repo.get("tenant_b", theirs.id).access_count == 0  # type: ignore[union-attr]
    with pytest.raises(ValidationError):  # bounded: an id is a short string, not a document
        RecordTurn.model_validate({"messages": [{"role": "user", "content": "x"}], "memories_used": ["m" * 256]})
    ended = world.sessions.end(TENANT, sid, EndSession.model_validate({"memoriesUsed": [later.id, "mem_h2"]}))
    assert ended.unknown_memories == ["mem_h2"] and ended.memories_used == 2
    stored = world.session_repo.get(TENANT, sid)
    assert stored is not None and stored.memories_used == {mine.id, later.id}


def test_every_fifth_turn_refreshes_context(world: World) -> None:
    sid = world.sessions.create(TENANT, CreateSession()).id
    answers = [turn(world, sid, None, f"message {i}") for i in range(5)]
    assert [a.refresh_needed for a in answers] == [False, False, False, False, True]
    assert answers[-1].new_context is not None and answers[-1].stats is not None


def test_a_refresh_turn_record_keeps_ids_and_its_replay_shows_memories_as_they_are_now(world: World) -> None:
    """The turn log never holds a copy of a memory's text: a deleted memory is gone from the replay
    of the turn that injected it, and an edited one replays with its text as stored now."""
    kept = world.memories.create_memory(TENANT, text="My name is Ada", type="identity", tier="critical")
    gone = world.memories.create_memory(TENANT, text="I live in Lisbon", type="identity", tier="critical")
    sid = world.sessions.create(TENANT, CreateSession()).id
    answers = [turn(world, sid, n, f"message {n}") for n in range(1, 6)]
    first = answers[-1].new_context
    assert first is not None and {m.id: m.text for m in first.critical} == {
        kept.id: "My name is Ada",
        gone.id: "I live in Lisbon",
    }
    record = world.session_repo.get_turn(TENANT, sid, 5)
    assert record is not None and "Ada" not in str(record.response) and "Lisbon" not in str(record.response)
    assert {m["id"] for m in record.response["new_context"]["critical"]} == {kept.id, gone.id}
    world.memories.delete(TENANT, gone.id)
    world.memories.update(TENANT, kept.id, UpdateMemory(text="My name is Ada Lovelace"))
    again = turn(world, sid, 5, "message 5")
    assert again.new_context is not None and again.stats == answers[-1].stats
    assert [(m.id, m.text) for m in again.new_context.critical] == [(kept.id, "My name is Ada Lovelace")]
    assert world.sessions.load(TENANT, sid).turn_count == 5  # replayed, not recorded twice


def test_extract_saves_suggestions_once_and_reinforces_duplicates(world: World) -> None:
    conversation = [{"role": "user", "content": "My name is Grace and I prefer Python over Java."}]
    first = world.intelligence.extract(
        TENANT, ExtractRequest.model_validate({"conversation": conversation, "save": True})
    )
    assert first.saved >= 1 and {s.action for s in first.suggestions} == {"created"}
    again = world.intelligence.extract(
        TENANT, ExtractRequest.model_validate({"conversation": conversation, "save": True})
    )
    assert {s.action for s in again.suggestions} == {"reinforced"}
    assert len(world.memory_repo.memories) == first.saved


def test_summarize_writes_the_summary_and_refuses_expired_sessions(world: World, now: list[float]) -> None:
    sid = world.sessions.create(TENANT, CreateSession()).id
    turn(world, sid, None, "We agreed to ship on Friday.")
    out = world.intelligence.summarize(TENANT, sid)
    assert out.message_count == 1 and out.summary
    assert world.session_repo.get(TENANT, sid).summary == out.summary  # type: ignore[union-attr]
    short = world.sessions.create(TENANT, CreateSession(ttl_seconds=60)).id
    now[0] = T0 + 61
    with pytest.raises(errors.Gone):
        world.intelligence.summarize(TENANT, short)


def test_summarize_uses_memories_and_refuses_a_session_with_nothing_to_summarise(world: World) -> None:
    sid = world.sessions.create(TENANT, CreateSession()).id
    world.memories.create_memory(TENANT, text="Identified root cause: retries skipped timeouts", session_id=sid)
    out = world.intelligence.summarize(TENANT, sid)
    assert "root cause" in out.summary and out.memory_count == 1 and out.message_count == 0
    assert world.session_repo.get(TENANT, sid).summary == out.summary  # type: ignore[union-attr]

    empty = world.sessions.create(TENANT, CreateSession()).id
    with pytest.raises(errors.Conflict, match="no messages and no memories"):
        world.intelligence.summarize(TENANT, empty)
    tools_only = world.sessions.create(TENANT, CreateSession()).id
    world.sessions.append_messages(
        TENANT, tools_only, AppendMessages.model_validate({"role": "tool", "content": '{"rows": 3}'})
    )
    with pytest.raises(errors.Conflict, match="nothing to summarise"):
        world.intelligence.summarize(TENANT, tools_only)
    for refused in (empty, tools_only):
        assert world.session_repo.get(TENANT, refused).summary is None  # type: ignore[union-attr]


def test_session_stream_credits_outcomes_once_and_stores_one_summary(world: World) -> None:
    mem = world.memories.create_memory(TENANT, text="Prefers dark mode")
    sid = world.sessions.create(TENANT, CreateSession(title="Support")).id
    turn(world, sid, None, "Dark mode please, we decided to use it", used=[mem.id])
    before = world.session_repo.get(TENANT, sid)
    world.sessions.end(TENANT, sid, EndSession(outcome="success"))
    after = world.session_repo.get(TENANT, sid)
    assert before is not None and after is not None
    old = {"status": "active", "tenant_id": TENANT, "session_id": sid}
    new = {**old, "status": "ended", "outcome": "success", "memories_used": set(after.memories_used)}
    record = stream_record("MODIFY", new, old)
    assert "outcome success applied to 1" in world.session_events.handle(record)
    assert "applied to 0" in world.session_events.handle(record)  # redelivered: credited once
    assert world.memory_repo.get(TENANT, mem.id).feedback_score == 1  # type: ignore[union-attr]
    closed = {**old, "status": "closed", "title": "Support"}
    assert "summary stored" in world.session_events.handle(stream_record("MODIFY", closed, old))
    assert "already" in world.session_events.handle(stream_record("MODIFY", closed, old))
    summaries = [m for m in world.memory_repo.memories.values() if m.type == "summary"]
    assert len(summaries) == 1 and summaries[0].namespace == "session-memory"
    assert world.session_repo.get(TENANT, sid).summary  # type: ignore[union-attr]
    removed = world.session_events.handle(stream_record("REMOVE", None, {**old, "cascade_memories": True}))
    assert removed == "purged 1 messages, 1 memories"
    assert [m.memory_id for m in world.memory_repo.memories.values()] == [mem.id]  # not from the session


def test_a_credit_that_fails_claims_nothing_and_the_redelivery_credits_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim on the session and the credit on the memory are one write: when it fails (an
    outage, or a crash in the middle), neither happened, so the redelivered record credits."""
    mem = world.memories.create_memory(TENANT, text="Prefers dark mode")
    sid = world.sessions.create(TENANT, CreateSession()).id
    turn(world, sid, None, "Dark mode please", used=[mem.id])
    world.sessions.end(TENANT, sid, EndSession(outcome="success"))
    old = {"status": "active", "tenant_id": TENANT, "session_id": sid}
    record = stream_record("MODIFY", {**old, "status": "ended", "outcome": "success", "memories_used": {mem.id}}, old)
    apply = world.memory_repo.apply

    def outage(memory: Any, changes: Any, *, outcome_of: str | None = None) -> Any:
        raise errors.ServiceUnavailable("storage is down")

    monkeypatch.setattr(world.memory_repo, "apply", outage)
    with pytest.raises(errors.ServiceUnavailable):
        world.session_events.handle(record)
    assert world.session_repo.get(TENANT, sid).outcome_applied == frozenset()  # type: ignore[union-attr]
    assert world.memory_repo.get(TENANT, mem.id).feedback_score == 0  # type: ignore[union-attr]
    monkeypatch.setattr(world.memory_repo, "apply", apply)
    assert "outcome success applied to 1" in world.session_events.handle(record)
    assert "applied to 0" in world.session_events.handle(record)
    assert world.memory_repo.get(TENANT, mem.id).feedback_score == 1  # type: ignore[union-attr]
    assert world.session_repo.get(TENANT, sid).outcome_applied == {mem.id}  # type: ignore[union-attr]


def test_end_without_an_outcome_stores_none_and_credits_nothing(world: World) -> None:
    """No outcome means no outcome learning: the seeds make it optional, so it is not "success"."""
    mem = world.memories.create_memory(TENANT, text="Prefers dark mode")
    sid = world.sessions.create(TENANT, CreateSession()).id
    turn(world, sid, None, "Dark mode please", used=[mem.id])
    out = world.sessions.end(TENANT, sid, EndSession())
    assert out.outcome is None and out.status == "ended"
    stored = world.session_repo.get(TENANT, sid)
    assert stored is not None and stored.outcome is None and stored.memories_used == {mem.id}
    old = {"status": "active", "tenant_id": TENANT, "session_id": sid}
    new = {**old, "status": "ended", "outcome": stored.outcome, "memories_used": set(stored.memories_used)}
    done = world.session_events.handle(stream_record("MODIFY", new, old))
    assert "outcome" not in done and stored.outcome_applied == frozenset()
    assert world.memory_repo.get(TENANT, mem.id).feedback_score == 0  # type: ignore[union-attr]


def test_ttl_removal_drops_the_sessions_agent_entries(world: World) -> None:
    sid = world.sessions.create(TENANT, CreateSession(agent_id="writer")).id
    world.session_repo.add_contributor(world.sessions.load(TENANT, sid), "reviewer")
    assert world.sessions.list_sessions(TENANT, agent_id="reviewer").total_count == 1
    old = {"status": "active", "tenant_id": TENANT, "session_id": sid, "agent_id": "writer"}
    world.session_events.handle(stream_record("REMOVE", None, {**old, "contributors": ["writer", "reviewer"]}))
    assert world.session_repo.agent_index == {(TENANT, "writer"): set(), (TENANT, "reviewer"): set()}


def test_sweeper_abandons_idle_and_expires_ttl_sessions(world: World, now: list[float]) -> None:
    def create(**fields: Any) -> str:
        return world.sessions.create(TENANT, CreateSession.model_validate(fields)).id

    idle, expiring, busy = create(), create(ttl_seconds=600), create()
    now[0] = T0 + 7000
    turn(world, busy, None)
    now[0] = T0 + 7300
    report = world.sweeper.sweep()
    assert (report.abandoned, report.expired, report.skipped) == (1, 1, 0)
    stored: Callable[[str], Any] = lambda sid: world.session_repo.get(TENANT, sid)  # noqa: E731
    assert stored(idle).status == "ended" and stored(idle).outcome == "abandoned" and stored(idle).ended_at == T0 + 7200
    assert stored(expiring).status == "expired" and stored(busy).status == "active"
    assert world.sweeper.sweep().abandoned == 0


def test_keys_and_rate_limits(world: World, now: list[float]) -> None:
    created = world.api_keys.create("acme", name="ops")
    assert world.api_keys.authenticate(created.secret).key_id == created.key_id  # type: ignore[union-attr]
    assert world.api_keys.create("acme", secret=created.secret).key_id == created.key_id  # re-registered
    with pytest.raises(errors.Conflict):
        world.api_keys.create("other", secret=created.secret)
    assert world.api_keys.revoke(created.key_id).revoked_at is not None
    assert world.api_keys.authenticate(created.secret) is None
    with pytest.raises(errors.NotFound):
        world.api_keys.revoke("key_nope")
    limit = world.settings.rate_limit_per_minute
    waits = [world.rate_limiter.hit("ip", "1.2.3.4") for _ in range(limit + 1)]
    assert waits[:limit] == [None] * limit and waits[-1] is not None and waits[-1] >= 1
    now[0] += 60
    assert world.rate_limiter.hit("ip", "1.2.3.4") is None

"""MemoryRepository and MissRepository: guards, derived lookups, listings and paging, for the fake
and for DynamoDB."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from engram import clock, errors
from engram.ids import new_id
from engram.ports import AlreadyClaimed, StaleWrite
from engram.ports.memories import Memory, MemoryChanges, MemoryFilters, Miss, access_logs
from engram.ports.sessions import Session

T0 = 1_800_000_000.0
TENANT = "tenant_a"


def new_memory(repo: Any, text: str = "The user lives in Paris", *, tenant: str = TENANT, **fields: Any) -> Memory:
    values: dict[str, Any] = {
        "namespace": "default",
        "title": text,
        "type": "fact",
        "tier": "normal",
        "created_at": T0,
        "updated_at": T0,
        "strength_at": T0,
        "embedding": [0.5, -0.25, 0.125],
        "embedder": "test:3",
        **fields,
    }
    return repo.add(Memory(tenant_id=tenant, memory_id=new_id("mem"), text=text, **values))


def listing(
    repo: Any, limit: int = 10, cursor: str | None = None, offset: int = 0, accept: Any = None, **filters: Any
) -> Any:
    return repo.listing(TENANT, MemoryFilters(**filters), limit=limit, cursor=cursor, offset=offset, accept=accept)


def test_add_get_and_tenant_isolation(memories: Any) -> None:
    m = new_memory(memories, entities=("Paris",), source={"extracted": True}, metadata={"k": 1}, session_id="sess_1")
    assert memories.get(TENANT, m.memory_id) == m
    assert m.embedding == pytest.approx([0.5, -0.25, 0.125]) and m.entities == ("Paris",)
    assert memories.get("tenant_b", m.memory_id) is None
    other = new_memory(memories, tenant="tenant_b")
    assert set(memories.get_many(TENANT, [m.memory_id, other.memory_id, "mem_nope"])) == {m.memory_id}
    # a read that only renders or scores leaves the embedding out, and only the embedding
    (slim,) = memories.get_many(TENANT, [m.memory_id, other.memory_id], embeddings=False).values()
    assert slim.embedding is None and replace(slim, embedding=m.embedding) == m


def test_apply_bumps_the_version_and_loses_to_a_newer_write(memories: Any) -> None:
    m = new_memory(memories)
    changed = memories.apply(
        m,
        MemoryChanges(
            text="The user lives in Lyon",
            title="Lyon",
            embedding=[1.0, 0.0, 0.0],
            embedder="test:3",
            entities=["Lyon"],
            metadata={"a": 1},
            namespace="home",
            tier="high",
            feedback_score=2,
            access_count=3,
            strength=30.0,
            strength_at=T0 + 1,
            last_accessed_at=T0 + 1,
            updated_at=T0 + 1,
        ),
    )
    assert changed.version == m.version + 1
    assert (changed.text, changed.namespace, changed.tier, changed.entities) == (
        "The user lives in Lyon",
        "home",
        "high",
        ("Lyon",),
    )
    assert (changed.feedback_score, changed.access_count, changed.strength) == (2, 3, 30.0)
    assert changed.embedding == pytest.approx([1.0, 0.0, 0.0]) and changed.metadata == {"a": 1}
    assert memories.get(TENANT, m.memory_id) == changed
    with pytest.raises(StaleWrite):
        memories.apply(m, MemoryChanges(title="lost"))
    assert memories.get(TENANT, m.memory_id).title == "Lyon"
    locked = memories.apply(changed, MemoryChanges(locked=True))
    assert locked.locked and locked.tier == "high" and locked.version == changed.version + 1
    with pytest.raises(StaleWrite):
        memories.apply(replace(m, memory_id=new_id("mem")), MemoryChanges(title="ghost"))


def test_derived_lookups_follow_namespace_text_and_tier(memories: Any) -> None:
    m = new_memory(memories, "The user lives in Paris.")
    assert [x.memory_id for x in memories.same_text(TENANT, "default", "the user  lives in paris")] == [m.memory_id]
    moved = memories.apply(m, MemoryChanges(namespace="home", tier="critical"))
    assert memories.same_text(TENANT, "default", "The user lives in Paris") == []
    assert [x.memory_id for x in memories.same_text(TENANT, "home", "The user lives in Paris")] == [m.memory_id]
    assert [x.memory_id for x in memories.stored_at_tier(TENANT, "critical", ["home"])] == [m.memory_id]
    assert [x.memory_id for x in memories.stored_at_tier(TENANT, "critical")] == [m.memory_id]
    assert list(memories.stored_at_tier(TENANT, "critical", ["default"])) == []
    assert [x.memory_id for x in listing(memories, namespace="home", tier="critical").items] == [m.memory_id]
    memories.apply(moved, MemoryChanges(text="The user lives in Rome"))
    assert [x.memory_id for x in memories.same_text(TENANT, "home", "the user lives in rome!")] == [m.memory_id]


def test_listing_filters_pages_and_accepts(memories: Any) -> None:
    made = [new_memory(memories, f"memory {i}", type="event" if i % 2 else "fact") for i in range(5)]
    in_session = new_memory(memories, "from a session", session_id="sess_1", agent_id="bot")
    everything = listing(memories, limit=3)
    ids = sorted([m.memory_id for m in [*made, in_session]], reverse=True)
    assert [m.memory_id for m in everything.items] == ids[:3] and everything.has_more and everything.total == 6
    rest = listing(memories, limit=3, cursor=everything.next_cursor)
    assert [m.memory_id for m in rest.items] == ids[3:] and not rest.has_more
    events = listing(memories, type="event")
    assert {m.memory_id for m in events.items} == {made[1].memory_id, made[3].memory_id} and events.total == 2
    assert [m.memory_id for m in listing(memories, session_id="sess_1", agent_id="bot").items] == [in_session.memory_id]
    assert [m.memory_id for m in listing(memories, offset=4).items] == ids[4:]
    odd = listing(memories, accept=lambda m: m.text.endswith(("1", "3")))
    assert {m.memory_id for m in odd.items} == {made[1].memory_id, made[3].memory_id}
    with pytest.raises(errors.BadRequest):
        listing(memories, cursor="garbage")
    with pytest.raises(errors.BadRequest):  # a cursor of another listing
        listing(memories, namespace="other", cursor=everything.next_cursor)


def test_for_session_scan_replace_embedding_and_delete(memories: Any) -> None:
    a = new_memory(memories, "a", session_id="sess_1")
    b = new_memory(memories, "b", tenant="tenant_b")
    assert [m.memory_id for m in memories.for_session(TENANT, "sess_1")] == [a.memory_id]
    assert {m.memory_id for m in memories.scan()} == {a.memory_id, b.memory_id}
    assert [m.memory_id for m in memories.scan(TENANT)] == [a.memory_id]
    again = memories.replace_embedding(a, [0.0, 1.0, 0.0], "other:3")
    stored = memories.get(TENANT, a.memory_id)
    assert stored.embedder == "other:3" and stored.embedding == pytest.approx([0.0, 1.0, 0.0]) and stored == again
    assert memories.delete(a) and not memories.delete(a)
    assert memories.get(TENANT, a.memory_id) is None and list(memories.for_session(TENANT, "sess_1")) == []


def test_a_memory_counts_in_its_sessions_memory_count_atomically(memories: Any, sessions: Any) -> None:
    """add and delete keep the session's memory_count exact in the same write: a second delete of
    the same memory, a failed add and a memory of a missing or other tenant's session change nothing."""
    session = Session(tenant_id=TENANT, session_id=new_id("sess"), created_at=T0, last_activity_at=T0)
    sessions.create(session)

    def count() -> int:
        return int(sessions.get(TENANT, session.session_id).memory_count)

    first = new_memory(memories, session_id=session.session_id)
    second = new_memory(memories, "The user likes tea", session_id=session.session_id)
    new_memory(memories, "No session")
    assert count() == 2
    with pytest.raises(StaleWrite):  # the same id again: nothing written, nothing counted
        memories.add(first)
    assert count() == 2
    assert memories.delete(first) and count() == 1
    assert not memories.delete(first) and count() == 1  # gone already: not uncounted twice
    orphan = new_memory(memories, "Its session never existed", session_id="sess_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert memories.get(TENANT, orphan.memory_id) == orphan
    assert sessions.get(TENANT, "sess_01ARZ3NDEKTSV4RRFFQ69G5FAV") is None  # no session item appears
    elsewhere = new_memory(memories, "Another tenant", tenant="tenant_b", session_id=session.session_id)
    assert count() == 1 and memories.delete(elsewhere) and count() == 1
    assert memories.delete(second) and count() == 0
    early = new_memory(memories, "Written before its session was counted", session_id=new_id("sess"))
    late = Session(tenant_id=TENANT, session_id=str(early.session_id), created_at=T0, last_activity_at=T0)
    sessions.create(late)  # memory_count 0 while a memory names it (stored before counting began)
    assert memories.delete(early) and memories.get(TENANT, early.memory_id) is None
    assert sessions.get(TENANT, late.session_id).memory_count == 0  # never below zero


def test_an_outcome_credit_and_its_claim_are_one_write(memories: Any, sessions: Any) -> None:
    """apply(outcome_of=session) changes the memory and marks it credited on the session together:
    a second credit of the same session, a lost version and a missing session write neither."""
    session = Session(tenant_id=TENANT, session_id=new_id("sess"), created_at=T0, last_activity_at=T0)
    sessions.create(session)
    m = new_memory(memories)
    credited = memories.apply(m, MemoryChanges(feedback_score=1), outcome_of=session.session_id)
    assert credited.feedback_score == 1 and credited.version == m.version + 1
    assert memories.get(TENANT, m.memory_id) == credited
    assert sessions.get(TENANT, session.session_id).outcome_applied == {m.memory_id}
    with pytest.raises(AlreadyClaimed):  # the same session again: the memory is not touched
        memories.apply(credited, MemoryChanges(feedback_score=2), outcome_of=session.session_id)
    assert memories.get(TENANT, m.memory_id) == credited
    with pytest.raises(StaleWrite):  # a lost version: no claim either
        memories.apply(m, MemoryChanges(feedback_score=5), outcome_of=new_session_id(sessions))
    other = new_memory(memories, "The user likes tea")
    later = new_session_id(sessions)
    with pytest.raises(StaleWrite):
        memories.apply(replace(other, version=other.version + 7), MemoryChanges(feedback_score=1), outcome_of=later)
    assert sessions.get(TENANT, later).outcome_applied == frozenset()
    assert memories.get(TENANT, other.memory_id) == other
    with pytest.raises(AlreadyClaimed):  # no such session: nothing credited, no session item appears
        memories.apply(other, MemoryChanges(feedback_score=1), outcome_of="sess_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert sessions.get(TENANT, "sess_01ARZ3NDEKTSV4RRFFQ69G5FAV") is None
    assert memories.get(TENANT, other.memory_id) == other
    both = memories.apply(other, MemoryChanges(feedback_score=1), outcome_of=session.session_id)
    assert both.feedback_score == 1
    assert sessions.get(TENANT, session.session_id).outcome_applied == {m.memory_id, other.memory_id}


def new_session_id(sessions: Any) -> str:
    session = Session(tenant_id=TENANT, session_id=new_id("sess"), created_at=T0, last_activity_at=T0)
    sessions.create(session)
    return session.session_id


def test_misses_newest_first_since_and_paged(misses: Any) -> None:
    made = []
    for i in range(4):
        clock.set_clock(lambda i=i: T0 + i)  # ids are time-ordered: one a second
        spaces = ("work", "home")[: i % 3]  # none, one, two namespaces: all read back as written
        miss = Miss(TENANT, new_id("miss"), f"question {i}", T0 + i, "sess_1", "ctx", 9, spaces)
        misses.add(miss)
        made.append(miss)
    misses.add(Miss("tenant_b", new_id("miss"), "theirs", T0))
    first = misses.listing(TENANT, limit=3, since=None, cursor=None)
    assert [m.query for m in first.items] == ["question 3", "question 2", "question 1"] and first.has_more
    assert first.items[0] == made[3] and [m.namespaces for m in first.items] == [(), ("work", "home"), ("work",)]
    rest = misses.listing(TENANT, limit=3, since=None, cursor=first.next_cursor)
    assert [m.query for m in rest.items] == ["question 0"] and not rest.has_more
    assert misses.count(TENANT, None) == 4 and misses.count("tenant_b", None) == 1
    assert misses.count(TENANT, T0 + 2) == 2 and misses.count(TENANT, T0 + 9) == 0
    recent = misses.listing(TENANT, limit=10, since=T0 + 2, cursor=None)
    assert [m.query for m in recent.items] == ["question 3", "question 2"]
    with pytest.raises(errors.BadRequest):
        misses.listing(TENANT, limit=3, since=None, cursor="nope")


def test_access_logs_settle_with_their_memories_exactly_once(memories: Any) -> None:
    a, b = new_memory(memories, "Likes tea"), new_memory(memories, "Likes coffee")
    [log] = access_logs(TENANT, [a.memory_id, b.memory_id, a.memory_id], T0 + 5)
    [other] = access_logs(TENANT, [b.memory_id], T0 + 6)
    [third] = access_logs(TENANT, [a.memory_id], T0 + 7)
    memories.log_accesses([log, other])
    memories.log_accesses([third])
    assert memories.get(TENANT, a.memory_id) == a  # logging writes no memory
    everything = {a.memory_id, b.memory_id}  # and a pending log is no memory to any reader:
    assert {m.memory_id for m in memories.scan()} == {m.memory_id for m in memories.scan(TENANT)} == everything
    assert {m.memory_id for m in listing(memories).items} == everything and listing(memories).total == 2
    assert set(memories.get_many(TENANT, [a.memory_id, log.log_id], consistent=True)) == {a.memory_id}
    moved = memories.apply(b, MemoryChanges(feedback_score=1))
    with pytest.raises(StaleWrite):  # b moved since it was read: nothing is written, the logs stay
        memories.settle_accesses([log], [(a, MemoryChanges(access_count=2)), (b, MemoryChanges(access_count=1))])
    assert memories.get(TENANT, a.memory_id) == a
    writes = [(a, MemoryChanges(access_count=2, last_accessed_at=T0 + 5)), (moved, MemoryChanges(access_count=1))]
    assert memories.settle_accesses([log], writes) == set()
    assert memories.get(TENANT, a.memory_id).access_count == 2
    assert memories.get(TENANT, b.memory_id).version == moved.version + 1
    a2 = memories.get(TENANT, a.memory_id)
    # a batch with a log settled before: nothing is written, and the caller learns which one
    assert memories.settle_accesses([other, log, third], [(a2, MemoryChanges(access_count=9))]) == {log.log_id}
    assert memories.get(TENANT, a.memory_id) == a2
    assert memories.settle_accesses([other, third], [(a2, MemoryChanges(access_count=3))]) == set()
    assert memories.get(TENANT, a.memory_id).access_count == 3
    assert memories.settle_accesses([other], []) == {other.log_id}  # all settled: nothing left

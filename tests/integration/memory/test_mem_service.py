"""The programmatic API the session side uses, tiers over time with a controllable clock,
reindexing and the session cascade."""

from __future__ import annotations

from typing import Any

import pytest

from engram import clock, container, errors
from engram.models.memories import Reinforce
from engram.store.memories import MemoryItem, memory_pk
from tests.support.streams import settle_accesses

DAY = 86400.0
T0 = 1_773_741_600.0


@pytest.fixture
def at(aws: None) -> Any:
    """A controllable clock: ``at(days)`` moves it to T0 + days."""
    now = {"t": T0}
    clock.set_clock(lambda: now["t"])

    def move(days: float) -> None:
        now["t"] = T0 + days * DAY

    return move


def test_critical_memories_decay_and_locks(service: Any, at: Any) -> None:
    crit = service.create_memory("tenant-a", text="My name is John", type="identity")
    locked = service.create_memory("tenant-a", text="Allergic to peanuts", tier="critical")
    container.feedback().lock("tenant-a", locked.id, "critical")
    service.create_memory("tenant-a", text="Other namespace identity", type="identity", namespace="work")
    assert [m.id for m in service.critical_memories("tenant-a", ["default"])] == [crit.id, locked.id] or {
        m.id for m in service.critical_memories("tenant-a", ["default"])
    } == {crit.id, locked.id}
    assert len(service.critical_memories("tenant-a")) == 3
    at(31)  # one half-life and a day unused: 100 → <50
    assert [m.id for m in service.critical_memories("tenant-a", ["default"])] == [locked.id]
    assert service.get("tenant-a", crit.id).tier == "high"
    at(83)
    assert service.get("tenant-a", crit.id).tier == "normal"
    assert service.get("tenant-a", locked.id).tier == "critical"  # decay never lowers a lock
    container.feedback().unlock("tenant-a", locked.id)
    assert service.get("tenant-a", locked.id).tier == "normal"


def test_use_keeps_a_memory_up(service: Any, at: Any) -> None:
    # Steady state of one access every d days: 1 / (1 - 2^(-d/30)) ≈ 43/d — every 2 days ≈ 22 (high),
    # every 10 days ≈ 4.9 (normal).
    often = service.create_memory("tenant-a", text="Prefers dark mode", type="preference")  # high, strength 30
    rarely = service.create_memory("tenant-a", text="Prefers tabs", type="preference")
    for day in range(2, 92, 2):
        at(day)
        container.feedback().record_access("tenant-a", [often.id] + ([rarely.id] if day % 10 == 0 else []))
    settle_accesses()  # each use counts as of its own day, however late the stream delivers it
    assert service.get("tenant-a", often.id).tier == "high"
    assert service.get("tenant-a", rarely.id).tier == "normal"
    item = MemoryItem.get(memory_pk("tenant-a", often.id))
    assert item.access_count == 45 and item.tier == "high"
    assert MemoryItem.get(memory_pk("tenant-a", rarely.id)).tier == "normal"  # persisted on its last write


def test_reinforce_promotes_and_apply_outcome(service: Any, at: Any) -> None:
    mem = service.create_memory("tenant-a", text="Works at Acme")
    out = None
    for _ in range(3):
        out = container.feedback().reinforce("tenant-a", mem.id, Reinforce(value=1))
    assert out is not None and out.promoted and out.new_tier == "high" and out.strength == 15.0
    assert container.feedback().apply_outcome("tenant-a", [mem.id, mem.id, "mem_01AAAAAAAAAAAAAAAAAAAAAAAA"], -1) == 1
    got = service.get("tenant-a", mem.id)
    assert got.feedback_score == 2 and got.tier == "normal"
    at(30)
    assert service.get("tenant-a", mem.id).strength == 5.0


def test_search_api_for_sessions(service: Any) -> None:
    a = service.create_memory("tenant-a", text="The user's dog is called Rex", namespace="p1", entities=["Rex"])
    service.create_memory("tenant-a", text="The user's cat is called Tom", namespace="p2")
    hits = container.search().search(
        "tenant-a", "What is the dog called? Rex", namespaces=["p1"], top_k=3, threshold=0.0, tiers=["normal"]
    )
    assert [h.id for h in hits] == [a.id]
    settle_accesses()
    assert MemoryItem.get(memory_pk("tenant-a", a.id)).access_count == 1
    assert container.search().search("tenant-a", "dog", namespaces=["p1"], tiers=["critical"], threshold=0.0) == []


def test_find_duplicate(service: Any) -> None:
    a = service.create_memory("tenant-a", text="The user lives in Paris.")
    assert service.find_duplicate("tenant-a", "default", "the user   lives in paris").id == a.id
    assert service.find_duplicate("tenant-a", "other", "The user lives in Paris") is None
    assert service.find_duplicate("tenant-b", "default", "The user lives in Paris") is None
    assert service.find_duplicate("tenant-a", "default", "The user lives in Paris!!", near_cosine=None).id == a.id
    assert service.find_duplicate("tenant-a", "default", "Completely unrelated words") is None


def test_create_memory_validates_like_the_api(service: Any) -> None:
    with pytest.raises(errors.ValidationFailed):
        service.create_memory("tenant-a", text="")
    with pytest.raises(errors.ValidationFailed):
        service.create_memory("tenant-a", text="x", source={"confidence": 3})


def test_index_failure_keeps_the_memory_and_reindex_repairs(service: Any) -> None:
    class Down:
        def upsert(self, docs: Any) -> Any:
            raise RuntimeError("down")

    real = service.core._index
    service.core._index = lambda: Down()
    mem = service.create_memory("tenant-a", text="Created while the index was down")
    service.core._index = real
    assert MemoryItem.get(memory_pk("tenant-a", mem.id)).text == "Created while the index was down"
    assert container.index().document("tenant-a", mem.id) is None
    service.create_memory("tenant-b", text="Another tenant")

    assert container.reindex("tenant-a") == 1
    assert container.index().document("tenant-a", mem.id) is not None
    assert container.reindex() == 2
    assert container.index().count() == 2
    hits = container.search().search("tenant-a", "index was down", threshold=0.0, record_access=False)
    assert hits and hits[0].id == mem.id


def test_session_memories_and_cascade(service: Any) -> None:
    a = service.create_memory("tenant-a", text="From the session", session_id="sess_1")
    service.create_memory("tenant-a", text="Elsewhere", session_id="sess_2")
    found = service.for_session("tenant-a", "sess_1")
    assert [m.id for m in found] == [a.id] and isinstance(found[0].created_at, str)
    assert service.for_session("tenant-b", "sess_1") == []
    assert service.delete_for_session("tenant-a", "sess_1").memories_deleted == [a.id]
    assert service.for_session("tenant-a", "sess_1") == []
    assert container.index().document("tenant-a", a.id) is None

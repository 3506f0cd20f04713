"""What governance needs of the repositories, for the fake and for DynamoDB: the slot lookup
(current memories only), lineage (sources, unlinking a session) and the ledger's streams."""

from __future__ import annotations

from typing import Any

import pytest

from engram.ids import new_id
from engram.ports import StaleWrite
from engram.ports.ledger import LedgerEntry
from engram.ports.memories import MemoryChanges, MemoryFilters

from .test_memory_repository import T0, TENANT, new_memory


@pytest.fixture
def ledger(backend: str) -> Any:
    from engram.config import get_settings
    from engram.store.ledger import DynamoLedgerRepository
    from engram.testing import fakes

    return fakes.FakeLedgerRepository() if backend == "fake" else DynamoLedgerRepository(get_settings())


def test_in_slot_finds_current_memories_of_the_namespace_only(memories: Any) -> None:
    old = new_memory(memories, "I live in Paris", slot="user|residence", valid_from=T0)
    other_ns = new_memory(memories, "I live in Rome", slot="user|residence", namespace="work")
    new_memory(memories, "I live in Oslo", slot="user|residence", tenant="tenant_b")
    assert [m.memory_id for m in memories.in_slot(TENANT, "default", "user|residence")] == [old.memory_id]
    assert [m.memory_id for m in memories.in_slot(TENANT, "work", "user|residence")] == [other_ns.memory_id]
    retired = memories.apply(old, MemoryChanges(valid_until=T0 + 1, superseded_by="mem_x"))
    assert retired.superseded_by == "mem_x" and retired.valid_until == T0 + 1 and not retired.current
    assert memories.in_slot(TENANT, "default", "user|residence") == []
    assert memories.get(TENANT, old.memory_id) == retired


def test_sources_find_and_unlink_a_session(memories: Any) -> None:
    made = new_memory(memories, "I like tea", session_id="sess_A", sources=({"session_id": "sess_A", "turn": 2},))
    reinforced = new_memory(memories, "I like jazz", session_id="sess_B")
    reinforced = memories.apply(
        reinforced,
        MemoryChanges(
            sources=[{"session_id": "sess_B", "turn": None}, {"session_id": "sess_A", "turn": None}],
            supersedes=["mem_old"],
        ),
    )
    new_memory(memories, "I like rain", session_id="sess_C")
    found = {m.memory_id for m in memories.from_session(TENANT, "sess_A")}
    assert found == {made.memory_id, reinforced.memory_id}
    assert reinforced.supersedes == ("mem_old",) and reinforced.source_sessions() == {"sess_A", "sess_B"}
    unlinked = memories.apply(made, MemoryChanges(sources=[], session_id=""))
    assert unlinked.session_id is None and unlinked.sources == ()
    assert {m.memory_id for m in memories.from_session(TENANT, "sess_A")} == {reinforced.memory_id}
    assert list(memories.for_session(TENANT, "sess_A")) == []
    assert list(memories.from_session("tenant_b", "sess_A")) == []


def test_ledger_streams_page_newest_first_per_tenant(ledger: Any) -> None:
    ids = sorted(new_id("cfl") for _ in range(5))
    for n, entry_id in enumerate(ids):
        assert ledger.append(LedgerEntry(TENANT, "conflicts", entry_id, T0 + n, {"n": n}, status="open"))
    assert not ledger.append(LedgerEntry(TENANT, "conflicts", ids[0], T0, {"n": 99}, status="open"))
    ledger.append(LedgerEntry("tenant_b", "conflicts", new_id("cfl"), T0, {}, status="open"))
    first = ledger.listing(TENANT, "conflicts", limit=3, cursor=None)
    assert [e.entry_id for e in first.items] == ids[::-1][:3] and first.has_more
    rest = ledger.listing(TENANT, "conflicts", limit=3, cursor=first.next_cursor)
    assert [e.entry_id for e in rest.items] == ids[::-1][3:] and not rest.has_more
    assert ledger.get(TENANT, "conflicts", ids[0]).body == {"n": 0}
    assert ledger.get("tenant_b", "conflicts", ids[0]) is None


def test_ledger_settles_once_and_filters_by_status(ledger: Any) -> None:
    entry_id = new_id("cfl")
    ledger.append(LedgerEntry(TENANT, "conflicts", entry_id, T0, {"a": 1}, status="open"))
    entry = ledger.get(TENANT, "conflicts", entry_id)
    settled = ledger.settle(entry, "resolved", {"a": 1, "resolution": "keep_new"})
    assert settled.status == "resolved" and settled.version == entry.version + 1
    with pytest.raises(StaleWrite):
        ledger.settle(entry, "resolved", {})
    assert ledger.listing(TENANT, "conflicts", limit=10, cursor=None, status="open").items == []
    assert [
        e.entry_id for e in ledger.listing(TENANT, "conflicts", limit=10, cursor=None, status="resolved").items
    ] == [entry_id]


def test_ledger_drops_a_stream(ledger: Any) -> None:
    for _ in range(3):
        ledger.append(LedgerEntry(TENANT, "history:mem_a", new_id("hev"), T0, {}))
    ledger.append(LedgerEntry(TENANT, "history:mem_b", new_id("hev"), T0, {}))
    assert ledger.drop(TENANT, "history:mem_a") == 3
    assert ledger.listing(TENANT, "history:mem_a", limit=10, cursor=None).items == []
    assert len(ledger.listing(TENANT, "history:mem_b", limit=10, cursor=None).items) == 1


def test_a_superseded_memory_made_current_again_is_back_in_its_slot(memories: Any) -> None:
    old = new_memory(memories, "I live in Paris", slot="user|residence", valid_from=T0)
    retired = memories.apply(old, MemoryChanges(valid_until=T0 + 1, superseded_by="mem_x"))
    back = memories.apply(retired, MemoryChanges(superseded_by="", updated_at=T0 + 2))
    assert back.current and back.superseded_by is None and back.valid_until is None
    assert memories.get(TENANT, old.memory_id) == back
    assert [m.memory_id for m in memories.in_slot(TENANT, "default", "user|residence")] == [old.memory_id]


def test_a_slot_is_moved_and_released(memories: Any) -> None:
    m = new_memory(memories, "I live in Paris", slot="user|residence")
    moved = memories.apply(m, MemoryChanges(text="I work at Acme", slot="user|employer"))
    assert moved.slot == "user|employer" and memories.in_slot(TENANT, "default", "user|residence") == []
    assert [x.memory_id for x in memories.in_slot(TENANT, "default", "user|employer")] == [m.memory_id]
    released = memories.apply(moved, MemoryChanges(text="The weather is nice", slot=""))
    assert released.slot is None and memories.in_slot(TENANT, "default", "user|employer") == []
    assert memories.get(TENANT, m.memory_id) == released
    unslotted = new_memory(memories, "I like tea")
    filled = memories.apply(unslotted, MemoryChanges(text="I live in Rome", slot="user|residence"))
    assert [x.memory_id for x in memories.in_slot(TENANT, "default", "user|residence")] == [filled.memory_id]


def test_listing_leaves_superseded_memories_out_of_the_page_and_the_total(memories: Any) -> None:
    kept = new_memory(memories, "I live in Rome")
    old = new_memory(memories, "I live in Paris")
    memories.apply(old, MemoryChanges(valid_until=T0 + 1, superseded_by=kept.memory_id))
    for filters in ({}, {"namespace": "default"}, {"type": "fact"}):
        current = memories.listing(TENANT, MemoryFilters(**filters, current_only=True), limit=1, cursor=None, offset=0)
        assert [m.memory_id for m in current.items] == [kept.memory_id] and current.total == 1, filters
        assert not current.has_more
        everything = memories.listing(TENANT, MemoryFilters(**filters), limit=10, cursor=None, offset=0)
        assert everything.total == 2, filters

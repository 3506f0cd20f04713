"""The memory use cases on the fakes: CRUD, search and explain, feedback and locks, misses."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from engram import errors
from engram.extract.tokens import estimate_tokens
from engram.models.memories import CreateMemory, ExplainRequest, LogMiss, Reinforce, SearchMemories, UpdateMemory
from engram.testing.world import World

from .conftest import T0, TENANT

DAY = 86400.0


def test_create_defaults_the_tier_by_type_and_indexes(world: World) -> None:
    who = world.memories.create(TENANT, CreateMemory(text="My name is Ada", type="identity"))
    likes = world.memories.create(TENANT, CreateMemory(text="Prefers tea", type="preference"))
    note = world.memories.create(TENANT, CreateMemory(text="A meeting happened", type="summary"))
    assert (who.tier, likes.tier, note.tier) == ("critical", "high", "normal")
    stored = world.memory_repo.get(TENANT, who.id)
    assert stored is not None and stored.strength == 100.0 and stored.embedder == "hashing:384"
    assert world.index.document(TENANT, who.id) is not None  # type: ignore[attr-defined]


def test_update_reembeds_follows_a_derived_title_and_merges_metadata(world: World) -> None:
    mem = world.memories.create(TENANT, CreateMemory(text="The user drinks coffee", metadata={"a": 1, "b": 2}))
    before = world.memory_repo.get(TENANT, mem.id)
    out = world.memories.update(
        TENANT, mem.id, UpdateMemory(text="The user drinks green tea", metadata={"b": None, "c": 3})
    )
    after = world.memory_repo.get(TENANT, mem.id)
    assert out.title == "The user drinks green tea" and out.metadata == {"a": 1, "c": 3}
    assert before is not None and after is not None
    assert after.version == before.version + 1 and after.embedding != before.embedding
    assert world.index.document(TENANT, mem.id)["text"] == "The user drinks green tea"  # type: ignore[attr-defined]


def test_delete_removes_from_repository_and_index(world: World) -> None:
    mem = world.memories.create(TENANT, CreateMemory(text="Temporary"))
    assert world.memories.delete(TENANT, mem.id).deleted
    assert world.memory_repo.get(TENANT, mem.id) is None and world.index.document(TENANT, mem.id) is None  # type: ignore[attr-defined]
    with pytest.raises(errors.NotFound):
        world.memories.delete(TENANT, mem.id)


def test_listing_by_tier_uses_the_effective_tier(world: World, now: list[float]) -> None:
    fading = world.memories.create(TENANT, CreateMemory(text="Likes jazz", type="preference"))
    world.memories.create(TENANT, CreateMemory(text="Owns a bike"))
    assert [m.id for m in world.memories.list(TENANT, tier="high").data] == [fading.id]
    now[0] = T0 + 31 * DAY  # one half-life and a day: 30 → under 15
    assert world.memories.list(TENANT, tier="high").data == []


def test_critical_memories_strongest_first_and_find_duplicate(world: World) -> None:
    a = world.memories.create_memory(TENANT, text="My name is Ada", type="identity")
    b = world.memories.create_memory(TENANT, text="Allergic to nuts", tier="critical")
    world.feedback.reinforce(TENANT, b.id, Reinforce(value=1))
    assert [m.id for m in world.memories.critical_memories(TENANT, ["default"])] == [b.id, a.id]
    assert world.memories.find_duplicate(TENANT, "default", "my name  is ada.").id == a.id  # type: ignore[union-attr]
    assert world.memories.find_duplicate(TENANT, "work", "My name is Ada", near_cosine=None) is None


def test_search_counts_hits_as_accesses_and_logs_a_miss(world: World) -> None:
    dog = world.memories.create_memory(TENANT, text="The user's dog is called Rex", entities=["Rex"])
    world.memories.create_memory(TENANT, text="The user's cat is called Tom")
    dog_version = world.memory_repo.get(TENANT, dog.id).version  # type: ignore[union-attr]
    out = world.search.search_api(TENANT, SearchMemories(query="What is the dog called? Rex", threshold=0.5))
    assert out.results and out.results[0].id == dog.id and out.results[0].score >= 0.5
    hit_ids = tuple(r.id for r in out.results)
    assert world.memory_repo.get(TENANT, dog.id).version == dog_version  # the search wrote no memory
    assert [log.memory_ids for log in world.memory_repo.pending_accesses()] == [hit_ids]  # but one log
    assert world.settle_accesses() == len(hit_ids)
    settled = world.memory_repo.get(TENANT, dog.id)
    assert settled is not None and settled.access_count == 1 and settled.last_accessed_at is not None
    assert world.settle_accesses() == 0 and world.memory_repo.get(TENANT, dog.id) == settled  # exactly once
    missed = world.search.search_api(TENANT, SearchMemories(query="quantum chromodynamics", log_miss=True))
    assert missed.count == 0 and missed.miss_id is not None
    assert [m.query for m in world.misses.list_misses(TENANT).misses] == ["quantum chromodynamics"]


def test_a_miss_logged_by_a_search_keeps_every_namespace_it_was_asked_in(world: World) -> None:
    """``namespace`` and 20 ``namespaces`` are a valid search (21 in all): its miss keeps all 21."""
    many = [f"ns{n:02d}" for n in range(20)]
    req = SearchMemories(query="quantum chromodynamics", namespace="extra", namespaces=many, log_miss=True)
    missed = world.search.search_api(TENANT, req)
    assert missed.count == 0 and missed.miss_id is not None
    [miss] = world.misses.list_misses(TENANT).misses
    assert sorted(miss.namespaces) == sorted([*many, "extra"])


def test_explain_terms_add_up_and_count_nothing(world: World) -> None:
    mem = world.memories.create_memory(TENANT, text="User is based in Singapore", entities=["Singapore"])
    out = world.search.explain(TENANT, ExplainRequest(query="Where is Singapore?", threshold=0.0))
    [result] = out.results
    assert result.memory_id == mem.id and result.rank == 1 and result.included
    assert sum(t.contribution for t in result.terms) == pytest.approx(result.score, abs=1e-6)
    assert out.token_estimate == estimate_tokens("User is based in Singapore")
    assert world.memory_repo.get(TENANT, mem.id).access_count == 0  # type: ignore[union-attr]
    with pytest.raises(errors.NotFound):
        world.search.explain(TENANT, ExplainRequest(query="x", memory_id="mem_01AAAAAAAAAAAAAAAAAAAAAAAA"))


def test_reinforcement_promotes_locks_pin_and_unlock_follows_strength(world: World) -> None:
    mem = world.memories.create_memory(TENANT, text="Works at Acme")
    out = None
    for _ in range(3):
        out = world.feedback.reinforce(TENANT, mem.id, Reinforce(value=1))
    assert out is not None and out.promoted and out.new_tier == "high" and out.strength == 15.0
    world.feedback.lock(TENANT, mem.id, "critical")
    weakened = world.feedback.reinforce(TENANT, mem.id, Reinforce(value=-1))
    assert weakened.new_tier == "critical" and weakened.locked and "locked" in weakened.message
    assert world.index.document(TENANT, mem.id)["tier"] == "critical"  # type: ignore[attr-defined]
    assert world.feedback.unlock(TENANT, mem.id).tier == "normal"  # strength 10: below high
    assert world.feedback.apply_outcome(TENANT, [mem.id, "mem_01AAAAAAAAAAAAAAAAAAAAAAAA"], 1) == 1


def test_misses_are_listed_newest_first_since_a_date(world: World, now: list[float]) -> None:
    world.misses.log_miss(TENANT, LogMiss(query="old question"))
    now[0] = T0 + 2 * DAY
    world.misses.log_miss(TENANT, LogMiss(query="new question", session_id="sess_1"))
    listed = world.misses.list_misses(TENANT)
    assert [m.query for m in listed.data] == ["new question", "old question"] and listed.total_count == 2
    since = world.misses.list_misses(TENANT, since="2027-01-16")  # T0 is 2027-01-15T08:00Z
    assert [m.query for m in since.data] == ["new question"] and since.count == 1
    with pytest.raises(errors.ValidationFailed):
        world.misses.list_misses(TENANT, since="yesterday")


def test_search_reads_memories_without_embeddings_and_rereads_one_the_index_gave_no_vector(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    dog = world.memories.create_memory(TENANT, text="The user's dog is called Rex", entities=["Rex"])
    world.memories.create_memory(TENANT, text="The user's cat is called Tom")
    query = SearchMemories(query="What is the dog called? Rex", threshold=0.0, mode="hybrid")
    plain = {r.id: r for r in world.search.search_api(TENANT, query).results}
    reads: list[tuple[tuple[str, ...], bool]] = []
    get_many = world.memory_repo.get_many

    def counted(tenant_id: str, ids: Any, **kwargs: Any) -> Any:
        found = get_many(tenant_id, ids, **kwargs)
        reads.append((tuple(ids), kwargs.get("embeddings", True)))
        assert all((m.embedding is None) != kwargs.get("embeddings", True) for m in found.values())
        return found

    monkeypatch.setattr(world.memory_repo, "get_many", counted)
    world.search.search_api(TENANT, query)
    assert [embeddings for _, embeddings in reads] == [False]  # the index gave every vector: one slim read

    # the index finds the dog by text only, and without its vector: the score comes from a reread
    reads.clear()
    text_search = world.index.text_search
    monkeypatch.setattr(world.index, "knn", lambda *args, **kwargs: [])
    monkeypatch.setattr(
        world.index,
        "text_search",
        lambda *args, **kwargs: [replace(h, embedding=None) for h in text_search(*args, **kwargs)],
    )
    hits = {r.id: r for r in world.search.search_api(TENANT, query).results}
    (slim_ids, slim), (whole_ids, whole) = reads
    assert (slim, whole) == (False, True) and dog.id in whole_ids and set(whole_ids) <= set(slim_ids)
    assert hits[dog.id].vector_score == pytest.approx(plain[dog.id].vector_score, abs=1e-4)

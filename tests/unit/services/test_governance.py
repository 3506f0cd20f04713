"""Memory that stays true, on the fakes: dedupe -> supersede -> create, the review queue,
histories, lineage and deletion receipts."""

from __future__ import annotations

import pytest

from engram import errors
from engram.models.governance import ResolveConflict
from engram.models.memories import CreateMemory, Reinforce, SearchMemories, UpdateMemory
from engram.testing.world import World

from .conftest import TENANT

OTHER = "tenant_b"


def _create(world: World, text: str, tenant: str = TENANT, **fields: object):  # type: ignore[no-untyped-def]
    return world.memories.create(tenant, CreateMemory(text=text, type="identity", **fields))  # type: ignore[arg-type]


def test_a_move_supersedes_a_residence_with_provenance(world: World, now: list[float]) -> None:
    old = _create(world, "I live in Singapore")
    now[0] += 60
    new = _create(world, "I moved to Berlin last month")
    assert new.action == "superseded" and new.supersedes == [old.id] and new.valid_from is not None
    stored_old = world.memory_repo.get(TENANT, old.id)
    assert stored_old is not None and stored_old.superseded_by == new.id and stored_old.valid_until == now[0]
    assert world.memory_repo.in_slot(TENANT, "default", "user|residence") == [world.memory_repo.get(TENANT, new.id)]
    # gone from search by default, back (marked) when asked for; readable by id and in the list
    hits = world.search.search_api(TENANT, SearchMemories(query="Singapore", threshold=0.0)).results
    assert old.id not in {h.id for h in hits}
    marked = world.search.search_api(
        TENANT, SearchMemories(query="Singapore", threshold=0.0, include_superseded=True)
    ).results
    assert {h.id: h.superseded for h in marked}.get(old.id) is True
    assert world.memories.get(TENANT, old.id).superseded_by == new.id
    assert [m.id for m in world.memories.list(TENANT).data] == [new.id]
    listed = world.memories.list(TENANT, include_superseded=True).data
    assert [(m.id, m.superseded) for m in listed] == [(new.id, False), (old.id, True)]
    assert {m.id for m in world.memories.critical_memories(TENANT)} == {new.id}


def test_a_locked_memory_is_never_superseded_and_goes_to_review(world: World) -> None:
    old = _create(world, "I live in Singapore")
    world.feedback.lock(TENANT, old.id, "critical")
    new = _create(world, "I moved to Berlin last month")
    assert new.action == "conflict" and new.conflict_id is not None
    assert world.memory_repo.get(TENANT, old.id).current  # type: ignore[union-attr]
    queue = world.memories.governance.conflicts(TENANT)
    assert [(c.id, c.old_memory_id, c.new_memory_id, c.why_review) for c in queue.data] == [
        (new.conflict_id, old.id, new.id, "locked")
    ]
    assert queue.data[0].slot == "user|residence" and queue.data[0].old_memory is not None


def test_low_confidence_goes_to_review_and_keep_new_supersedes(world: World) -> None:
    old = _create(world, "I live in Toronto")
    new = _create(world, "I live in Montreal")  # no change word: a move, a correction or a misreading
    assert new.action == "conflict"
    gov = world.memories.governance
    out = gov.resolve(TENANT, str(new.conflict_id), ResolveConflict(resolution="keep_new"))
    assert out.status == "resolved" and out.resolution == "keep_new"
    assert out.old_memory is not None and out.old_memory.superseded_by == new.id
    assert gov.conflicts(TENANT).data == [] and len(gov.conflicts(TENANT, status="resolved").data) == 1
    with pytest.raises(errors.Conflict):
        gov.resolve(TENANT, str(new.conflict_id), ResolveConflict(resolution="keep_old"))
    history = gov.history(TENANT, old.id).data
    assert history[0].cause == "conflict" and history[0].change == "superseded"


def test_keep_old_retires_the_new_memory_and_keep_both_keeps_both(world: World) -> None:
    gov = world.memories.governance
    a = _create(world, "I live in Toronto")
    b = _create(world, "I live in Montreal")
    gov.resolve(TENANT, str(b.conflict_id), ResolveConflict(resolution="keep_old"))
    assert world.memory_repo.get(TENANT, b.id).superseded_by == a.id  # type: ignore[union-attr]
    assert world.memory_repo.get(TENANT, a.id).current  # type: ignore[union-attr]
    c = _create(world, "I work at Acme", namespace="work")
    d = _create(world, "I work at Globex", namespace="work")
    gov.resolve(TENANT, str(d.conflict_id), ResolveConflict(resolution="keep_both"))
    assert all(world.memory_repo.get(TENANT, m.id).current for m in (c, d))  # type: ignore[union-attr]


def test_conflicts_are_per_tenant_and_unknown_ids_are_404(world: World) -> None:
    _create(world, "I live in Toronto")
    new = _create(world, "I live in Montreal")
    gov = world.memories.governance
    assert gov.conflicts(OTHER).data == []
    with pytest.raises(errors.NotFound):
        gov.resolve(OTHER, str(new.conflict_id), ResolveConflict(resolution="keep_new"))
    with pytest.raises(errors.NotFound):
        gov.resolve(TENANT, "not-a-conflict", ResolveConflict(resolution="keep_new"))
    with pytest.raises(errors.NotFound):
        gov.history(OTHER, new.id)


def test_a_duplicate_comes_back_and_gains_the_source_once(world: World) -> None:
    first = _create(world, "My name is Ada", session_id="sess_A")
    again = _create(world, "my name is ada.", session_id="sess_B")
    assert again.action == "duplicate" and again.id == first.id
    assert [s.session_id for s in again.sources] == ["sess_A", "sess_B"]
    repeat = _create(world, "My name is Ada", session_id="sess_B")
    assert [s.session_id for s in repeat.sources] == ["sess_A", "sess_B"]
    assert len(world.memory_repo.memories) == 1


def test_events_never_supersede(world: World) -> None:
    world.memories.create(TENANT, CreateMemory(text="I live in Singapore", type="event"))
    later = world.memories.create(TENANT, CreateMemory(text="I moved to Berlin last month", type="event"))
    assert later.action == "created" and all(m.current for m in world.memory_repo.memories.values())


def test_history_records_every_change_with_its_cause(world: World) -> None:
    mem = _create(world, "The user prefers tea")
    world.memories.update(TENANT, mem.id, UpdateMemory(text="The user prefers green tea"))
    world.feedback.reinforce(TENANT, mem.id, Reinforce(value=1))
    world.feedback.lock(TENANT, mem.id, "critical")
    world.feedback.apply_outcome(TENANT, [mem.id], -1)
    events = world.memories.governance.history(TENANT, mem.id).data
    assert [(e.change, e.cause) for e in reversed(events)] == [
        ("created", "api"),
        ("edited", "api"),
        ("feedback", "api"),
        ("locked", "api"),
        ("feedback", "outcome"),
    ]
    assert all("green tea" not in str(e.fields) for e in events)  # text is named, never copied
    assert events[-1].fields["tier"] == "critical"


def test_cascade_deletes_what_only_the_session_gave_and_unlinks_the_rest(world: World) -> None:
    only = _create(world, "My name is Ada", session_id="sess_A")
    shared = _create(world, "I like hiking", session_id="sess_A")
    _create(world, "I like hiking", session_id="sess_B")
    elsewhere = _create(world, "I have a dog", session_id="sess_B")
    receipt = world.memories.delete_for_session(TENANT, "sess_A", messages_purged=3)
    assert receipt.memories_deleted == [only.id] and receipt.messages_purged == 3
    assert [(k.id, k.reason) for k in receipt.memories_kept] == [(shared.id, "also from sess_B")]
    assert receipt.index_entries_removed == 1 and receipt.id.startswith("del_")
    assert world.memory_repo.get(TENANT, only.id) is None
    assert world.index.document(TENANT, only.id) is None  # type: ignore[attr-defined]
    kept = world.memory_repo.get(TENANT, shared.id)
    assert kept is not None and kept.session_id is None and kept.source_sessions() == {"sess_B"}
    assert world.memory_repo.get(TENANT, elsewhere.id) is not None
    log = world.memories.governance.deletions(TENANT).data
    assert [r.id for r in log] == [receipt.id] and log[0].memories_deleted == [only.id]
    assert world.memories.governance.deletions(OTHER).data == []
    assert "Ada" not in str(world.ledger_repo.entries)  # the log holds ids and counts, never text


def test_deleting_a_memory_answers_a_receipt_and_forgets_its_history(world: World) -> None:
    mem = _create(world, "My name is Ada")
    out = world.memories.delete(TENANT, mem.id)
    assert out.receipt is not None and out.receipt.memories_deleted == [mem.id]
    assert out.receipt.index_entries_removed == 1
    assert [r.id for r in world.memories.governance.deletions(TENANT).data] == [out.receipt.id]
    assert not [k for k in world.ledger_repo.entries if k[1] == f"history:{mem.id}"]


def test_extraction_is_idempotent_under_redelivery(world: World) -> None:
    from engram.models.intelligence import SuggestionOut

    def suggest(text: str) -> SuggestionOut:
        return SuggestionOut(
            title=text, content=text, memory_type="identity", suggested_tier="critical", confidence=0.9
        )

    intel = world.intelligence
    old_id, _ = intel.save_suggestion(TENANT, "default", suggest("User lives in Singapore"), "sess_A")
    first = intel.save_suggestion(TENANT, "default", suggest("User moved to Berlin last month"), "sess_B")
    again = intel.save_suggestion(TENANT, "default", suggest("User moved to Berlin last month"), "sess_B")
    assert first[1] == "superseded" and again == (first[0], "unchanged")
    assert world.memory_repo.get(TENANT, old_id).superseded_by == first[0]  # type: ignore[union-attr]
    assert len(world.memory_repo.memories) == 2 and world.memories.governance.conflicts(TENANT).data == []


def test_a_batch_takes_the_same_path(world: World) -> None:
    from engram.models.batch import BatchCreateMemories
    from engram.services.batch import BatchWriter

    old = _create(world, "I live in Singapore")
    out = BatchWriter(world.memories).create(
        TENANT,
        BatchCreateMemories.model_validate(
            {
                "memories": [
                    {"text": "I live in Singapore"},
                    {"text": "I moved to Berlin last month", "type": "identity"},
                ]
            }
        ),
    )
    assert [r.status for r in out.results] == ["exists", "created"] and out.results[0].id == old.id
    assert world.memory_repo.get(TENANT, old.id).superseded_by == out.results[1].id  # type: ignore[union-attr]

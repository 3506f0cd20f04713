"""Memory that stays true, on the fakes: dedupe -> supersede -> create, the review queue,
histories, lineage and deletion receipts."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from engram import clock, errors
from engram.models.governance import ResolveConflict
from engram.models.intelligence import InjectedContext
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


def test_start_and_refresh_inject_superseded_memories_only_when_asked_marked(
    make_world: Callable[..., World], now: list[float]
) -> None:
    from engram.models.intelligence import RecordTurn, StartSession

    world = make_world(refresh_every_turns=1)
    old = _create(world, "I live in Singapore")
    new = _create(world, "I moved to Berlin last month")

    def injected(context: InjectedContext | None) -> dict[str, bool]:
        assert context is not None
        return {m.id: m.superseded for group in (context.critical, context.high) for m in group}

    start = world.intelligence.start
    assert injected(start(TENANT, StartSession(first_message="Where do I live?")).context) == {new.id: False}
    marked = start(TENANT, StartSession.model_validate({"firstMessage": "Where do I live?", "includeSuperseded": True}))
    assert injected(marked.context) == {new.id: False, old.id: True}
    assert marked.stats.critical_count == 2
    turn = {"messages": [{"role": "user", "content": "Where do I live?"}]}
    sid = marked.session_id
    plain = world.intelligence.record_turn(TENANT, sid, RecordTurn.model_validate(turn))
    assert plain.refresh_needed and injected(plain.new_context) == {new.id: False}
    both = world.intelligence.record_turn(TENANT, sid, RecordTurn.model_validate({**turn, "include_superseded": True}))
    assert injected(both.new_context) == {new.id: False, old.id: True}


def test_the_list_total_counts_superseded_memories_only_when_asked(world: World) -> None:
    _create(world, "I live in Singapore")
    new = _create(world, "I moved to Berlin last month")
    dog = _create(world, "I have a dog")
    page = world.memories.list(TENANT, limit=1)
    assert page.total_count == 2 and page.has_more
    rest = world.memories.list(TENANT, limit=1, cursor=page.next_cursor)
    assert {page.data[0].id, rest.data[0].id} == {new.id, dog.id} and not rest.has_more
    assert world.memories.list(TENANT, include_superseded=True).total_count == 3
    assert world.memories.list(TENANT, type="identity").total_count == 2


def test_an_edit_that_contradicts_a_current_memory_supersedes_it(world: World, now: list[float]) -> None:
    home = _create(world, "I live in Singapore")
    pet = _create(world, "I have a dog")
    now[0] += 60
    edited = world.memories.update(TENANT, pet.id, UpdateMemory(text="I moved to Berlin last month"))
    stored = world.memory_repo.get(TENANT, home.id)
    assert stored is not None and stored.superseded_by == pet.id and stored.valid_until == now[0]
    assert edited.action == "superseded" and edited.supersedes == [home.id]
    assert [m.memory_id for m in world.memory_repo.in_slot(TENANT, "default", "user|residence")] == [pet.id]
    history = world.memories.governance.history(TENANT, pet.id).data
    assert [(e.change, e.cause) for e in history][:2] == [("supersedes", "api"), ("edited", "api")]
    assert history[1].fields["slot"] == "user|residence"


def test_an_edit_that_contradicts_a_locked_memory_goes_to_review(world: World) -> None:
    home = _create(world, "I live in Singapore")
    world.feedback.lock(TENANT, home.id, "critical")
    pet = _create(world, "I have a dog")
    edited = world.memories.update(TENANT, pet.id, UpdateMemory(text="I moved to Berlin last month"))
    assert [(c.old_memory_id, c.new_memory_id) for c in world.memories.governance.conflicts(TENANT).data] == [
        (home.id, pet.id)
    ]
    assert edited.action == "conflict" and edited.conflict_id is not None and edited.supersedes == []
    assert world.memory_repo.get(TENANT, home.id).current  # type: ignore[union-attr]


def test_an_edit_that_no_longer_fills_the_slot_releases_it(world: World) -> None:
    old = _create(world, "I live in Singapore")
    new = _create(world, "I moved to Berlin last month")
    edited = world.memories.update(TENANT, new.id, UpdateMemory(text="I enjoyed a trip to Berlin"))
    back = world.memory_repo.get(TENANT, old.id)
    assert back is not None and back.current and back.valid_until is None
    assert edited.action == "edited" and edited.restored == [old.id] and edited.supersedes == []
    assert world.memory_repo.get(TENANT, new.id).slot is None  # type: ignore[union-attr]
    assert [m.memory_id for m in world.memory_repo.in_slot(TENANT, "default", "user|residence")] == [old.id]
    changes = [
        (e.change, e.cause, e.fields.get("slot", "-")) for e in world.memories.governance.history(TENANT, new.id).data
    ]
    assert ("edited", "api", None) in changes
    assert world.memories.governance.history(TENANT, old.id).data[0].change == "reinstated"
    as_event = world.memories.update(TENANT, old.id, UpdateMemory(type="event"))
    assert as_event.action == "edited" and world.memory_repo.in_slot(TENANT, "default", "user|residence") == []


def test_deleting_a_memory_that_superseded_another_makes_the_old_one_current_again(
    world: World, now: list[float]
) -> None:
    old = _create(world, "I live in Singapore")
    new = _create(world, "I moved to Berlin last month")
    now[0] += 60
    out = world.memories.delete(TENANT, new.id)
    back = world.memory_repo.get(TENANT, old.id)
    assert back is not None and back.current and back.valid_until is None and back.superseded_by is None
    assert out.receipt is not None and out.receipt.memories_restored == [old.id]
    assert world.memories.governance.deletions(TENANT).data[0].memories_restored == [old.id]
    event = world.memories.governance.history(TENANT, old.id).data[0]
    assert (event.change, event.cause) == ("reinstated", "api") and new.id in str(event.note)
    assert [m.id for m in world.memories.list(TENANT).data] == [old.id]
    hits = world.search.search_api(TENANT, SearchMemories(query="Singapore", threshold=0.0)).results
    assert [h.id for h in hits] == [old.id]


def test_deleting_a_middle_memory_hands_its_predecessors_to_the_current_one(world: World) -> None:
    first = _create(world, "I live in Singapore")
    second = _create(world, "I moved to Berlin last month")
    third = _create(world, "I moved to Lisbon this year")
    assert third.supersedes == [second.id]
    out = world.memories.delete(TENANT, second.id)
    relinked = world.memory_repo.get(TENANT, first.id)
    assert relinked is not None and relinked.superseded_by == third.id and not relinked.current
    assert out.receipt is not None and out.receipt.memories_restored == []
    assert world.memory_repo.get(TENANT, third.id).supersedes == (first.id,)  # type: ignore[union-attr]
    assert [m.id for m in world.memories.list(TENANT).data] == [third.id]
    world.memories.delete(TENANT, first.id)  # the oldest: its successor no longer names it
    assert world.memory_repo.get(TENANT, third.id).supersedes == ()  # type: ignore[union-attr]


def test_a_cascade_restores_what_its_deleted_memories_had_superseded(world: World) -> None:
    old = _create(world, "I live in Singapore", session_id="sess_A")
    new = _create(world, "I moved to Berlin last month", session_id="sess_B")
    receipt = world.memories.delete_for_session(TENANT, "sess_B")
    assert world.memory_repo.get(TENANT, old.id).current  # type: ignore[union-attr]
    assert receipt.memories_deleted == [new.id] and receipt.memories_restored == [old.id]
    both = _create(world, "I moved to Berlin last month", session_id="sess_A")
    receipt = world.memories.delete_for_session(TENANT, "sess_A")
    assert set(receipt.memories_deleted) == {old.id, both.id} and receipt.memories_restored == []


def _end_and_extract(world: World, sid: str) -> str:
    from types import SimpleNamespace

    old = {"status": "active", "tenant_id": TENANT, "session_id": sid}
    new = {**old, "status": "ended", "extract_memories": True}
    record = SimpleNamespace(dynamodb=SimpleNamespace(new_image=new, old_image=old), raw_event={"eventName": "MODIFY"})
    return world.session_events.handle(record)  # type: ignore[arg-type]


def test_extraction_at_session_end_records_the_turn_and_message_of_each_memory(world: World) -> None:
    from engram.models.intelligence import RecordTurn
    from engram.models.sessions import AppendMessages, CreateSession

    def say(sid: str, text: str) -> None:
        body = {"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "Noted."}]}
        world.intelligence.record_turn(TENANT, sid, RecordTurn.model_validate(body))

    a = world.sessions.create(TENANT, CreateSession()).id
    say(a, "Hello there.")
    say(a, "My name is Ada Lovelace.")
    world.sessions.append_messages(
        TENANT, a, AppendMessages.model_validate({"role": "user", "content": "I have a dog."})
    )
    _end_and_extract(world, a)
    by_text = {m.text: m for m in world.memory_repo.memories.values()}
    name = next(m for t, m in by_text.items() if "Ada" in t)
    dog = next(m for t, m in by_text.items() if "dog" in t)
    assert name.sources == ({"session_id": a, "turn": 2, "message": 3},)  # turn 2: messages 3 and 4
    assert dog.sources == ({"session_id": a, "turn": None, "message": 5},)  # appended outside a turn
    rendered = world.memories.get(TENANT, name.memory_id)
    assert rendered.source is not None and (rendered.source.turn, rendered.source.message) == (2, 3)
    assert [(s.session_id, s.turn, s.message) for s in rendered.sources] == [(a, 2, 3)]
    assert _end_and_extract(world, a) == "extracted 0"  # redelivered: nothing changes
    assert world.memory_repo.get(TENANT, name.memory_id).sources == name.sources  # type: ignore[union-attr]

    b = world.sessions.create(TENANT, CreateSession()).id
    say(b, "My name is Ada Lovelace.")  # reinforced by extraction: B's turn 1 joins the lineage
    _end_and_extract(world, b)
    reinforced = world.memory_repo.get(TENANT, name.memory_id)
    assert reinforced is not None and reinforced.feedback_score == 1
    assert reinforced.sources == (
        {"session_id": a, "turn": 2, "message": 3},
        {"session_id": b, "turn": 1, "message": 1},
    )
    receipt = world.memories.delete_for_session(TENANT, a)
    assert receipt.memories_deleted == [dog.memory_id]
    assert [(k.id, k.reason) for k in receipt.memories_kept] == [(name.memory_id, f"also from {b}")]
    kept = world.memory_repo.get(TENANT, name.memory_id)
    assert kept is not None and kept.sources == ({"session_id": b, "turn": 1, "message": 1},)


def test_history_records_tier_changes_by_decay_when_they_happened(world: World, now: list[float]) -> None:
    day = 86400.0
    mem = world.memories.create(TENANT, CreateMemory(text="The user prefers tea", tier="critical"))
    pinned = world.memories.create(TENANT, CreateMemory(text="The user owns a boat", tier="critical"))
    world.feedback.lock(TENANT, pinned.id, "critical")
    gov = world.memories.governance
    t0 = now[0]
    now[0] += 31 * day  # one half-life: 100 -> 50 at day 30, below the critical threshold
    shown = gov.history(TENANT, mem.id).data
    assert [(e.change, e.cause, e.fields) for e in shown] == [
        ("tier", "decay", {"tier": "high"}),
        ("created", "api", {"tier": "critical", "type": "fact", "namespace": "default", "locked": False}),
    ]
    assert shown[0].at == clock.iso(t0 + 30 * day) and shown[0].version is None  # derived, not yet stored
    world.feedback.reinforce(TENANT, mem.id, Reinforce(value=1))  # the write stores the decay first
    events = gov.history(TENANT, mem.id).data
    assert [(e.change, e.cause, e.fields.get("tier")) for e in events] == [
        ("feedback", "api", "critical"),
        ("tier", "decay", "high"),
        ("created", "api", "critical"),
    ]
    assert events[1].at == clock.iso(t0 + 30 * day)
    assert [e.cause for e in gov.history(TENANT, pinned.id).data] == ["api", "api"]  # locked: no decay


def test_uses_after_a_long_silence_record_the_decay_before_them(world: World, now: list[float]) -> None:
    day = 86400.0
    mem = world.memories.create(TENANT, CreateMemory(text="The user prefers tea", tier="critical"))
    t0 = now[0]
    now[0] += 100 * day
    world.feedback.record_access(TENANT, [mem.id])
    assert world.settle_accesses() == 1
    events = world.memories.governance.history(TENANT, mem.id).data
    assert [(e.cause, e.fields.get("tier"), e.at) for e in events[:2]] == [
        ("decay", "normal", clock.iso(t0 + 30 * day * math.log2(100 / 15))),
        ("decay", "high", clock.iso(t0 + 30 * day)),
    ]
    assert len(events) == 3  # the two decays and the creation: nothing derived twice
    assert len([k for k in world.ledger_repo.entries if "decay" in str(k)]) == 2  # stored by the settle


def test_uses_that_promote_a_memory_record_the_tier_change_with_cause_access(world: World) -> None:
    mem = world.memories.create(TENANT, CreateMemory(text="The user prefers tea", tier="normal"))
    world.feedback.record_access(TENANT, [mem.id])
    assert world.settle_accesses() == 1
    assert [e.cause for e in world.memories.governance.history(TENANT, mem.id).data] == ["api"]  # no tier change
    stored = world.memory_repo.get(TENANT, mem.id)
    assert stored is not None and stored.tier == "normal"
    for _ in range(40):
        world.feedback.record_access(TENANT, [mem.id])
    assert world.settle_accesses() == 40
    promoted = world.memory_repo.get(TENANT, mem.id)
    assert promoted is not None and promoted.tier != "normal"
    events = world.memories.governance.history(TENANT, mem.id).data
    assert [(e.change, e.cause, e.fields) for e in events] == [
        ("tier", "access", {"tier": promoted.tier}),
        ("created", "api", {"tier": "normal", "type": "fact", "namespace": "default", "locked": False}),
    ]
    assert events[0].version == promoted.version and events[0].note == "40 uses counted"


def test_a_write_that_leaves_tier_and_strength_alone_stores_no_decay(world: World, now: list[float]) -> None:
    day = 86400.0
    mem = world.memories.create(TENANT, CreateMemory(text="I live in Singapore", type="identity"))
    now[0] += 40 * day
    world.memories.create(TENANT, CreateMemory(text="I moved to Berlin last month", type="identity"))
    events = world.memories.governance.history(TENANT, mem.id).data
    assert [(e.change, e.cause) for e in events] == [("tier", "decay"), ("superseded", "api"), ("created", "api")]
    assert events[0].version is None and "tier" not in events[1].fields  # derived on read, stored once
    assert not [k for k in world.ledger_repo.entries if "decay" in str(k)]


def test_a_session_reinforces_a_memory_once_whatever_the_messages_that_repeat_it(world: World) -> None:
    from engram.models.intelligence import SuggestionOut
    from engram.ports.sessions import Message

    said = SuggestionOut(
        title="Name", content="My name is Ada", memory_type="identity", suggested_tier="critical", confidence=0.9
    )
    intel = world.intelligence
    made, action = intel.save_suggestion(
        TENANT, "default", said, "sess_A", origin=Message(1, "user", "x", None, None, 1)
    )
    assert action == "created"
    again = intel.save_suggestion(TENANT, "default", said, "sess_A", origin=Message(5, "user", "x", None, None, 3))
    assert again == (made, "unchanged")
    stored = world.memory_repo.get(TENANT, made)
    assert stored is not None and stored.feedback_score == 0
    assert stored.sources == (
        {"session_id": "sess_A", "turn": 1, "message": 1},
        {"session_id": "sess_A", "turn": 3, "message": 5},
    )
    assert intel.save_suggestion(TENANT, "default", said, "sess_B", origin=Message(2, "user", "x")) == (
        made,
        "reinforced",
    )
    assert world.memory_repo.get(TENANT, made).feedback_score == 1  # type: ignore[union-attr]

"""Accesses off the read path: one log per search, start or turn; settled exactly once, later."""

from __future__ import annotations

from typing import Any

import pytest

from engram.models.intelligence import RecordTurn, StartSession
from engram.models.memories import Reinforce
from engram.models.sessions import CreateSession
from engram.ports.sessions import TurnRecord
from engram.testing.world import World
from tests.unit.services.conftest import T0, TENANT


def stored(world: World, memory_id: str) -> Any:
    return world.memory_repo.get(TENANT, memory_id)


def test_accesses_settle_into_count_strength_and_tier(world: World, now: list[float]) -> None:
    mem = world.memories.create_memory(TENANT, text="Deploys happen on Tuesdays")
    for _ in range(15):  # 15 accesses make a normal memory high (services/tiers.py)
        world.feedback.record_access(TENANT, [mem.id])
    assert stored(world, mem.id).access_count == 0 and len(world.memory_repo.pending_accesses()) == 15
    assert world.settle_accesses() == 15
    after = stored(world, mem.id)
    assert (after.access_count, after.strength, after.tier) == (15, 15.0, "high")
    assert after.last_accessed_at == T0 and world.memories.get(TENANT, mem.id).tier == "high"


def test_a_write_between_log_and_settle_is_kept(world: World, now: list[float]) -> None:
    mem = world.memories.create_memory(TENANT, text="Prefers tea")
    [log] = world.feedback.record_access(TENANT, [mem.id, mem.id])  # used twice at T0
    now[0] += 3600
    world.feedback.reinforce(TENANT, mem.id, Reinforce(value=1))  # a newer write, version moves
    assert world.feedback.settle([log]) == 2  # two uses of one memory
    after = stored(world, mem.id)
    assert after.feedback_score == 1 and after.access_count == 2
    # strength: the reinforcement (+5) is the later event; the two earlier uses add without decay
    assert after.strength == 7.0 and after.strength_at == T0 + 3600 and after.last_accessed_at == T0
    assert world.feedback.settle([log]) == 0 and stored(world, mem.id) == after  # a redelivered log


def test_deleted_and_unknown_memories_are_skipped(world: World) -> None:
    kept = world.memories.create_memory(TENANT, text="Kept")
    gone = world.memories.create_memory(TENANT, text="Gone")
    [log] = world.feedback.record_access(TENANT, [kept.id, gone.id, "mem_01AAAAAAAAAAAAAAAAAAAAAAAA"])
    world.memories.delete(TENANT, gone.id)
    assert world.feedback.settle([log]) == 1 and stored(world, kept.id).access_count == 1
    assert world.memory_repo.pending_accesses() == []


def test_many_memories_are_logged_in_chunks_that_each_settle_atomically(world: World) -> None:
    mems = [world.memories.create_memory(TENANT, text=f"Fact number {i}") for i in range(120)]
    logs = world.feedback.record_access(TENANT, [m.id for m in mems])
    assert [len(log.memory_ids) for log in logs] == [99, 21]
    assert world.settle_accesses() == 120
    assert {stored(world, m.id).access_count for m in mems} == {1}


def test_a_turn_logs_used_and_refreshed_memories_with_its_own_write(
    make_world: Any, now: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(refresh_every_turns=2)
    repo = world.session_repo
    reads: list[int] = []
    get_turn = repo.get_turn

    def counting(tenant_id: str, session_id: str, turn_number: int) -> TurnRecord | None:
        reads.append(turn_number)
        return get_turn(tenant_id, session_id, turn_number)

    monkeypatch.setattr(repo, "get_turn", counting)
    critical = world.memories.create_memory(TENANT, text="Allergic to nuts", tier="critical")
    used = world.memories.create_memory(TENANT, text="Prefers dark mode")
    sid = world.sessions.create(TENANT, CreateSession()).id

    def turn(n: int) -> Any:
        body = {"turn_number": n, "messages": [{"role": "user", "content": f"m{n}"}], "memories_used": [used.id]}
        return world.intelligence.record_turn(TENANT, sid, RecordTurn.model_validate(body))

    first, second = turn(1), turn(2)
    assert reads == []  # a new turn never reads its turn record
    assert second.refresh_needed and [m.id for m in second.new_context.critical] == [critical.id]
    logs = world.memory_repo.pending_accesses()
    assert [sorted(log.memory_ids) for log in logs] == [[used.id], sorted([used.id, critical.id])]
    assert turn(2) == second and reads == [2]  # a retry reads it, replays, logs nothing more
    assert len(world.memory_repo.pending_accesses()) == 2
    world.settle_accesses()
    assert stored(world, used.id).access_count == 2 and stored(world, critical.id).access_count == 1
    assert first.turn_number == 1


def test_a_replayed_turn_on_an_ended_session_still_answers_its_first_answer(world: World) -> None:
    sid = world.sessions.create(TENANT, CreateSession()).id
    body = {"turn_number": 1, "messages": [{"role": "user", "content": "hello"}]}
    first = world.intelligence.record_turn(TENANT, sid, RecordTurn.model_validate(body))
    from engram.models.sessions import EndSession

    world.sessions.end(TENANT, sid, EndSession(outcome="success"))
    assert world.intelligence.record_turn(TENANT, sid, RecordTurn.model_validate(body)) == first


def test_start_logs_its_injected_context_once(world: World) -> None:
    critical = world.memories.create_memory(TENANT, text="Speaks French", tier="critical")
    world.intelligence.start(TENANT, StartSession.model_validate({"first_message": "bonjour"}))
    assert [log.memory_ids for log in world.memory_repo.pending_accesses()] == [(critical.id,)]


def test_a_stream_batch_settles_its_logs_together(world: World) -> None:
    from engram.ports.memories import MemoryChange
    from engram.services.memory_stream import MemoryStreamHandler

    popular = world.memories.create_memory(TENANT, text="The team ships on Fridays")
    other = world.memories.create_memory(TENANT, text="The team uses Go")
    for ids in ([popular.id], [popular.id, other.id], [popular.id]):
        world.feedback.record_access(TENANT, ids)
    version = stored(world, popular.id).version
    records = [MemoryChange("accesses", TENANT, accesses=log) for log in world.memory_repo.pending_accesses()]
    handler = MemoryStreamHandler(world.index, lambda record: record, world.feedback.settle)
    assert handler.settle_batch(records) == 4
    assert [handler.handle(r) for r in records] == ["settled with its batch"] * 3
    assert stored(world, popular.id).version == version + 1  # three logs, one write of the memory
    assert (stored(world, popular.id).access_count, stored(world, other.id).access_count) == (3, 1)
    assert (
        MemoryStreamHandler(world.index, lambda r: r, world.feedback.settle).handle(records[0]) == "settled 0 accesses"
    )


def test_when_the_batch_settle_fails_each_log_settles_on_its_own(world: World) -> None:
    from engram.ports.memories import MemoryChange
    from engram.services.memory_stream import MemoryStreamHandler

    mem = world.memories.create_memory(TENANT, text="Likes green tea")
    world.feedback.record_access(TENANT, [mem.id])
    [record] = [MemoryChange("accesses", TENANT, accesses=log) for log in world.memory_repo.pending_accesses()]
    calls: list[int] = []

    def flaky(logs: Any) -> int:
        calls.append(len(logs))
        if len(calls) == 1:
            raise RuntimeError("throttled")
        return world.feedback.settle(logs)

    handler = MemoryStreamHandler(world.index, lambda r: r, flaky)
    assert handler.settle_batch([record]) == 0 and stored(world, mem.id).access_count == 0
    assert handler.handle(record) == "settled 1 accesses" and stored(world, mem.id).access_count == 1

"""A session's turn log on the fakes: start keeps what it injected as turn 0 (ids, not text); the
log names memories by their title now; records written before the log existed still read."""

from __future__ import annotations

from engram.models.intelligence import RecordTurn, StartSession
from engram.models.memories import UpdateMemory
from engram.models.sessions import CreateSession
from engram.ports.sessions import TurnRecord
from engram.testing.world import World

from .conftest import T0, TENANT


def test_start_keeps_the_injected_ids_and_the_log_names_them_by_their_title_now(world: World) -> None:
    who = world.memories.create_memory(TENANT, text="My name is Ada and I write compilers", type="identity")
    out = world.intelligence.start(TENANT, StartSession.model_validate({"first_message": "hi"}))
    sid = out.session_id
    stored = world.session_repo.get_turn(TENANT, sid, 0)
    assert stored is not None and stored.created_at == T0
    assert stored.response["injected"] == [{"id": who.id, "group": "critical", "score": None}]
    assert "compilers" not in repr(stored.response) and stored.response["stats"] == out.stats.model_dump()

    world.memories.update(TENANT, who.id, UpdateMemory(title="Ada, compiler writer"))
    log = world.sessions.list_turns(TENANT, sid)
    assert [(e.turn_number, e.kind) for e in log.data] == [(0, "start")] and log.total_count == 1
    assert [(m.id, m.group, m.title, m.exists) for m in log.data[0].injected] == [
        (who.id, "critical", "Ada, compiler writer", True)
    ]

    world.memories.delete(TENANT, who.id)
    gone = world.sessions.list_turns(TENANT, sid).data[0].injected[0]
    assert (gone.id, gone.title, gone.exists) == (who.id, None, False)


def test_turns_page_in_order_and_old_records_still_read(world: World) -> None:
    used = world.memories.create_memory(TENANT, text="Prefers dark mode")
    sid = world.sessions.create(TENANT, CreateSession()).id  # no start: no turn 0
    for n in (1, 2, 3):
        body = {"turn_number": n, "messages": [{"role": "user", "content": f"turn {n}"}], "memories_used": [used.id]}
        world.intelligence.record_turn(TENANT, sid, RecordTurn.model_validate(body))
    first = world.sessions.list_turns(TENANT, sid, limit=2)
    assert [e.turn_number for e in first.data] == [1, 2] and first.has_more and first.total_count == 3
    rest = world.sessions.list_turns(TENANT, sid, limit=2, cursor=first.next_cursor)
    assert [e.turn_number for e in rest.data] == [3] and not rest.has_more and rest.total_count == 3
    assert all([m.id for m in e.memories_used] == [used.id] for e in first.data + rest.data)

    # a turn record as an older server wrote it: no time, no unknown_memories, no stats
    legacy = TurnRecord(9, "h", {"turn_number": 9, "refresh_needed": False, "memories_used": ["mem_gone"]})
    world.session_repo.turn_records[(TENANT, sid)][9] = legacy
    entry = world.sessions.list_turns(TENANT, sid, limit=10).data[-1]
    assert (entry.turn_number, entry.created_at, entry.stats, entry.unknown_memories) == (9, None, None, [])
    assert [(m.id, m.exists) for m in entry.memories_used] == [("mem_gone", False)]

"""SessionRepository: every guard, listing and message rule, for the fake and for DynamoDB."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from engram import errors
from engram.ids import new_id
from engram.ports import StaleWrite
from engram.ports.memories import access_logs
from engram.ports.sessions import (
    Ending,
    KeyTaken,
    NewMessage,
    Session,
    SessionEdit,
    SessionFilters,
    TurnRecord,
    TurnTaken,
)

T0 = 1_800_000_000.0
TIMEOUT = 7200.0
TENANT = "tenant_a"


def new_session(repo: Any, *, tenant: str = TENANT, at: float = T0, **fields: Any) -> Session:
    session = Session(
        tenant_id=tenant,
        session_id=new_id("sess"),
        started_at=at,
        last_activity_at=at,
        created_at=at,
        updated_at=at,
        **fields,
    )
    repo.create(session)
    return session


def listing(repo: Any, *, now: float = T0, limit: int = 10, cursor: str | None = None, **filters: Any) -> Any:
    return repo.listing(
        TENANT, SessionFilters(**filters), now=now, inactivity_timeout=TIMEOUT, limit=limit, cursor=cursor, offset=0
    )


def test_create_get_and_key_aliases(sessions: Any) -> None:
    s = new_session(sessions, key="order-1", agent_id="bot", contributors=("bot",), metadata={"a": 1})
    got = sessions.get(TENANT, s.session_id)
    assert got == s
    assert sessions.resolve_key(TENANT, "order-1") == s.session_id
    assert sessions.resolve_key("tenant_b", "order-1") is None and sessions.get("tenant_b", s.session_id) is None
    with pytest.raises(KeyTaken) as taken:
        new_session(sessions, key="order-1")
    assert taken.value.session_id == s.session_id
    other = new_session(sessions, tenant="tenant_b", key="order-1")  # keys are per tenant
    assert sessions.resolve_key("tenant_b", "order-1") == other.session_id


def test_add_contributor_once_and_never_to_a_deleted_session(sessions: Any) -> None:
    s = new_session(sessions, contributors=("a",))
    s = sessions.add_contributor(s, "b")
    assert s.contributors == ("a", "b")
    assert sessions.add_contributor(s, "b").contributors == ("a", "b")
    assert sessions.delete(s, now=T0, cascade_memories=False, purge_at=int(T0) + 10)
    assert sessions.add_contributor(s, "c").contributors == ("a", "b")


def test_edit_is_guarded_by_version_and_writability(sessions: Any) -> None:
    s = new_session(sessions, metadata={"a": 1}, title="old")
    edited = sessions.edit(
        s,
        SessionEdit(title="new", metadata={"b": 2}, context={"c": 3}, touch=True),
        now=T0 + 5,
        inactivity_timeout=TIMEOUT,
    )
    assert (edited.title, edited.metadata, edited.context) == ("new", {"b": 2}, {"c": 3})
    assert edited.version == s.version + 1 and edited.last_activity_at == T0 + 5 and edited.updated_at == T0 + 5
    with pytest.raises(StaleWrite):  # read before the edit: its version is gone
        sessions.edit(s, SessionEdit(title="lost"), now=T0 + 6, inactivity_timeout=TIMEOUT)
    assert sessions.get(TENANT, s.session_id).title == "new"
    with pytest.raises(StaleWrite):  # idle past the timeout: not writable
        sessions.edit(edited, SessionEdit(title="late"), now=T0 + 5 + TIMEOUT + 1, inactivity_timeout=TIMEOUT)
    ttl = sessions.edit(
        edited,
        SessionEdit(ttl_seconds=60, expires_at=T0 + 60, purge_at=int(T0) + 99),
        now=T0 + 10,
        inactivity_timeout=TIMEOUT,
    )
    assert (ttl.ttl_seconds, ttl.expires_at, ttl.purge_at) == (60, T0 + 60, int(T0) + 99)
    with pytest.raises(StaleWrite):  # past expires_at: not writable
        sessions.edit(ttl, SessionEdit(title="expired"), now=T0 + 61, inactivity_timeout=TIMEOUT)
    ghost = replace(s, session_id=new_id("sess"))
    with pytest.raises(StaleWrite):
        sessions.edit(ghost, SessionEdit(title="x"), now=T0, inactivity_timeout=TIMEOUT)


def test_finish_and_finish_idle(sessions: Any) -> None:
    s = new_session(sessions)
    ending = Ending("ended", T0 + 1, outcome="success", summary="done", metadata={"m": 1}, extract_memories=False)
    ended = sessions.finish(s, ending, now=T0 + 1, inactivity_timeout=TIMEOUT)
    assert (ended.status, ended.outcome, ended.summary, ended.metadata) == ("ended", "success", "done", {"m": 1})
    assert ended.ended_at == T0 + 1 and ended.extract_memories is False and ended.version == s.version + 1
    with pytest.raises(StaleWrite):  # no longer active
        sessions.finish(ended, Ending("closed", T0 + 2), now=T0 + 2, inactivity_timeout=TIMEOUT)
    idle = new_session(sessions)
    touched = sessions.edit(idle, SessionEdit(touch=True), now=T0 + 3, inactivity_timeout=TIMEOUT)
    assert not sessions.finish_idle(idle, Ending("ended", T0 + 4, outcome="abandoned"), now=T0 + 9000)
    assert sessions.finish_idle(touched, Ending("ended", T0 + 4, outcome="abandoned"), now=T0 + 9000)
    stored = sessions.get(TENANT, idle.session_id)
    assert (stored.status, stored.outcome, stored.ended_at) == ("ended", "abandoned", T0 + 4)
    assert not sessions.finish_idle(stored, Ending("expired", T0 + 5), now=T0 + 9000)
    used = new_session(sessions, memories_used=frozenset({"mem_a"}))
    ended = sessions.finish(
        used, Ending("ended", T0 + 1, memories_used=frozenset({"mem_b"})), now=T0 + 1, inactivity_timeout=TIMEOUT
    )
    assert ended.memories_used == {"mem_a", "mem_b"} and ended.outcome is None
    assert sessions.get(TENANT, used.session_id).memories_used == {"mem_a", "mem_b"}


def test_delete_frees_the_key_once(sessions: Any) -> None:
    s = new_session(sessions, key="k1")
    assert sessions.delete(s, now=T0 + 1, cascade_memories=True, purge_at=int(T0) + 100)
    stored = sessions.get(TENANT, s.session_id)
    assert stored.deleted_at == T0 + 1 and stored.cascade_memories is True and stored.purge_at == int(T0) + 100
    assert sessions.resolve_key(TENANT, "k1") is None
    assert not sessions.delete(stored, now=T0 + 2, cascade_memories=False, purge_at=int(T0))
    with pytest.raises(StaleWrite):
        sessions.edit(stored, SessionEdit(title="x"), now=T0 + 3, inactivity_timeout=TIMEOUT)


def test_append_numbers_messages_under_the_count_guard(sessions: Any) -> None:
    s = new_session(sessions)
    first = sessions.append(
        s,
        [NewMessage("user", "hi"), NewMessage("tool", "{}", "call_1", "lookup")],
        now=T0 + 1,
        inactivity_timeout=TIMEOUT,
    )
    assert [(m.seq, m.role, m.tool_name) for m in first] == [(1, "user", None), (2, "tool", "lookup")]
    with pytest.raises(StaleWrite):  # read before the first append: the count moved
        sessions.append(s, [NewMessage("user", "lost")], now=T0 + 2, inactivity_timeout=TIMEOUT)
    s = sessions.get(TENANT, s.session_id)
    assert s.message_count == 2 and s.last_activity_at == T0 + 1
    turn = TurnRecord(1, "hash", {"turn_number": 1})
    stored = sessions.append(
        s, [NewMessage("assistant", "yo")], now=T0 + 3, inactivity_timeout=TIMEOUT, memories_used=["mem_a"], turn=turn
    )
    assert stored[0].seq == 3 and stored[0].turn_number == 1
    s = sessions.get(TENANT, s.session_id)
    assert s.turn_count == 1 and s.memories_used == {"mem_a"} and s.message_count == 3
    assert sessions.get_turn(TENANT, s.session_id, 1) == turn and sessions.get_turn(TENANT, s.session_id, 2) is None
    with pytest.raises(TurnTaken):  # the same turn twice: nothing of the second append is written
        sessions.append(s, [NewMessage("user", "again")], now=T0 + 4, inactivity_timeout=TIMEOUT, turn=turn)
    stale = replace(s, message_count=1)
    with pytest.raises(TurnTaken):  # the turn record is reported even when the count moved too
        sessions.append(stale, [NewMessage("user", "again")], now=T0 + 4, inactivity_timeout=TIMEOUT, turn=turn)
    assert sessions.get(TENANT, s.session_id).message_count == 3
    assert [m.content for m in sessions.all_messages(TENANT, s.session_id)] == ["hi", "{}", "yo"]
    assert [m.seq for m in sessions.recent_messages(TENANT, s.session_id, 2)] == [2, 3]


def test_messages_page_by_cursor_or_offset(sessions: Any) -> None:
    s = new_session(sessions)
    sessions.append(s, [NewMessage("user", str(i)) for i in range(5)], now=T0 + 1, inactivity_timeout=TIMEOUT)
    page = sessions.messages(TENANT, s.session_id, limit=2, cursor=None, offset=0)
    assert [m.seq for m in page.items] == [1, 2] and page.has_more
    rest = sessions.messages(TENANT, s.session_id, limit=10, cursor=page.next_cursor, offset=0)
    assert [m.seq for m in rest.items] == [3, 4, 5] and not rest.has_more and rest.next_cursor is None
    assert [m.seq for m in sessions.messages(TENANT, s.session_id, limit=2, cursor=None, offset=3).items] == [4, 5]
    with pytest.raises(errors.BadRequest):
        sessions.messages(TENANT, s.session_id, limit=2, cursor="garbage!", offset=0)
    assert sessions.purge_messages(TENANT, s.session_id) == 5
    assert list(sessions.all_messages(TENANT, s.session_id)) == []


def test_start_and_turn_records_list_in_turn_order_and_purge_with_the_messages(sessions: Any) -> None:
    s = new_session(sessions, purge_at=int(T0) + 86_400)
    start = TurnRecord(0, "", {"kind": "start", "injected": [{"id": "mem_a", "group": "critical", "score": None}]})
    sessions.save_start(s, start, now=T0 + 1)
    for n in (1, 2, 3):
        s = sessions.get(TENANT, s.session_id)
        turn = TurnRecord(n, f"hash{n}", {"turn_number": n, "memories_used": ["mem_a"]})
        sessions.append(s, [NewMessage("user", str(n))], now=T0 + 1 + n, inactivity_timeout=TIMEOUT, turn=turn)
    page = sessions.turns(TENANT, s.session_id, limit=2, cursor=None)
    assert [t.turn_number for t in page.items] == [0, 1] and page.has_more and page.next_cursor
    assert page.items[0] == start and page.items[0].created_at == T0 + 1 and page.items[1].created_at == T0 + 2
    rest = sessions.turns(TENANT, s.session_id, limit=10, cursor=page.next_cursor)
    assert [t.turn_number for t in rest.items] == [2, 3] and not rest.has_more and rest.next_cursor is None
    assert rest.items[0].response == {"turn_number": 2, "memories_used": ["mem_a"]}
    assert sessions.get_turn(TENANT, s.session_id, 0) == start  # turn numbers start at 1: 0 is free for it
    with pytest.raises(errors.BadRequest):
        sessions.turns(TENANT, s.session_id, limit=2, cursor="garbage!")
    assert sessions.turns(TENANT, "sess_other", limit=10, cursor=None).items == []
    sessions.purge_messages(TENANT, s.session_id)
    assert sessions.turns(TENANT, s.session_id, limit=10, cursor=None).items == []


def test_summaries(sessions: Any) -> None:
    s = new_session(sessions)
    assert sessions.fill_summary(TENANT, s.session_id, "first")
    assert not sessions.fill_summary(TENANT, s.session_id, "second")
    sessions.save_summary(TENANT, s.session_id, "generated", now=T0 + 1)
    stored = sessions.get(TENANT, s.session_id)
    assert stored.summary == "generated" and stored.summary_generated_at == T0 + 1
    expired = new_session(sessions)
    sessions.finish(expired, Ending("expired", T0), now=T0, inactivity_timeout=TIMEOUT)
    with pytest.raises(StaleWrite):
        sessions.save_summary(TENANT, expired.session_id, "too late", now=T0 + 1)


def test_listing_filters_by_effective_status_newest_first(sessions: Any) -> None:
    active = new_session(sessions, agent_id="a1", key="user-1", project="p")
    idle = new_session(sessions, at=T0 - TIMEOUT - 10, agent_id="a2")
    ttl = new_session(sessions, expires_at=T0 - 1)
    closed = sessions.finish(new_session(sessions), Ending("closed", T0), now=T0, inactivity_timeout=TIMEOUT)
    gone = new_session(sessions)
    sessions.delete(gone, now=T0, cascade_memories=False, purge_at=int(T0))

    def ids(**filters: Any) -> list[str]:
        return [s.session_id for s in listing(sessions, **filters).items]

    newest_first = sorted([active.session_id, idle.session_id, ttl.session_id, closed.session_id], reverse=True)
    assert ids() == newest_first and listing(sessions).total == 4
    assert ids(status="active") == [active.session_id]
    assert ids(status="ended") == [idle.session_id]
    assert ids(status="expired") == [ttl.session_id]
    assert ids(status="closed") == [closed.session_id]
    assert set(ids(status="completed")) == {idle.session_id, closed.session_id}
    assert ids(agent_id="a2") == [idle.session_id] and ids(key_prefix="user-") == [active.session_id]
    assert ids(project="p", status="active") == [active.session_id]
    with pytest.raises(errors.ValidationFailed):
        listing(sessions, status="sleeping")


def test_listing_pages_with_a_cursor(sessions: Any) -> None:
    made = sorted((new_session(sessions).session_id for _ in range(5)), reverse=True)
    first = listing(sessions, limit=2)
    assert [s.session_id for s in first.items] == made[:2] and first.has_more and first.total == 5
    second = listing(sessions, limit=2, cursor=first.next_cursor)
    assert [s.session_id for s in second.items] == made[2:4]
    last = listing(sessions, limit=2, cursor=second.next_cursor)
    assert [s.session_id for s in last.items] == made[4:] and not last.has_more
    with pytest.raises(errors.BadRequest):
        listing(sessions, cursor="not-a-cursor")


def test_listing_by_agent_finds_the_sessions_it_created_or_joined(sessions: Any) -> None:
    """agent_id names the sessions an agent created or joined (get-or-create adds contributors),
    newest first, with the other filters, paged, never another tenant's and never a deleted one."""
    owned = new_session(sessions, agent_id="reviewer")  # its agent, even without a contributors list
    joined = sessions.add_contributor(new_session(sessions, agent_id="writer", contributors=("writer",)), "reviewer")
    written = new_session(sessions, agent_id="writer", contributors=("writer",))
    new_session(sessions)
    new_session(sessions, tenant="tenant_b", agent_id="reviewer", contributors=("reviewer",))
    mine = sorted([owned.session_id, joined.session_id], reverse=True)

    every = listing(sessions, agent_id="reviewer")
    assert [s.session_id for s in every.items] == mine and every.total == 2 and not every.has_more
    assert {s.session_id for s in every.items} == {owned.session_id, joined.session_id}
    assert listing(sessions, agent_id="writer").total == 2
    first = listing(sessions, agent_id="reviewer", limit=1)
    assert [s.session_id for s in first.items] == mine[:1] and first.has_more and first.total == 2
    second = listing(sessions, agent_id="reviewer", limit=1, cursor=first.next_cursor)
    assert [s.session_id for s in second.items] == mine[1:] and not second.has_more
    with pytest.raises(errors.BadRequest):  # a cursor is valid for the listing that made it
        listing(sessions, agent_id="writer", limit=1, cursor=first.next_cursor)
    with pytest.raises(errors.BadRequest):
        listing(sessions, limit=1, cursor=first.next_cursor)

    sessions.finish(owned, Ending("closed", T0), now=T0, inactivity_timeout=TIMEOUT)
    active = listing(sessions, agent_id="reviewer", status="active")
    assert [s.session_id for s in active.items] == [joined.session_id] and active.total == 1
    assert [s.session_id for s in listing(sessions, agent_id="reviewer", status="closed").items] == [owned.session_id]
    assert sessions.delete(joined, now=T0, cascade_memories=False, purge_at=int(T0) + 10)
    assert [s.session_id for s in listing(sessions, agent_id="reviewer").items] == [owned.session_id]
    assert [s.session_id for s in listing(sessions, agent_id="writer").items] == [written.session_id]

    sessions.forget_contributors(TENANT, owned.session_id, ("reviewer",))  # the session item is gone (TTL)
    assert listing(sessions, agent_id="reviewer").items == []
    sessions.forget_contributors(TENANT, owned.session_id, ("reviewer",))  # again: nothing to do

    # sessions stored before the agent index existed get their entries from reindex_agents
    assert sessions.reindex_agents("tenant_b") == 1 and listing(sessions, agent_id="reviewer").items == []
    assert sessions.reindex_agents() >= 3
    assert [s.session_id for s in listing(sessions, agent_id="reviewer").items] == [owned.session_id]
    assert [s.session_id for s in listing(sessions, agent_id="writer").items] == [written.session_id]


def test_sweeper_queries(sessions: Any) -> None:
    idle = new_session(sessions, at=T0 - TIMEOUT - 10)
    ttl = new_session(sessions, expires_at=T0 - 1)
    fresh = new_session(sessions)
    finished = sessions.finish(
        new_session(sessions, expires_at=T0 - 1), Ending("closed", T0 - 2), now=T0 - 2, inactivity_timeout=TIMEOUT
    )
    assert [s.session_id for s in sessions.expired_active(T0, 100)] == [ttl.session_id]
    assert [s.session_id for s in sessions.idle_active(T0 - TIMEOUT, 100)] == [idle.session_id]
    assert fresh.session_id not in {s.session_id for s in sessions.idle_active(T0 - TIMEOUT, 100)}
    assert finished.status == "closed"


def test_a_turn_logs_its_accesses_in_the_same_write(sessions_and_memories: tuple[Any, Any]) -> None:
    sessions, memories = sessions_and_memories
    s = new_session(sessions)
    [log] = access_logs(TENANT, ["mem_a", "mem_b"], T0 + 1)
    turn = TurnRecord(1, "hash", {"turn_number": 1})
    sessions.append(s, [NewMessage("user", "hi")], now=T0 + 1, inactivity_timeout=TIMEOUT, turn=turn, accesses=[log])
    [again] = access_logs(TENANT, ["mem_a"], T0 + 2)
    with pytest.raises(TurnTaken):  # nothing of a refused turn is written: not its log either
        sessions.append(
            s, [NewMessage("user", "hi")], now=T0 + 2, inactivity_timeout=TIMEOUT, turn=turn, accesses=[again]
        )
    assert memories.settle_accesses([again], []) == {again.log_id}  # never logged
    assert memories.settle_accesses([log], []) == set()  # logged with the turn, settled once
    assert memories.settle_accesses([log], []) == {log.log_id}

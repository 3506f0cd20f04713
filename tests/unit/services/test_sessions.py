"""SessionService on the fakes: addressing, writes under guards, lifecycle, metadata merges."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest
import pytest_socket

from engram import errors
from engram.models.memories import CreateMemory
from engram.models.sessions import (
    AppendMessages,
    CloseSession,
    CreateSession,
    EndSession,
    GetOrCreateSession,
    UpdateSession,
)
from engram.ports import StaleWrite
from engram.testing.world import World

from .conftest import T0, TENANT


def create(world: World, **fields: object) -> str:
    return world.sessions.create(TENANT, CreateSession.model_validate(fields)).id


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_the_unit_tier_cannot_open_a_socket() -> None:
    with pytest.raises(pytest_socket.SocketBlockedError):
        socket.socket()


def test_create_and_address_by_id_or_key(world: World) -> None:
    sid = create(world, key="ticket-1", agent_id="bot", metadata={"a": 1})
    by_key = world.sessions.get(TENANT, "ticket-1")
    assert by_key.id == sid and by_key.status == "active" and by_key.contributors == ["bot"]
    stored = world.session_repo.get(TENANT, sid)
    assert stored is not None and stored.key == "ticket-1" and stored.metadata == {"a": 1}
    with pytest.raises(errors.Conflict, match=sid):
        create(world, key="ticket-1")
    with pytest.raises(errors.NotFound):
        world.sessions.get("tenant_b", sid)


def test_get_or_create_is_one_session_per_key_and_adds_contributors_once(world: World) -> None:
    first = world.sessions.get_or_create(TENANT, GetOrCreateSession(key="k", agent_id="a"))
    again = world.sessions.get_or_create(TENANT, GetOrCreateSession(key="k", agent_id="b"))
    thrice = world.sessions.get_or_create(TENANT, GetOrCreateSession(key="k", agent_id="b"))
    assert first.created and not again.created and again.id == first.id == thrice.id
    assert thrice.contributors == ["a", "b"]


def test_agent_filter_finds_sessions_the_agent_created_or_joined(world: World) -> None:
    """Seed 002: an agent that joined a session with get-or-create finds it when listing by agent."""
    shared = world.sessions.get_or_create(TENANT, GetOrCreateSession(key="campaign", agent_id="my-assistant")).id
    world.sessions.get_or_create(TENANT, GetOrCreateSession(key="campaign", agent_id="code-reviewer"))
    own = create(world, agent_id="code-reviewer")
    create(world, agent_id="my-assistant")
    found = world.sessions.list_sessions(TENANT, agent_id="code-reviewer")
    assert [s.id for s in found.data] == sorted([shared, own], reverse=True) and found.total_count == 2
    assert world.sessions.list_sessions(TENANT, agent_id="my-assistant").total_count == 2
    world.sessions.delete(TENANT, shared)
    assert [s.id for s in world.sessions.list_sessions(TENANT, agent_id="code-reviewer").data] == [own]


def test_every_metadata_merge_removes_null_keys(world: World) -> None:
    """PATCH, end and close merge metadata the same way: a null value removes the key."""
    sid = create(world, metadata={"keep": 1, "drop": 2})
    patched = world.sessions.update(TENANT, sid, UpdateSession(metadata={"drop": None, "new": 3}))
    assert patched.metadata == {"keep": 1, "new": 3}
    ended = world.sessions.end(TENANT, sid, EndSession(metadata={"keep": None, "why": "done"}))
    assert ended.metadata == {"new": 3, "why": "done"}
    assert world.session_repo.get(TENANT, sid).metadata == {"new": 3, "why": "done"}  # type: ignore[union-attr]
    other = create(world, metadata={"x": 1})
    closed = world.sessions.close(TENANT, other, CloseSession(metadata={"x": None}, summary="bye"))
    assert closed.metadata == {} and closed.summary == "bye" and closed.status == "closed"


def test_oversized_merged_metadata_is_refused_and_nothing_changes(world: World) -> None:
    sid = create(world, metadata={"a": "x" * 6000})
    with pytest.raises(errors.PayloadTooLarge):
        world.sessions.update(TENANT, sid, UpdateSession(metadata={"b": "y" * 6000}))
    assert world.session_repo.get(TENANT, sid).metadata == {"a": "x" * 6000}  # type: ignore[union-attr]


def test_append_numbers_messages_and_pages_them(world: World, now: list[float]) -> None:
    sid = create(world)
    out = world.sessions.append_messages(
        TENANT,
        sid,
        AppendMessages.model_validate({"messages": [{"role": "user", "content": f"m{i}"} for i in range(3)]}),
    )
    assert [m.seq for m in out.messages] == [1, 2, 3] and out.message_count == 3
    page = world.sessions.list_messages(TENANT, sid, limit=2)
    assert [m.content for m in page.data] == ["m0", "m1"] and page.total_count == 3 and page.has_more
    rest = world.sessions.list_messages(TENANT, sid, limit=2, cursor=page.next_cursor)
    assert [m.content for m in rest.data] == ["m2"] and not rest.has_more


def test_get_returns_the_first_page_of_messages_by_default(world: World) -> None:
    """Seed 003: getting a session returns its messages in order; more than a page leaves a cursor
    that GET …/messages continues from."""
    sid = create(world)
    body = {"messages": [{"role": "user", "content": f"m{i}"} for i in range(5)]}
    world.sessions.append_messages(TENANT, sid, AppendMessages.model_validate(body))
    everything = world.sessions.get(TENANT, sid)
    assert [m.content for m in everything.messages or []] == [f"m{i}" for i in range(5)]
    assert everything.messages_has_more is False and everything.messages_next_cursor is None
    first = world.sessions.get(TENANT, sid, messages_limit=2)
    assert [m.seq for m in first.messages or []] == [1, 2] and first.messages_has_more is True
    rest = world.sessions.list_messages(TENANT, sid, limit=10, cursor=first.messages_next_cursor)
    assert [m.seq for m in rest.data] == [3, 4, 5]
    bare = world.sessions.get(TENANT, sid, include_messages=False)
    assert bare.messages is None and bare.messages_has_more is None and bare.message_count == 5


def test_memory_count_is_exact_after_creates_extraction_and_deletes(world: World) -> None:
    """Seed 002: "Memories created with a session_id are automatically associated with that
    session"; GET and the list count them at once, and a delete uncounts."""
    sid = create(world, agent_id="bot")
    first = world.memories.create_memory(TENANT, text="Root cause: retries skipped timeouts", session_id=sid)
    world.memories.create(
        TENANT, CreateMemory.model_validate({"text": "Max attempts is 5", "source": {"session_id": sid}})
    )
    world.memories.create_memory(TENANT, text="Unrelated")
    assert world.sessions.get(TENANT, sid).memory_count == 2
    assert [s.memory_count for s in world.sessions.list_sessions(TENANT).data] == [2]
    world.memories.delete(TENANT, first.id)
    assert world.sessions.get(TENANT, sid).memory_count == 1
    with pytest.raises(errors.NotFound):
        world.memories.delete(TENANT, first.id)
    assert world.sessions.list_sessions(TENANT, agent_id="bot").data[0].memory_count == 1

    talk = {"role": "user", "content": "My name is Priya and I work at Acme as a data engineer"}
    world.sessions.append_messages(TENANT, sid, AppendMessages.model_validate(talk))
    world.sessions.end(TENANT, sid, EndSession(extract_memories=True))
    old = {"status": "active", "tenant_id": TENANT, "session_id": sid}
    new = {**old, "status": "ended", "extract_memories": True, "namespace": "default"}
    record = SimpleNamespace(dynamodb=SimpleNamespace(new_image=new, old_image=old), raw_event={"eventName": "MODIFY"})
    world.session_events.handle(record)
    world.session_events.handle(record)  # redelivered: extracts nothing twice, counts nothing twice
    extracted = [m for m in world.memory_repo.memories.values() if m.session_id == sid]
    assert len(extracted) >= 2 and world.sessions.get(TENANT, sid).memory_count == len(extracted)


def test_a_lost_race_is_retried_on_a_fresh_read(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    sid = create(world, title="old")
    real_edit = world.session_repo.edit
    calls = []

    def edit_losing_once(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise StaleWrite()
        return real_edit(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(world.session_repo, "edit", edit_losing_once)
    assert world.sessions.update(TENANT, sid, UpdateSession(title="new")).title == "new"
    assert len(calls) == 2


def test_a_session_that_keeps_losing_races_answers_503(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    sid = create(world)

    def always_stale(*args: object, **kwargs: object) -> object:
        raise StaleWrite()

    monkeypatch.setattr(world.session_repo, "edit", always_stale)
    monkeypatch.setattr("engram.services.optimistic.time.sleep", lambda _: None)
    with pytest.raises(errors.ServiceUnavailable, match="busy"):
        world.sessions.update(TENANT, sid, UpdateSession(title="never"))


def test_ended_idle_and_expired_sessions_refuse_writes(world: World, now: list[float]) -> None:
    ended = create(world)
    world.sessions.end(TENANT, ended, EndSession(outcome="failure"))
    with pytest.raises(errors.Conflict, match="ended"):
        world.sessions.replace_context(TENANT, ended, {"a": 1})
    idle = create(world)
    expiring = create(world, ttl_seconds=60)
    now[0] = T0 + 7201
    assert (
        world.sessions.get(TENANT, idle).status == "ended" and world.sessions.get(TENANT, idle).outcome == "abandoned"
    )
    with pytest.raises(errors.Conflict, match="abandoned"):
        world.sessions.update(TENANT, idle, UpdateSession(title="late"))
    with pytest.raises(errors.Gone):
        world.sessions.update(TENANT, expiring, UpdateSession(title="late"))
    assert [s.id for s in world.sessions.list_sessions(TENANT, status="expired").data] == [expiring]


def test_end_records_outcome_and_extraction_choice(world: World, now: list[float]) -> None:
    sid = create(world)
    now[0] += 42
    out = world.sessions.end(TENANT, sid, EndSession(outcome="partial", summary="s"))
    assert out.ended and out.outcome == "partial" and out.duration == 42.0
    stored = world.session_repo.get(TENANT, sid)
    assert stored is not None and stored.extract_memories is False and stored.ended_at == T0 + 42


def test_delete_frees_the_key_purges_and_cascades(world: World) -> None:
    sid = create(world, key="again")
    world.sessions.append_messages(TENANT, sid, AppendMessages.model_validate({"role": "user", "content": "hi"}))
    world.memories.create_memory(TENANT, text="From this session", session_id=sid)
    out = world.sessions.delete(TENANT, "again", cascade_memories=True, purge=True)
    assert out.deleted and out.purged_messages == 1 and out.cascade_memories
    assert world.memory_repo.memories == {}
    with pytest.raises(errors.NotFound):
        world.sessions.get(TENANT, sid)
    assert create(world, key="again") != sid


def test_export_carries_messages_and_memories(world: World) -> None:
    sid = create(world)
    world.sessions.append_messages(TENANT, sid, AppendMessages.model_validate({"role": "user", "content": "hi"}))
    mem = world.memories.create_memory(TENANT, text="Exported memory", session_id=sid)
    doc = world.sessions.export(TENANT, sid)
    assert doc["session"]["id"] == sid and [m["content"] for m in doc["messages"]] == ["hi"]
    assert [m["id"] for m in doc["memories"]] == [mem.id]

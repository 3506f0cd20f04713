"""Miss clusters and replay on the fakes (services/miss_review.py)."""

from __future__ import annotations

import pytest

from engram import errors
from engram.models.memories import CreateMemory, LogMiss, ReplayMisses, SearchMemories
from engram.paging import encode_cursor
from engram.services.miss_review import leader_clusters
from engram.testing.world import World

from .conftest import T0, TENANT

CI = ["What CI provider do we use?", "Which CI provider do we use?", "which ci provider does the team use"]
COLOUR = ["What is the user's favourite colour?", "what is the user's  favourite colour?"]


def log(world: World, now: list[float], query: str, **kw: object) -> str:
    now[0] += 60
    return world.misses.log_miss(TENANT, LogMiss(query=query, **kw)).miss_id  # type: ignore[arg-type]


def test_similar_misses_cluster_with_counts_representative_and_examples(world: World, now: list[float]) -> None:
    ids = [log(world, now, q) for q in CI]
    colour = [log(world, now, q) for q in COLOUR]
    lone = log(world, now, "When is the dentist appointment?")
    out = world.miss_review.clusters(TENANT)
    assert [(c.id, c.count) for c in out.data] == [(ids[0], 3), (colour[0], 2), (lone, 1)]
    ci = out.data[0]
    assert ci.representative in CI and [e.id for e in ci.examples] == ids[::-1]  # newest first
    assert ci.first_seen < ci.last_seen
    assert out.total_count == 3 and out.misses_considered == 6 and not out.truncated and not out.has_more
    # identical questions (case and spacing aside) always land together, whatever the threshold
    strict = world.miss_review.clusters(TENANT, similarity=1.0)
    assert {c.id: c.count for c in strict.data}[colour[0]] == 2 and strict.total_count == 5


def test_clusters_page_and_examples_are_bounded(world: World, now: list[float]) -> None:
    for q in [*CI, *COLOUR, "When is the dentist appointment?"]:
        log(world, now, q)
    first = world.miss_review.clusters(TENANT, limit=2, examples=1)
    assert [c.count for c in first.data] == [3, 2] and all(len(c.examples) == 1 for c in first.data)
    assert first.has_more and first.next_cursor and first.total_count == 3
    second = world.miss_review.clusters(TENANT, limit=2, cursor=first.next_cursor)
    assert [c.count for c in second.data] == [1] and not second.has_more and second.next_cursor is None
    with pytest.raises(errors.BadRequest):
        world.miss_review.clusters(TENANT, cursor="not-a-cursor")
    with pytest.raises(errors.BadRequest):
        world.miss_review.clusters(TENANT, cursor=encode_cursor({"offset": -1}))


def test_clusters_filter_by_namespace_and_time(world: World, now: list[float]) -> None:
    log(world, now, CI[0], namespace="work")
    log(world, now, CI[1], namespace="home")
    log(world, now, CI[2])  # asked across every namespace: counts for each
    now[0] = T0 + 2 * 86400
    late = log(world, now, COLOUR[0], namespace="work")
    work = world.miss_review.clusters(TENANT, namespace="work")
    assert sorted(c.count for c in work.data) == [1, 2] and work.misses_considered == 3
    assert {n for c in work.data for n in c.namespaces} == {"work"}
    recent = world.miss_review.clusters(TENANT, since="2027-01-16")  # T0 is 2027-01-15T08:00Z
    assert [c.id for c in recent.data] == [late]
    early = world.miss_review.clusters(TENANT, until="2027-01-16")
    assert early.misses_considered == 3 and early.data[0].count == 3
    with pytest.raises(errors.ValidationFailed):
        world.miss_review.clusters(TENANT, since="yesterday")
    with pytest.raises(errors.ValidationFailed):
        world.miss_review.clusters(TENANT, since="2027-01-16", until="2027-01-15")


def test_clusters_are_per_tenant(world: World, now: list[float]) -> None:
    log(world, now, CI[0])
    assert world.miss_review.clusters("tenant_b").data == []
    assert world.miss_review.clusters("tenant_b").misses_considered == 0


def test_leader_clustering_never_moves_an_older_miss(world: World, now: list[float]) -> None:
    ids = [log(world, now, q) for q in CI]
    before = {c.id: c.count for c in world.miss_review.clusters(TENANT).data}
    log(world, now, "What CI do we use?")
    after = {c.id: c.count for c in world.miss_review.clusters(TENANT).data}
    assert ids[0] in before and ids[0] in after and after[ids[0]] >= before[ids[0]]
    assert leader_clusters([], [], 0.5) == []


def test_replay_answers_what_memory_now_holds(world: World, now: list[float]) -> None:
    ci = [world.search.search_api(TENANT, SearchMemories(query=q, log_miss=True)).miss_id for q in CI[:2]]
    colour = world.search.search_api(TENANT, SearchMemories(query=COLOUR[0], log_miss=True)).miss_id
    assert None not in ci and colour is not None
    before = world.miss_review.replay(TENANT, ReplayMisses())
    assert (before.replayed, before.answered, before.unanswered) == (3, 0, 3)
    assert all(r.top is None and not r.answered for r in before.data)

    mem = world.memories.create(TENANT, CreateMemory(text="We use the CI provider GitHub Actions"))
    after = world.miss_review.replay(TENANT, ReplayMisses())
    by_id = {r.miss_id: r for r in after.data}
    assert (after.replayed, after.answered, after.unanswered) == (3, 2, 1)
    assert after.threshold == world.search.weights.threshold
    for mid in ci:
        hit = by_id[mid]
        assert hit.answered and hit.top is not None and hit.top.memory_id == mem.id
        assert hit.top.score >= after.threshold
    assert not by_id[colour].answered
    # a replay only reads: the memory was not counted as accessed, the misses are still logged
    stored = world.memory_repo.get(TENANT, mem.id)
    assert stored is not None and stored.access_count == 0
    assert world.misses.list_misses(TENANT).count == 3
    # a stricter threshold (as search takes one) answers none
    strict = world.miss_review.replay(TENANT, ReplayMisses(threshold=9.0))
    assert strict.answered == 0 and strict.threshold == 9.0 and strict.data[0].top is not None


def test_replay_asks_in_the_misses_namespace_and_by_cluster(world: World, now: list[float]) -> None:
    world.memories.create(TENANT, CreateMemory(text="We use the CI provider GitHub Actions", namespace="home"))
    work = log(world, now, CI[0], namespace="work")
    home = log(world, now, CI[1], namespace="home")
    other = log(world, now, COLOUR[0])
    out = world.miss_review.replay(TENANT, ReplayMisses())
    answered = {r.miss_id: r.answered for r in out.data}
    assert answered == {work: False, home: True, other: False}  # asked where it was asked
    cluster = world.miss_review.clusters(TENANT).data[0]
    assert cluster.count == 2
    one = world.miss_review.replay(TENANT, ReplayMisses(cluster_id=cluster.id))
    assert sorted(r.miss_id for r in one.data) == sorted([work, home]) and one.replayed == 2
    limited = world.miss_review.replay(TENANT, ReplayMisses(limit=1))
    assert [r.miss_id for r in limited.data] == [other] and limited.more_misses
    only_work = world.miss_review.replay(TENANT, ReplayMisses(namespace="work"))
    assert {r.miss_id for r in only_work.data} == {work, other}
    with pytest.raises(errors.NotFound):
        world.miss_review.replay(TENANT, ReplayMisses(cluster_id=work, namespace="home"))


def test_replay_of_nothing_and_other_tenants(world: World, now: list[float]) -> None:
    mid = log(world, now, CI[0])
    empty = world.miss_review.replay("tenant_b", ReplayMisses())
    assert (empty.replayed, empty.answered, empty.threshold, empty.data) == (0, 0, None, [])
    with pytest.raises(errors.NotFound):
        world.miss_review.replay("tenant_b", ReplayMisses(cluster_id=mid))


def test_replay_asks_a_miss_logged_in_21_namespaces_in_all_of_them(world: World, now: list[float]) -> None:
    # A search may name ``namespace`` plus 20 ``namespaces``; its logged miss keeps all 21, and replay
    # asks in all 21 (it answered 500 building a request with 21 ``namespaces``; found by the fuzz run).
    many = [f"ns{i:02d}" for i in range(20)]
    asked = SearchMemories(query=CI[0], namespace="team", namespaces=many, log_miss=True)
    mid = world.search.search_api(TENANT, asked).miss_id
    assert mid is not None
    world.memories.create(TENANT, CreateMemory(text="We use the CI provider GitHub Actions", namespace="ns19"))
    out = world.miss_review.replay(TENANT, ReplayMisses())
    (result,) = out.data
    assert result.miss_id == mid and result.answered
    assert sorted(result.namespaces) == sorted([*many, "team"])

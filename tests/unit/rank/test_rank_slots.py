"""engram.rank.slots and the features it feeds: what a query asks about, what a memory states,
and the ``slot`` and ``vector_gap`` features computed from them."""

from __future__ import annotations

import math

import pytest

from engram.rank import Candidate, features, read_query
from engram.rank.features import MIN_POOL, SLOT_RAMP, vector_scale
from engram.rank.slots import memory_topics, query_topics


@pytest.mark.parametrize(
    ("query", "topics"),
    [
        ("What timezone is the user in?", {"place"}),
        ("Where does Caroline live?", {"place"}),
        ("What API style does the user like?", {"preference"}),
        ("What does the user do for work?", {"work"}),
        ("What is the user's name?", {"identity"}),
        ("Help me design a REST API", {"preference"}),  # a request asks how the user wants it done
        ("Can you write the migration?", {"preference"}),
        ("What did the user say about REST?", set()),
        ("When did Melanie paint a sunrise?", set()),
    ],
)
def test_query_topics(query: str, topics: set[str]) -> None:
    assert query_topics(query) == topics


@pytest.mark.parametrize(
    ("text", "kind", "topics"),
    [
        ("User is based in Singapore", "", {"place"}),
        ("User prefers morning meetings, usually around 9am", "", {"preference"}),
        ("User chose REST over GraphQL because the team knows it", "decision", {"preference"}),  # by its type
        ("User chose REST over GraphQL because the team knows it", "fact", set()),  # no slot read
        ("Caroline: Yeah! I love reading, it is my escape.", "", {"preference"}),  # speaker label dropped
        ("Melanie works as a nurse at the city hospital.", "", {"work"}),  # third-person subject
        ("Caroline: Thanks, see you soon!", "", set()),
    ],
)
def test_memory_topics(text: str, kind: str, topics: set[str]) -> None:
    assert memory_topics(text, kind) == topics


def rows(query: str, texts: list[str], cosines: list[float]) -> list[dict[str, float]]:
    cands = [Candidate(f"m{i}", t, cosine=c) for i, (t, c) in enumerate(zip(texts, cosines, strict=True))]
    return features(read_query(query), cands, embedder="minilm")


def cosine_at(vector: float) -> float:
    noise, match = vector_scale("minilm")
    return noise + vector * (match - noise)


def test_slot_is_the_topic_rarity_ramped_by_meaning() -> None:
    texts = ["User is based in Singapore", "User prefers morning meetings", "User lives in Lisbon now"]
    values = rows("What timezone is the user in?", texts, [cosine_at(0.8), cosine_at(1.0), cosine_at(0.2)])
    idf = math.log(1.0 + (MIN_POOL - 2 + 0.5) / 2.5)  # two of the candidates fill a place slot
    top = math.log(1.0 + (MIN_POOL + 0.5) / 0.5)
    assert values[0]["slot"] == pytest.approx(idf / top)  # past the ramp: counts fully
    assert values[1]["slot"] == 0.0  # a preference, not a place
    assert values[2]["slot"] == pytest.approx(idf / top * 0.2 / SLOT_RAMP)  # barely nearer than noise


def test_no_slot_without_meaning_or_without_a_question_topic() -> None:
    texts = ["User prefers REST over GraphQL"]
    assert rows("What is the user's favourite colour?", texts, [cosine_at(-0.3)])[0]["slot"] == 0.0
    assert rows("What did the user say about REST?", texts, [cosine_at(0.7)])[0]["slot"] == 0.0


def test_vector_gap_is_the_distance_to_the_nearest_candidate() -> None:
    values = rows("anything", ["a", "b", "c"], [cosine_at(0.5), cosine_at(1.5), cosine_at(1.0)])
    assert [round(r["vector_gap"], 9) for r in values] == [-1.0, 0.0, -0.5]
    [lone] = rows("anything", ["a"], [None])  # type: ignore[list-item]
    assert lone["vector"] == lone["vector_gap"] == 0.0

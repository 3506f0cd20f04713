"""Features of engram.rank: the coverage feature's rarity weights in small and large pools."""

from __future__ import annotations

import math

import pytest

from engram.rank import Candidate, features, read_query
from engram.rank.features import MIN_POOL


def coverage_of(query: str, texts: list[str]) -> list[float]:
    cands = [Candidate(f"m{i}", text) for i, text in enumerate(texts)]
    return [row["coverage"] for row in features(read_query(query), cands, embedder="hashing")]


def idf(pool: int, df: int) -> float:
    return math.log(1.0 + (pool - df + 0.5) / (df + 0.5))


def test_a_lone_memory_gets_its_matched_word_counted_as_rare() -> None:
    # One memory in the namespace: "graphql" is in it (df 1), "schema" is not (df 0). Read as a
    # pool of MIN_POOL memories, the matched word weighs nearly as much as the missing one.
    [only] = coverage_of("graphql schema", ["User chose REST over GraphQL"])
    assert only == pytest.approx(idf(MIN_POOL, 1) / (idf(MIN_POOL, 1) + idf(MIN_POOL, 0)))
    assert only > 0.4


def test_a_word_every_candidate_holds_counts_for_little_in_a_large_pool() -> None:
    texts = [f"user note number {i}" for i in range(2 * MIN_POOL)] + ["user lives in singapore"]
    values = coverage_of("user singapore", texts)
    assert values[-1] == pytest.approx(1.0)  # holds both words
    common = idf(len(texts), len(texts))
    assert values[0] == pytest.approx(common / (common + idf(len(texts), 1)))
    assert values[0] < 0.1

"""Hybrid scoring, BM25 normalisation, entity matching and per-embedder calibration."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engram.embed.calibration import CALIBRATIONS, Calibration, calibration_for
from engram.services.search import HybridScorer, ScoringWeights, entities_matched, text_scores


def test_score_is_the_sum_of_its_terms_with_the_seed_weights() -> None:
    w = ScoringWeights()
    b = HybridScorer(w).score(vector_score=0.89, text_score=0.5, entities=1, feedback_score=2, access_count=8)
    assert b.vector_term == 0.89
    assert b.text_term == round(w.text_weight * 0.5, 6)
    assert b.entity_bonus == 0.06 and b.feedback_bonus == 0.16 and b.access_bonus == 0.08
    assert b.score == round(0.89 + w.text_weight * 0.5 + 0.06 + 0.16 + 0.08, 6)
    assert sum(t.contribution for t in b.terms(w)) == pytest.approx(b.score, abs=1e-9)


def test_access_bonus_is_capped_and_feedback_can_be_negative() -> None:
    b = HybridScorer(ScoringWeights()).score(
        vector_score=0.5, text_score=0.0, entities=0, feedback_score=-3, access_count=400
    )
    assert b.access_bonus == 0.25  # min(400, 25) · 0.01
    assert b.feedback_bonus == -0.24
    assert b.score == round(0.5 + 0.25 - 0.24, 6)


@settings(suppress_health_check=[HealthCheck.too_slow])  # generation is slow on a busy machine, not wrong
@given(
    st.floats(0, 1),
    st.floats(0, 1),
    st.integers(0, 20),
    st.integers(-50, 50),
    st.integers(0, 10_000),
)
def test_terms_always_add_up_exactly(vs: float, ts: float, ents: int, fb: int, acc: int) -> None:
    w = ScoringWeights()
    b = HybridScorer(w).score(vector_score=vs, text_score=ts, entities=ents, feedback_score=fb, access_count=acc)
    total = round(b.vector_term + b.text_term + b.entity_bonus + b.feedback_bonus + b.access_bonus, 6)
    assert total == b.score


def test_bm25_normalisation_is_per_query_and_weighted_by_coverage() -> None:
    bm25 = {"a": 8.0, "b": 4.0, "c": 2.0}
    texts = {"a": "the favourite restaurant is Nobu", "b": "a restaurant downtown", "c": "favourite colour"}
    scores = text_scores("favourite restaurant", bm25, texts)
    assert scores["a"] == 1.0  # the best hit with every query term
    assert scores["b"] == pytest.approx(0.5 * 0.5)  # half the best BM25, half the terms
    assert scores["c"] == pytest.approx(0.25 * 0.5)
    assert text_scores("x", {}, {}) == {}
    assert text_scores("favourite restaurant", bm25, texts, use_coverage=False)["b"] == 0.5


def test_entities_match_whole_words_case_insensitively() -> None:
    assert entities_matched("Where does Ann live in New York?", ["ann", "New York", "Annabel", "York City"]) == 2
    assert entities_matched("anniversary plans", ["Ann"]) == 0
    assert entities_matched("anything", []) == 0


def test_calibration_maps_anchors_clips_and_is_monotonic() -> None:
    cal = Calibration(noise=0.2, match=0.5)
    assert cal(0.2) == pytest.approx(0.5) and cal(0.5) == pytest.approx(0.8)
    assert 0.0 <= cal(-1.0) < 0.01 and 0.95 < cal(1.0) < 1.0
    xs = [i / 100 for i in range(-100, 101)]
    ys = [cal(x) for x in xs]
    assert all(a < b for a, b in itertools.pairwise(ys))  # strictly increasing: never ties two matches
    for name in ("hashing", "minilm", "titan-v2"):
        assert calibration_for(name) is CALIBRATIONS[name]
        assert CALIBRATIONS[name].match > CALIBRATIONS[name].noise
    assert calibration_for("unknown")(0.77) == pytest.approx(0.77)  # identity fallback

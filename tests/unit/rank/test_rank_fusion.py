"""The fused score: a logistic model whose Shapley terms add up exactly to the score."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engram.rank.fusion import RankModel, sigmoid

MODEL = RankModel(bias=-3.0, weights={"vector": 2.5, "text": 1.5, "coverage": 4.0, "name_unknown": -6.0})


def test_score_is_the_sigmoid_of_the_logit() -> None:
    values = {"vector": 1.0, "text": 0.5, "coverage": 0.5, "name_unknown": 0.0}
    z = -3.0 + 2.5 + 0.75 + 2.0
    assert MODEL.logit(values) == pytest.approx(z)
    assert MODEL.score(values) == round(1 / (1 + math.exp(-z)), 6)


def test_terms_start_from_the_prior_and_add_up_to_the_score() -> None:
    values = {"vector": 1.0, "text": 0.5, "coverage": 0.5, "name_unknown": 1.0}
    terms = MODEL.terms(values)
    assert [t.name for t in terms] == ["prior", "vector", "text", "coverage", "name_unknown"]
    assert terms[0].contribution == round(sigmoid(-3.0), 6)
    assert round(sum(t.contribution for t in terms), 6) == MODEL.score(values)
    by = {t.name: t for t in terms}
    assert by["vector"].contribution > 0 and by["name_unknown"].contribution < 0
    assert by["coverage"].weight == 4.0 and by["coverage"].value == 0.5


def test_a_feature_at_zero_contributes_nothing_and_equal_parts_share_equally() -> None:
    terms = {t.name: t for t in MODEL.terms({"vector": 0.8, "text": 0.0, "coverage": 0.5})}
    assert terms["text"].contribution == 0.0 and terms["name_unknown"].contribution == 0.0
    # vector 2.5·0.8 = 2.0 and coverage 4.0·0.5 = 2.0 are the same push: the same share
    assert terms["vector"].contribution == pytest.approx(terms["coverage"].contribution, abs=2e-6)


def test_two_features_match_the_average_of_both_orders() -> None:
    model = RankModel(bias=-1.0, weights={"a": 2.0, "b": -0.5})
    terms = {t.name: t.contribution for t in model.terms({"a": 1.0, "b": 1.0})}
    a_first = sigmoid(1.0) - sigmoid(-1.0)
    a_second = sigmoid(0.5) - sigmoid(-1.5)
    assert terms["a"] == pytest.approx((a_first + a_second) / 2, abs=1e-6)


@given(st.dictionaries(st.sampled_from(["vector", "text", "coverage", "name_unknown"]), st.floats(-3, 3), min_size=0))
def test_terms_always_add_up_exactly(values: dict[str, float]) -> None:
    terms = MODEL.terms(values)
    assert round(sum(t.contribution for t in terms), 6) == MODEL.score(values)
    for t in terms[1:]:
        assert math.copysign(1, t.contribution) == math.copysign(1, t.weight * t.value) or abs(t.contribution) < 1e-5


def test_a_candidate_with_context_is_scored_by_the_context_model() -> None:
    from engram.rank import FEATURES, Candidate, rank
    from engram.rank.weights import FITTED, FITTED_CONTEXT, model_for

    plain = RankModel(bias=-1.0, weights=dict.fromkeys(FEATURES, 0.0), threshold=0.7, source="plain")
    contextual = RankModel(bias=2.0, weights=dict.fromkeys(FEATURES, 0.0), threshold=0.7, source="context")
    candidates = [
        Candidate("mem_a", "Ann: it was Friday", cosine=0.5, bm25=1.0),
        Candidate("mem_b", "Ann: it was Friday", context="Bob: when was the parade?", cosine=0.5, bm25=1.0),
    ]
    ranked = rank("when?", candidates, embedder="hashing", model=plain, context_model=contextual)
    scored = {r.candidate.memory_id: r for r in ranked}
    assert scored["mem_a"].model is plain and scored["mem_a"].score == pytest.approx(sigmoid(-1.0), abs=1e-6)
    assert scored["mem_b"].model is contextual and scored["mem_b"].score == pytest.approx(sigmoid(2.0), abs=1e-6)
    assert scored["mem_b"].included and not scored["mem_a"].included
    # the shipped tables: one fit per embedder for each kind, the same features
    assert FITTED.keys() == FITTED_CONTEXT.keys()
    for name in FITTED:
        assert FITTED[name].keys() == FITTED_CONTEXT[name].keys()
        assert model_for(name, context=True).weights != model_for(name).weights

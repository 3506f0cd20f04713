"""bench.train_extractor's operating-point search: the rule layer and the model scored together."""

from __future__ import annotations

from bench.extraction_data import SpeakerPass
from bench.train_extractor import RULE_FLOORS, Prepared, _scored, choose_operating
from engram.extract import Message
from engram.extract.features import Candidate


def _candidate(message: int, sentence: int, span: int = 1) -> Candidate:
    return Candidate(
        message, sentence, sentence + span, f"{message}:{sentence}", (), False, (sentence, sentence + span)
    )


def _pass() -> Prepared:
    source = SpeakerPass("persona", "d-0", "User 1", [Message("user", "x")], ["fact a", "fact b"])
    return Prepared(
        source,
        candidates=[_candidate(0, 0), _candidate(0, 1), _candidate(0, 2), _candidate(0, 1, span=2)],
        hits=[[0], [1], [], [1]],
        # sentence 0: a sure rule reading (fact a); sentence 2: a weak, wrong one
        rules=[(0, 0, 0.95, frozenset({"fact", "a"})), (0, 2, 0.5, frozenset({"wrong"}))],
        rule_hits=[[0], []],
    )


def test_the_best_operating_point_keeps_the_sure_rule_and_the_models_best_candidate() -> None:
    prepared = _pass()
    # the model: sentence 0 (taken by the rule anyway), sentence 1 (fact b), sentence 2 (nothing), run 1-2
    probabilities = [0.9, 0.55, 0.27, 0.4]
    (threshold, floor, max_span, _), f1 = choose_operating([prepared], [probabilities])
    assert f1 == 1.0  # fact a from the rule, fact b from the model, nothing wrong
    assert 0.27 < threshold <= 0.55  # above the distractor, at or below the fact
    assert 0.5 < floor <= 0.92 and floor in RULE_FLOORS  # the weak rule reading is left out
    assert max_span >= 1


def test_a_rule_floor_takes_the_sentence_away_from_the_model() -> None:
    prepared = _pass()
    # the model likes only the run over sentences 1-2; with the weak rule kept (floor <= 0.5) the run
    # touches its sentence and is not a candidate, so the best point leaves that rule out
    probabilities = [0.1, 0.1, 0.1, 0.9]
    (_, floor, max_span, _), f1 = choose_operating([prepared], [probabilities])
    assert f1 == 1.0 and floor > 0.5 and max_span >= 2


def test_a_kept_rule_leaves_the_other_clauses_of_its_sentence_to_the_model() -> None:
    source = SpeakerPass("persona", "d-0", "User 1", [Message("user", "x")], ["drive tractor", "favorite red"])
    sentence = Candidate(0, 0, 2, "s", (), False, (0, 1))
    other = Candidate(0, 0, 1, "I can drive a tractor", (), False, (0, 1), True, frozenset({"drive", "tractor"}))
    same = Candidate(0, 1, 2, "my favorite color is red", (), False, (0, 1), True, frozenset({"favorit", "red"}))
    prepared = Prepared(
        source,
        candidates=[sentence, other, same],
        hits=[[0, 1], [0], [1]],
        rules=[(0, 0, 0.92, frozenset({"favorit", "color", "red"}))],
        rule_hits=[[1]],
    )
    rule_hits, by_message = _scored(prepared, [0.9, 0.9, 0.9], floor=0.9)
    assert rule_hits == [[1]]
    assert [[c.text for c, _, _ in items] for items in by_message] == [["I can drive a tractor"]]
    rule_hits, by_message = _scored(prepared, [0.9, 0.9, 0.9], floor=0.95)  # the rule is not kept
    assert rule_hits == [] and [len(items) for items in by_message] == [3]


def test_the_content_gate_is_chosen_when_thin_suggestions_match_nothing() -> None:
    source = SpeakerPass("locomo", "c-0", "Ann", [Message("user", "x")], ["adopted rescue dog max"])
    thin = Candidate(0, 0, 1, "I love it.", (), False, (0, 1), content=1)
    fact = Candidate(0, 1, 2, "I adopted a rescue dog named Max.", (), False, (1, 2), content=5)
    prepared = Prepared(
        source,
        candidates=[thin, fact],
        hits=[[], [0]],
        # a weak rule reading with one content word that matches nothing, and a sure one that does
        rules=[(0, 0, 0.6, frozenset({"awesom"})), (0, 1, 0.95, frozenset({"adopt", "rescu", "dog", "max"}))],
        rule_hits=[[], [0]],
    )
    # the model likes the thin candidate as much as the fact: only the gate tells them apart
    (_, _, _, gate), f1 = choose_operating([prepared], [[0.9, 0.9]])
    assert f1 == 1.0 and gate >= 2
    rule_hits, by_message = _scored(prepared, [0.9, 0.9], floor=0.3, min_content=2)
    assert rule_hits == [[0]] and by_message == []  # the fact's sentence is the sure rule's
    rule_hits, by_message = _scored(prepared, [0.9, 0.9], floor=0.3, min_content=0)
    assert rule_hits == [[], [0]] and by_message == []  # ungated, the weak rule reading keeps its sentence
    _, by_message = _scored(prepared, [0.9, 0.9], floor=0.9, min_content=0)
    assert [[c.text for c, _, _ in items] for items in by_message] == [["I love it."]]

"""LearnedExtractor and its candidates: the shipped model, selection, third-person memories."""

from __future__ import annotations

import math

import pytest

from engram.extract import ExtractionResult, Message, estimate_tokens
from engram.extract.features import Candidate, conversation_candidates, read, training_features
from engram.extract.learned import FactModel, LearnedExtractor, best_disjoint, memory_text, rule_layer, shipped_model


def test_the_shipped_model_loads_with_its_attribution() -> None:
    model = shipped_model()
    assert len(model.weights) > 100
    assert "bias" in model.weights
    assert 0.0 < model.threshold < 1.0 and 0.0 < model.threshold_long < 1.0
    assert "CC BY 4.0" in model.metadata["trained_on"]["persona"]
    # a product's weights may not depend on non-commercial data (LoCoMo is CC BY-NC: evaluation only)
    assert set(model.metadata["trained_on"]) == {"persona"}
    assert not any("BY-NC" in source for source in model.metadata["trained_on"].values())


def test_a_stated_fact_becomes_a_memory_as_the_rules_read_it_or_in_the_third_person() -> None:
    conversation = [
        Message("assistant", "Hi! Tell me a bit about yourself. What do you do for a living?"),
        Message("user", "Hi! I'm a nurse and I live in Singapore with my two dogs."),
        Message("assistant", "That's great! Do you like your job?"),
        Message("user", "Yes, I love it. My favorite food is chili crab. We went to the beach and swam all day."),
    ]
    result = LearnedExtractor().extract(conversation)
    contents = [s.content for s in result.suggestions]
    # the rule layer keeps durable statements as said (the product brief's form)
    assert "I'm a nurse and I live in Singapore with my two dogs." in contents, contents
    assert "My favorite food is chili crab." in contents, contents
    ruled = {s.content for _, _, s in rule_layer(conversation)}
    for suggestion in result.suggestions:
        if suggestion.content not in ruled:  # the model's: a third-person fact
            assert suggestion.content.startswith("User"), suggestion.content
            assert " I " not in f" {suggestion.content} " and " my " not in f" {suggestion.content} "
        assert suggestion.source_index in (1, 3)  # only the user's messages are mined
        assert suggestion.title.startswith(f"User {suggestion.memory_type.capitalize()}: ")
    assert result.tokens_analyzed == sum(estimate_tokens(m.content) for m in conversation)


def test_small_talk_and_questions_are_not_memories() -> None:
    conversation = [
        Message("user", "Hi there! How are you doing today?"),
        Message("assistant", "I'm good, thanks! How about you?"),
        Message("user", "Good, thanks for asking! What do you like to do?"),
    ]
    assert LearnedExtractor().extract(conversation).suggestions == []


def test_assistant_turns_are_counted_but_never_mined() -> None:
    conversation = [Message("assistant", "I live in Paris and my name is Claude.")]
    result = LearnedExtractor().extract(conversation)
    assert result == ExtractionResult(suggestions=[], tokens_analyzed=estimate_tokens(conversation[0].content))
    assert LearnedExtractor().extract([]) == ExtractionResult(suggestions=[], tokens_analyzed=0)


def test_extraction_is_deterministic_and_capped() -> None:
    texts = [f"I have a dog named Rex{i} and I live in town number {i}." for i in range(30)]
    messages = [Message("user", t) for t in texts]
    first, second = LearnedExtractor().extract(messages), LearnedExtractor().extract(messages)
    assert first == second
    capped = LearnedExtractor(max_suggestions=3).extract(messages)
    assert len(capped.suggestions) == 3
    assert [s.source_index for s in capped.suggestions] == sorted(s.source_index for s in capped.suggestions)


def _candidate(start: int, end: int) -> Candidate:
    return Candidate(message=0, start=start, end=end, text=f"{start}-{end}", features=())


def test_best_disjoint_prefers_two_facts_to_the_pair_they_form() -> None:
    left, right, pair = _candidate(0, 1), _candidate(1, 2), _candidate(0, 2)
    chosen = best_disjoint([(pair, 0.5), (left, 0.4), (right, 0.4)], threshold=0.2)
    assert [c for c, _ in chosen] == [left, right]  # 0.2 + 0.2 > 0.3
    chosen = best_disjoint([(pair, 0.6), (left, 0.25), (right, 0.25)], threshold=0.2)
    assert [c for c, _ in chosen] == [pair]  # 0.4 > 0.05 + 0.05
    assert best_disjoint([], threshold=0.2) == []


def test_a_model_is_a_sum_of_weights() -> None:
    model = FactModel({"bias": -2.0, "w=live": 4.0}, threshold=0.5, threshold_long=0.9)
    assert model.probability(["bias"]) == pytest.approx(0.1192, abs=1e-4)
    assert model.probability(["bias", "w=live", "unknown"]) == pytest.approx(0.8808, abs=1e-4)
    assert model.threshold_for(False) == 0.5 and model.threshold_for(True) == 0.9
    extractor = LearnedExtractor(model=model)
    [suggestion] = extractor.extract([Message("user", "Wow! I live in Lyon.")]).suggestions
    assert suggestion.content == "User lives in Lyon."
    assert suggestion.memory_type == "identity" and suggestion.suggested_tier == "critical"
    assert suggestion.confidence == 0.88


@pytest.mark.parametrize(
    ("said", "memory"),
    [
        ("I live in Singapore", "User lives in Singapore."),
        ("Wow, I love camping trips with my fam!", "User loves camping trips with their family."),
        ("Haha yeah! I'm gonna visit my mom.", "User is going to visit their mom."),
        ("My name is John and I live in Berlin", "User's name is John and they live in Berlin."),
        ("I've been to Paris. I was so happy there.", "User has been to Paris. They were so happy there."),
        ("Thanks!", ""),
    ],
)
def test_memory_text(said: str, memory: str) -> None:
    assert memory_text(said) == memory


def test_candidates_cover_clauses_sentences_and_runs() -> None:
    messages = [
        Message("assistant", "What do you do?"),
        Message("user", "I teach math, and I coach soccer. Do you play? I love it."),
    ]
    candidates = conversation_candidates(messages)
    texts = {c.text for c in candidates}
    assert {"I teach math", "I coach soccer.", "I teach math, and I coach soccer."} <= texts
    assert "I teach math, and I coach soccer. I love it." in texts  # the run without its question
    assert all(c.message == 1 for c in candidates)
    whole = next(c for c in candidates if c.text == "I teach math, and I coach soccer.")
    part = next(c for c in candidates if c.text == "I teach math")
    assert whole.overlaps(part) and not part.overlaps(next(c for c in candidates if c.text == "I coach soccer."))
    assert "prev_first=what" in whole.features and "prev_q" in whole.features
    assert not whole.long_style


def test_long_messages_get_style_features_for_training_and_folded_weights_for_serving() -> None:
    long = "I spent the whole weekend repainting the kitchen a bright yellow colour with my sister Anna."
    candidates = conversation_candidates([Message("user", long), Message("assistant", long)])
    assert candidates and all(c.long_style for c in candidates)
    assert not any(f.startswith("L|") for c in candidates for f in c.features)  # serving builds no copies
    for candidate in candidates:
        augmented = training_features(candidate)
        assert set(augmented) == set(candidate.features) | {f"L|{f}" for f in candidate.features}
    model = FactModel({"bias": -1.0, "L|bias": 0.5, "w=kitchen": 2.0, "L|w=kitchen": -3.0})
    features = ["bias", "w=kitchen"]
    assert model.probability(features, long_style=False) == pytest.approx(1 / (1 + math.exp(-1.0)))
    assert model.probability(features, long_style=True) == pytest.approx(1 / (1 + math.exp(1.5)))
    # the folded table gives what the augmented features give
    z = sum(model.weights.get(f, 0.0) for f in training_features(candidates[0]))
    assert model.probability(candidates[0].features, long_style=True) == pytest.approx(1 / (1 + math.exp(-z)))


def test_short_exchanges_are_not_long_style() -> None:
    assert not read([Message("user", "I live in Lyon."), Message("assistant", "Nice!")]).long_style
    assert read([Message("user", " ".join(["word"] * 20))]).long_style
    assert not read([]).long_style


def test_max_span_limits_runs_and_skip_removes_sentences() -> None:
    messages = [Message("user", "I teach math. I coach soccer. I love my job. I have a cat.")]
    spans = {c.span for c in conversation_candidates(messages)}
    assert spans == {1, 2, 3}
    assert {c.span for c in conversation_candidates(messages, max_span=1)} == {1}
    kept = conversation_candidates(messages, skip={0: {1}})
    assert kept and not any(c.touches({1}) for c in kept)
    assert {c.text for c in kept} >= {"I teach math.", "I love my job. I have a cat."}


# The product brief's example (seed 001): the rule layer keeps these as the heuristic reads them.
SEED = [
    Message("user", "My name is John and I live in Singapore"),
    Message("assistant", "Nice to meet you, John!"),
    Message("user", "I prefer morning meetings, usually around 9am"),
    Message("assistant", "Got it, I will remember that preference."),
]


def test_the_shipped_model_reproduces_the_seed_example() -> None:
    result = LearnedExtractor().extract(SEED)
    assert [(s.title, s.memory_type, s.suggested_tier, s.confidence, s.source_index) for s in result.suggestions] == [
        ("User Identity: My name is John and I live in Singapore", "identity", "critical", 0.95, 0),
        ("User Preference: I prefer morning meetings, usually around 9am", "preference", "high", 0.92, 2),
    ]
    assert result.suggestions[0].entities == ["John", "Singapore"]


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("My name is Priya.", "My name is Priya."),
        ("I live in Singapore.", "I live in Singapore."),
        ("I'm from Toronto.", "I'm from Toronto."),
        ("I prefer tea over coffee.", "I prefer tea over coffee."),
    ],
)
def test_durable_identity_statements_are_always_kept(said: str, kept: str) -> None:
    # whatever the weights say: a model that keeps nothing still keeps what the rule layer reads
    nothing = FactModel({"bias": -50.0}, threshold=0.5, threshold_long=0.5, rule_floor=0.92, rule_floor_long=0.92)
    for model in (nothing, shipped_model()):
        conversation = [Message("assistant", "Tell me about yourself."), Message("user", said)]
        contents = [s.content for s in LearnedExtractor(model=model).extract(conversation).suggestions]
        assert kept in contents, (model.rule_floor, contents)


def test_the_rule_layer_takes_its_sentence_away_from_the_model() -> None:
    model = FactModel({"bias": 5.0}, threshold=0.5, threshold_long=0.5, rule_floor=0.9, rule_floor_long=0.9)
    conversation = [Message("user", "My name is Ada. We went hiking in the rain yesterday.")]
    result = LearnedExtractor(model=model).extract(conversation)
    contents = [s.content for s in result.suggestions]
    assert contents[0] == "My name is Ada."  # the rules' reading, as said
    assert all("Ada" not in c for c in contents[1:])  # no model candidate spans the rule's sentence
    assert any(
        c.startswith("User went hiking") or c.startswith("They went hiking") or "hiking" in c for c in contents[1:]
    )
    hits = rule_layer(conversation)
    assert next((m, k, s.memory_type) for m, k, s in hits) == (0, 0, "identity")
    off = FactModel({"bias": 5.0}, threshold=0.5, threshold_long=0.5)  # no rule layer: the model reads it
    assert "User's name is Ada." in [s.content for s in LearnedExtractor(model=off).extract(conversation).suggestions]


def test_list_items_take_the_subject_and_verb_of_the_first_item() -> None:
    texts = {c.text for c in conversation_candidates([Message("user", "I like to hike, play chess, and swim.")])}
    assert {"I like to hike", "I like to play chess", "I like to swim."} <= texts
    texts = {c.text for c in conversation_candidates([Message("user", "I'm a nurse, a mother and a runner.")])}
    assert {"I'm a nurse", "I'm a mother", "I'm a runner."} <= texts
    # a later clause with a subject of its own keeps it
    texts = {c.text for c in conversation_candidates([Message("user", "I love to cook, but it takes time.")])}
    assert {"I love to cook", "it takes time."} <= texts
    assert memory_text("I like to play chess") == "User likes to play chess."


def test_questions_and_template_placeholders_are_never_candidates() -> None:
    messages = [Message("user", "What do you do? I teach math, and I coach. My name is [name].")]
    texts = {c.text for c in conversation_candidates(messages)}
    assert texts == {"I teach math", "I coach.", "I teach math, and I coach."}
    contents = [s.content for s in LearnedExtractor(model=FactModel({"bias": 3.0})).extract(messages).suggestions]
    assert contents and not any("[name]" in c or "?" in c for c in contents), contents


def test_a_kept_rule_leaves_the_other_clauses_of_its_sentence_to_the_model() -> None:
    said = [Message("user", "I can drive a tractor, and my favorite color is red.")]
    model = FactModel({"bias": -2.0, "w=tractor": 4.0, "w=red": 4.0}, rule_floor=0.9, rule_floor_long=0.9)
    contents = [s.content for s in LearnedExtractor(model=model).extract(said).suggestions]
    # the rules keep the favourite as said; the model may not restate it, nor keep the whole sentence
    assert contents == ["my favorite color is red.", "User can drive a tractor."], contents
    free = [c for c in conversation_candidates(said) if c.free_of({0: {"favorit", "color", "red"}})]
    assert [c.text for c in free] == ["I can drive a tractor"]


@pytest.mark.parametrize(
    ("asked", "said", "read_as"),
    [
        ("What's your favorite food?", "I love hummus. It's so good.", "My favorite food is hummus."),
        ("Who is your favorite artist?", "Travis Scott!", "My favorite artist is Travis Scott."),
        ("What is your favorite kind of music?", "Hmm, I'd say jazz.", "My favorite kind of music is jazz."),
        ("What's your favorite book?", "I'm not sure.", None),
        ("What's your favorite color?", "My favorite color is blue.", None),  # said outright already
        ("What do you do for fun?", "Painting.", None),  # not a favourite question
    ],
)
def test_a_short_answer_to_a_favourite_question_is_read_as_a_statement(
    asked: str, said: str, read_as: str | None
) -> None:
    candidates = conversation_candidates([Message("assistant", asked), Message("user", said)])
    answers = [c.text for c in candidates if "kind=A" in c.features]
    assert answers == ([read_as] if read_as else [])
    if read_as:
        assert memory_text(read_as) == "User's " + read_as[3:]


def test_a_clause_takes_the_type_of_the_rule_reading_that_says_what_it_says() -> None:
    said = [Message("assistant", "What do you do?"), Message("user", "I'm a nurse and I have two dogs.")]
    model = FactModel({"bias": -2.0, "w=dogs": 4.0, "kind=S": -4.0})  # keeps the clause "I have two dogs" only
    [suggestion] = LearnedExtractor(model=model).extract(said).suggestions
    readings = [s for _, _, s in rule_layer(said)]
    assert readings[0].memory_type == "identity"  # "I'm a nurse", the sentence's first reading
    assert suggestion.content == "User has two dogs."
    assert suggestion.memory_type == next(r.memory_type for r in readings if "dogs" in r.content) != "identity"


def test_the_content_gate_drops_what_says_too_little_and_never_a_sure_rule_reading() -> None:
    said = [
        Message("assistant", "How was your weekend?"),
        Message("user", "That's awesome! I love it. I adopted a rescue dog named Max last week. I live in Oslo."),
    ]
    candidates = {c.text: c.content for c in conversation_candidates(said)}
    assert candidates["That's awesome!"] == 1 and candidates["I love it."] == 1
    assert candidates["I adopted a rescue dog named Max last week."] == 7
    for gate in (0, 3):
        # keeps everything it is offered (rules from 0.3 up, every candidate), but nothing thin past the gate
        model = FactModel({"bias": 5.0}, rule_floor=0.3, rule_floor_long=0.3, min_content=gate, min_content_long=gate)
        contents = [s.content for s in LearnedExtractor(model=model).extract(said).suggestions]
        assert "I live in Oslo." in contents, contents  # a sure rule reading (0.92 and up) ignores the gate
        assert any("rescue dog named Max" in c for c in contents), contents
        thin = [c for c in contents if "love it" in c.lower() or "awesome" in c.lower()]
        assert bool(thin) == (gate == 0), (gate, contents)


def test_the_content_gate_is_read_from_the_model_file_and_defaults_to_none() -> None:
    base = {"weights": {"bias": 1.0}, "threshold": 0.5, "threshold_long": 0.4}
    assert FactModel.from_json(base).min_content_for(False) == 0
    model = FactModel.from_json({**base, "min_content": 1, "min_content_long": 3})
    assert (model.min_content_for(False), model.min_content_for(True)) == (1, 3)
    shipped = shipped_model()
    assert shipped.min_content_long == shipped.metadata["min_content_long"] >= 0
    assert 4 in shipped.metadata["operating_points_chosen_on"]["grid"]["min_contents"]

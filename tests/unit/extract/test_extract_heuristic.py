"""HeuristicExtractor: every memory type, the product-brief example, negatives, limits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engram.extract import ExtractionResult, Message, estimate_tokens
from engram.extract.heuristic import HeuristicExtractor


def extract(*texts: str) -> ExtractionResult:
    return HeuristicExtractor().extract([Message("user", t) for t in texts])


def test_seed_example_is_reproduced() -> None:
    conversation = [
        Message("user", "My name is John and I live in Singapore"),
        Message("assistant", "Nice to meet you, John!"),
        Message("user", "I prefer morning meetings, usually around 9am"),
        Message("assistant", "Got it, I will remember that preference."),
    ]
    result = HeuristicExtractor().extract(conversation)
    assert [s.model_dump(exclude={"entities"}) for s in result.suggestions] == [
        {
            "title": "User Identity: My name is John and I live in Singapore",
            "content": "My name is John and I live in Singapore",
            "memory_type": "identity",
            "suggested_tier": "critical",
            "confidence": 0.95,
            "source_index": 0,
        },
        {
            "title": "User Preference: I prefer morning meetings, usually around 9am",
            "content": "I prefer morning meetings, usually around 9am",
            "memory_type": "preference",
            "suggested_tier": "high",
            "confidence": 0.92,
            "source_index": 2,
        },
    ]
    assert result.suggestions[0].entities == ["John", "Singapore"]
    assert "9am" in result.suggestions[1].entities
    assert "morning meetings" in result.suggestions[1].entities
    assert result.tokens_analyzed == sum(estimate_tokens(m.content) for m in conversation)


@pytest.mark.parametrize(
    ("text", "memory_type", "tier"),
    [
        ("My name is Priya.", "identity", "critical"),
        ("I am a software engineer.", "identity", "critical"),
        ("I'm from Toronto.", "identity", "critical"),
        ("I'm based in Berlin these days.", "identity", "critical"),
        ("I prefer tea over coffee.", "preference", "high"),
        ("I hate cilantro.", "preference", "high"),
        ("I don't like horror movies.", "preference", "high"),
        ("My favorite band is Radiohead.", "preference", "high"),
        ("We decided to use Postgres over MySQL.", "decision", "high"),
        ("Let's go with React for the frontend.", "decision", "high"),
        ("I'll use Terraform over CDK.", "decision", "high"),
        ("I have 2 dogs.", "fact", "normal"),
        ("I work at Amazon.", "fact", "normal"),
        ("My wife works as a nurse.", "fact", "normal"),
        ("I want to run a marathon.", "goal", "normal"),
        ("I plan to learn Spanish next year.", "goal", "normal"),
        ("My goal is to retire at 55.", "goal", "normal"),
        ("I can't eat gluten.", "constraint", "high"),
        ("I'm allergic to peanuts.", "constraint", "high"),
        ("Our budget is $5000.", "constraint", "high"),
        ("I must be home by 6pm on weekdays.", "constraint", "high"),
        ("My sister lives in Paris.", "relationship", "normal"),
        ("I'm married to Sarah.", "relationship", "normal"),
        ("I went to Japan last spring.", "event", "normal"),
        ("I graduated from MIT in 2019.", "event", "normal"),
        ("Last week I visited my grandmother's farm.", "event", "normal"),
    ],
)
def test_each_memory_type(text: str, memory_type: str, tier: str) -> None:
    [suggestion] = extract(text).suggestions
    assert (suggestion.memory_type, suggestion.suggested_tier) == (memory_type, tier)
    assert suggestion.content == text
    assert suggestion.title == f"User {memory_type.capitalize()}: {text}"
    assert 0.5 <= suggestion.confidence <= 0.99


@pytest.mark.parametrize(
    "text",
    [
        "Do you like jazz?",
        "What is your name?",
        "Are you going to the party",
        "If I were rich I would buy a boat.",
        "Imagine I lived in Paris.",
        "I wish I had a dog.",
        "I love that!",
        "I'm glad to hear that.",
        "I can't wait to see it.",
        "I think so.",
        "You should try knitting.",
        "The weather is nice today.",
        "I have a question about the invoice.",
    ],
)
def test_negatives_yield_nothing(text: str) -> None:
    assert extract(text).suggestions == []


def test_assistant_messages_are_not_mined_but_counted() -> None:
    messages = [Message("assistant", "My name is Claude and I prefer short answers.")]
    result = HeuristicExtractor().extract(messages)
    assert result.suggestions == []
    assert result.tokens_analyzed == estimate_tokens(messages[0].content)


def test_other_roles_can_be_enabled_with_lower_confidence() -> None:
    extractor = HeuristicExtractor(roles=("user", "assistant"))
    [from_user] = extractor.extract([Message("user", "I prefer tea.")]).suggestions
    [from_assistant] = extractor.extract([Message("assistant", "I prefer tea.")]).suggestions
    assert from_assistant.confidence == pytest.approx(from_user.confidence - 0.2)


def test_hedges_lower_confidence() -> None:
    [plain] = extract("I like jazz.").suggestions
    [hedged] = extract("Maybe I like jazz.").suggestions
    assert hedged.memory_type == plain.memory_type == "preference"
    assert hedged.confidence == pytest.approx(plain.confidence - 0.15)


def test_one_suggestion_per_clause_and_same_type_clauses_merge() -> None:
    result = extract("I'm a nurse, but I love to paint landscapes.")
    assert [(s.memory_type, s.content) for s in result.suggestions] == [
        ("identity", "I'm a nurse"),
        ("preference", "I love to paint landscapes."),
    ]


def test_source_index_points_at_the_message() -> None:
    messages = [
        Message("user", "Hello there."),
        Message("assistant", "Hi! How can I help?"),
        Message("user", "I have three cats."),
    ]
    [suggestion] = HeuristicExtractor().extract(messages).suggestions
    assert suggestion.source_index == 2
    assert "three cats" in suggestion.entities


def test_near_identical_suggestions_are_deduplicated_keeping_the_most_confident() -> None:
    result = extract("I have two dogs.", "Maybe I have two dogs!", "I have 2 cats.")
    assert [(s.content, s.confidence) for s in result.suggestions] == [
        ("I have two dogs.", 0.85),
        ("I have 2 cats.", 0.85),
    ]


def test_deterministic() -> None:
    texts = ["My name is Ana and I'm from Lisbon.", "I love surfing, but I can't swim far.", "We decided on Rust."]
    assert extract(*texts) == extract(*texts)


def test_empty_input() -> None:
    assert HeuristicExtractor().extract([]) == ExtractionResult(suggestions=[], tokens_analyzed=0)
    assert extract("", "   ", "\n").suggestions == []


def test_unicode_is_handled() -> None:
    result = extract("My name is Zoë and I live in Zürich.", "I love 寿司 and I\u2019m from Osaka.", "🎉🎉")
    types = [s.memory_type for s in result.suggestions]
    assert types == ["identity", "preference", "identity"]
    assert result.suggestions[0].entities == ["Zoë", "Zürich"]
    assert result.suggestions[2].content == "I'm from Osaka."  # apostrophes are normalised


def test_very_long_input_stays_bounded() -> None:
    long_sentence = "I like " + "very " * 20_000 + "long sentences."
    result = extract(long_sentence, "word " * 50_000)
    assert len(result.suggestions) == 1
    assert len(result.suggestions[0].content) <= 2_000
    assert len(result.suggestions[0].title) <= 500
    assert result.tokens_analyzed == estimate_tokens(long_sentence) + estimate_tokens("word " * 50_000)


def test_many_messages_are_capped_by_confidence_in_conversation_order() -> None:
    texts = [f"I have {i} books about topic{i}." for i in range(30)] + ["My name is Kim."]
    result = HeuristicExtractor(max_suggestions=5).extract([Message("user", t) for t in texts])
    assert len(result.suggestions) == 5
    assert result.suggestions[-1].content == "My name is Kim."
    indexes = [s.source_index for s in result.suggestions]
    assert indexes == sorted(indexes)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=5))
def test_never_crashes_and_respects_limits(texts: list[str]) -> None:
    result = extract(*texts)
    for suggestion in result.suggestions:
        assert len(suggestion.title) <= 500
        assert 0.0 <= suggestion.confidence <= 1.0
        assert 0 <= suggestion.source_index < len(texts)

"""Bedrock adapters against a real botocore client with stubbed ``converse`` responses."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from engram.errors import ServiceUnavailable
from engram.extract import Message
from engram.extract.bedrock import (
    EXTRACTION_SYSTEM_PROMPT,
    SUMMARY_SYSTEM_PROMPT,
    BedrockClient,
    BedrockExtractor,
    BedrockSummarizer,
    transcript,
)
from engram.extract.extractive import ExtractiveSummarizer
from engram.extract.learned import LearnedExtractor

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
CONVERSATION = [
    Message("user", "My name is John and I live in Singapore"),
    Message("assistant", "Nice to meet you, John!"),
    Message("user", "I prefer morning meetings, usually around 9am"),
]


@pytest.fixture
def stubbed() -> Iterator[tuple[BedrockClient, Stubber]]:
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield BedrockClient(model_id=MODEL, client=client), stubber
        stubber.assert_no_pending_responses()


def answer(text: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 100, "outputTokens": 50, "totalTokens": 150},
        "metrics": {"latencyMs": 42},
    }


def test_extractor_sends_the_prompt_and_parses_the_answer(stubbed: tuple[BedrockClient, Stubber]) -> None:
    bedrock, stubber = stubbed
    payload = {
        "suggestions": [
            {
                "title": "User is John, based in Singapore",
                "content": "User's name is John; lives in Singapore",
                "memory_type": "identity",
                "suggested_tier": "critical",
                "confidence": 0.97,
                "entities": ["John", "Singapore"],
                "source_index": 0,
            },
            {
                "content": "Prefers morning meetings around 9am",
                "memory_type": "preference",
                "confidence": 0.9,
                "source_index": 2,
            },
        ]
    }
    expected = {
        "modelId": MODEL,
        "system": [{"text": EXTRACTION_SYSTEM_PROMPT}],
        "messages": [{"role": "user", "content": [{"text": transcript(CONVERSATION)}]}],
        "inferenceConfig": {"maxTokens": 2048, "temperature": 0.0},
    }
    stubber.add_response("converse", answer("```json\n" + json.dumps(payload) + "\n```"), expected)

    result = BedrockExtractor(client=bedrock).extract(CONVERSATION)

    assert [(s.memory_type, s.suggested_tier, s.source_index) for s in result.suggestions] == [
        ("identity", "critical", 0),
        ("preference", "high", 2),  # tier defaulted from the type
    ]
    assert result.suggestions[1].title == "User Preference: Prefers morning meetings around 9am"
    assert result.tokens_analyzed == LearnedExtractor().extract(CONVERSATION).tokens_analyzed


def test_invalid_items_are_dropped(stubbed: tuple[BedrockClient, Stubber], caplog: pytest.LogCaptureFixture) -> None:
    bedrock, stubber = stubbed
    payload = {
        "suggestions": [
            {"content": "ok", "memory_type": "fact", "confidence": 0.5, "source_index": 0},
            {"content": "bad type", "memory_type": "opinion", "confidence": 0.5, "source_index": 0},
            {"content": "bad index", "memory_type": "fact", "confidence": 0.5, "source_index": 99},
            {"content": "bad confidence", "memory_type": "fact", "confidence": 7, "source_index": 0},
            "not an object",
        ]
    }
    stubber.add_response("converse", answer(json.dumps(payload)))
    with caplog.at_level(logging.WARNING, logger="engram.extract.bedrock"):
        result = BedrockExtractor(client=bedrock).extract(CONVERSATION)
    assert [s.content for s in result.suggestions] == ["ok"]
    assert "dropped 4 invalid suggestion(s)" in caplog.text


@pytest.mark.parametrize("text", ["Sure! Here are the memories.", '{"memories": []}', "{not json}"])
def test_malformed_answer_falls_back_to_the_learned_extractor(
    stubbed: tuple[BedrockClient, Stubber], caplog: pytest.LogCaptureFixture, text: str
) -> None:
    bedrock, stubber = stubbed
    stubber.add_response("converse", answer(text))
    with caplog.at_level(logging.WARNING, logger="engram.extract.bedrock"):
        result = BedrockExtractor(client=bedrock).extract(CONVERSATION)
    assert result == LearnedExtractor().extract(CONVERSATION)
    assert "using the deterministic extractor" in caplog.text


def test_client_errors_raise_service_unavailable(stubbed: tuple[BedrockClient, Stubber]) -> None:
    bedrock, stubber = stubbed
    stubber.add_client_error("converse", service_error_code="ThrottlingException", http_status_code=429)
    with pytest.raises(ServiceUnavailable, match="ThrottlingException"):
        BedrockExtractor(client=bedrock).extract(CONVERSATION)


def test_empty_conversation_makes_no_call(stubbed: tuple[BedrockClient, Stubber]) -> None:
    bedrock, _ = stubbed
    result = BedrockExtractor(client=bedrock).extract([Message("user", "  ")])
    assert result.suggestions == []
    assert BedrockSummarizer(client=bedrock).summarize([]) == ""


def test_summarizer_returns_the_model_text_with_memories_in_the_prompt(stubbed: tuple[BedrockClient, Stubber]) -> None:
    bedrock, stubber = stubbed
    stubber.add_response("converse", answer("  John, in Singapore, prefers 9am meetings.  "))
    summary = BedrockSummarizer(client=bedrock).summarize(CONVERSATION, memories=["User is John"])
    assert summary == "John, in Singapore, prefers 9am meetings."


def test_summarizer_summarises_memories_when_there_is_no_conversation(
    stubbed: tuple[BedrockClient, Stubber],
) -> None:
    bedrock, stubber = stubbed
    stubber.add_response(
        "converse",
        answer("The user is John."),
        expected_params={
            "modelId": MODEL,
            "system": [{"text": SUMMARY_SYSTEM_PROMPT}],
            "messages": [{"role": "user", "content": [{"text": "Known memories about the user:\n- User is John"}]}],
            "inferenceConfig": ANY,
        },
    )
    assert BedrockSummarizer(client=bedrock).summarize([], memories=["User is John"]) == "The user is John."


def test_summarizer_empty_answer_falls_back_to_extractive(stubbed: tuple[BedrockClient, Stubber]) -> None:
    bedrock, stubber = stubbed
    stubber.add_response("converse", answer("   "))
    summary = BedrockSummarizer(client=bedrock).summarize(CONVERSATION)
    assert summary == ExtractiveSummarizer().summarize(CONVERSATION)


def test_client_is_created_lazily_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGRAM_BEDROCK_TEXT_MODEL", "amazon.nova-lite-v1:0")
    from engram.config import reset_settings

    reset_settings()
    try:
        bedrock = BedrockClient()
        assert bedrock._client is None  # nothing built at construction
        assert bedrock.model_id == "amazon.nova-lite-v1:0"
        assert bedrock.client is bedrock.client  # built once, then cached
        assert bedrock.client.meta.service_model.service_name == "bedrock-runtime"
    finally:
        reset_settings()


def test_transcript_keeps_the_latest_messages_within_the_limit() -> None:
    messages = [Message("user", f"message {i} " + "x" * 50) for i in range(100)]
    text = transcript(messages, limit=500)
    assert len(text) <= 500
    assert text.splitlines()[-1].startswith("[99] user: message 99")

"""Ports, token estimate and factories."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from engram.config import reset_settings
from engram.errors import EngramError
from engram.extract import (
    DEFAULT_TIERS,
    MEMORY_TYPES,
    Extractor,
    Suggestion,
    Summarizer,
    estimate_tokens,
    get_extractor,
    get_summarizer,
)
from engram.extract.bedrock import BedrockExtractor, BedrockSummarizer
from engram.extract.extractive import ExtractiveSummarizer
from engram.extract.heuristic import HeuristicExtractor
from engram.extract.learned import LearnedExtractor


def test_estimate_tokens() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("寿司") == 2  # 6 UTF-8 bytes
    assert estimate_tokens("a" * 400) == 100


def test_tier_mapping_covers_every_type() -> None:
    assert set(DEFAULT_TIERS) == set(MEMORY_TYPES)
    assert DEFAULT_TIERS["identity"] == "critical"
    assert {t for t, tier in DEFAULT_TIERS.items() if tier == "high"} == {"preference", "decision", "constraint"}


def test_suggestion_validates_limits() -> None:
    base = {"title": "t", "content": "x", "memory_type": "fact", "suggested_tier": "normal", "confidence": 0.5}
    assert Suggestion.model_validate({**base, "source_index": 0}).entities == []
    for bad in ({"title": "t" * 501}, {"confidence": 1.5}, {"memory_type": "summary"}, {"source_index": -1}):
        with pytest.raises(ValidationError):
            Suggestion.model_validate({**base, "source_index": 0, **bad})


def test_factories_by_name() -> None:
    assert isinstance(get_extractor("learned"), LearnedExtractor)
    assert isinstance(get_extractor("heuristic"), HeuristicExtractor)
    assert isinstance(get_extractor("bedrock"), BedrockExtractor)
    assert isinstance(get_summarizer("extractive"), ExtractiveSummarizer)
    assert isinstance(get_summarizer("bedrock"), BedrockSummarizer)
    assert isinstance(get_extractor("heuristic"), Extractor)
    assert isinstance(get_extractor("learned"), Extractor)
    assert isinstance(get_summarizer("extractive"), Summarizer)
    with pytest.raises(EngramError):
        get_extractor("gpt")
    with pytest.raises(EngramError):
        get_summarizer("abstractive")


def test_factories_follow_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGRAM_EXTRACTOR", "bedrock")
    monkeypatch.setenv("ENGRAM_SUMMARIZER", "bedrock")
    reset_settings()
    try:
        assert isinstance(get_extractor(), BedrockExtractor)
        assert isinstance(get_summarizer(), BedrockSummarizer)
    finally:
        reset_settings()

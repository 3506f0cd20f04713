"""Extraction and summaries: the ports, and factories that pick an adapter by name.

The deterministic adapters (``learned`` extractor, the default; ``heuristic`` extractor;
``extractive`` summariser) need nothing but this package (the learned extractor's weights ship in
``model/``); the ``bedrock`` adapters import boto3 lazily.
Names match :class:`engram.config.Settings` ``extractor`` / ``summarizer``.
"""

from __future__ import annotations

from engram.extract.factory import get_extractor, get_summarizer
from engram.extract.ports import (
    DEFAULT_TIERS,
    MEMORY_TYPES,
    SUMMARY_MAX_CHARS,
    TITLE_MAX_CHARS,
    ConversationMessage,
    ExtractionResult,
    Extractor,
    MemoryType,
    Message,
    Suggestion,
    Summarizer,
    Tier,
)
from engram.extract.tokens import estimate_tokens

__all__ = [
    "DEFAULT_TIERS",
    "MEMORY_TYPES",
    "SUMMARY_MAX_CHARS",
    "TITLE_MAX_CHARS",
    "ConversationMessage",
    "ExtractionResult",
    "Extractor",
    "MemoryType",
    "Message",
    "Suggestion",
    "Summarizer",
    "Tier",
    "estimate_tokens",
    "get_extractor",
    "get_summarizer",
]

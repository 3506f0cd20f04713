"""The extraction and summary ports: what the services call, whatever adapter is configured.

The services depend on these protocols and value types only; the heuristic/extractive
adapters (default, deterministic, no network) and the Bedrock adapters implement them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from engram.vocabulary import DEFAULT_TIERS as DEFAULT_TIERS  # re-exported: the extractors' tier table
from engram.vocabulary import EXTRACTED_TYPES, ExtractedType, Tier

# The vocabulary is shared with the API models (engram.vocabulary): here, the types an
# extractor may suggest and the tier each one starts at.
MemoryType = ExtractedType
MEMORY_TYPES: tuple[MemoryType, ...] = EXTRACTED_TYPES

TITLE_MAX_CHARS = 500  # DESIGN.md: title <= 500 chars
SUMMARY_MAX_CHARS = 50_000  # DESIGN.md: summary <= 50,000 chars
CONTENT_MAX_CHARS = 2_000  # one suggestion is one clause; longer text is truncated


class ConversationMessage(Protocol):
    """Anything with a ``role`` and a ``content`` (API models, stored messages, :class:`Message`)."""

    @property
    def role(self) -> str: ...

    @property
    def content(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Message:
    """A plain conversation message, for callers that have no model of their own."""

    role: str
    content: str


class Suggestion(BaseModel):
    """One suggested memory; the API's ``/v1/extract`` answer and what ``save`` stores."""

    model_config = ConfigDict(frozen=True)

    title: str = Field(min_length=1, max_length=TITLE_MAX_CHARS)
    content: str = Field(min_length=1, max_length=CONTENT_MAX_CHARS)
    memory_type: MemoryType
    suggested_tier: Tier
    confidence: float = Field(ge=0.0, le=1.0)
    entities: list[str] = Field(default_factory=list)
    source_index: int = Field(ge=0, description="index of the message the memory came from")


class ExtractionResult(BaseModel):
    """Suggestions in conversation order and the estimated size of what was read."""

    suggestions: list[Suggestion] = Field(default_factory=list)
    tokens_analyzed: int = Field(default=0, ge=0)


@runtime_checkable
class Extractor(Protocol):
    """Turns a conversation into suggested memories."""

    def extract(self, messages: Sequence[ConversationMessage]) -> ExtractionResult: ...


@runtime_checkable
class Summarizer(Protocol):
    """Writes a summary (<= 50,000 chars) of a conversation; memories are extra signal."""

    def summarize(self, messages: Sequence[ConversationMessage], memories: Sequence[str] = ()) -> str: ...


def make_title(memory_type: MemoryType, content: str) -> str:
    """The seed's title shape (``User Identity: My name is John ...``), cut to 500 chars."""
    title = f"User {memory_type.capitalize()}: {' '.join(content.split())}"
    if len(title) > TITLE_MAX_CHARS:
        title = title[: TITLE_MAX_CHARS - 1].rstrip() + "…"
    return title

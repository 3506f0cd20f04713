"""Start, turn, extract and summarize: the session-intelligence API models."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field

from engram.models.common import (
    MAX_MESSAGE_CONTENT,
    MAX_MESSAGES_PER_REQUEST,
    Label,
    RequestModel,
    ResponseModel,
    SessionId,
)
from engram.models.sessions import MAX_MEMORIES_USED, CreateSession, MemoryRef, MessageIn, SessionOut

MAX_EXTRACT_MESSAGES = 200
MAX_FIRST_MESSAGE = 8_000


class StartSession(CreateSession):
    first_message: str | None = Field(default=None, max_length=MAX_FIRST_MESSAGE)
    token_budget: int | None = Field(default=None, ge=50, le=100_000)
    include_superseded: bool = False  # superseded memories are injected too, marked ``superseded``


class ContextMemory(ResponseModel):
    id: str
    title: str | None
    text: str
    type: str
    tier: str
    namespace: str
    score: float | None = None
    superseded: bool = False  # only with include_superseded: a newer memory replaced it


class InjectedContext(ResponseModel):
    critical: list[ContextMemory]
    high: list[ContextMemory]


class ContextStats(ResponseModel):
    tokens_injected: int
    critical_count: int
    high_count: int
    truncated: bool = False


class StartSessionOut(ResponseModel):
    session_id: str
    session: SessionOut
    context: InjectedContext
    stats: ContextStats


class RecordTurn(RequestModel):
    messages: list[MessageIn] = Field(min_length=1, max_length=MAX_MESSAGES_PER_REQUEST)
    turn_number: int | None = Field(default=None, ge=1, le=1_000_000)
    memories_used: list[MemoryRef] = Field(default_factory=list, max_length=MAX_MEMORIES_USED)
    include_superseded: bool = False  # a refresh injects superseded memories too, marked ``superseded``


class TurnOut(ResponseModel):
    session_id: str
    turn_number: int
    refresh_needed: bool
    memories_used: list[str]  # the memories credited: those of memories_used this tenant has
    unknown_memories: list[str] = []  # the rest, so the caller can see an id did not count
    new_context: InjectedContext | None = None
    stats: ContextStats | None = None
    message_count: int


class TurnMemoryOut(ResponseModel):
    """A memory a turn used or a start/refresh injected: its id as recorded, and its title now
    (``title`` null and ``exists`` false once the memory is gone; the record never holds its text)."""

    id: str
    group: Literal["critical", "high"] | None = None  # injected memories: which part of the context
    score: float | None = None  # injected high-tier memories: their relevance when injected
    title: str | None = None
    exists: bool = True


class TurnEntryOut(ResponseModel):
    """One entry of a session's turn log: its start (``turn_number`` 0) or a recorded turn."""

    turn_number: int
    kind: Literal["start", "turn"]
    created_at: str | None = None
    refresh_needed: bool = False
    injected: list[TurnMemoryOut] = Field(default_factory=list)  # at start, or by this turn's refresh
    memories_used: list[TurnMemoryOut] = Field(default_factory=list)
    unknown_memories: list[str] = Field(default_factory=list)
    stats: ContextStats | None = None


class ConversationMessage(RequestModel):
    role: str = Field(min_length=1, max_length=32)
    content: str = Field(max_length=MAX_MESSAGE_CONTENT)


class ExtractRequest(RequestModel):
    conversation: list[ConversationMessage] = Field(
        min_length=1, max_length=MAX_EXTRACT_MESSAGES, validation_alias=AliasChoices("conversation", "messages")
    )
    namespace: Label | None = None
    session_id: SessionId | None = None
    save: bool = False
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)


class SuggestionOut(ResponseModel):
    title: str
    content: str
    memory_type: str
    suggested_tier: str
    confidence: float
    entities: list[str] = []
    source_index: int | None = None  # the conversation message (0-based) it was read from
    memory_id: str | None = None
    action: str | None = None  # created | superseded | conflict | reinforced | unchanged, when saved


class ExtractOut(ResponseModel):
    suggestions: list[SuggestionOut]
    tokens_analyzed: int
    saved: int = 0


class SummarizeOut(ResponseModel):
    session_id: str
    summary: str
    memory_count: int
    message_count: int
    generated_at: str | None

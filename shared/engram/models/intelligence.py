"""Start, turn, extract and summarize: the session-intelligence API models."""

from __future__ import annotations

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


class ContextMemory(ResponseModel):
    id: str
    title: str | None
    text: str
    type: str
    tier: str
    namespace: str
    score: float | None = None


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


class TurnOut(ResponseModel):
    session_id: str
    turn_number: int
    refresh_needed: bool
    memories_used: list[str]  # the memories credited: those of memories_used this tenant has
    unknown_memories: list[str] = []  # the rest, so the caller can see an id did not count
    new_context: InjectedContext | None = None
    stats: ContextStats | None = None
    message_count: int


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

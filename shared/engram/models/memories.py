"""Memory, search, explain, reinforcement and miss models (the API's language)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AliasChoices, Field, model_validator

from engram.models.common import Label, Metadata, RequestModel, ResponseModel, Title, _text
from engram.vocabulary import MEMORY_TYPES, MemoryType, SearchMode, Tier

# Bounds (every memory item stays far below DynamoDB's 400 KB: text 16k chars ≤ 64 KB UTF-8,
# metadata 10 KB, embedding ≤ 4 KB, entities ≤ 50 x 128).
MAX_MEMORY_TEXT = 16_000
MAX_QUERY = 2_000
MAX_ENTITIES = 50
MAX_ENTITY = 128
MAX_REASON = 1_000
MAX_MISS_CONTEXT = 4_000
MAX_TOP_K = 100
MAX_NAMESPACES = 20


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


MemoryText = Annotated[
    str, Field(min_length=1, max_length=MAX_MEMORY_TEXT), AfterValidator(_text), AfterValidator(_not_blank)
]
QueryText = Annotated[str, Field(min_length=1, max_length=MAX_QUERY), AfterValidator(_not_blank)]
Entity = Annotated[str, Field(min_length=1, max_length=MAX_ENTITY), AfterValidator(_not_blank)]


class MemorySource(RequestModel):
    session_id: Label | None = None
    turn: int | None = Field(default=None, ge=0, le=1_000_000)
    extracted: bool = False
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class CreateMemory(RequestModel):
    text: MemoryText = Field(validation_alias=AliasChoices("text", "content"))
    title: Title | None = None
    namespace: Label = "default"
    type: MemoryType = Field(default="fact", validation_alias=AliasChoices("type", "memory_type", "memoryType"))
    tier: Tier | None = None
    entities: list[Entity] = Field(default_factory=list, max_length=MAX_ENTITIES)
    metadata: Metadata | None = None
    session_id: Label | None = None
    agent_id: Label | None = None
    source: MemorySource | None = None


class UpdateMemory(RequestModel):
    text: MemoryText | None = Field(default=None, validation_alias=AliasChoices("text", "content"))
    title: Title | None = None
    namespace: Label | None = None
    type: MemoryType | None = Field(default=None, validation_alias=AliasChoices("type", "memory_type", "memoryType"))
    tier: Tier | None = None
    entities: list[Entity] | None = Field(default=None, max_length=MAX_ENTITIES)
    metadata: Metadata | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> UpdateMemory:
        sent = {k for k in self.model_fields_set if getattr(self, k) is not None}
        if not sent:
            raise ValueError("nothing to update: send title, text, type, tier, entities, metadata or namespace")
        return self


class SourceOut(ResponseModel):
    session_id: str | None = None
    turn: int | None = None
    extracted: bool = False
    confidence: float | None = None


class MemoryOut(ResponseModel):
    id: str
    namespace: str
    title: str
    text: str
    type: str
    tier: str
    locked: bool
    feedback_score: int
    access_count: int
    strength: float
    entities: list[str]
    source: SourceOut | None = None
    agent_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: str | None = None
    updated_at: str | None = None
    last_accessed_at: str | None = None


class DeleteMemoryOut(ResponseModel):
    id: str
    deleted: bool = True


class _Filters(RequestModel):
    namespace: Label | None = None
    namespaces: list[Label] | None = Field(default=None, max_length=MAX_NAMESPACES)
    type: MemoryType | None = None
    types: list[MemoryType] | None = Field(default=None, max_length=len(MEMORY_TYPES))
    tier: Tier | None = None
    tiers: list[Tier] | None = Field(default=None, max_length=3)
    session_id: Label | None = None
    agent_id: Label | None = None

    def namespace_list(self) -> list[str] | None:
        found = [*(self.namespaces or []), *([self.namespace] if self.namespace else [])]
        return sorted(set(found)) or None

    def type_list(self) -> list[str] | None:
        found = [*(self.types or []), *([self.type] if self.type else [])]
        return sorted(set(found)) or None

    def tier_list(self) -> list[str] | None:
        found = [*(self.tiers or []), *([self.tier] if self.tier else [])]
        return sorted(set(found)) or None


class SearchMemories(_Filters):
    query: QueryText
    top_k: int = Field(default=10, ge=1, le=MAX_TOP_K)
    threshold: float | None = Field(default=None, ge=0.0, le=10.0)
    mode: SearchMode = "hybrid"
    log_miss: bool = False
    session_context: str | None = Field(default=None, max_length=MAX_MISS_CONTEXT)  # kept with a logged miss


class ScoreOut(ResponseModel):
    score: float
    vector_score: float
    text_score: float
    entities_matched: int
    vector_term: float
    text_term: float
    entity_bonus: float
    feedback_bonus: float
    access_bonus: float


class SearchHit(MemoryOut):
    score: float
    vector_score: float
    text_score: float


class SearchOut(ResponseModel):
    query: str
    threshold: float
    results: list[SearchHit]
    count: int
    miss_id: str | None = None


class ExplainRequest(_Filters):
    query: QueryText
    memory_id: Label | None = None
    threshold: float | None = Field(default=None, ge=0.0, le=10.0)
    top_k: int = Field(default=20, ge=1, le=MAX_TOP_K)
    mode: SearchMode = "hybrid"


class ExplainTerm(ResponseModel):
    name: str
    weight: float
    value: float
    contribution: float


class ExplainResult(ResponseModel):
    memory_id: str
    title: str
    tier: str
    score: float
    vector_score: float
    text_score: float
    entities_matched: int
    feedback_score: int
    access_count: int
    vector_term: float
    text_term: float
    entity_bonus: float
    feedback_bonus: float
    access_bonus: float
    terms: list[ExplainTerm]
    included: bool
    reason: str
    rank: int | None = None


class ExplainBreakdown(ResponseModel):
    vector_weight: float
    text_weight: float
    entity_weight: float
    feedback_weight: float
    access_weight: float
    access_cap: int
    embedder: str
    calibration: dict[str, float]
    text_normalisation: str


class ExplainOut(ResponseModel):
    query: str
    threshold: float
    mode: str
    results: list[ExplainResult]
    token_estimate: int
    breakdown: ExplainBreakdown


class Reinforce(RequestModel):
    value: Literal[1, -1]
    reason: str | None = Field(default=None, max_length=MAX_REASON)


class ReinforceOut(ResponseModel):
    memory_id: str
    feedback_score: int
    access_count: int
    strength: float
    previous_tier: str
    new_tier: str
    locked: bool
    promoted: bool
    demoted: bool
    message: str


class LockTier(RequestModel):
    tier: Tier


class LockOut(ResponseModel):
    memory_id: str
    tier: str
    locked: bool
    message: str


class LogMiss(RequestModel):
    query: QueryText
    session_id: Label | None = None
    context: str | None = Field(default=None, max_length=MAX_MISS_CONTEXT)


class LogMissOut(ResponseModel):
    logged: bool = True
    miss_id: str


class MissOut(ResponseModel):
    id: str
    query: str
    session_id: str | None = None
    context: str | None = None
    created_at: str | None = None


class MissesOut(ResponseModel):
    """The list shape of every list (``data`` …) plus the seed's ``misses``/``count``."""

    data: list[MissOut]
    next_cursor: str | None = None
    has_more: bool = False
    total_count: int = 0
    misses: list[MissOut]
    count: int

"""Memory, search, explain, reinforcement and miss models (the API's language)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AliasChoices, ConfigDict, Field, model_validator

from engram.models.common import (
    NO_CONTROL_PATTERN,
    NOT_BLANK_PATTERN,
    TEXT_PATTERN,
    DateOrDateTime,
    Label,
    Metadata,
    RequestModel,
    ResponseModel,
    Title,
    _not_blank,
    _text,
    declared,
)
from engram.vocabulary import MEMORY_TYPES, MemoryType, SearchMode, Tier

# Bounds (every memory item stays far below DynamoDB's 400 KB: text 16k chars ≤ 64 KB UTF-8,
# metadata 10 KB, embedding ≤ 4 KB, entities ≤ 50 x 128).
MAX_MEMORY_TEXT = 16_000
MAX_MEMORY_CONTEXT = 4_000  # a turn or two of conversation before the memory
MAX_QUERY = 2_000
MAX_ENTITIES = 50
MAX_ENTITY = 128
MAX_REASON = 1_000
MAX_MISS_CONTEXT = 4_000
MAX_TOP_K = 100
MAX_NAMESPACES = 20


MemoryText = Annotated[
    str,
    Field(min_length=1, max_length=MAX_MEMORY_TEXT),
    declared(TEXT_PATTERN),
    AfterValidator(_text),
    AfterValidator(_not_blank),
]
# What came before the memory in its conversation (the question a fact answers): searched and
# embedded with the text, never shown as it. "" is none (and clears it on an edit).
MemoryContext = Annotated[
    str,
    Field(
        max_length=MAX_MEMORY_CONTEXT,
        description=(
            "What came before the memory in its conversation (e.g. the question the fact answers): "
            "embedded and searched together with the text, so a question worded like it finds the "
            "memory; search still returns the text. Empty: none."
        ),
    ),
    declared(NO_CONTROL_PATTERN),
    AfterValidator(_text),
]
QueryText = Annotated[
    str, Field(min_length=1, max_length=MAX_QUERY), declared(NOT_BLANK_PATTERN), AfterValidator(_not_blank)
]
Entity = Annotated[
    str, Field(min_length=1, max_length=MAX_ENTITY), declared(NOT_BLANK_PATTERN), AfterValidator(_not_blank)
]


class MemorySource(RequestModel):
    session_id: Label | None = None
    turn: int | None = Field(default=None, ge=0, le=1_000_000)
    message: int | None = Field(default=None, ge=1, le=10_000_000)  # the message's position in the session (1..n)
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
    context: MemoryContext | None = None


class UpdateMemory(RequestModel):
    text: MemoryText | None = Field(default=None, validation_alias=AliasChoices("text", "content"))
    title: Title | None = None
    namespace: Label | None = None
    type: MemoryType | None = Field(default=None, validation_alias=AliasChoices("type", "memory_type", "memoryType"))
    tier: Tier | None = None
    entities: list[Entity] | None = Field(default=None, max_length=MAX_ENTITIES)
    metadata: Metadata | None = None
    context: MemoryContext | None = None  # "" removes it

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    @model_validator(mode="after")
    def _not_empty(self) -> UpdateMemory:  # a field sent as null is left as it is
        if not self.model_fields_set:
            raise ValueError(
                "nothing to update: send title, text, type, tier, entities, metadata, namespace or context"
            )
        return self


class SourceOut(ResponseModel):
    session_id: str | None = None
    turn: int | None = None
    message: int | None = None
    extracted: bool = False
    confidence: float | None = None


class LineageOut(ResponseModel):
    """A session a memory was extracted or reinforced from: the turn (when the message was
    recorded by a turn) and the message's position in the session (1..n), when known."""

    session_id: str
    turn: int | None = None
    message: int | None = None


class MemoryOut(ResponseModel):
    id: str
    namespace: str
    title: str
    text: str
    context: str | None = None  # what came before it in its conversation (indexed with the text)
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
    valid_from: str | None = None
    valid_until: str | None = None
    supersedes: list[str] = Field(default_factory=list)
    superseded_by: str | None = None
    superseded: bool = False  # true once a newer memory replaced it (it leaves search by default)
    sources: list[LineageOut] = Field(default_factory=list)


class WrittenMemoryOut(MemoryOut):
    """A create's answer: the memory, and what the write did (``created``; ``duplicate`` when the
    namespace already had the text: that memory comes back; ``superseded`` when it replaced a
    memory, named in ``supersedes``; ``conflict`` when it contradicts one that needs review)."""

    action: Literal["created", "duplicate", "superseded", "conflict"] = "created"
    conflict_id: str | None = None


class EditedMemoryOut(MemoryOut):
    """An edit's answer: the memory, and what the edit did to its fact slot (``edited``;
    ``superseded`` when the new text replaced a current memory, named in ``supersedes``;
    ``conflict`` when it contradicts one that needs review). ``restored``: the memories it had
    superseded that are current again because the new text no longer states that fact."""

    action: Literal["edited", "superseded", "conflict"] = "edited"
    conflict_id: str | None = None
    restored: list[str] = Field(default_factory=list)


class KeptMemoryOut(ResponseModel):
    id: str
    reason: str


class DeletionReceiptOut(ResponseModel):
    """What a deletion removed: ids and counts, never the deleted text."""

    id: str
    kind: Literal["memory", "session"]
    session_id: str | None = None
    memories_deleted: list[str] = Field(default_factory=list)
    memories_kept: list[KeptMemoryOut] = Field(default_factory=list)
    # memories a deleted one had superseded: current again (valid_until and superseded_by cleared)
    memories_restored: list[str] = Field(default_factory=list)
    messages_purged: int = 0
    index_entries_removed: int = 0
    created_at: str | None = None


class DeleteMemoryOut(ResponseModel):
    id: str
    deleted: bool = True
    receipt: DeletionReceiptOut | None = None


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
    include_superseded: bool = False  # superseded memories come back too, marked ``superseded``
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
    # The namespace(s) the question was asked in: replay asks again there, clusters filter by it.
    namespace: Label | None = None
    namespaces: list[Label] | None = Field(default=None, max_length=MAX_NAMESPACES)

    def namespace_list(self) -> list[str]:
        return sorted({*(self.namespaces or []), *([self.namespace] if self.namespace else [])})


class LogMissOut(ResponseModel):
    logged: bool = True
    miss_id: str


class MissOut(ResponseModel):
    id: str
    query: str
    session_id: str | None = None
    context: str | None = None
    namespaces: list[str] = Field(default_factory=list)  # where it was asked; empty: every namespace
    created_at: str | None = None


class MissesOut(ResponseModel):
    """The list shape of every list (``data`` …) plus the seed's ``misses``/``count``."""

    data: list[MissOut]
    next_cursor: str | None = None
    has_more: bool = False
    total_count: int = 0
    misses: list[MissOut]
    count: int


class MissCluster(ResponseModel):
    """Misses asking the same thing: ``id`` is its first miss's id (stable as newer misses join)."""

    id: str
    count: int
    representative: str  # the member query closest to the cluster's mean meaning
    examples: list[MissOut]  # newest first, at most ``examples`` of the request
    namespaces: list[str]
    first_seen: str | None
    last_seen: str | None


class MissClustersOut(ResponseModel):
    data: list[MissCluster]
    next_cursor: str | None = None
    has_more: bool = False
    total_count: int = 0  # clusters over the misses considered
    misses_considered: int
    truncated: bool  # more misses matched than one clustering considers (the newest were kept)
    similarity: float  # the cosine a miss needed with a cluster's first miss to join it


class ReplayMisses(RequestModel):
    namespace: Label | None = None
    cluster_id: Label | None = None  # a cluster id from GET /v1/memories/misses/clusters (same filters)
    since: DateOrDateTime | None = None
    until: DateOrDateTime | None = None
    limit: int = Field(default=50, ge=1, le=100)
    threshold: float | None = Field(default=None, ge=0.0, le=10.0)
    similarity: float | None = Field(default=None, ge=0.0, le=1.0)  # with cluster_id: as the clusters call


class ReplayTop(ResponseModel):
    memory_id: str
    title: str
    score: float


class ReplayResult(ResponseModel):
    miss_id: str
    query: str
    namespaces: list[str]
    created_at: str | None
    answered: bool  # the best memory now scores at or above the threshold
    top: ReplayTop | None = None  # the best memory, answered or not; None when nothing matches at all


class ReplayOut(ResponseModel):
    data: list[ReplayResult]
    threshold: float | None = None  # the threshold applied (None when nothing was replayed and none was asked)
    replayed: int
    answered: int
    unanswered: int
    more_misses: bool  # more misses matched than ``limit`` (the newest were replayed)

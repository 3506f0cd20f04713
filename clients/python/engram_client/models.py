"""The API's request and response models, generated from its OpenAPI document. Do not edit.

Regenerate with ``make sdk`` (``python clients/python/codegen.py``); ``tests/clients`` fails
when this file no longer matches ``shared/engram/api/openapi.json``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, RootModel


class ApiIndex(BaseModel):
    docs: str
    health: str
    name: str
    openapi: str
    version: str


class BatchItemError(BaseModel):
    code: str
    details: list[dict[str, Any]] | None = []
    message: str


class BatchItemResult(BaseModel):
    error: BatchItemError | None = None
    external_id: str | None = None
    id: str | None = None
    index: int
    status: Literal["created", "exists", "failed"]


class Entity(RootModel[str]):
    root: Annotated[
        str,
        Field(
            max_length=128,
            min_length=1,
            pattern="[^\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]",
        ),
    ]


class BatchOut(BaseModel):
    created: int
    existing: int
    failed: int
    results: list[BatchItemResult]


class CloseSession(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    metadata: dict[str, Any] | None = None
    summary: Annotated[str | None, Field(max_length=50000)] = None


class ContextMemory(BaseModel):
    id: str
    namespace: str
    score: float | None = None
    superseded: bool | None = False
    text: str
    tier: str
    title: str | None
    type: str


class ContextStats(BaseModel):
    critical_count: int
    high_count: int
    tokens_injected: int
    truncated: bool | None = False


class ConversationMessage(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    content: Annotated[str, Field(max_length=32000)]
    role: Annotated[str, Field(max_length=32, min_length=1)]


class CreateSession(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        regex_engine="python-re",
    )
    agent_id: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    context: dict[str, Any] | None = None
    key: Annotated[
        str | None,
        Field(max_length=255, min_length=1, pattern="^(?!sess_)[A-Za-z0-9_:.@+-]+$"),
    ] = None
    metadata: dict[str, Any] | None = None
    namespace: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    project: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    title: Annotated[
        str | None,
        Field(
            max_length=500,
            min_length=1,
            pattern="^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$",
        ),
    ] = None
    ttl_seconds: Annotated[int | None, Field(ge=1, le=31536000)] = None


class MemoriesUsedItem(RootModel[str]):
    root: Annotated[
        str,
        Field(
            max_length=255,
            min_length=1,
            pattern="^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$",
        ),
    ]


class EndSession(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    extract_memories: bool | None = None
    memories_used: Annotated[list[MemoriesUsedItem] | None, Field(max_length=100)] = None
    metadata: dict[str, Any] | None = None
    outcome: Literal["success", "partial", "failure", "abandoned"] | None = None
    summary: Annotated[str | None, Field(max_length=50000)] = None


class EndSessionOut(BaseModel):
    age_seconds: float | None = 0.0
    agent_id: str | None = None
    context: dict[str, Any] | None = {}
    contributors: list[str] | None = []
    created_at: str | None = None
    duration: float
    duration_seconds: float | None = 0.0
    ended: bool
    ended_at: str | None = None
    expires_at: str | None = None
    external_id: str | None = None
    id: str
    key: str | None = None
    last_activity_at: str | None = None
    memories_used: int | None = 0
    memory_count: int | None = 0
    message_count: int | None = 0
    metadata: dict[str, Any] | None = {}
    name: str | None = None
    namespace: str | None = None
    outcome: Literal["success", "partial", "failure", "abandoned"] | None = None
    project: str | None = None
    session_id: str
    started_at: str | None = None
    status: Literal["active", "ended", "closed", "expired"]
    summary: str | None = None
    title: str | None = None
    ttl_seconds: int | None = None
    turn_count: int | None = 0
    unknown_memories: list[str] | None = []
    updated_at: str | None = None


class Error1(BaseModel):
    code: str
    details: list[dict[str, Any]]
    message: str


class Error(BaseModel):
    error: Error1
    request_id: str | None


class ExplainBreakdown(BaseModel):
    access_cap: int
    access_weight: float
    calibration: dict[str, float]
    embedder: str
    entity_weight: float
    feedback_weight: float
    text_normalisation: str
    text_weight: float
    vector_weight: float


class Namespace(RootModel[str]):
    root: Annotated[str, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")]


class ExplainRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    agent_id: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    memory_id: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    mode: Literal["hybrid", "vector", "text"] | None = "hybrid"
    namespace: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    namespaces: Annotated[list[Namespace] | None, Field(max_length=20)] = None
    query: Annotated[
        str,
        Field(
            max_length=2000,
            min_length=1,
            pattern="[^\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]",
        ),
    ]
    session_id: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    threshold: Annotated[float | None, Field(ge=0.0, le=10.0)] = None
    tier: Literal["critical", "high", "normal"] | None = None
    tiers: Annotated[list[Literal["critical", "high", "normal"]] | None, Field(max_length=3)] = None
    top_k: Annotated[int | None, Field(ge=1, le=100)] = 20
    type: (
        Literal[
            "identity",
            "preference",
            "decision",
            "fact",
            "goal",
            "constraint",
            "relationship",
            "event",
            "summary",
            "other",
        ]
        | None
    ) = None
    types: Annotated[
        list[
            Literal[
                "identity",
                "preference",
                "decision",
                "fact",
                "goal",
                "constraint",
                "relationship",
                "event",
                "summary",
                "other",
            ]
        ]
        | None,
        Field(max_length=10),
    ] = None


class ExplainTerm(BaseModel):
    contribution: float
    name: str
    value: float
    weight: float


class ExtractRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    conversation: Annotated[list[ConversationMessage], Field(max_length=200, min_length=1)]
    min_confidence: Annotated[float | None, Field(ge=0.0, le=1.0)] = 0.0
    namespace: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    save: bool | None = False
    session_id: Annotated[
        str | None,
        Field(max_length=31, min_length=31, pattern="^sess_[0-9A-HJKMNP-TV-Z]{26}$"),
    ] = None


class GetOrCreateSession(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        regex_engine="python-re",
    )
    agent_id: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    context: dict[str, Any] | None = None
    key: Annotated[
        str,
        Field(max_length=255, min_length=1, pattern="^(?!sess_)[A-Za-z0-9_:.@+-]+$"),
    ]
    metadata: dict[str, Any] | None = None
    namespace: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    project: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    title: Annotated[
        str | None,
        Field(
            max_length=500,
            min_length=1,
            pattern="^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$",
        ),
    ] = None
    ttl_seconds: Annotated[int | None, Field(ge=1, le=31536000)] = None


class Health(BaseModel):
    status: str
    time: str | None
    version: str


class HistoryEventOut(BaseModel):
    """
    One change of a memory: which fields, their values after it (text is named, never copied),
    when, why.
    """

    at: str
    cause: Literal["api", "extraction", "outcome", "decay", "conflict", "access"]
    change: str
    fields: dict[str, Any] | None = None
    note: str | None = None
    version: int | None = None


class HistoryOut(BaseModel):
    data: list[HistoryEventOut]
    has_more: bool | None = False
    memory_id: str
    next_cursor: str | None = None


class InjectedContext(BaseModel):
    critical: list[ContextMemory]
    high: list[ContextMemory]


class JsonRpcError(BaseModel):
    """
    The ``error`` of a JSON-RPC error response.
    """

    model_config = ConfigDict(
        extra="allow",
    )
    code: int
    message: str


class JsonRpcMessage1(BaseModel):
    """
    One JSON-RPC 2.0 message of the MCP protocol (a request, notification or response). The
    resolver checks the envelope as the MCP SDK reads it, so a body that is not one answers in the
    API's error shape (the SDK would answer a bare JSON-RPC error); the MCP SDK reads the rest.
    """

    model_config = ConfigDict(
        extra="allow",
    )
    error: JsonRpcError | None = None
    id: int | str | None = None
    jsonrpc: Literal["2.0"]
    method: Annotated[str, Field(max_length=256)]
    params: dict[str, Any] | None = None
    result: dict[str, Any] | None = None


class JsonRpcMessage2(BaseModel):
    """
    One JSON-RPC 2.0 message of the MCP protocol (a request, notification or response). The
    resolver checks the envelope as the MCP SDK reads it, so a body that is not one answers in the
    API's error shape (the SDK would answer a bare JSON-RPC error); the MCP SDK reads the rest.
    """

    model_config = ConfigDict(
        extra="allow",
    )
    error: JsonRpcError | None = None
    id: int | str | None
    jsonrpc: Literal["2.0"]
    method: Annotated[str | None, Field(max_length=256)] = None
    params: dict[str, Any] | None = None
    result: dict[str, Any]


class JsonRpcMessage3(BaseModel):
    """
    One JSON-RPC 2.0 message of the MCP protocol (a request, notification or response). The
    resolver checks the envelope as the MCP SDK reads it, so a body that is not one answers in the
    API's error shape (the SDK would answer a bare JSON-RPC error); the MCP SDK reads the rest.
    """

    model_config = ConfigDict(
        extra="allow",
    )
    error: JsonRpcError | None
    id: int | str | None
    jsonrpc: Literal["2.0"]
    method: Annotated[str | None, Field(max_length=256)] = None
    params: dict[str, Any] | None = None
    result: dict[str, Any] | None = None


class JsonRpcMessage(RootModel[JsonRpcMessage1 | JsonRpcMessage2 | JsonRpcMessage3]):
    root: Annotated[
        JsonRpcMessage1 | JsonRpcMessage2 | JsonRpcMessage3,
        Field(
            description="One JSON-RPC 2.0 message of the MCP protocol (a request, notification or response). The\nresolver checks the envelope as the MCP SDK reads it, so a body that is not one answers in the\nAPI's error shape (the SDK would answer a bare JSON-RPC error); the MCP SDK reads the rest.",
            title="JsonRpcMessage",
        ),
    ]


class KeptMemoryOut(BaseModel):
    id: str
    reason: str


class LineageOut(BaseModel):
    """
    A session a memory was extracted or reinforced from: the turn (when the message was
    recorded by a turn) and the message's position in the session (1..n), when known.
    """

    message: int | None = None
    session_id: str
    turn: int | None = None


class LockOut(BaseModel):
    locked: bool
    memory_id: str
    message: str
    tier: str


class LockTier(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    tier: Literal["critical", "high", "normal"]


class LogMiss(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    context: Annotated[str | None, Field(max_length=4000)] = None
    namespace: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    namespaces: Annotated[list[Namespace] | None, Field(max_length=20)] = None
    query: Annotated[
        str,
        Field(
            max_length=2000,
            min_length=1,
            pattern="[^\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]",
        ),
    ]
    session_id: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None


class LogMissOut(BaseModel):
    logged: bool | None = True
    miss_id: str


class MemorySource(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    confidence: Annotated[float | None, Field(ge=0.0, le=1.0)] = None
    extracted: bool | None = False
    message: Annotated[int | None, Field(ge=1, le=10000000)] = None
    session_id: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    turn: Annotated[int | None, Field(ge=0, le=1000000)] = None


class MessageIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    content: Annotated[str, Field(max_length=32000)]
    role: Literal["user", "assistant", "system", "tool"]
    tool_call_id: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    tool_name: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None


class MessageOut(BaseModel):
    content: str
    created_at: str | None = None
    role: Literal["user", "assistant", "system", "tool"]
    seq: int
    tool_call_id: str | None = None
    tool_name: str | None = None
    turn_number: int | None = None


class MissOut(BaseModel):
    context: str | None = None
    created_at: str | None = None
    id: str
    namespaces: list[str] | None = None
    query: str
    session_id: str | None = None


class MissesOut(BaseModel):
    """
    The list shape of every list (``data`` …) plus the seed's ``misses``/``count``.
    """

    count: int
    data: list[MissOut]
    has_more: bool | None = False
    misses: list[MissOut]
    next_cursor: str | None = None
    total_count: int | None = 0


class PageMessageOut(BaseModel):
    data: list[MessageOut]
    has_more: bool | None = False
    next_cursor: str | None = None
    total_count: int | None = 0


class RecordTurn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    include_superseded: bool | None = False
    memories_used: Annotated[list[MemoriesUsedItem] | None, Field(max_length=100)] = None
    messages: Annotated[list[MessageIn], Field(max_length=50, min_length=1)]
    turn_number: Annotated[int | None, Field(ge=1, le=1000000)] = None


class Reinforce(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    reason: Annotated[str | None, Field(max_length=1000)] = None
    value: Literal[1, -1]


class ReinforceOut(BaseModel):
    access_count: int
    demoted: bool
    feedback_score: int
    locked: bool
    memory_id: str
    message: str
    new_tier: str
    previous_tier: str
    promoted: bool
    strength: float


class Since(RootModel[AwareDatetime | None]):
    root: AwareDatetime | None


class Since1(RootModel[date | None]):
    root: date | None


class Until(RootModel[AwareDatetime | None]):
    root: AwareDatetime | None


class Until1(RootModel[date | None]):
    root: date | None


class ReplayMisses(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    cluster_id: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    limit: Annotated[int | None, Field(ge=1, le=100)] = 50
    namespace: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    similarity: Annotated[float | None, Field(ge=0.0, le=1.0)] = None
    since: Since | Since1 | None = None
    threshold: Annotated[float | None, Field(ge=0.0, le=10.0)] = None
    until: Until | Until1 | None = None


class ReplayTop(BaseModel):
    memory_id: str
    score: float
    title: str


class ResolveConflict(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    resolution: Literal["keep_new", "keep_old", "keep_both"]


class SearchMemories(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    agent_id: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    include_superseded: bool | None = False
    log_miss: bool | None = False
    mode: Literal["hybrid", "vector", "text"] | None = "hybrid"
    namespace: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    namespaces: Annotated[list[Namespace] | None, Field(max_length=20)] = None
    query: Annotated[
        str,
        Field(
            max_length=2000,
            min_length=1,
            pattern="[^\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]",
        ),
    ]
    session_context: Annotated[str | None, Field(max_length=4000)] = None
    session_id: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    threshold: Annotated[float | None, Field(ge=0.0, le=10.0)] = None
    tier: Literal["critical", "high", "normal"] | None = None
    tiers: Annotated[list[Literal["critical", "high", "normal"]] | None, Field(max_length=3)] = None
    top_k: Annotated[int | None, Field(ge=1, le=100)] = 10
    type: (
        Literal[
            "identity",
            "preference",
            "decision",
            "fact",
            "goal",
            "constraint",
            "relationship",
            "event",
            "summary",
            "other",
        ]
        | None
    ) = None
    types: Annotated[
        list[
            Literal[
                "identity",
                "preference",
                "decision",
                "fact",
                "goal",
                "constraint",
                "relationship",
                "event",
                "summary",
                "other",
            ]
        ]
        | None,
        Field(max_length=10),
    ] = None


class SessionDetail(BaseModel):
    age_seconds: float | None = 0.0
    agent_id: str | None = None
    context: dict[str, Any] | None = {}
    contributors: list[str] | None = []
    created: bool | None = None
    created_at: str | None = None
    duration_seconds: float | None = 0.0
    ended_at: str | None = None
    expires_at: str | None = None
    external_id: str | None = None
    id: str
    key: str | None = None
    last_activity_at: str | None = None
    memories: list[dict[str, Any]] | None = None
    memories_used: int | None = 0
    memory_count: int | None = 0
    message_count: int | None = 0
    messages: list[MessageOut] | None = None
    messages_has_more: bool | None = None
    messages_next_cursor: str | None = None
    metadata: dict[str, Any] | None = {}
    name: str | None = None
    namespace: str | None = None
    outcome: Literal["success", "partial", "failure", "abandoned"] | None = None
    project: str | None = None
    started_at: str | None = None
    status: Literal["active", "ended", "closed", "expired"]
    summary: str | None = None
    title: str | None = None
    ttl_seconds: int | None = None
    turn_count: int | None = 0
    updated_at: str | None = None


class SessionOut(BaseModel):
    age_seconds: float | None = 0.0
    agent_id: str | None = None
    context: dict[str, Any] | None = {}
    contributors: list[str] | None = []
    created_at: str | None = None
    duration_seconds: float | None = 0.0
    ended_at: str | None = None
    expires_at: str | None = None
    external_id: str | None = None
    id: str
    key: str | None = None
    last_activity_at: str | None = None
    memories_used: int | None = 0
    memory_count: int | None = 0
    message_count: int | None = 0
    metadata: dict[str, Any] | None = {}
    name: str | None = None
    namespace: str | None = None
    outcome: Literal["success", "partial", "failure", "abandoned"] | None = None
    project: str | None = None
    started_at: str | None = None
    status: Literal["active", "ended", "closed", "expired"]
    summary: str | None = None
    title: str | None = None
    ttl_seconds: int | None = None
    turn_count: int | None = 0
    updated_at: str | None = None


class SourceOut(BaseModel):
    confidence: float | None = None
    extracted: bool | None = False
    message: int | None = None
    session_id: str | None = None
    turn: int | None = None


class StartSession(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        regex_engine="python-re",
    )
    agent_id: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    context: dict[str, Any] | None = None
    first_message: Annotated[str | None, Field(max_length=8000)] = None
    include_superseded: bool | None = False
    key: Annotated[
        str | None,
        Field(max_length=255, min_length=1, pattern="^(?!sess_)[A-Za-z0-9_:.@+-]+$"),
    ] = None
    metadata: dict[str, Any] | None = None
    namespace: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    project: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    title: Annotated[
        str | None,
        Field(
            max_length=500,
            min_length=1,
            pattern="^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$",
        ),
    ] = None
    token_budget: Annotated[int | None, Field(ge=50, le=100000)] = None
    ttl_seconds: Annotated[int | None, Field(ge=1, le=31536000)] = None


class StartSessionOut(BaseModel):
    context: InjectedContext
    session: SessionOut
    session_id: str
    stats: ContextStats


class SuggestionOut(BaseModel):
    action: str | None = None
    confidence: float
    content: str
    entities: list[str] | None = []
    memory_id: str | None = None
    memory_type: str
    source_index: int | None = None
    suggested_tier: str
    title: str


class SummarizeOut(BaseModel):
    generated_at: str | None
    memory_count: int
    message_count: int
    session_id: str
    summary: str


class TurnMemoryOut(BaseModel):
    """
    A memory a turn used or a start/refresh injected: its id as recorded, and its title now
    (``title`` null and ``exists`` false once the memory is gone; the record never holds its text).
    """

    exists: bool | None = True
    group: Literal["critical", "high"] | None = None
    id: str
    score: float | None = None
    title: str | None = None


class TurnOut(BaseModel):
    memories_used: list[str]
    message_count: int
    new_context: InjectedContext | None = None
    refresh_needed: bool
    session_id: str
    stats: ContextStats | None = None
    turn_number: int
    unknown_memories: list[str] | None = []


class UpdateMemory(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    context: Annotated[
        str | None,
        Field(
            description="What came before the memory in its conversation (e.g. the question the fact answers): embedded and searched together with the text, so a question worded like it finds the memory; search still returns the text. Empty: none.",
            max_length=4000,
            pattern="^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$",
        ),
    ] = None
    entities: Annotated[list[Entity] | None, Field(max_length=50)] = None
    metadata: dict[str, Any] | None = None
    namespace: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    text: Annotated[
        str | None,
        Field(
            max_length=16000,
            min_length=1,
            pattern="^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*[^\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$",
        ),
    ] = None
    tier: Literal["critical", "high", "normal"] | None = None
    title: Annotated[
        str | None,
        Field(
            max_length=500,
            min_length=1,
            pattern="^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$",
        ),
    ] = None
    type: (
        Literal[
            "identity",
            "preference",
            "decision",
            "fact",
            "goal",
            "constraint",
            "relationship",
            "event",
            "summary",
            "other",
        ]
        | None
    ) = None


class UpdateSession(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    metadata: dict[str, Any] | None = None
    title: Annotated[
        str | None,
        Field(
            max_length=500,
            min_length=1,
            pattern="^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$",
        ),
    ] = None
    ttl_seconds: Annotated[int | None, Field(ge=1, le=31536000)] = None


class WrittenMemoryOut(BaseModel):
    """
    A create's answer: the memory, and what the write did (``created``; ``duplicate`` when the
    namespace already had the text: that memory comes back; ``superseded`` when it replaced a
    memory, named in ``supersedes``; ``conflict`` when it contradicts one that needs review).
    """

    access_count: int
    action: Literal["created", "duplicate", "superseded", "conflict"] | None = "created"
    agent_id: str | None = None
    conflict_id: str | None = None
    context: str | None = None
    created_at: str | None = None
    entities: list[str]
    feedback_score: int
    id: str
    last_accessed_at: str | None = None
    locked: bool
    metadata: dict[str, Any] | None = None
    namespace: str
    session_id: str | None = None
    source: SourceOut | None = None
    sources: list[LineageOut] | None = None
    strength: float
    superseded: bool | None = False
    superseded_by: str | None = None
    supersedes: list[str] | None = None
    text: str
    tier: str
    title: str
    type: str
    updated_at: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None


class AppendMessages(BaseModel):
    """
    One message (``{"role", "content"}``, as the seed sends it) or ``{"messages": [...]}``.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    messages: Annotated[list[MessageIn], Field(max_length=50, min_length=1)]


class AppendMessagesOut(BaseModel):
    message_count: int
    messages: list[MessageOut]
    session_id: str


class BatchMemory(BaseModel):
    """
    A memory of a batch: the fields of ``POST /v1/memories``, plus where it came from.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    agent_id: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    context: Annotated[
        str | None,
        Field(
            description="What came before the memory in its conversation (e.g. the question the fact answers): embedded and searched together with the text, so a question worded like it finds the memory; search still returns the text. Empty: none.",
            max_length=4000,
            pattern="^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$",
        ),
    ] = None
    created_at: Annotated[
        AwareDatetime | None,
        Field(
            description="When the memory was first recorded (ISO-8601; imports keep the source's time). Not in the future."
        ),
    ] = None
    entities: Annotated[list[Entity] | None, Field(max_length=50)] = None
    external_id: Annotated[
        str | None,
        Field(
            description="The caller's id for this memory (an import keeps the source's id). A memory with the same external_id already in the tenant is answered `exists` and nothing is written, so a re-import adds no duplicates. An Engram memory id (mem_...) is kept as the new memory's id.",
            max_length=255,
            min_length=1,
        ),
    ] = None
    metadata: dict[str, Any] | None = None
    namespace: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = "default"
    session_id: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    source: MemorySource | None = None
    text: Annotated[
        str,
        Field(
            max_length=16000,
            min_length=1,
            pattern="^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*[^\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$",
        ),
    ]
    tier: Literal["critical", "high", "normal"] | None = None
    title: Annotated[
        str | None,
        Field(
            max_length=500,
            min_length=1,
            pattern="^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$",
        ),
    ] = None
    type: (
        Literal[
            "identity",
            "preference",
            "decision",
            "fact",
            "goal",
            "constraint",
            "relationship",
            "event",
            "summary",
            "other",
        ]
        | None
    ) = "fact"


class CreateMemory(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    agent_id: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    context: Annotated[
        str | None,
        Field(
            description="What came before the memory in its conversation (e.g. the question the fact answers): embedded and searched together with the text, so a question worded like it finds the memory; search still returns the text. Empty: none.",
            max_length=4000,
            pattern="^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$",
        ),
    ] = None
    entities: Annotated[list[Entity] | None, Field(max_length=50)] = None
    metadata: dict[str, Any] | None = None
    namespace: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = "default"
    session_id: Annotated[str | None, Field(max_length=128, min_length=1, pattern="^[A-Za-z0-9_:.@+/-]+$")] = None
    source: MemorySource | None = None
    text: Annotated[
        str,
        Field(
            max_length=16000,
            min_length=1,
            pattern="^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*[^\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$",
        ),
    ]
    tier: Literal["critical", "high", "normal"] | None = None
    title: Annotated[
        str | None,
        Field(
            max_length=500,
            min_length=1,
            pattern="^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$",
        ),
    ] = None
    type: (
        Literal[
            "identity",
            "preference",
            "decision",
            "fact",
            "goal",
            "constraint",
            "relationship",
            "event",
            "summary",
            "other",
        ]
        | None
    ) = "fact"


class DeletionReceiptOut(BaseModel):
    """
    What a deletion removed: ids and counts, never the deleted text.
    """

    created_at: str | None = None
    id: str
    index_entries_removed: int | None = 0
    kind: Literal["memory", "session"]
    memories_deleted: list[str] | None = None
    memories_kept: list[KeptMemoryOut] | None = None
    memories_restored: list[str] | None = None
    messages_purged: int | None = 0
    session_id: str | None = None


class DeletionsOut(BaseModel):
    data: list[DeletionReceiptOut]
    has_more: bool | None = False
    next_cursor: str | None = None


class EditedMemoryOut(BaseModel):
    """
    An edit's answer: the memory, and what the edit did to its fact slot (``edited``;
    ``superseded`` when the new text replaced a current memory, named in ``supersedes``;
    ``conflict`` when it contradicts one that needs review). ``restored``: the memories it had
    superseded that are current again because the new text no longer states that fact.
    """

    access_count: int
    action: Literal["edited", "superseded", "conflict"] | None = "edited"
    agent_id: str | None = None
    conflict_id: str | None = None
    context: str | None = None
    created_at: str | None = None
    entities: list[str]
    feedback_score: int
    id: str
    last_accessed_at: str | None = None
    locked: bool
    metadata: dict[str, Any] | None = None
    namespace: str
    restored: list[str] | None = None
    session_id: str | None = None
    source: SourceOut | None = None
    sources: list[LineageOut] | None = None
    strength: float
    superseded: bool | None = False
    superseded_by: str | None = None
    supersedes: list[str] | None = None
    text: str
    tier: str
    title: str
    type: str
    updated_at: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None


class ExplainResult(BaseModel):
    access_bonus: float
    access_count: int
    entities_matched: int
    entity_bonus: float
    feedback_bonus: float
    feedback_score: int
    included: bool
    memory_id: str
    rank: int | None = None
    reason: str
    score: float
    terms: list[ExplainTerm]
    text_score: float
    text_term: float
    tier: str
    title: str
    vector_score: float
    vector_term: float


class ExtractOut(BaseModel):
    saved: int | None = 0
    suggestions: list[SuggestionOut]
    tokens_analyzed: int


class MemoryOut(BaseModel):
    access_count: int
    agent_id: str | None = None
    context: str | None = None
    created_at: str | None = None
    entities: list[str]
    feedback_score: int
    id: str
    last_accessed_at: str | None = None
    locked: bool
    metadata: dict[str, Any] | None = None
    namespace: str
    session_id: str | None = None
    source: SourceOut | None = None
    sources: list[LineageOut] | None = None
    strength: float
    superseded: bool | None = False
    superseded_by: str | None = None
    supersedes: list[str] | None = None
    text: str
    tier: str
    title: str
    type: str
    updated_at: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None


class MissCluster(BaseModel):
    """
    Misses asking the same thing: ``id`` is its first miss's id (stable as newer misses join).
    """

    count: int
    examples: list[MissOut]
    first_seen: str | None
    id: str
    last_seen: str | None
    namespaces: list[str]
    representative: str


class MissClustersOut(BaseModel):
    data: list[MissCluster]
    has_more: bool | None = False
    misses_considered: int
    next_cursor: str | None = None
    similarity: float
    total_count: int | None = 0
    truncated: bool


class PageMemoryOut(BaseModel):
    data: list[MemoryOut]
    has_more: bool | None = False
    next_cursor: str | None = None
    total_count: int | None = 0


class PageSessionOut(BaseModel):
    data: list[SessionOut]
    has_more: bool | None = False
    next_cursor: str | None = None
    total_count: int | None = 0


class ReplayResult(BaseModel):
    answered: bool
    created_at: str | None
    miss_id: str
    namespaces: list[str]
    query: str
    top: ReplayTop | None = None


class ResolveConflictOut(BaseModel):
    confidence: float
    created_at: str | None = None
    id: str
    new_memory: MemoryOut | None = None
    new_memory_id: str
    old_memory: MemoryOut | None = None
    old_memory_id: str
    reason: str
    resolution: Literal["keep_new", "keep_old", "keep_both"] | None = None
    resolved_at: str | None = None
    slot: str
    status: Literal["open", "resolved"]
    why_review: Literal["low_confidence", "locked"]


class SearchHit(BaseModel):
    access_count: int
    agent_id: str | None = None
    context: str | None = None
    created_at: str | None = None
    entities: list[str]
    feedback_score: int
    id: str
    last_accessed_at: str | None = None
    locked: bool
    metadata: dict[str, Any] | None = None
    namespace: str
    score: float
    session_id: str | None = None
    source: SourceOut | None = None
    sources: list[LineageOut] | None = None
    strength: float
    superseded: bool | None = False
    superseded_by: str | None = None
    supersedes: list[str] | None = None
    text: str
    text_score: float
    tier: str
    title: str
    type: str
    updated_at: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None
    vector_score: float


class SearchOut(BaseModel):
    count: int
    miss_id: str | None = None
    query: str
    results: list[SearchHit]
    threshold: float


class TurnEntryOut(BaseModel):
    """
    One entry of a session's turn log: its start (``turn_number`` 0) or a recorded turn.
    """

    created_at: str | None = None
    injected: list[TurnMemoryOut] | None = None
    kind: Literal["start", "turn"]
    memories_used: list[TurnMemoryOut] | None = None
    refresh_needed: bool | None = False
    stats: ContextStats | None = None
    turn_number: int
    unknown_memories: list[str] | None = None


class BatchCreateMemories(BaseModel):
    """
    Up to 100 memories. An item that is not a valid memory is reported in its result and the rest are written.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    memories: Annotated[list[BatchMemory | Any], Field(max_length=100, min_length=1)]


class ConflictOut(BaseModel):
    """
    A new memory that may contradict a current one about the same subject and attribute.
    """

    confidence: float
    created_at: str | None = None
    id: str
    new_memory: MemoryOut | None = None
    new_memory_id: str
    old_memory: MemoryOut | None = None
    old_memory_id: str
    reason: str
    resolution: Literal["keep_new", "keep_old", "keep_both"] | None = None
    resolved_at: str | None = None
    slot: str
    status: Literal["open", "resolved"]
    why_review: Literal["low_confidence", "locked"]


class ConflictsOut(BaseModel):
    data: list[ConflictOut]
    has_more: bool | None = False
    next_cursor: str | None = None


class DeleteMemoryOut(BaseModel):
    deleted: bool | None = True
    id: str
    receipt: DeletionReceiptOut | None = None


class DeleteSessionOut(BaseModel):
    cascade_memories: bool
    deleted: bool
    deleted_at: str | None
    id: str
    purged_messages: int
    receipt: DeletionReceiptOut | None = None


class ExplainOut(BaseModel):
    breakdown: ExplainBreakdown
    mode: str
    query: str
    results: list[ExplainResult]
    threshold: float
    token_estimate: int


class PageTurnEntryOut(BaseModel):
    data: list[TurnEntryOut]
    has_more: bool | None = False
    next_cursor: str | None = None
    total_count: int | None = 0


class ReplayOut(BaseModel):
    answered: int
    data: list[ReplayResult]
    more_misses: bool
    replayed: int
    threshold: float | None = None
    unanswered: int

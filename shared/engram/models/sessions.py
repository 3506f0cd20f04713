"""Session, message and lifecycle models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AliasChoices, ConfigDict, Field, model_validator

from engram.models.common import (
    MAX_KEY,
    MAX_MESSAGE_CONTENT,
    MAX_MESSAGES_PER_REQUEST,
    NO_CONTROL_PATTERN,
    ContextObject,
    Label,
    Metadata,
    RequestModel,
    ResponseModel,
    SessionKey,
    Summary,
    Title,
    TtlSeconds,
    _text,
    declared,
)
from engram.models.memories import DeletionReceiptOut

MAX_MEMORIES_USED = 100
MESSAGES_PAGE = 100  # messages GET /v1/sessions/{id} returns before a cursor (the list maximum)

# A memory id as a caller reports it used: any short string, so the seeds' ids (``mem_h1``) work;
# ids that name no memory of the tenant are answered as ``unknown_memories`` and credit nothing.
MemoryRef = Annotated[str, Field(min_length=1, max_length=MAX_KEY), declared(NO_CONTROL_PATTERN), AfterValidator(_text)]

Status = Literal["active", "ended", "closed", "expired"]
StatusFilter = Literal["active", "ended", "closed", "expired", "completed"]
Outcome = Literal["success", "partial", "failure", "abandoned"]
Role = Literal["user", "assistant", "system", "tool"]


class CreateSession(RequestModel):
    agent_id: Label | None = None
    key: SessionKey | None = Field(default=None, validation_alias=AliasChoices("key", "external_id", "externalId"))
    namespace: Label | None = None
    project: Label | None = None
    title: Title | None = Field(default=None, validation_alias=AliasChoices("title", "name"))
    metadata: Metadata | None = None
    context: ContextObject | None = None
    ttl_seconds: TtlSeconds | None = Field(default=None, validation_alias=AliasChoices("ttl_seconds", "ttlSeconds"))


class GetOrCreateSession(CreateSession):
    key: SessionKey = Field(validation_alias=AliasChoices("key", "external_id", "externalId"))  # type: ignore[assignment]


class UpdateSession(RequestModel):
    title: Title | None = Field(default=None, validation_alias=AliasChoices("title", "name"))
    metadata: Metadata | None = None
    ttl_seconds: TtlSeconds | None = Field(default=None, validation_alias=AliasChoices("ttl_seconds", "ttlSeconds"))

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    @model_validator(mode="after")
    def _not_empty(self) -> UpdateSession:  # a field sent as null is left as it is
        if not self.model_fields_set:
            raise ValueError("nothing to update: send title, metadata or ttl_seconds")
        return self


class MessageIn(RequestModel):
    role: Role
    content: str = Field(max_length=MAX_MESSAGE_CONTENT)
    tool_call_id: Label | None = None
    tool_name: Label | None = None


class AppendMessages(RequestModel):
    """One message (``{"role", "content"}``, as the seed sends it) or ``{"messages": [...]}``."""

    messages: list[MessageIn] = Field(min_length=1, max_length=MAX_MESSAGES_PER_REQUEST)

    @model_validator(mode="before")
    @classmethod
    def _single(cls, data: Any) -> Any:
        if isinstance(data, dict) and "messages" not in data and "role" in data:
            return {"messages": [data]}
        return data


class EndSession(RequestModel):
    # optional, as in the seeds: without one nothing is learned (no memory is credited or debited)
    outcome: Outcome | None = None
    summary: Summary | None = None
    metadata: Metadata | None = None
    extract_memories: bool | None = None
    # memories used in the session that its turns did not report; credited with the outcome
    memories_used: list[MemoryRef] = Field(default_factory=list, max_length=MAX_MEMORIES_USED)


class CloseSession(RequestModel):
    summary: Summary | None = None
    metadata: Metadata | None = None


class SessionOut(ResponseModel):
    id: str
    key: str | None = None
    external_id: str | None = None
    agent_id: str | None = None
    contributors: list[str] = []
    namespace: str | None = None
    project: str | None = None
    title: str | None = None
    name: str | None = None
    status: Status
    outcome: Outcome | None = None
    summary: str | None = None
    metadata: dict[str, Any] = {}
    context: dict[str, Any] = {}
    ttl_seconds: int | None = None
    expires_at: str | None = None
    message_count: int = 0
    turn_count: int = 0
    memory_count: int = 0
    memories_used: int = 0
    started_at: str | None = None
    last_activity_at: str | None = None
    ended_at: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    age_seconds: float = 0.0
    duration_seconds: float = 0.0


class MessageOut(ResponseModel):
    seq: int
    role: Role
    content: str
    tool_call_id: str | None = None
    tool_name: str | None = None
    turn_number: int | None = None
    created_at: str | None = None


class SessionDetail(SessionOut):
    created: bool | None = None
    # GET returns the first page of messages (``include_messages=false`` skips them); the rest
    # follow from GET /v1/sessions/{id}/messages?cursor=<messages_next_cursor>
    messages: list[MessageOut] | None = None
    messages_next_cursor: str | None = None
    messages_has_more: bool | None = None
    memories: list[dict[str, Any]] | None = None


class AppendMessagesOut(ResponseModel):
    session_id: str
    messages: list[MessageOut]
    message_count: int


class EndSessionOut(SessionOut):
    session_id: str
    ended: bool
    duration: float
    unknown_memories: list[str] = []  # ids of memories_used that name no memory of this tenant


class DeleteSessionOut(ResponseModel):
    id: str
    deleted: bool
    deleted_at: str | None
    cascade_memories: bool
    purged_messages: int
    receipt: DeletionReceiptOut | None = None  # with cascade_memories: what was deleted and kept

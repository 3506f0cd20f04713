"""POST /v1/memories/batch: up to 100 memories in one request, each answered on its own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from engram.models.common import MAX_KEY, RequestModel, ResponseModel, _text
from engram.models.memories import CreateMemory

MAX_BATCH = 100

# Only hashed into an id (never part of a path or a key), so any printable text will do.
ExternalId = Annotated[str, Field(min_length=1, max_length=MAX_KEY), AfterValidator(_text)]


class BatchMemory(CreateMemory):
    """A memory of a batch: the fields of ``POST /v1/memories``, plus where it came from."""

    external_id: ExternalId | None = Field(
        default=None,
        description="The caller's id for this memory (an import keeps the source's id). A memory with the same "
        "external_id already in the tenant is answered `exists` and nothing is written, so a re-import adds no "
        "duplicates. An Engram memory id (mem_...) is kept as the new memory's id.",
    )
    created_at: datetime | None = Field(
        default=None,
        description="When the memory was first recorded (ISO-8601; imports keep the source's time). Not in the future.",
    )


class BatchCreateMemories(RequestModel):
    """Up to 100 memories. An item that is not a valid memory is reported in its result and the rest are written."""

    memories: list[Annotated[BatchMemory | Any, Field(union_mode="left_to_right")]] = Field(
        min_length=1, max_length=MAX_BATCH
    )


class BatchItemError(ResponseModel):
    code: str
    message: str
    details: list[dict[str, Any]] = []


class BatchItemResult(ResponseModel):
    index: int
    status: Literal["created", "exists", "failed"]
    id: str | None = None
    external_id: str | None = None
    error: BatchItemError | None = None


class BatchOut(ResponseModel):
    results: list[BatchItemResult]
    created: int
    existing: int
    failed: int

"""Governance models: conflicts waiting for review, memory histories, the deletions log."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from engram.models.common import RequestModel, ResponseModel
from engram.models.memories import DeletionReceiptOut, MemoryOut

Resolution = Literal["keep_new", "keep_old", "keep_both"]
ConflictStatus = Literal["open", "resolved"]
Cause = Literal["api", "extraction", "outcome", "decay", "conflict", "access"]


class ConflictOut(ResponseModel):
    """A new memory that may contradict a current one about the same subject and attribute."""

    id: str
    status: ConflictStatus
    old_memory_id: str
    new_memory_id: str
    slot: str  # "subject|attribute", e.g. "user|residence"
    reason: str
    confidence: float
    why_review: Literal["low_confidence", "locked"]
    resolution: Resolution | None = None
    created_at: str | None = None
    resolved_at: str | None = None
    old_memory: MemoryOut | None = None  # as it is now (absent once deleted)
    new_memory: MemoryOut | None = None


class ResolveConflict(RequestModel):
    resolution: Resolution


class ResolveConflictOut(ConflictOut):
    pass


class HistoryEventOut(ResponseModel):
    """One change of a memory: which fields, their values after it (text is named, never copied),
    when, why."""

    at: str
    cause: Cause
    # created, edited, tier, locked, unlocked, feedback, superseded, supersedes, reinstated, lineage
    change: str
    version: int | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    note: str | None = None


class ConflictsOut(ResponseModel):
    data: list[ConflictOut]
    next_cursor: str | None = None
    has_more: bool = False


class HistoryOut(ResponseModel):
    memory_id: str
    data: list[HistoryEventOut]
    next_cursor: str | None = None
    has_more: bool = False


class DeletionsOut(ResponseModel):
    data: list[DeletionReceiptOut]
    next_cursor: str | None = None
    has_more: bool = False

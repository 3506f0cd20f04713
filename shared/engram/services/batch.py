"""Batch writes (``POST /v1/memories/batch``): many memories in one request, each answered on its own.

Every item is validated on its own, so one bad item is reported and the others are written.
The new memories are embedded in one embedder call, then each is stored through
:meth:`MemoryService.create` (the path ``POST /v1/memories`` takes), with its vector.

An item with an ``external_id`` gets a stable id: an Engram memory id is kept as is, any other
id is mapped to ``mem_<source time><hash of the external id>``. A memory the tenant already has
under that id is answered ``exists`` and not written again, so re-importing a file adds nothing.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from pydantic import ValidationError

from engram import clock, errors
from engram.ids import derived_id, looks_like_id
from engram.models.batch import BatchCreateMemories, BatchItemError, BatchItemResult, BatchMemory, BatchOut
from engram.services.memories import MemoryService, context_of
from engram.services.memory_core import derive_title, embed_text

CLOCK_SKEW_SECONDS = 300  # a source clock a little ahead of ours is not "the future"


class BatchWriter:
    def __init__(self, memories: MemoryService) -> None:
        self._memories = memories

    def create(self, tenant_id: str, req: BatchCreateMemories) -> BatchOut:
        results: dict[int, BatchItemResult] = {}
        pending: list[tuple[int, BatchMemory, str | None, float | None]] = []
        for index, raw in enumerate(req.memories):
            try:
                item = raw if isinstance(raw, BatchMemory) else BatchMemory.model_validate(raw)
                created_at = _created_at(item)
            except (ValidationError, errors.ValidationFailed) as exc:
                results[index] = _failed(index, raw, _validation_error(exc))
                continue
            memory_id = memory_id_for(item.external_id, created_at) if item.external_id else None
            pending.append((index, item, memory_id, created_at))

        known = self._memories.existing(tenant_id, [m for _, _, m, _ in pending if m])
        fresh = []
        for index, item, memory_id, created_at in pending:
            if memory_id in known:
                results[index] = BatchItemResult(
                    index=index, status="exists", id=memory_id, external_id=item.external_id
                )
            else:
                fresh.append((index, item, memory_id, created_at))

        vectors = self._embed(
            [
                embed_text(item.title or derive_title(item.text), item.text, context_of(item.context))
                for _, item, _, _ in fresh
            ]
        )
        for (index, item, memory_id, created_at), vector in zip(fresh, vectors, strict=True):
            results[index] = self._store(tenant_id, index, item, memory_id, created_at, vector)

        ordered = [results[i] for i in sorted(results)]
        return BatchOut(
            results=ordered,
            created=sum(r.status == "created" for r in ordered),
            existing=sum(r.status == "exists" for r in ordered),
            failed=sum(r.status == "failed" for r in ordered),
        )

    def _store(
        self,
        tenant_id: str,
        index: int,
        item: BatchMemory,
        memory_id: str | None,
        created_at: float | None,
        vector: list[float],
    ) -> BatchItemResult:
        try:
            out = self._memories.create(tenant_id, item, memory_id=memory_id, vector=vector, created_at=created_at)
        except errors.Conflict:  # written by a concurrent request since we looked
            return BatchItemResult(index=index, status="exists", id=memory_id, external_id=item.external_id)
        except errors.EngramError as exc:  # one item's storage failure does not fail the others
            return _failed(index, item, exc)
        if out.action == "duplicate":  # the namespace already has the same text: that memory answers
            return BatchItemResult(index=index, status="exists", id=out.id, external_id=item.external_id)
        return BatchItemResult(index=index, status="created", id=out.id, external_id=item.external_id)

    def _embed(self, texts: list[str]) -> list[list[float]]:
        # One embedder call for the batch; if it fails nothing is written yet, so the whole request
        # can be retried (503).
        return self._memories.core.embed(texts) if texts else []


def memory_id_for(external_id: str, created_at: float | None) -> str:
    """The id a memory imported under ``external_id`` gets, the same on every import."""
    if looks_like_id(external_id, "mem"):
        return external_id
    return derived_id("mem", created_at or 0.0, external_id)


def _created_at(item: BatchMemory) -> float | None:
    if item.created_at is None:
        return None
    when = item.created_at if item.created_at.tzinfo else item.created_at.replace(tzinfo=UTC)
    ts = when.timestamp()
    if ts > clock.now() + CLOCK_SKEW_SECONDS:
        raise errors.ValidationFailed(
            "Invalid memory", details=[{"field": "created_at", "message": "must not be in the future"}]
        )
    return ts


def _validation_error(exc: ValidationError | errors.ValidationFailed) -> errors.EngramError:
    if isinstance(exc, errors.ValidationFailed):
        return exc
    # Field names and messages only: the rejected values are the caller's data.
    details = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
    return errors.ValidationFailed("Invalid memory", details=details)


def _failed(index: int, raw: Any, exc: errors.EngramError) -> BatchItemResult:
    external = raw.external_id if isinstance(raw, BatchMemory) else None
    if isinstance(raw, dict) and isinstance(raw.get("external_id"), str):
        external = raw["external_id"][:255]
    return BatchItemResult(
        index=index,
        status="failed",
        external_id=external,
        error=BatchItemError(code=exc.code, message=exc.message, details=exc.details),
    )

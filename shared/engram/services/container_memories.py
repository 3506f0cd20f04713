"""Cached factories for the memory side: service, index, embedder, stream handler.

Nothing is built at import time; the index and the embedder are built on first use (so a
function that only lists memories never loads a model). Tests call :func:`reset`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from engram.config import Settings, get_settings

if TYPE_CHECKING:
    from engram.embed import Embedder
    from engram.index import VectorIndex
    from engram.services.memories import MemoryService
    from engram.services.retrieval import ScoringWeights
    from engram.services.tiers import TierPolicy


def index() -> VectorIndex:
    from engram.index import get_index

    return get_index(get_settings())


def embedder() -> Embedder:
    from engram.embed import get_embedder

    return get_embedder(get_settings())


def scoring_weights(settings: Settings) -> ScoringWeights:
    """Defaults from services/retrieval.py; each ``ENGRAM_SCORE_*`` setting that is set overrides one."""
    from engram.services.retrieval import ScoringWeights

    names: tuple[str, ...] = ("vector_weight", "text_weight", "entity_weight", "feedback_weight", "access_weight")
    names += ("access_cap", "threshold")
    values = {name: getattr(settings, f"score_{name}") for name in names}
    return ScoringWeights(**{name: value for name, value in values.items() if value is not None})


def tier_policy(settings: Settings) -> TierPolicy:
    """Defaults from services/tiers.py, overridden by the tier settings that are set."""
    from engram.services.tiers import TierPolicy

    values: dict[str, Any] = {}
    if settings.memory_half_life_days is not None:
        values["half_life_seconds"] = settings.memory_half_life_days * 86400
    if settings.tier_high_strength is not None:
        values["high"] = settings.tier_high_strength
    if settings.tier_critical_strength is not None:
        values["critical"] = settings.tier_critical_strength
    return TierPolicy(**values)


@lru_cache(maxsize=1)
def memories() -> MemoryService:
    from engram.services.memories import MemoryService
    from engram.store.memories import MemoryRepository, MissRepository

    settings = get_settings()
    return MemoryService(
        MemoryRepository(settings),
        MissRepository(settings),
        settings,
        index=index,
        embedder=embedder,
        weights=scoring_weights(settings),
        policy=tier_policy(settings),
    )


class SessionMemories:
    """What services/sessions.py needs: a session's memories as plain dicts, and the cascade."""

    def __init__(self, service: MemoryService) -> None:
        self._service = service

    def for_session(self, tenant_id: str, session_id: str) -> list[dict[str, Any]]:
        return [m.model_dump(mode="json") for m in self._service.for_session(tenant_id, session_id)]

    def delete_for_session(self, tenant_id: str, session_id: str) -> int:
        return self._service.delete_for_session(tenant_id, session_id)


@lru_cache(maxsize=1)
def session_memories() -> SessionMemories:
    return SessionMemories(memories())


def reindex(tenant_id: str | None = None, progress: Callable[[int], None] | None = None) -> int:
    """``engram reindex``: rebuild the vector index from DynamoDB (one tenant or all)."""
    return memories().reindex(tenant_id, progress=progress)


def reset() -> None:
    from engram.embed import reset_embedders
    from engram.index import reset_indexes

    memories.cache_clear()
    session_memories.cache_clear()
    reset_indexes()
    reset_embedders()

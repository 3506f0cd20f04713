"""The composition root: the one module that builds services from settings.

Functions, the CLI and the local runtime ask it for a service (``sessions()``, ``memories()``,
``search()``…); it picks the adapters the settings name (DynamoDB repositories, the vector
index, the embedder, the extractor) and wires them in. Each factory builds its object once per
process (a Lambda container) on first use: nothing is built at import time, and a function pays
only for what it uses (listing memories never loads the embedder). Services are imported inside
the factories for the same reason.

:func:`reset` forgets everything built here and every cache below it (settings, connections,
index and embedder clients, the idempotency store): tests call it after changing the
environment or the clock, the local runtime when it starts, the CLI when it targets a stack.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from engram.config import Settings, get_settings, reset_settings

if TYPE_CHECKING:
    from engram.embed.ports import Embedder
    from engram.extract.ports import Extractor, Summarizer
    from engram.index.ports import VectorIndex
    from engram.services.auth import ApiKeyService, RateLimiter
    from engram.services.batch import BatchWriter
    from engram.services.feedback import FeedbackService
    from engram.services.governance import GovernanceService
    from engram.services.intelligence import IntelligenceService
    from engram.services.memories import MemoryService
    from engram.services.memory_core import MemoryCore
    from engram.services.memory_stream import MemoryStreamHandler
    from engram.services.miss_review import MissReview
    from engram.services.misses import MissService
    from engram.services.search import ScoringWeights, SearchService
    from engram.services.session_events import SessionEventHandler
    from engram.services.sessions import SessionService
    from engram.services.sweeper import SweepService
    from engram.services.tiers import TierPolicy
    from engram.store.sessions import DynamoSessionRepository

F = TypeVar("F", bound=Callable[[], Any])
_built: list[Any] = []


def _once(factory: F) -> F:
    """Build on first call, then return the same object until :func:`reset`."""
    cached = lru_cache(maxsize=1)(factory)
    _built.append(cached)
    return cached  # type: ignore[return-value]


# --- adapters ------------------------------------------------------------------------------------


def index() -> VectorIndex:
    """The vector index the settings name (one client per configuration per process)."""
    from engram.index import get_index

    return get_index(get_settings())


def embedder() -> Embedder:
    from engram.embed import get_embedder

    return get_embedder(get_settings())


@_once
def extractor() -> Extractor:
    from engram.extract.factory import get_extractor

    return get_extractor(get_settings().extractor)


@_once
def summarizer() -> Summarizer:
    from engram.extract.factory import get_summarizer

    return get_summarizer(get_settings().summarizer)


@_once
def session_repository() -> DynamoSessionRepository:
    from engram.store.sessions import DynamoSessionRepository

    return DynamoSessionRepository(get_settings())


def scoring_weights(settings: Settings) -> ScoringWeights:
    """Defaults from services/search.py; each ``ENGRAM_SCORE_*`` setting that is set overrides one."""
    from engram.services.search import ScoringWeights

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


# --- sessions ------------------------------------------------------------------------------------


@_once
def sessions() -> SessionService:
    from engram.services.sessions import SessionService

    return SessionService(session_repository(), get_settings(), memories=memories)


def session_id_of(tenant_id: str, ref: str) -> str:
    """A session's id from its id or key (NotFound if neither): Idempotency-Key's scope."""
    return sessions().load(tenant_id, ref).session_id


@_once
def intelligence() -> IntelligenceService:
    from engram.services.intelligence import IntelligenceService

    return IntelligenceService(
        sessions(), session_repository(), get_settings(), memories, search, feedback, extractor, summarizer
    )


@_once
def session_events() -> SessionEventHandler:
    from engram.services.session_events import SessionEventHandler

    return SessionEventHandler(get_settings(), session_repository(), intelligence, memories, feedback)


@_once
def sweeper() -> SweepService:
    from engram.services.sweeper import SweepService

    return SweepService(session_repository(), get_settings())


# --- memories ------------------------------------------------------------------------------------


@_once
def memory_core() -> MemoryCore:
    from engram.services.memory_core import MemoryCore
    from engram.store.ledger import DynamoLedgerRepository
    from engram.store.memories import DynamoMemoryRepository

    settings = get_settings()
    return MemoryCore(
        DynamoMemoryRepository(settings),
        index=index,
        embedder=embedder,
        policy=tier_policy(settings),
        ledger=DynamoLedgerRepository(settings),
    )


@_once
def memories() -> MemoryService:
    from engram.services.memories import MemoryService

    return MemoryService(memory_core(), get_settings())


def governance() -> GovernanceService:
    """Conflicts, histories and the deletions log (the memory service's own)."""
    return memories().governance


def batch_writer() -> BatchWriter:
    from engram.services.batch import BatchWriter

    return BatchWriter(memories())


@_once
def feedback() -> FeedbackService:
    from engram.services.feedback import FeedbackService

    return FeedbackService(memory_core())


@_once
def misses() -> MissService:
    from engram.services.misses import MissService
    from engram.store.memories import DynamoMissRepository

    settings = get_settings()
    return MissService(DynamoMissRepository(settings), settings)


@_once
def search() -> SearchService:
    from engram.services.search import SearchService

    return SearchService(memory_core(), scoring_weights(get_settings()), misses=misses(), feedback=feedback())


@_once
def miss_review() -> MissReview:
    from engram.services.miss_review import MissReview

    return MissReview(misses(), memory_core().embed, search().explain)


def memory_stream(target: VectorIndex | None = None) -> MemoryStreamHandler:
    """The memories stream consumer, writing to ``target`` (default: the configured index)."""
    from engram.services.memory_stream import MemoryStreamHandler
    from engram.store.memories import decode_change

    return MemoryStreamHandler(target if target is not None else index(), decode_change, feedback().settle)


def reindex(tenant_id: str | None = None, progress: Callable[[int], None] | None = None) -> int:
    """``engram reindex``: rebuild the vector index from DynamoDB (one tenant or all), and the
    sessions' agent index (what ``GET /v1/sessions?agent_id=`` reads); returns the memories indexed."""
    session_repository().reindex_agents(tenant_id)
    return memories().reindex(tenant_id, progress=progress)


# --- keys ----------------------------------------------------------------------------------------


@_once
def api_keys() -> ApiKeyService:
    from engram.services.auth import ApiKeyService
    from engram.store.auth import DynamoApiKeyRepository

    settings = get_settings()
    return ApiKeyService(DynamoApiKeyRepository(settings), cache_seconds=settings.api_key_cache_seconds)


@_once
def rate_limiter() -> RateLimiter:
    from engram.services.auth import RateLimiter
    from engram.store.auth import DynamoRateCounter

    settings = get_settings()
    return RateLimiter(DynamoRateCounter(settings), settings)


# --- the one reset -------------------------------------------------------------------------------


def reset() -> None:
    """Forget every built service and every process cache under them (only what was imported)."""
    reset_settings()
    for factory in _built:
        factory.cache_clear()
    from engram.embed import reset_embedders
    from engram.index import reset_indexes

    reset_indexes()
    reset_embedders()
    if "engram.store.base" in sys.modules:
        sys.modules["engram.store.base"].connection.cache_clear()  # it holds an endpoint from the environment
    if "engram.api.idempotency" in sys.modules:
        sys.modules["engram.api.idempotency"].reset_persistence()

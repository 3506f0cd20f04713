"""Cached service factories: each function builds its collaborators once per container.

Nothing is built at import time; the first request pays for it (and only for what it uses).
Tests call :func:`reset` after changing settings or the clock.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from engram.config import get_settings, reset_settings

if TYPE_CHECKING:
    from engram.services.auth import ApiKeyService, RateLimiter
    from engram.services.intelligence import IntelligenceService
    from engram.services.session_events import SessionEventHandler
    from engram.services.sessions import SessionService
    from engram.services.sweeper import SweepService


@lru_cache(maxsize=1)
def sessions() -> SessionService:
    from engram.services.sessions import SessionService
    from engram.store.sessions import SessionRepository

    settings = get_settings()
    return SessionService(SessionRepository(settings), settings, memories=_session_memories)


def _session_memories() -> Any:
    from engram.services import container_memories

    return container_memories.session_memories()


@lru_cache(maxsize=1)
def api_keys() -> ApiKeyService:
    from engram.services.auth import ApiKeyService

    return ApiKeyService()


@lru_cache(maxsize=1)
def rate_limiter() -> RateLimiter:
    from engram.services.auth import RateLimiter

    return RateLimiter()


@lru_cache(maxsize=1)
def sweeper() -> SweepService:
    from engram.services.sweeper import SweepService

    return SweepService(get_settings())


@lru_cache(maxsize=1)
def intelligence() -> IntelligenceService:
    from engram.extract import get_extractor, get_summarizer
    from engram.services.container_memories import memories
    from engram.services.intelligence import IntelligenceService
    from engram.store.sessions import SessionRepository

    settings = get_settings()
    extractor = lru_cache(maxsize=1)(lambda: get_extractor(settings.extractor))
    summarizer = lru_cache(maxsize=1)(lambda: get_summarizer(settings.summarizer))
    return IntelligenceService(sessions(), SessionRepository(settings), settings, memories, extractor, summarizer)


@lru_cache(maxsize=1)
def session_events() -> SessionEventHandler:
    from engram.services.container_memories import memories
    from engram.services.session_events import SessionEventHandler
    from engram.store.sessions import SessionRepository

    settings = get_settings()
    return SessionEventHandler(settings, SessionRepository(settings), intelligence, memories)


def reset() -> None:
    from engram.store.base import connection

    reset_settings()
    connection.cache_clear()  # it holds an endpoint read from the environment
    for factory in (sessions, api_keys, rate_limiter, sweeper, intelligence, session_events):
        factory.cache_clear()
    try:
        from engram.services import container_memories
    except ImportError:  # pragma: no cover - memories not installed in this build
        return
    container_memories.reset()

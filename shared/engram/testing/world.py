"""Every service wired on the in-memory fakes: what the unit tier and ``bench/`` run against.

The wiring mirrors :mod:`engram.container` (the production composition root) with the
repositories swapped for :mod:`engram.testing.fakes`; the index, embedder, extractor and
summariser are the dependency-free adapters unless a caller passes others. Nothing here opens a
socket.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engram.config import Settings
from engram.embed.ports import Embedder
from engram.extract.ports import Extractor, Summarizer
from engram.index.ports import VectorIndex
from engram.services.auth import ApiKeyService, RateLimiter
from engram.services.feedback import FeedbackService
from engram.services.intelligence import IntelligenceService
from engram.services.memories import MemoryService
from engram.services.memory_core import MemoryCore
from engram.services.misses import MissService
from engram.services.search import ScoringWeights, SearchService
from engram.services.session_events import SessionEventHandler
from engram.services.sessions import SessionService
from engram.services.sweeper import SweepService
from engram.services.tiers import TierPolicy
from engram.testing.fakes import (
    FakeApiKeyRepository,
    FakeMemoryRepository,
    FakeMissRepository,
    FakeRateCounter,
    FakeSessionRepository,
)


@dataclass
class World:
    """The fakes (to arrange and inspect stored state) and the services built on them."""

    settings: Settings
    index: VectorIndex
    embedder: Embedder
    session_repo: FakeSessionRepository = field(default_factory=FakeSessionRepository)
    memory_repo: FakeMemoryRepository = field(default_factory=FakeMemoryRepository)
    miss_repo: FakeMissRepository = field(default_factory=FakeMissRepository)
    key_repo: FakeApiKeyRepository = field(default_factory=FakeApiKeyRepository)
    counter: FakeRateCounter = field(default_factory=FakeRateCounter)
    extractor: Extractor | None = None
    summarizer: Summarizer | None = None
    weights: ScoringWeights | None = None
    policy: TierPolicy | None = None

    def __post_init__(self) -> None:
        if self.extractor is None:
            from engram.extract.heuristic import HeuristicExtractor

            self.extractor = HeuristicExtractor()
        if self.summarizer is None:
            from engram.extract.extractive import ExtractiveSummarizer

            self.summarizer = ExtractiveSummarizer()
        s = self.settings
        self.core = MemoryCore(
            self.memory_repo, index=lambda: self.index, embedder=lambda: self.embedder, policy=self.policy
        )
        self.memories = MemoryService(self.core, s)
        self.feedback = FeedbackService(self.core)
        self.misses = MissService(self.miss_repo, s)
        self.search = SearchService(self.core, self.weights, misses=self.misses, feedback=self.feedback)
        self.sessions = SessionService(self.session_repo, s, memories=_const(self.memories))
        self.intelligence = IntelligenceService(
            self.sessions,
            self.session_repo,
            s,
            _const(self.memories),
            _const(self.search),
            _const(self.feedback),
            _const(self.extractor),
            _const(self.summarizer),
        )
        self.session_events = SessionEventHandler(
            s, self.session_repo, _const(self.intelligence), _const(self.memories), _const(self.feedback)
        )
        self.sweeper = SweepService(self.session_repo, s)
        self.api_keys = ApiKeyService(self.key_repo)
        self.rate_limiter = RateLimiter(self.counter, s)


def _const(value: Any) -> Callable[[], Any]:
    return lambda: value

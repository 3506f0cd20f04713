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
from engram.services.miss_review import MissReview
from engram.services.misses import MissService
from engram.services.search import ScoringWeights, SearchService
from engram.services.session_events import SessionEventHandler
from engram.services.sessions import SessionService
from engram.services.sweeper import SweepService
from engram.services.tiers import TierPolicy
from engram.testing.fakes import (
    FakeApiKeyRepository,
    FakeLedgerRepository,
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
    memory_repo: FakeMemoryRepository = field(default_factory=FakeMemoryRepository)
    session_repo: FakeSessionRepository = field(init=False)
    miss_repo: FakeMissRepository = field(default_factory=FakeMissRepository)
    ledger_repo: FakeLedgerRepository = field(default_factory=FakeLedgerRepository)
    key_repo: FakeApiKeyRepository = field(default_factory=FakeApiKeyRepository)
    counter: FakeRateCounter = field(default_factory=FakeRateCounter)
    extractor: Extractor | None = None
    summarizer: Summarizer | None = None
    weights: ScoringWeights | None = None
    policy: TierPolicy | None = None

    def __post_init__(self) -> None:
        self.session_repo = FakeSessionRepository(self.memory_repo)  # a turn logs its accesses there
        if self.extractor is None:
            from engram.extract.heuristic import HeuristicExtractor

            self.extractor = HeuristicExtractor()
        if self.summarizer is None:
            from engram.extract.extractive import ExtractiveSummarizer

            self.summarizer = ExtractiveSummarizer()
        if self.memory_repo.sessions is None:  # memories count in their session, as in DynamoDB
            self.memory_repo.sessions = self.session_repo
        s = self.settings
        self.core = MemoryCore(
            self.memory_repo,
            index=lambda: self.index,
            embedder=lambda: self.embedder,
            policy=self.policy,
            ledger=self.ledger_repo,
        )
        self.memories = MemoryService(self.core, s)
        self.feedback = FeedbackService(self.core)
        self.misses = MissService(self.miss_repo, s)
        self.search = SearchService(self.core, self.weights, misses=self.misses, feedback=self.feedback)
        self.miss_review = MissReview(self.misses, self.core.embed, self.search.explain)
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
        self.api_keys = ApiKeyService(self.key_repo, cache_seconds=s.api_key_cache_seconds)
        self.rate_limiter = RateLimiter(self.counter, s)

    def settle_accesses(self) -> int:
        """What the memories stream consumer does with each access log: count it into its memories.
        Returns how many memory counts were settled."""
        return self.feedback.settle(self.memory_repo.pending_accesses())


def _const(value: Any) -> Callable[[], Any]:
    return lambda: value

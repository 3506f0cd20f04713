"""Session intelligence: context injection at start, turns with refresh, extraction, summaries.

- **start** creates the session and injects every critical memory of its namespace (and of the
  tenant-wide ``default`` namespace) plus the high-tier memories relevant to ``first_message``,
  critical first, within a token budget.
- **turn** appends the turn's messages and numbers turns atomically (the session's message count
  is the optimistic lock, the turn record is written in the same transaction with the answer it
  produced, so re-sending a turn number replays that answer). Every Nth turn answers
  ``refresh_needed`` with ``new_context`` for the recent messages.
- **extract** runs the configured extractor; with ``save`` each suggestion becomes a memory, or
  reinforces the memory it duplicates.
- **summarize** writes a generated summary onto the session now.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from engram import clock, errors
from engram.config import Settings
from engram.extract.ports import ConversationMessage, Extractor, Message, Summarizer
from engram.extract.tokens import estimate_tokens
from engram.ids import looks_like_id
from engram.models.intelligence import (
    ContextMemory,
    ContextStats,
    ExtractOut,
    ExtractRequest,
    InjectedContext,
    RecordTurn,
    StartSession,
    StartSessionOut,
    SuggestionOut,
    SummarizeOut,
    TurnOut,
)
from engram.models.sessions import CreateSession
from engram.ports import StaleWrite
from engram.ports.sessions import NewMessage, SessionRepository, TurnRecord
from engram.services.lifecycle import ensure_writable
from engram.services.optimistic import optimistic
from engram.vocabulary import DEFAULT_NAMESPACE

if TYPE_CHECKING:
    from engram.models.memories import MemoryOut
    from engram.services.feedback import FeedbackService
    from engram.services.memories import MemoryService
    from engram.services.search import SearchService
    from engram.services.sessions import SessionService

RECENT_MESSAGES_FOR_REFRESH = 10
HIGH_CANDIDATES = 20
MAX_TURN_ATTEMPTS = 30


class IntelligenceService:
    def __init__(
        self,
        sessions: SessionService,
        repo: SessionRepository,
        settings: Settings,
        memories: Callable[[], MemoryService],
        search: Callable[[], SearchService],
        feedback: Callable[[], FeedbackService],
        extractor: Callable[[], Extractor],
        summarizer: Callable[[], Summarizer],
    ) -> None:
        """The memory side and the adapters come as factories, built on first use: a turn that
        uses no memory never loads the embedder or the index."""
        self._sessions = sessions
        self._repo = repo
        self._settings = settings
        self._memories = memories
        self._search = search
        self._feedback = feedback
        self._extractor = extractor
        self._summarizer = summarizer

    # --- context --------------------------------------------------------------------------------

    def build_context(
        self, tenant_id: str, namespace: str | None, query: str | None, budget: int
    ) -> tuple[InjectedContext, ContextStats]:
        """Critical memories first (all of them while the budget lasts), then high-tier memories
        relevant to ``query`` above the threshold. Injected memories count as accesses."""
        namespaces = list(dict.fromkeys([namespace or DEFAULT_NAMESPACE, DEFAULT_NAMESPACE]))
        critical = self._memories().critical_memories(tenant_id, namespaces)
        high: Sequence[MemoryOut] = []
        if query and query.strip():
            hits = self._search().search(
                tenant_id, query, namespaces=namespaces, top_k=HIGH_CANDIDATES, tiers=["high"], record_access=False
            )
            high = [h for h in hits if h.tier == "high"]
        used = 0
        truncated = False
        chosen: dict[str, list[ContextMemory]] = {"critical": [], "high": []}
        for group, memories in (("critical", critical), ("high", high)):
            for memory in memories:
                cost = estimate_tokens(f"{memory.title}\n{memory.text}")
                if used + cost > budget:
                    truncated = True
                    continue
                used += cost
                chosen[group].append(
                    ContextMemory(
                        id=memory.id,
                        title=memory.title,
                        text=memory.text,
                        type=memory.type,
                        tier=memory.tier,
                        namespace=memory.namespace,
                        score=getattr(memory, "score", None),
                    )
                )
        injected = [m.id for group in chosen.values() for m in group]
        if injected:
            self._feedback().record_access(tenant_id, injected)
        stats = ContextStats(
            tokens_injected=used,
            critical_count=len(chosen["critical"]),
            high_count=len(chosen["high"]),
            truncated=truncated,
        )
        return InjectedContext(critical=chosen["critical"], high=chosen["high"]), stats

    # --- start ------------------------------------------------------------------------------------

    def start(self, tenant_id: str, req: StartSession) -> StartSessionOut:
        create_fields = req.model_dump(exclude={"first_message", "token_budget"}, exclude_unset=True)
        session = self._sessions.create(tenant_id, CreateSession.model_validate(create_fields))
        budget = req.token_budget or self._settings.context_token_budget
        context, stats = self.build_context(tenant_id, req.namespace, req.first_message, budget)
        return StartSessionOut(session_id=session.id, session=session, context=context, stats=stats)

    # --- turns ------------------------------------------------------------------------------------

    def record_turn(self, tenant_id: str, ref: str, req: RecordTurn) -> TurnOut:
        bad = [m for m in req.memories_used if not looks_like_id(m, "mem")]
        if bad:
            raise errors.ValidationFailed(
                "memories_used must hold memory ids (mem_…)",
                details=[{"field": "memories_used", "message": f"not a memory id: {bad[0]!r}"}],
            )
        used = list(dict.fromkeys(req.memories_used))
        request_hash = _turn_hash(req)
        messages = [NewMessage(m.role, m.content, m.tool_call_id, m.tool_name) for m in req.messages]
        refreshes: dict[int, tuple[InjectedContext, ContextStats]] = {}
        timeout = self._settings.inactivity_timeout_seconds

        def attempt(_: int) -> tuple[TurnOut, bool]:
            """(the answer, whether it is new): a replayed turn records nothing again."""
            session = self._sessions.load(tenant_id, ref)
            session_id = session.session_id
            if req.turn_number is not None:
                previous = self._repo.get_turn(tenant_id, session_id, req.turn_number)
                if previous is not None:
                    if previous.request_hash == request_hash and previous.response:
                        return TurnOut.model_validate(previous.response), False  # a safe retry: the first answer
                    raise errors.Conflict(f"Turn {req.turn_number} was already recorded with different content")
            now = clock.now()
            ensure_writable(session, now, timeout)
            turn_number = req.turn_number or session.turn_count + 1
            refresh = turn_number % self._settings.refresh_every_turns == 0
            if refresh and turn_number not in refreshes:
                query = self._recent_topic(tenant_id, session_id, req)
                refreshes[turn_number] = self.build_context(
                    tenant_id, session.namespace, query, self._settings.context_token_budget
                )
            new_context, stats = refreshes.get(turn_number, (None, None))
            response = TurnOut(
                session_id=session_id,
                turn_number=turn_number,
                refresh_needed=refresh,
                memories_used=used,
                new_context=new_context,
                stats=stats,
                message_count=session.message_count + len(messages),
            )
            self._repo.append(
                session,
                messages,
                now=now,
                inactivity_timeout=timeout,
                memories_used=used,
                turn=TurnRecord(turn_number, request_hash, response.model_dump(mode="json")),
            )
            return response, True

        response, recorded = optimistic(
            attempt, attempts=MAX_TURN_ATTEMPTS, busy="The session is busy with concurrent turns; retry"
        )
        if recorded and used:
            self._feedback().record_access(tenant_id, used)
        return response

    def _recent_topic(self, tenant_id: str, session_id: str, req: RecordTurn) -> str:
        recent = self._repo.recent_messages(tenant_id, session_id, RECENT_MESSAGES_FOR_REFRESH)
        texts = [m.content or "" for m in recent] + [m.content for m in req.messages]
        return "\n".join(t for t in texts if t)[-4000:]

    # --- extraction --------------------------------------------------------------------------------

    def extract(self, tenant_id: str, req: ExtractRequest) -> ExtractOut:
        if req.session_id and not looks_like_id(req.session_id, "sess"):
            raise errors.ValidationFailed("session_id must be a session id (sess_…)")
        if req.session_id:
            self._sessions.load(tenant_id, req.session_id)  # 404 for another tenant's session
        out, tokens = self.suggest(req.conversation)
        out = [s for s in out if s.confidence >= req.min_confidence]
        saved = 0
        if req.save:
            namespace = req.namespace or DEFAULT_NAMESPACE
            for suggestion in out:
                suggestion.memory_id, suggestion.action = self.save_suggestion(
                    tenant_id, namespace, suggestion, req.session_id
                )
                saved += 1
        return ExtractOut(suggestions=out, tokens_analyzed=tokens, saved=saved)

    def suggest(self, messages: Sequence[ConversationMessage]) -> tuple[list[SuggestionOut], int]:
        """The extractor's suggestions as API models, and the tokens it analysed."""
        result = self._extractor().extract(messages)
        out = [
            SuggestionOut(
                title=s.title,
                content=s.content,
                memory_type=s.memory_type,
                suggested_tier=s.suggested_tier,
                confidence=s.confidence,
                entities=list(s.entities),
            )
            for s in result.suggestions
        ]
        return out, result.tokens_analyzed

    def save_suggestion(
        self, tenant_id: str, namespace: str, suggestion: SuggestionOut, session_id: str | None
    ) -> tuple[str, str]:
        """Store a suggestion, or reinforce the memory it duplicates. A duplicate that this very
        session already produced is left alone, so re-processing a session changes nothing."""
        memories = self._memories()
        duplicate = memories.find_duplicate(tenant_id, namespace, suggestion.content)
        if duplicate is not None:
            if session_id and duplicate.session_id == session_id and duplicate.source and duplicate.source.extracted:
                return duplicate.id, "unchanged"
            self._feedback().apply_outcome(tenant_id, [duplicate.id], 1)
            return duplicate.id, "reinforced"
        created = memories.create_memory(
            tenant_id,
            text=suggestion.content,
            title=suggestion.title,
            namespace=namespace,
            type=suggestion.memory_type,
            tier=suggestion.suggested_tier,
            entities=suggestion.entities[:20],
            session_id=session_id,
            source={"session_id": session_id, "extracted": True, "confidence": suggestion.confidence},
        )
        return created.id, "created"

    # --- summaries ----------------------------------------------------------------------------------

    def generate_summary(self, tenant_id: str, session_id: str) -> tuple[str, int, int]:
        """(summary, memory_count, message_count) from the session's messages and memories."""
        messages = list(self._repo.all_messages(tenant_id, session_id))
        memories = self._memories().for_session(tenant_id, session_id)
        summary = self._summarizer().summarize(
            [Message(m.role or "user", m.content) for m in messages],
            [m.text for m in memories if m.type != "summary"],
        )
        return summary, len(memories), len(messages)

    def summarize(self, tenant_id: str, ref: str) -> SummarizeOut:
        session = self._sessions.load(tenant_id, ref)
        session_id = session.session_id
        summary, memory_count, message_count = self.generate_summary(tenant_id, session_id)
        now = clock.now()
        if session.expires_at is not None and session.expires_at <= now:
            raise errors.Gone(f"Session {session_id} has expired and is read-only")
        try:
            self._repo.save_summary(tenant_id, session_id, summary, now=now)
        except StaleWrite as exc:
            raise errors.Conflict(f"Session {session_id} changed while summarising; retry") from exc
        return SummarizeOut(
            session_id=session_id,
            summary=summary,
            memory_count=memory_count,
            message_count=message_count,
            generated_at=clock.iso(now),
        )


def _turn_hash(req: RecordTurn) -> str:
    payload: dict[str, Any] = {
        "messages": [m.model_dump() for m in req.messages],
        "memories_used": req.memories_used,
        "turn_number": req.turn_number,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

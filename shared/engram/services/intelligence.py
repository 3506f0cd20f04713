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
import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from engram import clock, errors
from engram.config import Settings
from engram.extract.ports import ConversationMessage, Message
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
from engram.services.lifecycle import ensure_writable, writable
from engram.store.base import ConditionFailed
from engram.store.models import SessionItem
from engram.store.sessions import NewMessage, SessionRepository, TurnRecord

if TYPE_CHECKING:
    from engram.extract import Extractor, Summarizer
    from engram.models.memories import CreateMemory, MemoryOut
    from engram.services.memories import MemoryService
    from engram.services.sessions import SessionService

DEFAULT_NAMESPACE = "default"
SESSION_MEMORY_NAMESPACE = "session-memory"
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
        extractor: Callable[[], Extractor],
        summarizer: Callable[[], Summarizer],
    ) -> None:
        self._sessions = sessions
        self._repo = repo
        self._settings = settings
        self._memories = memories
        self._extractor = extractor
        self._summarizer = summarizer

    # --- context --------------------------------------------------------------------------------

    def build_context(
        self, tenant_id: str, namespace: str | None, query: str | None, budget: int
    ) -> tuple[InjectedContext, ContextStats]:
        """Critical memories first (all of them while the budget lasts), then high-tier memories
        relevant to ``query`` above the threshold. Injected memories count as accesses."""
        namespaces = list(dict.fromkeys([namespace or DEFAULT_NAMESPACE, DEFAULT_NAMESPACE]))
        service = self._memories()
        critical = service.critical_memories(tenant_id, namespaces)
        high: Sequence[MemoryOut] = []
        if query and query.strip():
            hits = service.search(
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
            service.record_access(tenant_id, injected)
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
        from engram.models.sessions import CreateSession

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
        for attempt in range(MAX_TURN_ATTEMPTS):
            item = self._sessions.load(tenant_id, ref)
            session_id = str(item.session_id)
            if req.turn_number is not None:
                previous = self._repo.get_turn(tenant_id, session_id, req.turn_number)
                if previous is not None:
                    if previous.request_hash == request_hash and previous.response:
                        return TurnOut.model_validate(previous.response)  # a safe retry: the first answer
                    raise errors.Conflict(f"Turn {req.turn_number} was already recorded with different content")
            now = clock.now()
            ensure_writable(item, now, timeout)
            turn_number = req.turn_number or int(item.turn_count or 0) + 1
            refresh = turn_number % self._settings.refresh_every_turns == 0
            if refresh and turn_number not in refreshes:
                query = self._recent_topic(tenant_id, session_id, req)
                refreshes[turn_number] = self.build_context(
                    tenant_id, item.namespace, query, self._settings.context_token_budget
                )
            new_context, stats = refreshes.get(turn_number, (None, None))
            response = TurnOut(
                session_id=session_id,
                turn_number=turn_number,
                refresh_needed=refresh,
                memories_used=used,
                new_context=new_context,
                stats=stats,
                message_count=int(item.message_count or 0) + len(messages),
            )
            extra = [SessionItem.memories_used.add(set(used))] if used else []
            try:
                self._repo.append(
                    item,
                    messages,
                    now=now,
                    writable=writable(now, timeout),
                    extra_actions=extra,
                    turn=TurnRecord(turn_number, request_hash, response.model_dump(mode="json")),
                )
            except ConditionFailed:
                time.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # lost a race: re-read and retry
                continue
            if used:
                self._memories().record_access(tenant_id, used)
            return response
        raise errors.ServiceUnavailable("The session is busy with concurrent turns; retry")

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
            requests = self._validated(namespace, out, req.session_id)  # all or nothing: refuse before writing
            for suggestion, request in zip(out, requests, strict=True):
                suggestion.memory_id, suggestion.action = self.save_suggestion(
                    tenant_id, namespace, suggestion, req.session_id, request=request
                )
                saved += 1
        return ExtractOut(suggestions=out, tokens_analyzed=tokens, saved=saved)

    def _validated(
        self, namespace: str, suggestions: Sequence[SuggestionOut], session_id: str | None
    ) -> list[CreateMemory]:
        requests, details = [], []
        for n, suggestion in enumerate(suggestions):
            try:
                requests.append(self._memory_request(namespace, suggestion, session_id))
            except errors.ValidationFailed as exc:
                details += [{**d, "field": f"suggestions.{n}.{d['field']}"} for d in exc.details]
        if details:
            raise errors.ValidationFailed(
                "Some suggestions cannot be saved as memories; nothing was saved", details=details
            )
        return requests

    def _memory_request(self, namespace: str, suggestion: SuggestionOut, session_id: str | None) -> CreateMemory:
        return self._memories().memory_request(
            text=suggestion.content,
            title=suggestion.title,
            namespace=namespace,
            type=suggestion.memory_type,
            tier=suggestion.suggested_tier,
            entities=suggestion.entities[:20],
            session_id=session_id,
            source={"session_id": session_id, "extracted": True, "confidence": suggestion.confidence},
        )

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
        self,
        tenant_id: str,
        namespace: str,
        suggestion: SuggestionOut,
        session_id: str | None,
        *,
        request: CreateMemory | None = None,
    ) -> tuple[str, str]:
        """Store a suggestion, or reinforce the memory it duplicates. A duplicate that this very
        session already produced is left alone, so re-processing a session changes nothing."""
        service = self._memories()
        request = request or self._memory_request(namespace, suggestion, session_id)
        duplicate = service.find_duplicate(tenant_id, namespace, suggestion.content)
        if duplicate is not None:
            if session_id and duplicate.session_id == session_id and duplicate.source and duplicate.source.extracted:
                return duplicate.id, "unchanged"
            service.apply_outcome(tenant_id, [duplicate.id], 1)
            return duplicate.id, "reinforced"
        return service.create(tenant_id, request).id, "created"

    # --- summaries ----------------------------------------------------------------------------------

    def generate_summary(self, tenant_id: str, session_id: str) -> tuple[str, int, int]:
        """(summary, memory_count, message_count) from the session's messages and memories."""
        messages = list(self._repo.all_messages(tenant_id, session_id))
        memories = self._memories().for_session(tenant_id, session_id)
        summary = self._summarizer().summarize(
            [Message(m.role or "user", m.content or "") for m in messages],
            [m.text for m in memories if m.type != "summary"],
        )
        return summary, len(memories), len(messages)

    def summarize(self, tenant_id: str, ref: str) -> SummarizeOut:
        item = self._sessions.load(tenant_id, ref)
        session_id = str(item.session_id)
        summary, memory_count, message_count = self.generate_summary(tenant_id, session_id)
        now = clock.now()
        if item.expires_at is not None and item.expires_at <= now:
            raise errors.Gone(f"Session {session_id} has expired and is read-only")
        condition = SessionItem.deleted_at.does_not_exist() & (SessionItem.status != "expired")
        try:
            self._repo.update(
                tenant_id,
                session_id,
                [
                    SessionItem.summary.set(summary),
                    SessionItem.summary_generated_at.set(now),
                    SessionItem.updated_at.set(now),
                ],
                condition,
            )
        except ConditionFailed as exc:
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

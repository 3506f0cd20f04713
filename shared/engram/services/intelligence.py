"""Session intelligence: context injection at start, turns with refresh, extraction, summaries.

- **start** creates the session and injects every critical memory of its namespace (and of the
  tenant-wide ``default`` namespace) plus the high-tier memories relevant to ``first_message``,
  critical first, within a token budget.
- **turn** appends the turn's messages and numbers turns atomically (the session's message count
  is the optimistic lock, the turn record is written in the same transaction with the answer it
  produced, so re-sending a turn number replays that answer; the turn record is read only when
  that write finds it there). Every Nth turn answers ``refresh_needed`` with ``new_context`` for
  the recent messages. The memories the turn used (and a refresh injected) are counted as accesses
  by an access log written in the same transaction (services/feedback.py).
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
from engram.ports.memories import ATOMIC_WRITE_ITEMS, access_logs
from engram.ports.sessions import Message as StoredMessage
from engram.ports.sessions import NewMessage, SessionRepository, TurnRecord, TurnTaken
from engram.services.lifecycle import ensure_writable
from engram.services.memories import NEAR_DUPLICATE_COSINE
from engram.services.optimistic import optimistic
from engram.vocabulary import DEFAULT_NAMESPACE

if TYPE_CHECKING:
    from engram.models.memories import CreateMemory, MemoryOut
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
        self,
        tenant_id: str,
        namespace: str | None,
        query: str | None,
        budget: int,
        *,
        include_superseded: bool = False,
    ) -> tuple[InjectedContext, ContextStats]:
        """Critical memories first (all of them while the budget lasts), then high-tier memories
        relevant to ``query`` above the threshold; superseded memories only with
        ``include_superseded`` (marked). Injected memories count as accesses: the caller logs
        them (:func:`injected_ids`) with its own write."""
        namespaces = list(dict.fromkeys([namespace or DEFAULT_NAMESPACE, DEFAULT_NAMESPACE]))
        critical = self._memories().critical_memories(tenant_id, namespaces, include_superseded=include_superseded)
        high: Sequence[MemoryOut] = []
        if query and query.strip():
            hits = self._search().search(
                tenant_id,
                query,
                namespaces=namespaces,
                top_k=HIGH_CANDIDATES,
                tiers=["high"],
                record_access=False,
                include_superseded=include_superseded,
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
                        superseded=memory.superseded,
                    )
                )
        stats = ContextStats(
            tokens_injected=used,
            critical_count=len(chosen["critical"]),
            high_count=len(chosen["high"]),
            truncated=truncated,
        )
        return InjectedContext(critical=chosen["critical"], high=chosen["high"]), stats

    # --- start ------------------------------------------------------------------------------------

    def start(self, tenant_id: str, req: StartSession) -> StartSessionOut:
        create_fields = req.model_dump(
            exclude={"first_message", "token_budget", "include_superseded"}, exclude_unset=True
        )
        stored = self._sessions.create_stored(tenant_id, CreateSession.model_validate(create_fields))
        session = self._sessions.render(stored)
        budget = req.token_budget or self._settings.context_token_budget
        context, stats = self.build_context(
            tenant_id, req.namespace, req.first_message, budget, include_superseded=req.include_superseded
        )
        injected = injected_ids(context)
        if injected:
            self._feedback().record_access(tenant_id, injected)
        self._sessions.record_start(stored, context, stats)  # turn 0 of GET …/turns: the ids
        return StartSessionOut(session_id=session.id, session=session, context=context, stats=stats)

    # --- turns ------------------------------------------------------------------------------------

    def record_turn(self, tenant_id: str, ref: str, req: RecordTurn) -> TurnOut:
        reported = list(dict.fromkeys(req.memories_used))
        known = self._memories().lookup(tenant_id, reported)  # credit only this tenant's memories
        used = [m for m in reported if m in known]
        unknown = [m for m in reported if m not in known]
        request_hash = _turn_hash(req)
        messages = [NewMessage(m.role, m.content, m.tool_call_id, m.tool_name) for m in req.messages]
        refreshes: dict[int, tuple[InjectedContext, ContextStats]] = {}
        timeout = self._settings.inactivity_timeout_seconds

        def attempt(_: int) -> TurnOut:
            session = self._sessions.load(tenant_id, ref)
            session_id = session.session_id
            now = clock.now()
            try:
                ensure_writable(session, now, timeout)
            except (errors.Conflict, errors.Gone):
                replayed = self._replay(tenant_id, session_id, req, request_hash)  # a retry stays safe
                if replayed is None:
                    raise
                return replayed
            turn_number = req.turn_number or session.turn_count + 1
            refresh = turn_number % self._settings.refresh_every_turns == 0
            if refresh and turn_number not in refreshes:
                query = self._recent_topic(tenant_id, session_id, req)
                refreshes[turn_number] = self.build_context(
                    tenant_id,
                    session.namespace,
                    query,
                    self._settings.context_token_budget,
                    include_superseded=req.include_superseded,
                )
            new_context, stats = refreshes.get(turn_number, (None, None))
            response = TurnOut(
                session_id=session_id,
                turn_number=turn_number,
                refresh_needed=refresh,
                memories_used=used,
                unknown_memories=unknown,
                new_context=new_context,
                stats=stats,
                message_count=session.message_count + len(messages),
            )
            logs = access_logs(tenant_id, used + (injected_ids(new_context) if new_context else []), now)
            # the turn record, the messages, the logs and the session in one transaction when they fit
            inline = logs if len(logs) + len(messages) + 2 <= ATOMIC_WRITE_ITEMS else []
            try:
                self._repo.append(
                    session,
                    messages,
                    now=now,
                    inactivity_timeout=timeout,
                    memories_used=used,
                    turn=TurnRecord(turn_number, request_hash, _without_text(response)),
                    accesses=inline,
                )
            except TurnTaken:
                replayed = self._replay(tenant_id, session_id, req, request_hash)
                if replayed is None:  # an unnumbered turn lost its number to another: renumber
                    raise StaleWrite() from None
                return replayed
            if logs and not inline:  # hundreds of memories injected: logged right after
                self._feedback().log_accesses(logs)
            return response

        return optimistic(attempt, attempts=MAX_TURN_ATTEMPTS, busy="The session is busy with concurrent turns; retry")

    def _replay(self, tenant_id: str, session_id: str, req: RecordTurn, request_hash: str) -> TurnOut | None:
        """The first answer to a re-sent numbered turn (same content); 409 for other content under
        that number; None if the turn was never recorded."""
        if req.turn_number is None:
            return None
        previous = self._repo.get_turn(tenant_id, session_id, req.turn_number)
        if previous is None:
            return None
        if previous.request_hash == request_hash and previous.response:
            return self._answer_again(tenant_id, previous.response)  # a safe retry: the first answer
        raise errors.Conflict(f"Turn {req.turn_number} was already recorded with different content")

    def _answer_again(self, tenant_id: str, response: dict[str, Any]) -> TurnOut:
        """A stored turn answer as it is replayed: the refreshed context it injected, in its order,
        with each memory's text as stored now; a memory deleted since is left out (the record
        keeps ids, never text, so deleting a memory leaves no copy of it behind)."""
        body = dict(response)
        context = body.get("new_context")
        if context:
            groups = ("critical", "high")
            ids = [m["id"] for group in groups for m in context.get(group, [])]
            current = self._memories().lookup(tenant_id, ids)
            body["new_context"] = {
                group: [
                    {**m, "title": current[m["id"]].title, "text": current[m["id"]].text}
                    for m in context.get(group, [])
                    if m["id"] in current
                ]
                for group in groups
            }
        return TurnOut.model_validate(body)

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

    def _memory_request(
        self, namespace: str, suggestion: SuggestionOut, session_id: str | None, origin: StoredMessage | None = None
    ) -> CreateMemory:
        """``origin``: the stored message of the session the suggestion was read from (its turn and
        position go to the memory's source and lineage)."""
        source: dict[str, Any] = {"session_id": session_id, "extracted": True, "confidence": suggestion.confidence}
        if origin is not None:
            source |= {"turn": origin.turn_number, "message": origin.seq}
        return self._memories().memory_request(
            text=suggestion.content,
            title=suggestion.title,
            namespace=namespace,
            type=suggestion.memory_type,
            tier=suggestion.suggested_tier,
            entities=suggestion.entities[:20],
            session_id=session_id,
            source=source,
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
                source_index=s.source_index,
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
        origin: StoredMessage | None = None,
    ) -> tuple[str, str]:
        """Store a suggestion, or reinforce the memory it duplicates. A duplicate that this very
        session (and message) already produced is left alone, so re-processing a session changes
        nothing; one the session produced from another message gains that message in its lineage,
        and a session reinforces a memory once. ``origin``: the session's stored message it was read from."""
        memories = self._memories()
        request = request or self._memory_request(namespace, suggestion, session_id, origin)
        written, changed = memories.write(tenant_id, request, cause="extraction", near_cosine=NEAR_DUPLICATE_COSINE)
        if written.action != "duplicate":
            return written.id, written.action
        from_session = sum(s.session_id == session_id for s in written.sources) if session_id else 0
        if session_id and (not changed or from_session > 1):
            return written.id, "unchanged"
        self._feedback().apply_outcome(tenant_id, [written.id], 1)
        return written.id, "reinforced"

    # --- summaries ----------------------------------------------------------------------------------

    def generate_summary(self, tenant_id: str, session_id: str) -> tuple[str, int, int]:
        """(summary, memory_count, message_count) from the session's messages and memories (a
        summary memory of the session is not summarised again)."""
        messages = list(self._repo.all_messages(tenant_id, session_id))
        memories = self._memories().for_session(tenant_id, session_id)
        summary = self._summarizer().summarize(
            [Message(m.role or "user", m.content) for m in messages],
            [m.text for m in memories if m.type != "summary"],
        )
        return summary, len(memories), len(messages)

    def summarize(self, tenant_id: str, ref: str) -> SummarizeOut:
        """Summarise the session now from its memories and messages and save the summary. A session
        with nothing to summarise is a 409 that says why, never a silent empty summary."""
        session = self._sessions.load(tenant_id, ref)
        session_id = session.session_id
        summary, memory_count, message_count = self.generate_summary(tenant_id, session_id)
        now = clock.now()
        if session.expires_at is not None and session.expires_at <= now:
            raise errors.Gone(f"Session {session_id} has expired and is read-only")
        if not summary.strip():
            if not message_count and not memory_count:
                raise errors.Conflict(
                    f"Session {session_id} has no messages and no memories yet, so there is nothing to summarise;"
                    " append messages or create memories with its session_id first"
                )
            raise errors.Conflict(
                f"Session {session_id} has nothing to summarise: its {message_count} messages and"
                f" {memory_count} memories hold no conversation (only system or tool messages, or summaries)"
            )
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


def injected_ids(context: InjectedContext) -> list[str]:
    """The memories a context injects (each counts as one access)."""
    return [m.id for group in (context.critical, context.high) for m in group]


def _without_text(response: TurnOut) -> dict[str, Any]:
    """What a turn record keeps of its answer: the injected memories by id (with group, score,
    type, tier), never their title or text."""
    body = response.model_dump(mode="json")
    context = body.get("new_context")
    if context:
        for group in ("critical", "high"):
            context[group] = [{k: v for k, v in m.items() if k not in ("title", "text")} for m in context[group]]
    return body


def _turn_hash(req: RecordTurn) -> str:
    payload: dict[str, Any] = {
        "messages": [m.model_dump() for m in req.messages],
        "memories_used": req.memories_used,
        "turn_number": req.turn_number,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

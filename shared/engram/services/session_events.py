"""What happens when a session changes (the sessions table's stream → ``on_session_change``).

When a session leaves ``active`` (ended, closed, expired, or abandoned by the sweeper):

1. **Extraction** — with ``extract_memories`` (or ``ENGRAM_EXTRACT_ON_END`` when the caller did not
   say), the session's messages go through the extractor; each suggestion becomes a memory linked to
   the session, or reinforces (+1 feedback) the memory it duplicates.
2. **Outcome learning** — every memory used in the session's turns is credited or debited by the
   outcome: ``success`` +1 feedback, ``failure`` -1, ``partial`` and ``abandoned`` 0 (one outcome
   weighs as much as one explicit reinforcement, i.e. five passive accesses). A session ended
   without an outcome (it is optional) credits nothing.
3. **Close** — a generated summary is written into memory namespace ``session-memory`` (type
   ``summary``) and onto the session when it has none.

When DynamoDB TTL (or anything else) removes a session, what remains of its messages and of its agent
index entries is deleted, and its memories too if it was deleted with ``cascade_memories``.

Every step is idempotent, so a record delivered twice changes nothing the second time: extraction
skips suggestions this session already produced, each memory's credit and its claim on the session
(``outcome_applied``) are one all-or-nothing write (a crash between the two cannot lose or double a
credit), and the summary memory is written once per session.
A record that cannot be processed raises, is reported as a batch item failure, retried, and
finally sent to the dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engram.config import Settings
from engram.extract.ports import Message
from engram.observability import logger
from engram.ports.sessions import SessionRepository

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    from engram.services.feedback import FeedbackService
    from engram.services.intelligence import IntelligenceService
    from engram.services.memories import MemoryService

OUTCOME_FEEDBACK = {"success": 1, "failure": -1, "partial": 0, "abandoned": 0}
FINISHED = {"ended", "closed", "expired"}
SESSION_MEMORY_NAMESPACE = "session-memory"


class PoisonRecord(ValueError):
    """A stream record that can never be processed (missing keys, wrong shape)."""


class SessionEventHandler:
    def __init__(
        self,
        settings: Settings,
        repo: SessionRepository,
        intelligence: Callable[[], IntelligenceService],
        memories: Callable[[], MemoryService],
        feedback: Callable[[], FeedbackService],
    ) -> None:
        self._settings = settings
        self._repo = repo
        self._intelligence = intelligence
        self._memories = memories
        self._feedback = feedback

    def handle(self, record: DynamoDBRecord) -> str:
        """Process one stream record; returns a short description of what was done."""
        stream = record.dynamodb
        if stream is None:
            raise PoisonRecord("record has no dynamodb section")
        new: dict[str, Any] = dict(stream.new_image or {})
        old: dict[str, Any] = dict(stream.old_image or {})
        image = new or old
        if not image:
            raise PoisonRecord("record has neither NewImage nor OldImage")
        if image.get("kind", "session") != "session":
            return "skipped: not a session"
        tenant_id, session_id = image.get("tenant_id"), image.get("session_id")
        if not isinstance(tenant_id, str) or not isinstance(session_id, str):
            raise PoisonRecord("session image without tenant_id/session_id")
        name = str(record.raw_event.get("eventName"))
        if name == "REMOVE":
            return self._removed(tenant_id, session_id, old)
        if name == "MODIFY" and old.get("status") == "active" and new.get("status") in FINISHED:
            return self._finished(tenant_id, session_id, new)
        return "skipped: no transition"

    def _removed(self, tenant_id: str, session_id: str, old: dict[str, Any]) -> str:
        purged = self._repo.purge_messages(tenant_id, session_id)
        agents = [str(a) for a in [old.get("agent_id"), *(old.get("contributors") or ())] if a]
        self._repo.forget_contributors(tenant_id, session_id, agents)
        removed = 0
        if old.get("cascade_memories"):  # a redelivery finds nothing left: no second receipt
            receipt = self._memories().delete_for_session(tenant_id, session_id, messages_purged=purged, log=False)
            removed = len(receipt.memories_deleted)
        return f"purged {purged} messages, {removed} memories"

    def _finished(self, tenant_id: str, session_id: str, new: dict[str, Any]) -> str:
        done = []
        extract = new.get("extract_memories")
        if extract is True or (extract is None and self._settings.extract_on_end):
            done.append(f"extracted {self._extract(tenant_id, session_id, new)}")
        outcome = str(new.get("outcome") or "")
        delta = OUTCOME_FEEDBACK.get(outcome, 0)
        used = sorted(str(m) for m in (new.get("memories_used") or ()))
        if delta and used:
            credited = self._learn(tenant_id, session_id, used, set(new.get("outcome_applied") or ()), delta)
            done.append(f"outcome {outcome} applied to {credited}")
        if new.get("status") == "closed":
            done.append(self._summarize(tenant_id, session_id, new))
        logger.info("session finished", extra={"session_id": session_id, "status": new.get("status"), "done": done})
        return "; ".join(done) or "nothing to do"

    def _extract(self, tenant_id: str, session_id: str, new: dict[str, Any]) -> int:
        from engram.services.intelligence import context_before

        intelligence = self._intelligence()
        stored = list(self._repo.all_messages(tenant_id, session_id))
        if not stored:
            return 0
        suggestions, _ = intelligence.suggest([Message(m.role or "user", m.content) for m in stored])
        namespace = str(new.get("namespace") or "default")
        saved = 0
        for suggestion in suggestions:
            at = suggestion.source_index
            origin = stored[at] if at is not None and 0 <= at < len(stored) else None
            context = context_before([m.content or "" for m in stored], at)
            _, action = intelligence.save_suggestion(
                tenant_id, namespace, suggestion, session_id, origin=origin, context=context
            )
            saved += action == "created"
        return saved

    def _learn(self, tenant_id: str, session_id: str, used: list[str], applied: set[str], delta: int) -> int:
        pending = [m for m in used if m not in applied]  # the claim in each credit's write decides
        return self._feedback().apply_outcome(tenant_id, pending, delta, session_id=session_id) if pending else 0

    def _summarize(self, tenant_id: str, session_id: str, new: dict[str, Any]) -> str:
        memories = self._memories()
        existing = [
            m
            for m in memories.for_session(tenant_id, session_id)
            if m.namespace == SESSION_MEMORY_NAMESPACE and m.type == "summary"
        ]
        if existing:
            return "summary already stored"
        summary, _, message_count = self._intelligence().generate_summary(tenant_id, session_id)
        summary = str(new.get("summary") or "") or summary
        if not summary.strip():
            return "nothing to summarise"
        title = str(new.get("title") or session_id)
        memories.create_memory(
            tenant_id,
            text=summary[:16_000],
            title=f"Session summary: {title}"[:500],
            namespace=SESSION_MEMORY_NAMESPACE,
            type="summary",
            tier="normal",
            session_id=session_id,
            agent_id=new.get("agent_id"),
            metadata={"message_count": message_count},
            source={"session_id": session_id, "extracted": True},
        )
        if not new.get("summary"):
            self._repo.fill_summary(tenant_id, session_id, summary)  # a summary written meanwhile stands
        return "summary stored"

"""What every memory use case shares: reading a memory, the optimistic write, the tier a reader
sees, the vector index kept in step, and the API shape of a memory.

DynamoDB is the source of truth. Writes that change what the index holds (create, edit, tier
changes) update the index synchronously too, so a memory is searchable when the call returns;
if that index write fails, the DynamoDB write stands and the memories stream
(``on_memory_change``) repairs the index.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from engram import clock, errors
from engram.embed.ports import Embedder, EmbeddingError
from engram.ids import looks_like_id
from engram.index.ports import IndexDoc, VectorIndex
from engram.index.text import with_context
from engram.models.memories import LineageOut, MemoryOut, SourceOut
from engram.observability import logger
from engram.ports.ledger import LedgerEntry, LedgerRepository
from engram.ports.memories import Memory, MemoryChanges, MemoryRepository
from engram.services.optimistic import optimistic
from engram.services.tiers import TierPolicy

MAX_WRITE_ATTEMPTS = 10
# What a memory's history follows with values (access counts and strength move on every read:
# not history; text and title changes are recorded as changed, without the words).
HISTORY_FIELDS = (
    "namespace",
    "type",
    "tier",
    "locked",
    "feedback_score",
    "valid_until",
    "superseded_by",
    "supersedes",
    "session_id",
    "slot",
)
TITLE_CHARS = 80
_SPACE_RE = re.compile(r"\s+")

Out = TypeVar("Out", bound=MemoryOut)


class MemoryCore:
    """The memory repository with the policies around it; the use-case services share one."""

    def __init__(
        self,
        repo: MemoryRepository,
        *,
        index: Callable[[], VectorIndex],
        embedder: Callable[[], Embedder],
        policy: TierPolicy | None = None,
        ledger: LedgerRepository | None = None,
    ) -> None:
        self.repo = repo
        self.ledger = ledger  # histories, conflicts and receipts (None: not kept)
        self.policy = policy or TierPolicy()
        self._index = index  # built on first use: listing memories never loads a model
        self._embedder = embedder

    # --- collaborators ----------------------------------------------------------------------

    def index(self) -> VectorIndex:
        return self._index()

    def embedder(self) -> Embedder:
        return self._embedder()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        try:
            return self.embedder().embed(list(texts))
        except EmbeddingError as exc:
            raise errors.ServiceUnavailable(f"Embedding failed; retry the request ({exc})") from exc

    def embedder_tag(self) -> str:
        e = self.embedder()
        return f"{e.name}:{e.dimensions}"

    # --- read and write -------------------------------------------------------------------------

    def load(self, tenant_id: str, memory_id: str) -> Memory:
        memory = self.repo.get(tenant_id, memory_id) if looks_like_id(memory_id, "mem") else None
        if memory is None:
            raise errors.NotFound(f"Memory {short(memory_id)!r} not found")
        return memory

    def change(
        self,
        tenant_id: str,
        memory_id: str,
        build: Callable[[Memory, float], MemoryChanges],
        *,
        first: Memory | None = None,
        cause: str = "api",
        note: str | None = None,
        outcome_of: str | None = None,
    ) -> Memory:
        """Optimistic write: build the changes from the memory as read (``first``, if the caller
        has just read it) and apply them if its version is unchanged, else re-read and rebuild.
        What changed of :data:`HISTORY_FIELDS` (and the text) goes to the memory's history.
        ``outcome_of``: the write is that session's outcome credit, claimed in the same write
        (AlreadyClaimed, nothing written, if it was made before)."""
        before: dict[str, Memory] = {}

        def attempt(n: int) -> Memory:
            memory = first if (n == 0 and first is not None) else self.load(tenant_id, memory_id)
            before["memory"] = memory
            return self.repo.apply(memory, build(memory, clock.now()), outcome_of=outcome_of)

        after = optimistic(
            attempt, attempts=MAX_WRITE_ATTEMPTS, busy="The memory is busy with concurrent writes; retry"
        )
        read = before["memory"]
        if (after.tier, after.strength_at, after.locked) != (read.tier, read.strength_at, read.locked):
            read = self.record_decay(read, clock.now())  # the decay this write makes durable
        self.record_change(read, after, cause, note)
        return after

    # --- history --------------------------------------------------------------------------------

    def record_change(self, before: Memory | None, after: Memory, cause: str, note: str | None = None) -> None:
        """A history event for what changed between two versions (``before`` None: created)."""
        if before is None:
            fields = {"tier": after.tier, "type": after.type, "namespace": after.namespace, "locked": after.locked}
            self.record(after, cause, "created", fields, note)
            return
        fields = {
            name: _plain(getattr(after, name))
            for name in HISTORY_FIELDS
            if getattr(before, name) != getattr(after, name)
        }
        for name in ("text", "title"):  # named, never copied
            if getattr(before, name) != getattr(after, name):
                fields[name] = f"changed ({len(getattr(before, name))} -> {len(getattr(after, name))} characters)"
        if before.sources != after.sources:
            fields["sources"] = sorted({str(s.get("session_id")) for s in after.sources})
        if fields:
            self.record(after, cause, _change_name(fields), fields, note)

    def record_decay(self, memory: Memory, now: float) -> Memory:
        """History events (cause ``decay``) for the tiers ``memory`` decayed into since its last
        write, at the moments it did; returns it with the tier decay left it at, so the write that
        follows is not credited with the decay. Called by writes that rewrite the stored tier, the
        strength's baseline or the lock (until then the decay is derived again on each read)."""
        steps = self.decay_steps(memory, now)
        for n, (tier, at) in enumerate(steps):
            note = self.decay_note()
            self.record(memory, "decay", "tier", {"tier": tier}, note, key=f"{_version_key(memory)}.decay{n}", at=at)
        return replace(memory, tier=steps[-1][0]) if steps else memory

    def decay_note(self) -> str:
        return f"unused: strength halves every {self.policy.half_life_seconds / 86400:g} days"

    def decay_steps(self, memory: Memory, now: float) -> list[tuple[str, float]]:
        """The tiers an unlocked memory decayed into since its last write, with when."""
        if memory.locked:
            return []
        since = memory.strength_at or memory.created_at or now
        return self.policy.decay_steps(memory.tier, memory.strength, since, now)

    def record(
        self,
        memory: Memory,
        cause: str,
        change: str,
        fields: dict[str, Any],
        note: str | None = None,
        *,
        key: str | None = None,
        at: float | None = None,
    ) -> None:
        if self.ledger is None:
            return
        body = {"cause": cause, "change": change, "version": memory.version, "fields": fields, "note": note}
        # keyed by the memory's version: ordered even within a millisecond, and written once
        entry = LedgerEntry(
            memory.tenant_id,
            history_stream(memory.memory_id),
            key or _version_key(memory),
            clock.now() if at is None else at,
            body,
        )
        try:
            self.ledger.append(entry)
        except Exception as exc:  # noqa: BLE001 - the memory write stands; history is best effort
            logger.warning("history not recorded", extra={"memory_id": memory.memory_id, "error": str(exc)})

    # --- tiers as readers see them ----------------------------------------------------------------

    def strength(self, memory: Memory, now: float) -> float:
        return self.policy.decayed(memory.strength, memory.strength_at or memory.created_at or now, now)

    def tier_of(self, memory: Memory, now: float) -> str:
        return self.policy.effective_tier(
            tier=memory.tier,
            locked=memory.locked,
            strength=memory.strength,
            strength_at=memory.strength_at or now,
            now=now,
        )

    def tier_after(self, memory: Memory, strength: float) -> str:
        """The tier to store with a new strength: a lock keeps the tier, else strength decides."""
        return memory.tier if memory.locked else self.policy.tier_for(strength)

    # --- the index ------------------------------------------------------------------------------

    def sync_index(self, memory: Memory) -> None:
        try:
            self.index().upsert([index_doc(memory)])
        except Exception as exc:  # noqa: BLE001 - DynamoDB stands; the stream repairs the index
            logger.warning(
                "index write failed; the stream will repair it",
                extra={"memory_id": memory.memory_id, "error": str(exc)},
            )

    def unindex(self, memory: Memory) -> bool:
        """Remove a deleted memory from the index; False if that failed (the stream repairs it)."""
        try:
            self.index().delete(memory.tenant_id, [memory.memory_id], version=memory.version + 1)
        except Exception as exc:  # noqa: BLE001 - the REMOVE stream record deletes it again
            logger.warning(
                "index delete failed; the stream will repair it",
                extra={"memory_id": memory.memory_id, "error": str(exc)},
            )
            return False
        return True

    # --- the API shape ----------------------------------------------------------------------------

    def render(self, memory: Memory, now: float | None = None, cls: type[Out] = MemoryOut, **extra: Any) -> Out:  # type: ignore[assignment]
        """A memory as the API shows it (``cls`` a MemoryOut subclass, ``extra`` its own fields)."""
        now = clock.now() if now is None else now
        return cls(
            id=memory.memory_id,
            namespace=memory.namespace,
            title=memory.title,
            text=memory.text,
            context=memory.context,
            type=memory.type,
            tier=self.tier_of(memory, now),
            locked=memory.locked,
            feedback_score=memory.feedback_score,
            access_count=memory.access_count,
            strength=round(self.strength(memory, now), 3),
            entities=list(memory.entities),
            source=SourceOut(**memory.source) if memory.source else None,
            agent_id=memory.agent_id,
            session_id=memory.session_id,
            metadata=memory.metadata,
            created_at=clock.iso(memory.created_at),
            updated_at=clock.iso(memory.updated_at),
            last_accessed_at=clock.iso(memory.last_accessed_at),
            valid_from=clock.iso(memory.valid_from),
            valid_until=clock.iso(memory.valid_until),
            supersedes=list(memory.supersedes),
            superseded_by=memory.superseded_by,
            superseded=not memory.current,
            sources=[
                LineageOut(session_id=str(s["session_id"]), turn=s.get("turn"), message=s.get("message"))
                for s in memory.sources
            ],
            **extra,
        )


def index_doc(memory: Memory) -> IndexDoc:
    """What the vector index holds of a memory (built from the stored memory, never re-embedded)."""
    return IndexDoc(
        tenant_id=memory.tenant_id,
        memory_id=memory.memory_id,
        namespace=memory.namespace,
        type=memory.type,
        tier=memory.tier,
        title=memory.title,
        text=memory.text,
        embedding=memory.embedding or [],
        version=memory.version,
        entities=tuple(memory.entities),
        session_id=memory.session_id,
        agent_id=memory.agent_id,
        created_at=memory.created_at,
        context=memory.context or "",
    )


def _version_key(memory: Memory) -> str:
    return f"v{memory.version:010d}"


def history_stream(memory_id: str) -> str:
    return f"history:{memory_id}"


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _change_name(fields: dict[str, Any]) -> str:
    """The headline of a change, from the fields it touched (the most telling first)."""
    for name, change in (
        ("superseded_by", "superseded" if fields.get("superseded_by") else "reinstated"),
        ("supersedes", "supersedes"),
        ("text", "edited"),
        ("locked", "locked" if fields.get("locked") else "unlocked"),
        ("feedback_score", "feedback"),
        ("tier", "tier"),
        ("sources", "lineage"),
        ("session_id", "lineage"),
    ):
        if name in fields:
            return change
    return "edited"


def derive_title(text: str) -> str:
    """The first sentence or ~80 characters of the text, cut at a word."""
    flat = _SPACE_RE.sub(" ", text.strip())
    first = re.split(r"(?<=[.!?])\s", flat, maxsplit=1)[0]
    if len(first) <= TITLE_CHARS:
        return first
    cut = first[:TITLE_CHARS].rsplit(" ", 1)[0] or first[:TITLE_CHARS]
    return cut + "…"


def embed_text(title: str, text: str, context: str | None = None) -> str:
    """What is embedded: the text, preceded by the title when the title adds words, and by the
    memory's context (what came before it in its conversation) when it has one."""
    if title and not text.startswith(title.rstrip(". …")):
        text = f"{title}. {text}"
    return with_context(text, context)


def short(ref: str, limit: int = 64) -> str:
    """Ids echoed in errors are bounded: a hostile 10 KB path never comes back whole."""
    return ref if len(ref) <= limit else ref[:limit] + "…"

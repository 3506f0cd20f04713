"""Memory that stays true: supersedes with provenance, the review queue, histories, receipts.

A new memory that contradicts a current one about the same subject and attribute (the fact
slots of :mod:`engram.extract.slots`) supersedes it: the old memory gets ``valid_until`` and
``superseded_by``, the new one ``supersedes``. When the rule is unsure, or the old memory is
locked, the pair waits in the review queue (``conflicts``) for a person to choose
``keep_new``, ``keep_old`` or ``keep_both``. Every change of a memory is in its history
(:meth:`engram.services.memory_core.MemoryCore.record_change`), and every deletion leaves a
receipt in the deletions log: ids and counts, never the deleted text.
"""

from __future__ import annotations

from typing import Any

from engram import clock, errors
from engram.extract.slots import Verdict
from engram.ids import looks_like_id, new_id
from engram.models.governance import (
    ConflictOut,
    ConflictsOut,
    DeletionsOut,
    HistoryEventOut,
    HistoryOut,
    ResolveConflict,
    ResolveConflictOut,
)
from engram.models.memories import DeletionReceiptOut
from engram.ports import StaleWrite
from engram.ports.ledger import LedgerEntry, LedgerRepository
from engram.ports.memories import Memory, MemoryChanges
from engram.services.memory_core import MemoryCore, history_stream, short

CONFLICTS = "conflicts"
DELETIONS = "deletions"


class GovernanceService:
    def __init__(self, core: MemoryCore) -> None:
        self.core = core

    @property
    def ledger(self) -> LedgerRepository:
        if self.core.ledger is None:
            raise errors.ServiceUnavailable("Governance records are not configured")
        return self.core.ledger

    # --- supersede ----------------------------------------------------------------------------

    def supersede(self, old: Memory, new: Memory, *, cause: str, note: str | None = None) -> Memory:
        """``new`` replaces ``old``: old gets valid_until and superseded_by, new supersedes old.
        Returns new as stored."""
        tenant_id = old.tenant_id

        def retire(memory: Memory, now: float) -> MemoryChanges:
            return MemoryChanges(valid_until=now, superseded_by=new.memory_id, updated_at=now)

        def link(memory: Memory, now: float) -> MemoryChanges:
            kept = [m for m in memory.supersedes if m != old.memory_id]
            return MemoryChanges(supersedes=[*kept, old.memory_id], updated_at=now)

        self.core.change(tenant_id, old.memory_id, retire, cause=cause, note=note or f"superseded by {new.memory_id}")
        return self.core.change(tenant_id, new.memory_id, link, cause=cause, note=note or f"replaces {old.memory_id}")

    def retire(self, memory: Memory, by: Memory, *, cause: str, note: str) -> Memory:
        """``memory`` stops being current in favour of ``by`` (which is left as it is)."""

        def build(m: Memory, now: float) -> MemoryChanges:
            return MemoryChanges(valid_until=now, superseded_by=by.memory_id, updated_at=now)

        return self.core.change(memory.tenant_id, memory.memory_id, build, cause=cause, note=note)

    def forget(self, gone: Memory, *, note: str) -> list[str]:
        """A deleted memory leaves the lineage: what it had superseded is reinstated
        (:meth:`reinstate`) and the memory that superseded it no longer names it. Returns the ids
        made current again."""
        restored = self.reinstate(gone, note=note)
        successor = self.core.repo.get(gone.tenant_id, gone.superseded_by) if gone.superseded_by else None
        if successor is not None and gone.memory_id in successor.supersedes:

            def unlink(m: Memory, now: float) -> MemoryChanges:
                return MemoryChanges(supersedes=[i for i in m.supersedes if i != gone.memory_id], updated_at=now)

            self.core.change(
                gone.tenant_id, successor.memory_id, unlink, first=successor, note=f"{gone.memory_id} was deleted"
            )
        return restored

    def reinstate(self, gone: Memory, *, note: str, cause: str = "api") -> list[str]:
        """What ``gone`` had superseded, once it no longer stands for it (deleted, or edited so that
        it no longer states the fact): each memory it superseded is current again (valid_until and
        superseded_by cleared), unless something else superseded it since, or ``gone`` was itself
        superseded by a memory still current: then that memory supersedes it instead. Returns the
        ids made current again."""
        tenant_id = gone.tenant_id
        heir = self._current_successor(gone)
        restored: list[str] = []
        for old in self.core.repo.get_many(tenant_id, gone.supersedes).values():
            if old.superseded_by != gone.memory_id:
                continue  # superseded by something else meanwhile: that stands
            if heir is not None:
                self._relink(old, heir, gone, cause=cause, note=note)
                continue

            def back(m: Memory, now: float) -> MemoryChanges:
                return MemoryChanges(superseded_by="", updated_at=now)

            self.core.sync_index(self.core.change(tenant_id, old.memory_id, back, first=old, cause=cause, note=note))
            restored.append(old.memory_id)
        return restored

    def _relink(self, old: Memory, heir: Memory, gone: Memory, *, cause: str, note: str) -> None:
        """``old`` stays superseded (since the same time), now by ``heir`` instead of ``gone``."""

        def point(m: Memory, now: float) -> MemoryChanges:
            return MemoryChanges(superseded_by=heir.memory_id, updated_at=now)

        def link(m: Memory, now: float) -> MemoryChanges:
            kept = [i for i in m.supersedes if i not in (old.memory_id, gone.memory_id)]
            return MemoryChanges(supersedes=[*kept, old.memory_id], updated_at=now)

        self.core.change(
            old.tenant_id, old.memory_id, point, first=old, cause=cause, note=f"{note}; now {heir.memory_id}"
        )
        self.core.change(heir.tenant_id, heir.memory_id, link, cause=cause, note=f"{note}; replaces {old.memory_id}")

    def _current_successor(self, memory: Memory) -> Memory | None:
        """The current end of the chain of memories that superseded ``memory`` (None: it is current,
        or the chain is broken by a deletion)."""
        seen = {memory.memory_id}
        found = memory
        while found.superseded_by and found.superseded_by not in seen:
            seen.add(found.superseded_by)
            nxt = self.core.repo.get(memory.tenant_id, found.superseded_by)
            if nxt is None:
                return None
            if nxt.current:
                return nxt
            found = nxt
        return None

    # --- the review queue -----------------------------------------------------------------------

    def open_conflict(self, old: Memory, new: Memory, slot: str, verdict: Verdict) -> str | None:
        if self.core.ledger is None:
            return None
        body = {
            "old_memory_id": old.memory_id,
            "new_memory_id": new.memory_id,
            "slot": slot,
            "reason": verdict.reason,
            "confidence": verdict.confidence,
            "why_review": "locked" if old.locked else "low_confidence",
        }
        entry = LedgerEntry(old.tenant_id, CONFLICTS, new_id("cfl"), clock.now(), body, status="open")
        self.ledger.append(entry)
        return entry.entry_id

    def conflicts(
        self, tenant_id: str, *, status: str | None = "open", limit: int = 20, cursor: str | None = None
    ) -> ConflictsOut:
        found = self.ledger.listing(tenant_id, CONFLICTS, limit=limit, cursor=cursor, status=status)
        ids = [e.body.get(k) for e in found.items for k in ("old_memory_id", "new_memory_id")]
        memories = self.core.repo.get_many(tenant_id, [str(i) for i in ids if i])
        now = clock.now()
        return ConflictsOut(
            data=[self._conflict(e, memories, now) for e in found.items],
            next_cursor=found.next_cursor,
            has_more=found.has_more,
        )

    def resolve(self, tenant_id: str, conflict_id: str, req: ResolveConflict) -> ResolveConflictOut:
        entry = self.ledger.get(tenant_id, CONFLICTS, conflict_id) if looks_like_id(conflict_id, "cfl") else None
        if entry is None:
            raise errors.NotFound(f"Conflict {short(conflict_id)!r} not found")
        if entry.status != "open":
            raise errors.Conflict(f"Conflict {conflict_id} is already resolved ({entry.body.get('resolution')})")
        now = clock.now()
        settled = {**entry.body, "resolution": req.resolution, "resolved_at": now}
        try:
            entry = self.ledger.settle(entry, "resolved", settled)
        except StaleWrite as exc:
            raise errors.Conflict(f"Conflict {conflict_id} was resolved meanwhile") from exc
        memories = self.core.repo.get_many(tenant_id, [settled["old_memory_id"], settled["new_memory_id"]])
        old, new = memories.get(settled["old_memory_id"]), memories.get(settled["new_memory_id"])
        note = f"conflict {conflict_id}: {req.resolution}"
        if req.resolution == "keep_new" and old is not None and new is not None and old.current:
            self.supersede(old, new, cause="conflict", note=note)
        elif req.resolution == "keep_old" and old is not None and new is not None and new.current:
            self.retire(new, old, cause="conflict", note=note)
        memories = self.core.repo.get_many(tenant_id, [settled["old_memory_id"], settled["new_memory_id"]])
        out = self._conflict(entry, memories, clock.now())
        return ResolveConflictOut(**out.model_dump())

    def _conflict(self, entry: LedgerEntry, memories: dict[str, Memory], now: float) -> ConflictOut:
        body = entry.body
        old, new = memories.get(str(body.get("old_memory_id"))), memories.get(str(body.get("new_memory_id")))
        return ConflictOut(
            id=entry.entry_id,
            status="resolved" if entry.status == "resolved" else "open",
            old_memory_id=str(body.get("old_memory_id")),
            new_memory_id=str(body.get("new_memory_id")),
            slot=str(body.get("slot", "")),
            reason=str(body.get("reason", "")),
            confidence=float(body.get("confidence", 0.0)),
            why_review=body.get("why_review", "low_confidence"),
            resolution=body.get("resolution"),
            created_at=clock.iso(entry.created_at),
            resolved_at=clock.iso(body.get("resolved_at")),
            old_memory=self.core.render(old, now) if old is not None else None,
            new_memory=self.core.render(new, now) if new is not None else None,
        )

    # --- history --------------------------------------------------------------------------------

    def history(self, tenant_id: str, memory_id: str, *, limit: int = 50, cursor: str | None = None) -> HistoryOut:
        """Newest first. The first page also shows the tiers the memory has decayed into since its
        last write (cause ``decay``; stored in the history by that memory's next write)."""
        memory = self.core.load(tenant_id, memory_id)
        found = self.ledger.listing(tenant_id, history_stream(memory.memory_id), limit=limit, cursor=cursor)
        pending: list[HistoryEventOut] = []
        if cursor is None:
            note = self.core.decay_note()
            for tier, at in reversed(self.core.decay_steps(memory, clock.now())):
                event = HistoryEventOut(at=clock.iso(at) or "", cause="decay", change="tier", fields={"tier": tier})
                pending.append(event.model_copy(update={"note": note}))
        return HistoryOut(
            memory_id=memory.memory_id,
            data=[*pending, *(_event(e) for e in found.items)],
            next_cursor=found.next_cursor,
            has_more=found.has_more,
        )

    def forget_history(self, tenant_id: str, memory_id: str) -> None:
        if self.core.ledger is not None:
            self.core.ledger.drop(tenant_id, history_stream(memory_id))

    # --- the deletions log ------------------------------------------------------------------------

    def log_deletion(self, tenant_id: str, receipt: DeletionReceiptOut) -> DeletionReceiptOut:
        """Keep a receipt (ids and counts only) in the tenant's deletions log; returns it with its id."""
        now = clock.now()
        receipt = receipt.model_copy(update={"id": new_id("del"), "created_at": clock.iso(now)})
        if self.core.ledger is not None:
            body: dict[str, Any] = receipt.model_dump(exclude={"id", "created_at"})
            self.ledger.append(LedgerEntry(tenant_id, DELETIONS, receipt.id, now, body))
        return receipt

    def deletions(self, tenant_id: str, *, limit: int = 20, cursor: str | None = None) -> DeletionsOut:
        found = self.ledger.listing(tenant_id, DELETIONS, limit=limit, cursor=cursor)
        return DeletionsOut(
            data=[DeletionReceiptOut(id=e.entry_id, created_at=clock.iso(e.created_at), **e.body) for e in found.items],
            next_cursor=found.next_cursor,
            has_more=found.has_more,
        )


def _event(entry: LedgerEntry) -> HistoryEventOut:
    body = entry.body
    return HistoryEventOut(
        at=clock.iso(entry.created_at) or "",
        cause=body.get("cause", "api"),
        change=str(body.get("change", "edited")),
        version=body.get("version"),
        fields=body.get("fields") or {},
        note=body.get("note"),
    )

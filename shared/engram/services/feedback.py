"""FeedbackService: what moves a memory's strength and tier — reinforcement, outcomes, accesses,
and the locks that pin a tier. The rules are :mod:`engram.services.tiers`'."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from engram import clock, errors
from engram.models.memories import LockOut, Reinforce, ReinforceOut
from engram.observability import logger
from engram.ports.memories import Memory, MemoryChanges
from engram.services.memory_core import MemoryCore
from engram.vocabulary import tier_rank


class FeedbackService:
    def __init__(self, core: MemoryCore) -> None:
        self.core = core

    def reinforce(self, tenant_id: str, memory_id: str, req: Reinforce) -> ReinforceOut:
        before = self.core.load(tenant_id, memory_id)
        previous = self.core.tier_of(before, clock.now())
        memory = self._feedback(tenant_id, memory_id, int(req.value), first=before)
        now = clock.now()
        new = self.core.tier_of(memory, now)
        promoted, demoted = tier_rank(new) > tier_rank(previous), tier_rank(new) < tier_rank(previous)
        message = "Memory reinforced." if req.value > 0 else "Memory weakened."
        if promoted:
            message += f" Promoted to {new} tier."
        elif demoted:
            message += f" Demoted to {new} tier."
        elif memory.locked:
            message += f" Tier locked at {new}."
        return ReinforceOut(
            memory_id=memory_id,
            feedback_score=memory.feedback_score,
            access_count=memory.access_count,
            strength=round(self.core.strength(memory, now), 3),
            previous_tier=previous,
            new_tier=new,
            locked=memory.locked,
            promoted=promoted,
            demoted=demoted,
            message=message,
        )

    def apply_outcome(self, tenant_id: str, memory_ids: Iterable[str], delta_feedback: int) -> int:
        """Outcome learning: add ``delta_feedback`` (e.g. +1 success, -1 failure) to each memory's
        feedback score. Missing ids are skipped; returns how many memories were updated."""
        updated = 0
        for memory_id in dict.fromkeys(memory_ids):
            try:
                self._feedback(tenant_id, memory_id, int(delta_feedback))
                updated += 1
            except errors.NotFound:
                continue
        return updated

    def _feedback(self, tenant_id: str, memory_id: str, value: int, first: Memory | None = None) -> Memory:
        old_tier: dict[str, str] = {}

        def build(memory: Memory, now: float) -> MemoryChanges:
            old_tier["tier"] = memory.tier
            strength = self.core.policy.after_feedback(memory.strength, memory.strength_at or now, now, value)
            return MemoryChanges(
                feedback_score=memory.feedback_score + value,
                strength=strength,
                strength_at=now,
                updated_at=now,
                tier=self.core.tier_after(memory, strength),
            )

        memory = self.core.change(tenant_id, memory_id, build, first=first)
        if memory.tier != old_tier.get("tier"):
            self.core.sync_index(memory)
        return memory

    def record_access(self, tenant_id: str, memory_ids: Iterable[str]) -> int:
        """Count memories as used (a turn used them, a session start injected them)."""
        found = self.core.repo.get_many(tenant_id, dict.fromkeys(memory_ids))
        return self.record(list(found.values()))

    def record(self, memories: Sequence[Memory]) -> int:
        """Count memories just read (search hits) as accesses; returns how many were counted."""
        done = 0
        for known in memories:

            def build(memory: Memory, now: float) -> MemoryChanges:
                strength = self.core.policy.after_access(memory.strength, memory.strength_at or now, now)
                return MemoryChanges(
                    access_count=memory.access_count + 1,
                    last_accessed_at=now,
                    strength=strength,
                    strength_at=now,
                    tier=self.core.tier_after(memory, strength),
                )

            try:
                memory = self.core.change(known.tenant_id, known.memory_id, build, first=known)
            except (errors.NotFound, errors.ServiceUnavailable) as exc:
                logger.warning("access not recorded", extra={"memory_id": known.memory_id, "error": str(exc)})
                continue
            done += 1
            if memory.tier != known.tier:
                self.core.sync_index(memory)
        return done

    def lock(self, tenant_id: str, memory_id: str, tier: str) -> LockOut:
        def build(memory: Memory, now: float) -> MemoryChanges:
            return MemoryChanges(locked=True, tier=tier, updated_at=now)

        self.core.sync_index(self.core.change(tenant_id, memory_id, build))
        return LockOut(memory_id=memory_id, tier=tier, locked=True, message=f"Memory locked at {tier} tier")

    def unlock(self, tenant_id: str, memory_id: str) -> LockOut:
        def build(memory: Memory, now: float) -> MemoryChanges:
            tier = self.core.policy.tier_for(self.core.strength(memory, now))
            return MemoryChanges(locked=False, tier=tier, updated_at=now)

        memory = self.core.change(tenant_id, memory_id, build)
        self.core.sync_index(memory)
        return LockOut(
            memory_id=memory_id,
            tier=memory.tier,
            locked=False,
            message=f"Memory unlocked; its tier follows strength ({memory.tier})",
        )

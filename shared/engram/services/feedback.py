"""FeedbackService: what moves a memory's strength and tier — reinforcement, outcomes, accesses,
and the locks that pin a tier. The rules are :mod:`engram.services.tiers`'.

**Accesses are counted off the read path.** A search, a session start or a turn that uses
memories writes one access log (:class:`engram.ports.memories.Accesses`; a turn inside its own
transaction), not one conditional update per memory. The memories stream delivers the log to
``on_memory_change``, which :meth:`FeedbackService.settle` s it: each memory's ``access_count``,
``last_accessed_at``, strength and tier move as one access at the logged time would have moved
them, in one transaction that also deletes the log — so a redelivered log counts nothing twice
and counts stay exact. Until then (milliseconds locally, typically under a second on AWS) a
memory reads with its previous count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace

from engram import clock, errors
from engram.models.memories import LockOut, Reinforce, ReinforceOut
from engram.ports import AlreadyClaimed, StaleWrite
from engram.ports.memories import ATOMIC_WRITE_ITEMS, Accesses, Memory, MemoryChanges, access_logs
from engram.services.memory_core import MAX_WRITE_ATTEMPTS, MemoryCore
from engram.services.optimistic import optimistic
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

    def apply_outcome(
        self, tenant_id: str, memory_ids: Iterable[str], delta_feedback: int, *, session_id: str | None = None
    ) -> int:
        """Outcome learning: add ``delta_feedback`` (e.g. +1 success, -1 failure) to each memory's
        feedback score. Missing ids are skipped; returns how many memories were updated. With
        ``session_id`` (the session whose outcome this is), each credit is claimed on the session in
        the same write, so a memory is credited once per session however often this runs, and a
        crash between two writes can neither lose a credit nor double it."""
        updated = 0
        for memory_id in dict.fromkeys(memory_ids):
            try:
                self._feedback(tenant_id, memory_id, int(delta_feedback), cause="outcome", outcome_of=session_id)
                updated += 1
            except (errors.NotFound, AlreadyClaimed):
                continue
        return updated

    def _feedback(
        self,
        tenant_id: str,
        memory_id: str,
        value: int,
        first: Memory | None = None,
        *,
        cause: str = "api",
        outcome_of: str | None = None,
    ) -> Memory:
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

        memory = self.core.change(tenant_id, memory_id, build, first=first, cause=cause, outcome_of=outcome_of)
        if memory.tier != old_tier.get("tier"):
            self.core.sync_index(memory)
        return memory

    def record_access(self, tenant_id: str, memory_ids: Iterable[str]) -> list[Accesses]:
        """Count memories as used (search hits, context injected at start): one log write, settled
        into each memory by the memories stream (:meth:`settle`). Returns the logs written."""
        logs = access_logs(tenant_id, list(memory_ids), clock.now())
        self.log_accesses(logs)
        return logs

    def log_accesses(self, logs: Sequence[Accesses]) -> None:
        if logs:
            self.core.repo.log_accesses(logs)

    def settle(self, logs: Sequence[Accesses]) -> int:
        """Count logged uses into their memories (those that still exist), exactly once: the memories
        and the logs' deletion are one transaction per tenant and up to 100 items, so the logs of one
        stream batch that name the same memory write it once. Returns how many uses were counted now
        (a log settled before counts nothing)."""
        return sum(self._settle_group(group) for group in _groups(logs))

    def _settle_group(self, logs: list[Accesses]) -> int:
        pending = list(logs)

        def attempt(_: int) -> int:
            nonlocal pending
            times: dict[str, list[float]] = defaultdict(list)
            for log in pending:
                for memory_id in log.memory_ids:
                    times[memory_id].append(log.at)
            found = self.core.repo.get_many(pending[0].tenant_id, times, consistent=True)
            writes = [(m, self._accessed(m, times[m.memory_id])) for m in found.values()]
            gone = self.core.repo.settle_accesses(pending, writes)
            if not gone:
                for m, changes in writes:
                    uses = times[m.memory_id]
                    decayed = self.core.record_decay(m, min(uses))  # the tier decay reached before these uses
                    if changes.tier is not None and changes.tier != decayed.tier:  # the uses moved it
                        after = replace(m, version=m.version + 1, tier=changes.tier)
                        note = f"{len(uses)} use{'s' * (len(uses) > 1)} counted"
                        self.core.record(after, "access", "tier", {"tier": changes.tier}, note, at=max(uses))
                return sum(len(times[m.memory_id]) for m in found.values())
            pending = [log for log in pending if log.log_id not in gone]  # settled before: drop them
            if pending:
                raise StaleWrite()  # and write the rest
            return 0

        return optimistic(attempt, attempts=MAX_WRITE_ATTEMPTS, busy="Memories busy with concurrent writes; retry")

    def _accessed(self, memory: Memory, times: list[float]) -> MemoryChanges:
        """The change of uses at ``times``, each as it happened: strength decays to each use and
        gains one (a later write may have come first: a use before it adds without decay)."""
        strength, since = memory.strength, memory.strength_at or min(times)
        for at in sorted(times):
            strength = self.core.policy.after_access(strength, since, at)
            since = max(since, at)
        return MemoryChanges(
            access_count=memory.access_count + len(times),
            last_accessed_at=max(memory.last_accessed_at or 0.0, *times),
            strength=strength,
            strength_at=since,
            tier=self.core.tier_after(memory, strength),
        )

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


def _groups(logs: Sequence[Accesses]) -> list[list[Accesses]]:
    """Logs in settle groups: one tenant each, at most ATOMIC_WRITE_ITEMS memories + logs."""
    groups: list[list[Accesses]] = []
    open_groups: dict[str, tuple[list[Accesses], set[str]]] = {}
    for log in logs:
        group, ids = open_groups.get(log.tenant_id, ([], set()))
        if group and len(group) + 1 + len(ids | set(log.memory_ids)) > ATOMIC_WRITE_ITEMS:
            group, ids = [], set()
        if not group:
            groups.append(group)
        group.append(log)
        open_groups[log.tenant_id] = (group, ids | set(log.memory_ids))
    return groups

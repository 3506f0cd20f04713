"""Memory tiers: strength, decay, promotion and demotion, locks.

**Strength** is an exponentially decaying counter of use::

    strength(now) = strength_at_last_use · 2^(-(now - last_use) / HALF_LIFE) (+ the new use)

Each passive *access* (a memory returned by search, injected at session start, or used in a
turn) adds 1; each explicit *reinforcement* adds ``5 x value`` (±5), so explicit feedback
weighs five passive accesses, and with no time passing strength = 5·feedback_score +
access_count (+ the credit of an explicitly chosen tier, below). Time without use halves it
every ``HALF_LIFE_DAYS``.

**Tier** follows strength unless the memory is locked:

=============  ==========================
tier           strength
=============  ==========================
``critical``   ≥ ``CRITICAL_STRENGTH`` (50)
``high``       ≥ ``HIGH_STRENGTH`` (15)
``normal``     below 15 (also negative)
=============  ==========================

A memory created (or patched) with an explicit tier starts with twice that tier's threshold as
strength (critical 100, high 30, normal 0): it holds the tier for one half-life (30 days)
without any use, then decays out of it — an unused critical memory is high after 30 days and
normal after log2(100/15) ≈ 2.7 half-lives (82 days). Using or reinforcing it keeps it up. With the defaults,
3 positive reinforcements or 15 accesses make a normal memory high; 10 reinforcements (or 50
uses in a short time) make it critical.

**Locks** pin the tier: decay never lowers it and promotion never raises it; strength keeps
moving underneath, and unlocking returns the tier to what strength says.

Decay moves no stored item, so no single write "makes" it; the moments it crossed a threshold
follow from the formula above (:meth:`TierPolicy.decay_steps`), and a memory's history records
them with cause ``decay`` when the next write of the memory makes them durable (and shows the
ones since its last write as it is read).

Strength is compared with the thresholds rounded to 4 decimals (what the API shows, to 3),
so the milliseconds between two calls never flip a tier. Decay is computed at read time from
``strength``/``strength_at`` (no sweeper is needed);
the stored ``tier`` attribute (and its GSI key) is rewritten on every write of the memory,
so it can only be *higher* than the effective tier between writes — queries for a tier read
the stored tier and re-check the effective one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engram.vocabulary import tier_rank

HALF_LIFE_DAYS = 30.0
HIGH_STRENGTH = 15.0
CRITICAL_STRENGTH = 50.0
EXPLICIT_TIER_CREDIT = 2.0  # an explicitly chosen tier starts at this multiple of its threshold
FEEDBACK_MULTIPLIER = 5.0
ACCESS_INCREMENT = 1.0


@dataclass(frozen=True)
class TierPolicy:
    half_life_seconds: float = HALF_LIFE_DAYS * 86400
    high: float = HIGH_STRENGTH
    critical: float = CRITICAL_STRENGTH
    feedback_multiplier: float = FEEDBACK_MULTIPLIER

    def decayed(self, strength: float, since: float, now: float) -> float:
        if self.half_life_seconds <= 0:
            return strength
        elapsed = max(0.0, now - since)
        return round(strength * 0.5 ** (elapsed / self.half_life_seconds), 4)

    def tier_for(self, strength: float) -> str:
        if strength >= self.critical:
            return "critical"
        if strength >= self.high:
            return "high"
        return "normal"

    def credit(self, tier: str) -> float:
        """The strength an explicitly chosen tier starts from (holds it for one half-life)."""
        return EXPLICIT_TIER_CREDIT * {"critical": self.critical, "high": self.high}.get(tier, 0.0)

    def effective_tier(self, *, tier: str, locked: bool, strength: float, strength_at: float, now: float) -> str:
        if locked:
            return tier
        return self.tier_for(self.decayed(strength, strength_at, now))

    def decay_steps(self, tier: str, strength: float, since: float, now: float) -> list[tuple[str, float]]:
        """The tiers an unlocked memory stored at ``tier`` (with ``strength`` as of ``since``)
        has decayed into by ``now``, each with the moment its strength fell below the threshold
        of the tier above: ``[("high", t1), ("normal", t2)]`` for a critical memory long unused."""
        steps: list[tuple[str, float]] = []
        now_tier = self.tier_for(self.decayed(strength, since, now))
        for upper, threshold, lower in (("critical", self.critical, "high"), ("high", self.high, "normal")):
            if tier_rank(tier) < tier_rank(upper) or tier_rank(now_tier) > tier_rank(lower):
                continue
            crossed = since
            if strength > threshold > 0 and self.half_life_seconds > 0:
                crossed = since + self.half_life_seconds * math.log2(strength / threshold)
            steps.append((lower, min(max(crossed, since), now)))
        return steps

    def after_access(self, strength: float, strength_at: float, now: float, accesses: int = 1) -> float:
        return self.decayed(strength, strength_at, now) + ACCESS_INCREMENT * accesses

    def after_feedback(self, strength: float, strength_at: float, now: float, value: float) -> float:
        return self.decayed(strength, strength_at, now) + self.feedback_multiplier * value

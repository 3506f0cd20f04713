"""TierPolicy: strength, half-life decay, thresholds, explicit-tier credit, locks."""

from __future__ import annotations

import pytest

from engram.services.tiers import CRITICAL_STRENGTH, HALF_LIFE_DAYS, HIGH_STRENGTH, TierPolicy
from engram.vocabulary import tier_rank as rank

DAY = 86400.0


def test_documented_defaults() -> None:
    p = TierPolicy()
    assert (HALF_LIFE_DAYS, HIGH_STRENGTH, CRITICAL_STRENGTH) == (30.0, 15.0, 50.0)
    assert p.half_life_seconds == 30 * DAY and p.feedback_multiplier == 5.0


def test_strength_decays_by_half_every_half_life() -> None:
    p = TierPolicy()
    assert p.decayed(40.0, 0, 0) == 40.0
    assert p.decayed(40.0, 0, 30 * DAY) == pytest.approx(20.0)
    assert p.decayed(40.0, 0, 60 * DAY) == pytest.approx(10.0)
    assert p.decayed(40.0, 100, 50) == 40.0  # clock skew never grows strength
    assert TierPolicy(half_life_seconds=0).decayed(40.0, 0, 10**9) == 40.0


def test_tiers_follow_thresholds() -> None:
    p = TierPolicy()
    assert [p.tier_for(s) for s in (-5, 0, 14.99, 15, 49.9, 50, 500)] == [
        "normal",
        "normal",
        "normal",
        "high",
        "high",
        "critical",
        "critical",
    ]
    assert (p.credit("critical"), p.credit("high"), p.credit("normal")) == (100.0, 30.0, 0.0)
    assert rank("critical") > rank("high") > rank("normal")


def test_feedback_weighs_five_accesses() -> None:
    p = TierPolicy()
    s = 0.0
    for _ in range(3):
        s = p.after_feedback(s, 0, 0, 1)
    assert s == 15.0 and p.tier_for(s) == "high"  # 3 reinforcements: 5·3
    s2 = 0.0
    for _ in range(15):
        s2 = p.after_access(s2, 0, 0)
    assert s2 == s  # = 15 accesses


def test_an_explicit_tier_holds_for_one_half_life_unused() -> None:
    p = TierPolicy()
    for tier in ("high", "critical"):
        start = p.credit(tier)
        assert p.effective_tier(tier=tier, locked=False, strength=start, strength_at=0, now=0.001) == tier
        assert p.effective_tier(tier=tier, locked=False, strength=start, strength_at=0, now=30 * DAY) == tier
        assert p.effective_tier(tier=tier, locked=False, strength=start, strength_at=0, now=31 * DAY) != tier
    assert p.effective_tier(tier="critical", locked=False, strength=100, strength_at=0, now=82 * DAY) == "high"
    assert p.effective_tier(tier="critical", locked=False, strength=100, strength_at=0, now=83 * DAY) == "normal"


def test_milliseconds_never_flip_a_tier() -> None:
    p = TierPolicy()
    assert p.tier_for(p.decayed(15.0, 0, 0.5)) == "high"


def test_effective_tier_decays_unless_locked() -> None:
    p = TierPolicy()
    now = 45 * DAY  # 1.5 half-lives: 50 → ≈17.7
    assert p.effective_tier(tier="critical", locked=False, strength=50, strength_at=0, now=now) == "high"
    assert p.effective_tier(tier="critical", locked=True, strength=50, strength_at=0, now=now) == "critical"
    assert p.effective_tier(tier="critical", locked=False, strength=50, strength_at=0, now=90 * DAY) == "normal"
    assert (
        p.effective_tier(tier="normal", locked=True, strength=500, strength_at=0, now=0) == "normal"
    )  # locks pin upward too


def test_configurable_thresholds() -> None:
    p = TierPolicy(half_life_seconds=DAY, high=2, critical=4)
    assert p.tier_for(3) == "high"
    assert p.effective_tier(tier="normal", locked=False, strength=8, strength_at=0, now=DAY) == "critical"
    assert p.effective_tier(tier="normal", locked=False, strength=8, strength_at=0, now=2 * DAY) == "high"

"""The words memories are described with: their types, their tiers, and the tier each type starts at.

API models, extractors and services all take them from here, so a type added here is accepted
by the API, offered to the extractors and tiered the same way everywhere.
"""

from __future__ import annotations

from typing import Literal, get_args

# What an extractor can suggest from a conversation.
ExtractedType = Literal[
    "identity",
    "preference",
    "decision",
    "fact",
    "goal",
    "constraint",
    "relationship",
    "event",
]
# Every memory type: the extracted ones, plus what only people and the summariser write.
MemoryType = Literal[ExtractedType, "summary", "other"]
Tier = Literal["critical", "high", "normal"]
SearchMode = Literal["hybrid", "vector", "text"]

EXTRACTED_TYPES: tuple[ExtractedType, ...] = get_args(ExtractedType)
MEMORY_TYPES: tuple[str, ...] = get_args(MemoryType)
TIERS: tuple[Tier, ...] = ("normal", "high", "critical")  # lowest first
DEFAULT_NAMESPACE = "default"

# Why these tiers: who the user is must be in every prompt (critical); how they like things
# done, what was decided and hard limits steer most answers (high); the rest is recalled when
# relevant (normal). Types missing here (summary, other) start normal.
DEFAULT_TIERS: dict[str, Tier] = {
    "identity": "critical",
    "preference": "high",
    "decision": "high",
    "constraint": "high",
    "fact": "normal",
    "goal": "normal",
    "relationship": "normal",
    "event": "normal",
}


def default_tier(memory_type: str) -> Tier:
    """The tier a memory of this type gets when nobody chose one."""
    return DEFAULT_TIERS.get(memory_type, "normal")


def tier_rank(tier: str) -> int:
    """normal 0 < high 1 < critical 2 (unknown tiers rank as normal)."""
    return _RANK.get(tier, 0)


_RANK: dict[str, int] = {tier: rank for rank, tier in enumerate(TIERS)}

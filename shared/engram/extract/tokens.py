"""One deterministic token estimate shared by extraction, context budgets and explain.

Why bytes and not characters: ``ceil(chars / 4)`` is the usual rule of thumb for English with
BPE tokenizers, but it undercounts scripts where one character is one token or more (CJK,
emoji). Counting UTF-8 bytes keeps the English estimate identical (ASCII is one byte per
character) while a CJK character (3 bytes) counts about 0.75 tokens and an emoji (4 bytes) one
token, closer to what real tokenizers do. It is an estimate, never a bill: it needs no model,
no network and gives the same number on every machine.
"""

from __future__ import annotations

BYTES_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """``ceil(len(utf8_bytes(text)) / 4)``; 0 for the empty string."""
    if not text:
        return 0
    size = len(text.encode("utf-8", errors="replace"))
    return -(-size // BYTES_PER_TOKEN)

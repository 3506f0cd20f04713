"""The text analyser shared by the local BM25 index, the hashing embedder and the scorer.

Lower-case word tokens, English stopwords dropped, a light suffix stemmer (plurals, -ing,
-ed, final e) so "hiking"/"hikes"/"hiked" meet. OpenSearch uses its ``english`` analyser, which
behaves much the same (stop words + Porter stemming).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_WORD_RE = re.compile(r"\w+", re.UNICODE)

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren't",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "don",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "let",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "s",
        "t",
        "d",
        "ll",
        "m",
        "re",
        "ve",
        "y",
        "o",
    ]
)


def stem(word: str) -> str:
    """A deliberately small stemmer: enough to join common inflections, never clever."""
    if len(word) <= 3 or word.isdigit():
        return word
    base = word
    if word.endswith("ies") and len(word) > 4:
        base = word[:-3] + "y"
    elif word.endswith("es") and word[:-2].endswith(("s", "x", "z", "ch", "sh")):
        base = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        base = word[:-1]
    elif word.endswith("ing") and len(word) - 3 >= 3:
        base = word[:-3]
    elif word.endswith("ed") and len(word) - 2 >= 3:
        base = word[:-2]
    if base is not word and len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
        base = base[:-1]  # running → run, stopped → stop
    if len(base) > 3 and base.endswith("e"):
        base = base[:-1]  # live, lives, lived, living → liv
    return base


def tokens(text: str) -> list[str]:
    """Analysed terms of a text, in order, duplicates kept (BM25 needs term frequencies)."""
    return [stem(w) for w in (m.lower() for m in _WORD_RE.findall(text or "")) if w not in STOPWORDS]


def terms(text: str) -> set[str]:
    return set(tokens(text))


def with_context(text: str, context: str | None) -> str:
    """What is indexed for a memory with context (embedded, and searched by BM25): the context
    first, as it came first in the conversation, then the memory's own text."""
    return f"{context}\n{text}" if context else text


def bm25_text(title: str, text: str, entities: Sequence[str], context: str | None = None) -> str:
    """The searchable text of a memory: its context (what came before it in the conversation),
    the title only when it adds words (titles are often the first words of the text), then the
    text and the entities."""
    parts = [] if (not title or text.startswith(title.rstrip(". …"))) else [title]
    parts.append(text)
    parts.extend(entities)
    return with_context("\n".join(parts), context)

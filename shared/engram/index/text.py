"""The text analyser shared by the local BM25 index, the hashing embedder and the scorer.

Lower-case word tokens, English stopwords dropped, a light suffix stemmer (plurals, -ing,
-ed, -ly) so "hiking"/"hikes"/"hiked" meet. OpenSearch uses its ``english`` analyser, which
behaves much the same (stop words + Porter stemming).
"""

from __future__ import annotations

import re

_WORD_RE = re.compile(r"\w+", re.UNICODE)

STOPWORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been before being
    below between both but by can could did do does doing don down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just let me more
    most my myself no nor not of off on once only or other our ours ourselves out over own same she should
    so some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your yours
    yourself yourselves s t d ll m re ve y o""".split()
)


def stem(word: str) -> str:
    """A deliberately small stemmer: enough to join common inflections, never clever."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("edly", ""), ("ed", ""), ("ly", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            base = word[: len(word) - len(suffix)] + repl
            if suffix in ("ing", "ed") and len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]  # running → run, stopped → stop
            return base
    return word


def tokens(text: str) -> list[str]:
    """Analysed terms of a text, in order, duplicates kept (BM25 needs term frequencies)."""
    return [stem(w) for w in (m.lower() for m in _WORD_RE.findall(text or "")) if w not in STOPWORDS]


def terms(text: str) -> set[str]:
    return set(tokens(text))

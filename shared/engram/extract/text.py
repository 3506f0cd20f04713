"""Small deterministic text tools shared by the extractor, the summariser and the benchmark.

No NLP dependency on purpose: Lambda cold start and layer size matter more here than the last
point of accuracy, and every rule below gives the same answer on every machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# A compact English stopword list (function words, pronouns, auxiliaries, chat fillers).
_STOPWORD_TEXT = """
    a about above after again against all also am an and any are aren as at be because been
    before being below between both but by can cannot could couldn did didn do does doesn doing
    don down during each either else even ever every few for from further get gets getting got
    had hadn has hasn have haven having he her here hers herself him himself his how i if in
    into is isn it its itself just let lets ll me might mine more most much must mustn my myself
    neither no nor not now of off oh ok okay on once one only or other ought our ours ourselves
    out over own re really s same shall shan she should shouldn so some such t than that the
    their theirs them themselves then there these they this those through to too under until up
    us ve very was wasn we were weren what when where which while who whom whose why will with
    won would wouldn yeah yes yet you your yours yourself yourselves im ive id d m y o ma
    well like thing things lot lots pretty quite sure still always never maybe perhaps
    hi hello hey thanks thank bye goodbye please
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_SPACED_APOSTROPHE = re.compile(r"(\w) ' (?=(?:s|m|d|t|ll|ve|re)\b)", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SENTENCE_END = re.compile(r"[.!?\u3002\uff01\uff1f]+[\"')\]\u201d]*(?=\s|$)|\n+")
_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "st", "vs", "etc", "e.g", "i.e", "jr", "sr"})


def normalize(text: str) -> str:
    """Straight apostrophes, DialogSum's ``I ' m`` re-joined, whitespace collapsed per line."""
    text = text.translate(_APOSTROPHES)
    if " ' " in text:
        text = _SPACED_APOSTROPHE.sub(r"\1'", text)
    return text


def split_sentences(text: str) -> list[str]:
    """Split on ``.``/``!``/``?`` followed by whitespace, and on newlines; keep the punctuation.

    Abbreviations such as ``Dr.`` do not end a sentence. Empty pieces are dropped.
    """
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if match.group().startswith("."):
            before = text[start : match.start()].split()
            if before and before[-1].lower().rstrip(".") in _ABBREVIATIONS:
                continue
        piece = text[start:end].strip()
        if piece:
            sentences.append(piece)
        start = end
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def words(text: str) -> list[str]:
    """Lower-case word tokens (letters/digits, inner apostrophe kept: ``don't``)."""
    return _WORD.findall(text.lower())


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """Stemming-lite: plural, ``-ing``/``-ed``, final ``-e``/``-y``, doubled consonant.

    Just enough that ``cookies``/``cookie``, ``baking``/``bake``, ``dogs``/``dog`` and
    ``running``/``run`` meet; not a linguistic stemmer.
    """
    w = word
    if len(w) <= 3:
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "i"
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            if len(w) >= 3 and w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]
            break
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    if len(w) > 3 and w.endswith("y"):
        w = w[:-1] + "i"
    return w


def content_terms(text: str) -> list[str]:
    """Stemmed content words in order (stopwords and contractions' stubs removed)."""
    return terms_of(words(text))


def terms_of(tokens: Iterable[str]) -> list[str]:
    """:func:`content_terms` of text already split by :func:`words`."""
    known = _TERMS
    out: list[str] = []
    for token in tokens:
        term = known.get(token)
        if term is None:
            if len(known) > _TERMS_MAX:
                known.clear()
            base = token.split("'", 1)[0]
            term = known[token] = "" if base in STOPWORDS or token in STOPWORDS or not base else stem(base)
        if term:
            out.append(term)
    return out


_TERMS: dict[str, str] = {}  # token -> its content term ("" for a stopword); cleared past _TERMS_MAX
_TERMS_MAX = 100_000


def jaccard(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> float:
    """|a & b| / |a | b|; 0.0 when both are empty."""
    if not a and not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def overlap_f1(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> float:
    """Set F1 (Dice): 2|a & b| / (|a| + |b|); 0.0 when both are empty."""
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))

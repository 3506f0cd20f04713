"""Candidate memories in a conversation, and the features the learned extractor scores them by.

One module for training (``bench/train_extractor.py``) and serving (:mod:`engram.extract.learned`),
so the model always sees the features it was trained on.

Candidates. Each mined message (role ``user`` by default) is split into sentences and each
sentence into clauses (at commas, semicolons and conjunctions such as "and", "but", "because").
The candidates of a message are: every clause of a sentence that has several; every run of up to
:data:`MAX_SPAN_SENTENCES` consecutive sentences; and each such run without its questions. A
short persona fact is best matched by a clause ("I love to bake cookies"), a LoCoMo-style
observation by two or three sentences of one turn ("I just launched an ad campaign for my
clothing store. Starting my own store is both scary and rewarding."); the model learns which.

Features are binary strings, so scoring is a sum of dictionary look-ups (no numpy on Lambda):

* the words of the candidate (lower-cased), its word pairs, its first word and first two words;
* counts, bucketed: first-person words, second-person words, content words, clauses, sentences;
* form: a question, an exclamation, a capitalised word inside the text (a name), a digit;
* where it sits: first sentence of the message, the message's place among the user's messages,
  the message's length, whether the candidate is the whole message;
* the turns around it: the first words of the other speaker's previous and next messages ("what
  do you do for a living?" before, "congrats!" after), whether those ask a question, and how
  many content words the candidate shares with each;
* the conversation's style: when the messages average :data:`LONG_STYLE_WORDS` words or more
  (long chat turns rather than short exchanges) every feature is also emitted with an ``L|``
  prefix, so one model holds weights for both styles (feature augmentation).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise

from engram.extract.ports import ConversationMessage
from engram.extract.text import STOPWORDS, content_terms, normalize, split_sentences, words

MAX_SPAN_SENTENCES = 3
MAX_SENTENCES = 12  # sentences of one message that are considered (the rest are ignored)
MAX_MESSAGE_CHARS = 4_000  # a longer message is read up to here
LONG_STYLE_WORDS = 15.0
SKIPPED_ROLES = frozenset({"system", "tool"})

_CONJUNCTION = r"(?:and|but|so|because|since|although|though|while|plus|which|when)"
_CLAUSE_SPLIT = re.compile(rf"\s*[,;:]\s*(?:{_CONJUNCTION}\s+)?|\s+{_CONJUNCTION}\s+", re.IGNORECASE)
_CAPITALISED_INSIDE = re.compile(r"(?<=\w )[A-Z][a-z]+")
_FIRST_PERSON = frozenset({"i", "i'm", "im", "i've", "i'd", "i'll", "my", "me", "mine", "myself"})
_WE = frozenset({"we", "we're", "we've", "our", "us", "ours"})
_YOU = frozenset({"you", "your", "you're", "yours", "you've", "u"})


@dataclass(frozen=True, slots=True)
class Candidate:
    """A piece of one message that could become a memory."""

    message: int  # index of the message in the conversation
    start: int  # clause span inside the message: [start, end)
    end: int
    text: str
    features: tuple[str, ...]
    long_style: bool = False  # the conversation's messages are long (see the module docstring)

    def overlaps(self, other: Candidate) -> bool:
        return self.message == other.message and self.start < other.end and other.start < self.end


def conversation_candidates(
    messages: Sequence[ConversationMessage], roles: Collection[str] = ("user",)
) -> list[Candidate]:
    """Every candidate of every message whose role is in ``roles``, with its features."""
    mined = frozenset(r.lower() for r in roles)
    texts = [normalize((m.content or "")[:MAX_MESSAGE_CHARS]) for m in messages]
    kinds = [(m.role or "").lower() for m in messages]
    lengths = [len(words(t)) for t, k in zip(texts, kinds, strict=True) if k not in SKIPPED_ROLES]
    long_style = bool(lengths) and sum(lengths) / len(lengths) >= LONG_STYLE_WORDS
    out: list[Candidate] = []
    position = 0
    for index, (text, role) in enumerate(zip(texts, kinds, strict=True)):
        if role not in mined or not text.strip():
            continue
        before = _neighbour(texts, kinds, index, -1, mined)
        after = _neighbour(texts, kinds, index, 1, mined)
        context = _context_features(text, before, after, position)
        before_terms, after_terms = set(content_terms(before)), set(content_terms(after))
        for start, end, unit, kind, sentences, whole in _units(text):
            terms = set(content_terms(unit))
            features = [
                *context,
                f"kind={kind}",
                f"usent={_bucket(sentences, (1, 2, 3))}",
                f"ov_prev={_bucket(len(terms & before_terms), (0, 1, 2))}",
                f"ov_next={_bucket(len(terms & after_terms), (0, 1, 2))}",
                *_text_features(unit, end - start),
            ]
            if whole:
                features.append("whole")
            if start == 0:
                features.append("sent0")
            if "?" in unit.rstrip()[:-1]:
                features.append("hasq_inside")
            if long_style:
                features += [f"L|{f}" for f in features]
            out.append(Candidate(index, start, end, unit, tuple(features), long_style))
        position += 1
    return out


def _neighbour(texts: Sequence[str], kinds: Sequence[str], index: int, step: int, mined: frozenset[str]) -> str:
    """The nearest message in direction ``step`` from another speaker ("" if none)."""
    i = index + step
    while 0 <= i < len(texts):
        if kinds[i] not in mined and kinds[i] not in SKIPPED_ROLES:
            return texts[i]
        i += step
    return ""


def _units(text: str) -> Iterator[tuple[int, int, str, str, int, bool]]:
    """(start, end, text, kind, sentence count, is the whole message) for each candidate."""
    sentences = split_sentences(text)[:MAX_SENTENCES]
    atoms: list[tuple[int, int]] = []
    clauses: list[list[str]] = []
    count = 0
    for sentence in sentences:
        parts = [p.strip() for p in _CLAUSE_SPLIT.split(sentence) if p and p.strip()] or [sentence]
        clauses.append(parts)
        atoms.append((count, count + len(parts)))
        count += len(parts)
    seen: set[str] = set()
    for parts, (first, _) in zip(clauses, atoms, strict=True):
        if len(parts) > 1:
            for k, part in enumerate(parts):
                if part not in seen:
                    seen.add(part)
                    yield first + k, first + k + 1, part, "C", 1, False
    question = [s.rstrip().endswith("?") for s in sentences]
    n = len(sentences)
    for i in range(n):
        for j in range(i + 1, min(n, i + MAX_SPAN_SENTENCES) + 1):
            kind = "S" if j - i == 1 else ("P" if j - i == 2 else "M")
            span = list(range(i, j))
            for variant, chosen in (("", span), ("noq", [k for k in span if not question[k]])):
                unit = " ".join(sentences[k] for k in chosen)
                if not chosen or unit in seen:
                    continue
                seen.add(unit)
                yield atoms[i][0], atoms[j - 1][1], unit, kind + variant, len(chosen), i == 0 and j == n


def _context_features(text: str, before: str, after: str, position: int) -> list[str]:
    sentences = split_sentences(text)
    content = sum(1 for w in words(text) if w not in STOPWORDS)
    out = [
        "bias",
        f"msgpos={_bucket(position, (0, 1, 2, 4, 8))}",
        f"nsent={_bucket(len(sentences), (1, 2, 3, 4, 6))}",
        f"msgcontent={_bucket(content, (2, 4, 8, 12, 16, 24, 32))}",
    ]
    for tag, neighbour in (("prev_", before), ("next_", after)):
        tokens = words(neighbour)
        if tokens:
            out.append(f"{tag}first={tokens[0]}")
            if len(tokens) > 1:
                out.append(f"{tag}first2={tokens[0]}_{tokens[1]}")
        if "?" in neighbour:
            out.append(f"{tag}q")
    return out


def _text_features(text: str, clauses: int) -> list[str]:
    tokens = words(text)
    out = [f"w={t}" for t in dict.fromkeys(tokens)]
    out += [f"b={a}_{b}" for a, b in dict.fromkeys(pairwise(tokens))]
    if tokens:
        out.append(f"first={tokens[0]}")
        if len(tokens) > 1:
            out.append(f"first2={tokens[0]}_{tokens[1]}")
    first_person = sum(t in _FIRST_PERSON for t in tokens)
    out.append(f"fp={_bucket(first_person, (0, 1, 2))}")
    out.append(f"you={_bucket(sum(t in _YOU for t in tokens), (0, 1))}")
    if any(t in _WE for t in tokens):
        out.append("we")
    out.append(f"content={_bucket(sum(t not in STOPWORDS for t in tokens), (0, 1, 2, 3, 4, 5, 6, 8, 10, 14))}")
    out.append(f"ncl={_bucket(clauses, (1, 2, 3))}")
    stripped = text.rstrip()
    if stripped.endswith("?"):
        out.append("q")
    if stripped.endswith("!"):
        out.append("excl")
    if _CAPITALISED_INSIDE.search(text):
        out.append("cap")
    if any(c.isdigit() for c in text):
        out.append("digit")
    return out


def _bucket(n: int, edges: Sequence[int]) -> str:
    for edge in edges:
        if n <= edge:
            return str(edge)
    return "more"

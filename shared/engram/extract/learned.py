"""The learned extractor (the default, ``ENGRAM_EXTRACTOR=learned``): a rule layer, then a small classifier; no network.

How it reads a conversation:

1. The rule layer. The heuristic rules (:func:`engram.extract.heuristic.sentence_suggestions`)
   read every sentence of every ``user`` message; a suggestion whose confidence is at or above
   the model's *rule floor* is kept exactly as the rules wrote it, and what it says is taken
   away from the model: no run of sentences over it, and of its sentence's clauses only those
   sharing no content word with it ("I can drive a tractor" beside a kept "my favorite color is
   red"). The floor is never above 0.92, so durable identity statements ("My name is John and I
   live in Singapore", "I'm from Toronto", "I prefer morning meetings") are always kept, as the
   product brief shows them, whatever the weights say. Below 0.92, a rule reading with fewer
   distinct content words than the model's *content gate* is dropped (and claims nothing), as is
   every model candidate below it: "That's awesome!", "I love it." say nothing worth keeping. The
   gate is chosen per conversation style with the operating point (``bench/train_extractor.py``).
2. :func:`engram.extract.features.conversation_candidates` lists the remaining candidate memories
   (clauses, list items with their shared subject and verb, sentences, runs of up to
   ``max_span`` sentences without questions) with binary features: words and stems,
   first-person, tense, negation and hypothetical cues, names and numbers, the other speaker's
   turns before and after.
3. A logistic model (:class:`FactModel`, weights in ``model/fact_model.json``, fitted by
   ``bench/train_extractor.py`` on Synthetic-Persona-Chat development data only; see
   ``model/README.md`` for the data's attribution and licence) gives each candidate the
   probability that it states a durable fact about the speaker.
4. Per message, the kept candidates are the non-overlapping set, among those at or above the
   threshold, with the largest total margin (probability minus threshold): two sentences that
   are each a fact beat the pair they form, and a pair that is one fact beats its weaker halves.
   Threshold, rule floor and longest run depend on the conversation's style (short exchanges or
   long turns; see :mod:`engram.extract.features`), and are chosen by cross-validation.
5. Each kept candidate is written as a third-person fact ("I moved to Berlin last month" ->
   "User moved to Berlin last month."): leading interjections dropped, common chat shorthand
   spelled out ("fam" -> "family"), "I" -> "User" then "they". Memories are read later and out
   of context, where "I" is ambiguous. Its type and entities are those of the rules' reading
   of its sentences that shares most words with it (``fact`` when the rules read none): no public data labels memory
   types, so the model decides *whether* to keep a sentence and the rules *what kind* of memory
   it is. The tier follows the type; confidence is the model's probability.

Scoring is a sum of dictionary look-ups, so the extractor needs nothing beyond the standard
library (no numpy on Lambda); ``make bench-intelligence`` measures its throughput beside the
heuristic's.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from engram.extract.features import (
    MAX_SENTENCES,
    MAX_SPAN_SENTENCES,
    PLACEHOLDER,
    Candidate,
    Reading,
    conversation_candidates,
    read,
)
from engram.extract.heuristic import OTHER_ROLE_PENALTY, dedupe, sentence_suggestions
from engram.extract.person import third_person
from engram.extract.ports import (
    CONTENT_MAX_CHARS,
    DEFAULT_TIERS,
    ConversationMessage,
    ExtractionResult,
    MemoryType,
    Suggestion,
    make_title,
)
from engram.extract.text import content_terms, normalize, split_sentences
from engram.extract.tokens import estimate_tokens

MODEL_RESOURCE = "fact_model.json"

_LEADING_FILLER = re.compile(
    r"^(?:(?:well|oh|ah|yes|yeah|yep|yup|ya|no|nope|so|and|but|ok|okay|um|uh|hmm|haha|lol|wow|whoa|"
    r"hey|hi|hello|sure|right|totally|definitely|absolutely|actually|anyway|anyways|btw|honestly|"
    r"aww|awesome|cool|great|nice|thanks|thank you|omg|oh my god|oh man|man|dude)\b[\s,!.-]*)+",
    re.IGNORECASE,
)
_SHORTHAND = {
    "fam": "family",
    "gonna": "going to",
    "wanna": "want to",
    "gotta": "have to",
    "kinda": "kind of",
    "sorta": "sort of",
    "cuz": "because",
    "'cause": "because",
    "coz": "because",
    "fave": "favorite",
    "fav": "favorite",
    "biz": "business",
    "bday": "birthday",
    "convo": "conversation",
    "gf": "girlfriend",
    "bf": "boyfriend",
    "pics": "pictures",
    "pic": "picture",
    "btw": "",
}
_SHORTHAND_WORD = re.compile(r"(?<![\w'])(" + "|".join(re.escape(k) for k in _SHORTHAND) + r")(?![\w'])", re.IGNORECASE)


RULES_OFF = 1.0  # a rule floor above every rule's confidence: the rule layer keeps nothing
ALWAYS_KEPT = 0.92  # rule readings this sure are kept whatever the model and the content gate say


@dataclass(frozen=True, slots=True)
class FactModel:
    """Weights of the logistic model and how its probabilities and the rule layer make memories.

    ``weights`` are keyed by feature (:mod:`engram.extract.features`), long-style copies under
    ``L|``; for a long-style conversation each feature counts with its own weight plus its ``L|``
    weight (folded into one table once, so serving builds no ``L|`` strings). The thresholds and
    rule floors hold for short exchanges and long turns respectively.
    """

    weights: Mapping[str, float]
    threshold: float = 0.5  # short exchanges
    threshold_long: float = 0.5  # long turns
    rule_floor: float = RULES_OFF  # rule suggestions at or above this confidence are kept (short)
    rule_floor_long: float = RULES_OFF  # the same for long turns
    max_span: int = MAX_SPAN_SENTENCES  # candidates span at most this many sentences (short)
    max_span_long: int = MAX_SPAN_SENTENCES  # the same for long turns
    min_content: int = 0  # content gate: fewer distinct content words and it is no memory (short)
    min_content_long: int = 0  # the same for long turns
    metadata: Mapping[str, Any] = field(default_factory=dict)
    long_weights: Mapping[str, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        folded = {f: w for f, w in self.weights.items() if not f.startswith("L|")}
        for f, w in self.weights.items():
            if f.startswith("L|"):
                folded[f[2:]] = folded.get(f[2:], 0.0) + w
        object.__setattr__(self, "long_weights", folded)

    def threshold_for(self, long_style: bool) -> float:
        return self.threshold_long if long_style else self.threshold

    def rule_floor_for(self, long_style: bool) -> float:
        return self.rule_floor_long if long_style else self.rule_floor

    def max_span_for(self, long_style: bool) -> int:
        return self.max_span_long if long_style else self.max_span

    def min_content_for(self, long_style: bool) -> int:
        return self.min_content_long if long_style else self.min_content

    def probability(self, features: Sequence[str], long_style: bool = False) -> float:
        weights = self.long_weights if long_style else self.weights
        z = sum(filter(None, map(weights.get, features)))
        if z < -30:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FactModel:
        return cls(
            weights={str(k): float(v) for k, v in data["weights"].items()},
            threshold=float(data["threshold"]),
            threshold_long=float(data["threshold_long"]),
            rule_floor=float(data.get("rule_floor", RULES_OFF)),
            rule_floor_long=float(data.get("rule_floor_long", RULES_OFF)),
            max_span=int(data.get("max_span", MAX_SPAN_SENTENCES)),
            max_span_long=int(data.get("max_span_long", MAX_SPAN_SENTENCES)),
            min_content=int(data.get("min_content", 0)),
            min_content_long=int(data.get("min_content_long", 0)),
            metadata={k: v for k, v in data.items() if k != "weights"},
        )


@cache
def shipped_model() -> FactModel:
    """The model in the package (read once, on first use: importing this module costs nothing)."""
    text = resources.files("engram.extract").joinpath("model", MODEL_RESOURCE).read_text(encoding="utf-8")
    return FactModel.from_json(json.loads(text))


RuleHit = tuple[int, int, Suggestion]  # (message index, sentence index in it, the rule's suggestion)


def rule_layer(messages: Sequence[ConversationMessage] | Reading, roles: Collection[str] = ("user",)) -> list[RuleHit]:
    """Every suggestion the heuristic rules read in the mined messages, with its sentence.

    The sentences are the candidates' (:meth:`engram.extract.features.Reading.sentences`), so a
    kept rule suggestion can take its sentence away from the model.
    """
    reading = messages if isinstance(messages, Reading) else read(messages)
    mined = frozenset(r.lower() for r in roles)
    out: list[RuleHit] = []
    for index, (text, role) in enumerate(zip(reading.texts, reading.kinds, strict=True)):
        if role not in mined or not text.strip():
            continue
        penalty = 0.0 if role == "user" else OTHER_ROLE_PENALTY
        for k, sentence in enumerate(reading.sentences(index)[:MAX_SENTENCES]):
            if PLACEHOLDER.search(sentence):
                continue
            out += [(index, k, s) for s in sentence_suggestions(sentence, index, penalty)]
    return out


class LearnedExtractor:
    """:class:`~engram.extract.ports.Extractor` backed by :class:`FactModel`; see the module docstring."""

    def __init__(
        self,
        *,
        roles: Collection[str] = ("user",),
        max_suggestions: int = 100,
        model: FactModel | None = None,
    ) -> None:
        self._roles = tuple(r.lower() for r in roles)
        self._max_suggestions = max_suggestions
        self._model = model

    @property
    def model(self) -> FactModel:
        if self._model is None:
            self._model = shipped_model()
        return self._model

    def extract(self, messages: Sequence[ConversationMessage]) -> ExtractionResult:
        tokens = sum(estimate_tokens(m.content or "") for m in messages)
        reading = read(messages)
        floor = self.model.rule_floor_for(reading.long_style)
        min_content = self.model.min_content_for(reading.long_style)
        placed: list[tuple[int, int, Suggestion]] = []  # (message, sentence, suggestion)
        claims: dict[int, dict[int, set[str]]] = {}  # message -> sentence -> content words the rules kept
        readings: dict[tuple[int, int], list[Suggestion]] = {}  # the rules' readings of each sentence
        for index, sentence, suggestion in rule_layer(reading, self._roles):
            readings.setdefault((index, sentence), []).append(suggestion)
            if suggestion.confidence < floor:
                continue
            terms = set(content_terms(suggestion.content))
            if suggestion.confidence < ALWAYS_KEPT and len(terms) < min_content:
                continue  # says too little to be worth keeping ("That's awesome!", "I love it.")
            placed.append((index, sentence, suggestion))
            claims.setdefault(index, {}).setdefault(sentence, set()).update(terms)
        max_span = self.model.max_span_for(reading.long_style)
        candidates = [
            c
            for c in conversation_candidates(reading, self._roles, claims, max_span)
            if c.content >= min_content and (c.message not in claims or c.free_of(claims[c.message]))
        ]
        for candidate, probability in self.select(candidates):
            first, end = candidate.sentences
            read_as = [r for k in range(first, end) for r in readings.get((candidate.message, k), ())]
            made = _suggestion(candidate, probability, _reading_of(candidate, read_as))
            if made is not None:
                placed.append((candidate.message, first, made))
        placed.sort(key=lambda item: (item[0], item[1]))
        suggestions = dedupe([s for _, _, s in placed])
        if len(suggestions) > self._max_suggestions:
            keep = sorted(range(len(suggestions)), key=lambda i: -suggestions[i].confidence)
            suggestions = [suggestions[i] for i in sorted(keep[: self._max_suggestions])]
        return ExtractionResult(suggestions=suggestions, tokens_analyzed=tokens)

    def select(self, candidates: Sequence[Candidate]) -> list[tuple[Candidate, float]]:
        """The kept candidates with their probabilities, in conversation order."""
        model = self.model
        by_message: dict[int, list[tuple[Candidate, float]]] = {}
        for candidate in candidates:
            p = model.probability(candidate.features, candidate.long_style)
            if p >= model.threshold_for(candidate.long_style):
                by_message.setdefault(candidate.message, []).append((candidate, p))
        kept: list[tuple[Candidate, float]] = []
        for message in sorted(by_message):
            scored = by_message[message]
            kept += best_disjoint(scored, model.threshold_for(scored[0][0].long_style))
        return kept


def best_disjoint(scored: Sequence[tuple[Candidate, float]], threshold: float) -> list[tuple[Candidate, float]]:
    """The non-overlapping candidates of one message with the largest sum of ``p - threshold``.

    Weighted interval scheduling over the candidates' clause spans: sorted by end, each candidate
    either joins the best set of those ending before it starts, or is skipped.
    """
    items = sorted(scored, key=lambda item: (item[0].end, item[0].start))
    ends = [c.end for c, _ in items]
    best = [0.0] * (len(items) + 1)
    take: list[int | None] = [None] * (len(items) + 1)  # index of the compatible prefix, if taken
    for k, (candidate, p) in enumerate(items, start=1):
        prefix = bisect_right(ends, candidate.start, 0, k - 1)
        with_it = best[prefix] + (p - threshold)
        if with_it > best[k - 1]:
            best[k], take[k] = with_it, prefix
        else:
            best[k] = best[k - 1]
    chosen: list[tuple[Candidate, float]] = []
    k = len(items)
    while k > 0:
        taken = take[k]
        if taken is None:
            k -= 1
        else:
            chosen.append(items[k - 1])
            k = taken
    return sorted(chosen, key=lambda item: item[0].start)


def _reading_of(candidate: Candidate, readings: Sequence[Suggestion]) -> Suggestion | None:
    """The rules' reading of the candidate's sentences that says most of what it says (the first on a
    tie): "I'm a nurse and I have two dogs" -> the identity reading for "I'm a nurse", the other for
    "I have two dogs"."""
    if len(readings) < 2:
        return readings[0] if readings else None
    terms = set(content_terms(candidate.text))
    return max(readings, key=lambda r: len(terms.intersection(content_terms(r.content))))


def memory_text(text: str, subject: str = "User") -> str:
    """A candidate written as a third-person fact about ``subject``; "" if nothing is left."""
    parts: list[str] = []
    for sentence in split_sentences(normalize(text)):
        sentence = _LEADING_FILLER.sub("", sentence).strip(" ,;:-")
        sentence = _SHORTHAND_WORD.sub(lambda m: _SHORTHAND[m.group(1).lower()], sentence)
        sentence = " ".join(sentence.split())
        if sentence and any(c.isalnum() for c in sentence):
            parts.append(sentence)
    if not parts:
        return ""
    written = third_person(" ".join(parts), subject, None, repeat_name=False)
    written = re.sub(r"[!]+(?=\s|$)", ".", written)
    if len(written) > CONTENT_MAX_CHARS:
        written = written[: CONTENT_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return written


def _suggestion(candidate: Candidate, probability: float, rules: Suggestion | None) -> Suggestion | None:
    """The candidate as a memory; its type and entities are those of ``rules`` (the rules' reading)."""
    content = memory_text(candidate.text)
    if not content:
        return None
    memory_type: MemoryType = rules.memory_type if rules is not None else "fact"
    return Suggestion(
        title=make_title(memory_type, content),
        content=content,
        memory_type=memory_type,
        suggested_tier=DEFAULT_TIERS[memory_type],
        confidence=round(min(0.99, max(0.01, probability)), 2),
        entities=list(rules.entities) if rules is not None else [],
        source_index=candidate.message,
    )

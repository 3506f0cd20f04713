"""Candidate memories in a conversation, and the features the learned extractor scores them by.

One module for training (``bench/train_extractor.py``) and serving (:mod:`engram.extract.learned`),
so the model always sees the features it was trained on.

Candidates. Each mined message (role ``user`` by default) is split into sentences and each
sentence into clauses (at commas, semicolons and conjunctions such as "and", "but", "because",
"who"). The candidates of a message are: every clause of a sentence that has several; every run
of up to :data:`MAX_SPAN_SENTENCES` consecutive sentences; and each such run without its
questions. A question is never a candidate (it states nothing about the speaker), nor is a
sentence holding a template placeholder such as ``[name]`` (:data:`PLACEHOLDER`: "My name is
[name]" names nobody). The later items of a list take the subject and verb of its first item
("I like to hike, play chess and swim" -> "I like to play chess", "I like to swim"; "I'm a nurse
and a runner" -> "I'm a runner"), so each can become a memory of its own. A short answer to the
other speaker's "What's your favorite X?" is also read as the statement it makes ("I love
hummus." -> "My favorite food is hummus."), since out of context the answer alone says less
than it means. A short persona fact is best matched by a clause ("I love to bake cookies"), a
LoCoMo-style observation by two or three sentences of one turn ("I just launched an ad campaign
for my clothing store. Starting my own store is both scary and rewarding."); the model learns
which.

Features are binary strings, so scoring is a sum of dictionary look-ups (no numpy on Lambda):

* the words of the candidate (lower-cased), its word pairs, its first one, two and three words,
  its last word, and its content words stemmed (:func:`engram.extract.text.terms_of`: "loves",
  "loving" -> ``t=love``);
* cues: a negation ("not", "never", "n't"), a hypothetical ("would", "if", "wish", "someday"),
  a question opening ("what", "do", "are"), an echo ("... too", "also");
* counts, bucketed: first-person words, second-person words, content words, clauses, sentences;
* form: a question, an exclamation, a capitalised word inside the text (a name), a digit;
* where it sits: first sentence of the message, the message's place among the user's messages,
  the message's length, whether the candidate is the whole message;
* the turns around it: the first words of the other speaker's previous and next messages ("what
  do you do for a living?" before, "congrats!" after), whether those ask a question, and how
  many content words the candidate shares with each;
* the conversation's style: when the messages average :data:`LONG_STYLE_WORDS` words or more
  (long chat turns rather than short exchanges), training also sees every feature with an ``L|``
  prefix (:func:`training_features`), so one model holds weights for both styles (feature
  augmentation). Serving does not build those strings: the model folds each ``L|`` weight into
  its feature's weight for long-style conversations (:class:`engram.extract.learned.FactModel`).

Each candidate also knows the sentences it spans (and a clause its content words), so the
learned extractor's rule layer can claim what it kept and leave the rest to the model: runs over
a sentence the rules kept something from are out, the sentence's other clauses are not
(:meth:`Candidate.free_of`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from engram.extract.ports import ConversationMessage
from engram.extract.text import STOPWORDS, normalize, split_sentences, terms_of, words

MAX_SPAN_SENTENCES = 3
MAX_SENTENCES = 12  # sentences of one message that are considered (the rest are ignored)
MAX_MESSAGE_CHARS = 4_000  # a longer message is read up to here
LONG_STYLE_WORDS = 15.0
SKIPPED_ROLES = frozenset({"system", "tool"})
_CUE_TEXT = {
    "neg": "not no never nothing nobody none neither nor",
    "hypo": "would if wish someday maybe might could hope dream imagine",
    "qstart": "what what's how why when where who which do does did are is have has can could would will",
}
_NEGATION, _HYPOTHETICAL, _QUESTION_START = (frozenset(_CUE_TEXT[k].split()) for k in ("neg", "hypo", "qstart"))
# Short answers to "what's your favorite X?" (:func:`_favourite_answer`).
_FAVOURITE_QUESTION = re.compile(
    r"\b(?:what|who)(?:'s|\s+is|\s+are)\s+(?:some\s+of\s+)?your\s+(?:all[- ]time\s+)?fav(?:ou?rite|e)s?\s+"
    r"((?:[a-z]+\s*){1,4}?)\s*\?",
    re.IGNORECASE,
)
_STATED_FAVOURITE = re.compile(r"\bfav(?:ou?rite|e)s?\b", re.IGNORECASE)
_ANSWER_LEAD = re.compile(
    r"^(?:(?:oh|ooh|well|hmm+|um+|so|yes|yeah|definitely|probably|easy|that's easy|that's a tough one|"
    r"good question|i think|i'd say|i would say|i'd have to say|i have to say|i guess)\b[\s,!.-]*)+",
    re.IGNORECASE,
)
_ANSWER_VERB = re.compile(
    r"^(?:i\s+(?:really\s+|absolutely\s+|just\s+)?(?:like|love|enjoy|adore)|mine(?:'s|\s+is)|it(?:'s|\s+is)|"
    r"it\s+has\s+to\s+be|it\s+would\s+be|it'd\s+be)\s+(.+)$",
    re.IGNORECASE,
)
_ANSWER_NOT_OBJECT = re.compile(
    r"\b(?:i|i'm|you|your|my|we|not|don't|no|sure|know|many|hard|tough|lot|that|this|it|them|too|yes|yeah|"
    r"hi|hello|hey|thanks|what|how|about)\b|\?",
    re.IGNORECASE,
)
# A template's unfilled slot: "My name is [name]" names nobody.
PLACEHOLDER = re.compile(r"\[[^\]]{1,40}\]")

_CONJUNCTION = r"(?:and|but|so|because|since|although|though|while|plus|which|who|when)"
_CLAUSE_SPLIT = re.compile(rf"\s*[,;:]\s*(?:{_CONJUNCTION}\s+)?|\s+{_CONJUNCTION}\s+", re.IGNORECASE)
# The subject and verb a list's later items share: "I like to hike, play chess and swim" ->
# "I like to play chess", "I like to swim" (also "I'm a nurse and a runner" -> "I'm a runner").
_SHARED_HEAD = re.compile(
    r"^(?:(?P<be>(?:i|we)(?:'m| am| are|'re))(?=\s+(?:a|an)\s)|(?P<verb>(?:i|we)"
    r"(?:\s+(?:really|also|just|absolutely|especially|mostly|usually|often|sometimes|definitely|still|totally|"
    r"truly|do))*\s+(?:like|love|enjoy|adore|hate|prefer|play|have|own|collect|watch|read|grow|make|speak|"
    r"study|teach|volunteer|work|go|used to|want to|plan to|hope to)(?:\s+to)?)\s)",
    re.IGNORECASE,
)
# A later clause that has a subject of its own takes no shared head.
_OWN_SUBJECT_TEXT = """
    i i'm im i've i'd i'll we we're my our you your he she it it's its they their this that that's
    there there's these those what how why who where when
"""
_OWN_SUBJECT = frozenset(_OWN_SUBJECT_TEXT.split())
_CAPITALISED_INSIDE = re.compile(r"(?<=\w )[A-Z][a-z]+")
_DIGIT = re.compile(r"\d")
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
    sentences: tuple[int, int] = (0, 1)  # the sentences of the message it spans: [first, last + 1)
    clause: bool = False  # one clause of a sentence that has several
    terms: frozenset[str] = frozenset()  # its content words (clauses only)
    content: int = 0  # how many distinct content words it holds (the model's content gate)

    def overlaps(self, other: Candidate) -> bool:
        return self.message == other.message and self.start < other.end and other.start < self.end

    @property
    def span(self) -> int:
        """How many sentences it spans."""
        return self.sentences[1] - self.sentences[0]

    def touches(self, sentences: Collection[int]) -> bool:
        """True when the candidate spans one of ``sentences`` (indices in its message)."""
        return any(self.sentences[0] <= s < self.sentences[1] for s in sentences)

    def free_of(self, claimed: Mapping[int, Collection[str]]) -> bool:
        """False when it spans a sentence the rule layer kept something from (``claimed``: sentence
        index in its message -> content words of what was kept), unless it is a clause of that
        sentence sharing no content word with it ("I can drive a tractor" beside a kept "my
        favorite color is red")."""
        for s in range(*self.sentences):
            kept = claimed.get(s)
            if kept is not None and not (self.clause and self.terms.isdisjoint(kept)):
                return False
        return True


@dataclass
class Reading:
    """A conversation read once: normalised texts, roles, word tokens and style, shared by the
    rule layer and the candidates (so neither tokenises a message twice)."""

    texts: list[str]
    kinds: list[str]
    tokens: list[list[str]]
    long_style: bool
    _sentences: dict[int, list[str]] = field(default_factory=dict)
    _terms: dict[int, set[str]] = field(default_factory=dict)

    def sentences(self, index: int) -> list[str]:
        """All sentences of message ``index`` (candidates use the first :data:`MAX_SENTENCES`)."""
        found = self._sentences.get(index)
        if found is None:
            found = self._sentences[index] = split_sentences(self.texts[index])
        return found

    def terms(self, index: int | None) -> set[str]:
        """The content words of message ``index`` (none for ``None``)."""
        if index is None:
            return set()
        found = self._terms.get(index)
        if found is None:
            found = self._terms[index] = set(terms_of(self.tokens[index]))
        return found


def read(messages: Sequence[ConversationMessage]) -> Reading:
    texts = [normalize((m.content or "")[:MAX_MESSAGE_CHARS]) for m in messages]
    kinds = [(m.role or "").lower() for m in messages]
    tokens = [words(t) for t in texts]
    lengths = [len(t) for t, k in zip(tokens, kinds, strict=True) if k not in SKIPPED_ROLES]
    long_style = bool(lengths) and sum(lengths) / len(lengths) >= LONG_STYLE_WORDS
    return Reading(texts, kinds, tokens, long_style)


def is_long_style(messages: Sequence[ConversationMessage]) -> bool:
    """True when the conversation's messages average :data:`LONG_STYLE_WORDS` words or more."""
    return read(messages).long_style


def training_features(candidate: Candidate) -> tuple[str, ...]:
    """The candidate's features with the long-style copies (``L|``) the model is fitted on."""
    if not candidate.long_style:
        return candidate.features
    return candidate.features + tuple(f"L|{f}" for f in candidate.features)


def conversation_candidates(
    messages: Sequence[ConversationMessage] | Reading,
    roles: Collection[str] = ("user",),
    skip: Mapping[int, Collection[int]] | None = None,
    max_span: int = MAX_SPAN_SENTENCES,
) -> list[Candidate]:
    """Every candidate of every message whose role is in ``roles``, with its features.

    ``skip`` maps a message index to sentences (indices into :meth:`Reading.sentences`) that no
    run of sentences may span: the rule layer has kept something from them. Their clauses are
    still listed; the caller keeps those that share nothing with what the rules kept
    (:meth:`Candidate.free_of`). ``max_span``: runs of at most this
    many sentences (up to :data:`MAX_SPAN_SENTENCES`).
    """
    reading = messages if isinstance(messages, Reading) else read(messages)
    mined = frozenset(r.lower() for r in roles)
    texts, kinds, long_style = reading.texts, reading.kinds, reading.long_style
    out: list[Candidate] = []
    position = 0
    for index, (text, role) in enumerate(zip(texts, kinds, strict=True)):
        if role not in mined or not text.strip():
            continue
        before = _neighbour(kinds, index, -1, mined)
        after = _neighbour(kinds, index, 1, mined)
        sentences = reading.sentences(index)
        context = _context_features(reading, index, before, after, position)
        before_terms, after_terms = reading.terms(before), reading.terms(after)
        skipped = skip.get(index, ()) if skip else ()
        asked = _asked_favourite(reading.texts[before]) if before is not None else None
        for start, end, unit, tokens, terms, kind, span, whole in _units(
            sentences[:MAX_SENTENCES], skipped, max_span, asked
        ):
            features = [
                *context,
                f"kind={kind}",
                _USENT.of(span[2]),
                _OV_PREV.of(len(terms & before_terms)),
                _OV_NEXT.of(len(terms & after_terms)),
                *_text_features(unit, tokens, end - start),
            ]
            features += [f"t={t}" for t in sorted(terms)]
            if whole:
                features.append("whole")
            if start == 0:
                features.append("sent0")
            if "?" in unit.rstrip()[:-1]:
                features.append("hasq_inside")
            clause = kind in ("C", "D")
            out.append(
                Candidate(
                    index,
                    start,
                    end,
                    unit,
                    tuple(features),
                    long_style,
                    (span[0], span[1]),
                    clause,
                    frozenset(terms) if clause else frozenset(),
                    len(terms),
                )
            )
        position += 1
    return out


def _neighbour(kinds: Sequence[str], index: int, step: int, mined: frozenset[str]) -> int | None:
    """The index of the nearest message in direction ``step`` from another speaker (None if none)."""
    i = index + step
    while 0 <= i < len(kinds):
        if kinds[i] not in mined and kinds[i] not in SKIPPED_ROLES:
            return i
        i += step
    return None


def _units(
    sentences: Sequence[str],
    skipped: Collection[int],
    max_span: int = MAX_SPAN_SENTENCES,
    asked: str | None = None,
) -> Iterator[tuple[int, int, str, list[str], set[str], str, tuple[int, int, int], bool]]:
    """(start, end, text, tokens, content words, kind, (first sentence, end sentence, sentence count), whole).

    ``asked``: the favourite the other speaker just asked about ("food" for "What's your favorite
    food?"); a short answer in the first sentence is also read as a statement of it ("I love
    hummus." -> "My favorite food is hummus.", kind ``A``).
    """
    atoms: list[tuple[int, int]] = []
    clauses: list[list[str]] = []
    tokens: list[list[str]] = []
    terms: list[set[str]] = []
    count = 0
    for sentence in sentences:
        parts = [p.strip() for p in _CLAUSE_SPLIT.split(sentence) if p and p.strip()] or [sentence]
        clauses.append(parts)
        atoms.append((count, count + len(parts)))
        tokens.append(words(sentence))
        terms.append(set(terms_of(tokens[-1])))
        count += len(parts)
    question = [s.rstrip().endswith("?") for s in sentences]
    seen: set[str] = set()
    for i, (parts, (first, _)) in enumerate(zip(clauses, atoms, strict=True)):
        if PLACEHOLDER.search(sentences[i]):
            continue
        if len(parts) > 1 and not question[i]:
            head = _shared_head(parts[0])
            for k, part in enumerate(parts):
                kind = "C"
                if k and head is not None:
                    shared = _with_head(head, part)
                    if shared is not None:
                        part, kind = shared, "D"
                if part not in seen:
                    seen.add(part)
                    part_tokens = words(part)
                    yield (
                        first + k,
                        first + k + 1,
                        part,
                        part_tokens,
                        set(terms_of(part_tokens)),
                        kind,
                        (i, i + 1, 1),
                        False,
                    )
    answer = _favourite_answer(asked, sentences[0]) if asked and sentences and not question[0] else None
    if answer is not None and answer not in seen and not PLACEHOLDER.search(sentences[0]):
        seen.add(answer)
        answer_tokens = words(answer)
        yield (atoms[0][0], atoms[0][1], answer, answer_tokens, set(terms_of(answer_tokens)), "A", (0, 1, 1), False)
    n = len(sentences)
    for i in range(n):
        for j in range(i + 1, min(n, i + min(max_span, MAX_SPAN_SENTENCES)) + 1):
            if j - 1 in skipped:
                break  # every longer run from i spans it too
            kind = "S" if j - i == 1 else ("P" if j - i == 2 else "M")
            span = range(i, j)
            for variant, chosen in (("", span), ("noq", [k for k in span if not question[k]])):
                if not chosen:
                    continue
                if any(PLACEHOLDER.search(sentences[k]) for k in chosen):
                    continue
                if any(question[k] for k in chosen):
                    continue
                unit = " ".join(sentences[k] for k in chosen)
                if unit in seen:
                    continue
                seen.add(unit)
                unit_tokens = [t for k in chosen for t in tokens[k]]
                unit_terms = terms[chosen[0]].union(*(terms[k] for k in chosen[1:]))
                whole = i == 0 and j == n
                yield (
                    atoms[i][0],
                    atoms[j - 1][1],
                    unit,
                    unit_tokens,
                    unit_terms,
                    kind + variant,
                    (i, j, len(chosen)),
                    whole,
                )


def _asked_favourite(text: str) -> str | None:
    """The favourite a message asks about ("What's your favorite kind of music?" -> "kind of music")."""
    found = _FAVOURITE_QUESTION.search(text)
    return found.group(1).strip().lower() if found else None


def _favourite_answer(asked: str, sentence: str) -> str | None:
    """A short answer to "what's your favorite <asked>?" as a statement, or None."""
    if len(sentence.split()) > 8 or _STATED_FAVOURITE.search(sentence):
        return None
    body = _ANSWER_LEAD.sub("", sentence.strip()).strip()
    found = _ANSWER_VERB.match(body)
    if found is not None:
        answer = found.group(1)
    elif len(body.split()) <= 4 and not _ANSWER_NOT_OBJECT.search(body):
        answer = body  # "Travis Scott." / "Winter!"
    else:
        return None
    answer = answer.strip(" .!,;:-")
    if not answer or _ANSWER_NOT_OBJECT.search(answer):
        return None
    return f"My favorite {asked} is {answer}."


def _shared_head(clause: str) -> re.Match[str] | None:
    """The subject and verb of a list's first clause that its later items share, if any."""
    return _SHARED_HEAD.match(clause)


def _with_head(head: re.Match[str], part: str) -> str | None:
    """A later list item with the first item's subject and verb ("play chess" -> "I like to play chess")."""
    first = part.split(None, 1)[0].lower().strip(",.!?")
    if first in _OWN_SUBJECT:
        return None
    if head.group("be") is not None:
        return f"{head.group('be')} {part}" if first in ("a", "an") else None
    return f"{head.group('verb')} {part}"


def _context_features(reading: Reading, index: int, before: int | None, after: int | None, position: int) -> list[str]:
    own = reading.tokens[index]
    content = len(own) - sum(map(STOPWORDS.__contains__, own))
    out = [
        "bias",
        _MSGPOS.of(position),
        _NSENT.of(len(reading.sentences(index))),
        _MSGCONTENT.of(content),
    ]
    for tag, neighbour in (("prev_", before), ("next_", after)):
        if neighbour is None:
            continue
        tokens = reading.tokens[neighbour]
        if tokens:
            out.append(f"{tag}first={tokens[0]}")
            if len(tokens) > 1:
                out.append(f"{tag}first2={tokens[0]}_{tokens[1]}")
        if "?" in reading.texts[neighbour]:
            out.append(f"{tag}q")
    return out


def _text_features(text: str, tokens: Sequence[str], clauses: int) -> list[str]:
    out = [f"w={t}" for t in dict.fromkeys(tokens)]
    out += [f"b={a}_{b}" for a, b in dict.fromkeys(pairwise(tokens))]
    if tokens:
        out.append(f"first={tokens[0]}")
        if len(tokens) > 1:
            out.append(f"first2={tokens[0]}_{tokens[1]}")
    if tokens:
        if len(tokens) > 2:
            out.append(f"first3={tokens[0]}_{tokens[1]}_{tokens[2]}")
        if any(t in _NEGATION or t.endswith("n't") for t in tokens):
            out.append("neg")
        if not _HYPOTHETICAL.isdisjoint(tokens):
            out.append("hypo")
        if tokens[0] in _QUESTION_START:
            out.append("qstart")
        if tokens[-1] in ("too", "also") or "as well" in text.lower():
            out.append("echo")
        out.append(f"last={tokens[-1]}")
    out.append(_FP.of(sum(map(_FIRST_PERSON.__contains__, tokens))))
    out.append(_YOU_COUNT.of(sum(map(_YOU.__contains__, tokens))))
    if not _WE.isdisjoint(tokens):
        out.append("we")
    content = len(tokens) - sum(map(STOPWORDS.__contains__, tokens))
    out.append(_CONTENT.of(content))
    out.append(_NCL.of(clauses))
    stripped = text.rstrip()
    if stripped.endswith("?"):
        out.append("q")
    if stripped.endswith("!"):
        out.append("excl")
    if _CAPITALISED_INSIDE.search(text):
        out.append("cap")
    if _DIGIT.search(text):
        out.append("digit")
    return out


class _Buckets:
    """Feature names ``<name>=<edge>`` for a count: the first edge it does not exceed, else ``more``."""

    def __init__(self, name: str, edges: Sequence[int]) -> None:
        self._names = [f"{name}={_bucket(n, edges)}" for n in range(edges[-1] + 2)]
        self._last = len(self._names) - 1

    def of(self, n: int) -> str:
        return self._names[n if n < self._last else self._last]


def _bucket(n: int, edges: Sequence[int]) -> str:
    for edge in edges:
        if n <= edge:
            return str(edge)
    return "more"


_USENT = _Buckets("usent", (1, 2, 3))
_OV_PREV = _Buckets("ov_prev", (0, 1, 2))
_OV_NEXT = _Buckets("ov_next", (0, 1, 2))
_MSGPOS = _Buckets("msgpos", (0, 1, 2, 4, 8))
_NSENT = _Buckets("nsent", (1, 2, 3, 4, 6))
_MSGCONTENT = _Buckets("msgcontent", (2, 4, 8, 12, 16, 24, 32))
_FP = _Buckets("fp", (0, 1, 2))
_YOU_COUNT = _Buckets("you", (0, 1))
_CONTENT = _Buckets("content", (0, 1, 2, 3, 4, 5, 6, 8, 10, 14))
_NCL = _Buckets("ncl", (1, 2, 3))

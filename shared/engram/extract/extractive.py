"""The default summariser: deterministic and extractive, no model, no network.

How it works, and why:

1. Every sentence of every conversational message (system and tool messages are skipped: they
   are instructions and payloads, not what was discussed) becomes a candidate, remembered with
   its speaker. So does every sentence of the session's memories: what was learned is part of
   what happened, and a session may have memories and no messages at all (seed 002 summarises a
   session "based on its associated memories").
2. Each candidate is scored by TF-IDF centrality: the cosine between its content-word vector
   and the conversation's centroid (IDF over the conversation's sentences), i.e. how much it
   talks about what the whole conversation talks about. Memories are extra signal too: a
   conversation sentence sharing content words with them gains up to ``memory_weight``. Very short
   sentences ("Sure.", "Thanks!") are damped, questions slightly damped (the answer usually
   carries the fact), and the first sentences get a small bonus (openings state the purpose).
3. The best sentences are taken greedily, skipping near-repeats of one already taken, until
   ``max_sentences`` or the ``max_chars`` budget, then put back in conversation order.
4. With ``third_person`` on (default), each sentence is reported as its speaker's: "I'm going
   to Paris" said by the user becomes "User is going to Paris", "you" becomes the other
   speaker when there are exactly two. Summaries are read later, out of context, by someone
   who was not in the conversation, and first-person fragments lose who said what. It is a
   small table of rules (pronouns, a few verb forms), so it is deterministic and cheap. A memory
   in the first person is the user's own words (that is what extraction keeps), so it is reported
   as the user's; its leading words are kept ("No deploys on Fridays" keeps its "No").

Speaker names come from ``speaker_labels`` by role (``user`` -> ``User``); a role that is
not in the table (e.g. ``#Person1#`` in DialogSum) is used as the name itself.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence

from engram.extract.person import third_person
from engram.extract.ports import SUMMARY_MAX_CHARS, ConversationMessage
from engram.extract.text import content_terms, normalize, split_sentences

DEFAULT_SPEAKER_LABELS: Mapping[str, str] = {"user": "User", "assistant": "Assistant"}
SKIPPED_ROLES = frozenset({"system", "tool"})
SHORT_SENTENCE_TERMS = 3
REDUNDANCY_COSINE = 0.7
MIN_RELATIVE_SCORE = 0.4

_LEADING_FILLER = re.compile(
    r"^(?:(?:well|oh|ah|yes|yeah|yep|no|nope|so|and|but|ok|okay|um|uh|hi|hey|hello|sure|"
    r"right|alright|all right|great|good|fine|really|wow|excuse me|sorry|please|look|"
    r"listen|now|then|actually|anyway|of course|certainly|thanks|thank you)\b[\s,!.-]*)+",
    re.IGNORECASE,
)


class ExtractiveSummarizer:
    """TF-IDF-centrality sentence extraction; see the module docstring."""

    def __init__(
        self,
        *,
        max_sentences: int = 2,
        max_chars: int = 1_000,
        third_person: bool = True,
        memory_weight: float = 0.3,
        speaker_labels: Mapping[str, str] | None = None,
    ) -> None:
        self._max_sentences = max(1, max_sentences)
        self._max_chars = max(1, min(max_chars, SUMMARY_MAX_CHARS))
        self._third_person = third_person
        self._memory_weight = memory_weight
        self._labels = dict(DEFAULT_SPEAKER_LABELS if speaker_labels is None else speaker_labels)

    def summarize(self, messages: Sequence[ConversationMessage], memories: Sequence[str] = ()) -> str:
        candidates: list[tuple[str | None, str]] = []  # (speaker, sentence); no speaker: a memory
        speakers: list[str] = []
        for message in messages:
            role = (message.role or "").strip()
            if role.lower() in SKIPPED_ROLES or not (message.content or "").strip():
                continue
            speaker = self._labels.get(role.lower(), role or "Someone")
            if speaker not in speakers:
                speakers.append(speaker)
            for sentence in split_sentences(normalize(message.content)):
                candidates.append((speaker, " ".join(sentence.split())))
        for memory in memories:
            for sentence in split_sentences(normalize(memory)):
                candidates.append((None, " ".join(sentence.split())))
        if not candidates:
            return ""
        chosen = self._select(candidates, memories)
        parts: list[str] = []
        used = 0
        for i in chosen:
            said_by, sentence = candidates[i]
            if said_by is None:  # a memory: reported as the user's, its opening kept
                owner = self._labels.get("user", "User")
                text = third_person(sentence, owner, None) if self._third_person else sentence
            elif self._third_person:
                others = [s for s in speakers if s != said_by]
                plain = _LEADING_FILLER.sub("", sentence).strip() or sentence
                text = third_person(plain, said_by, others[0] if len(others) == 1 else None)
                if said_by not in text:  # keep who said it: "#Person1#: Let's meet at 3."
                    text = f"{said_by}: {text}"
            else:
                text = f"{said_by}: {sentence}"
            if used and used + 1 + len(text) > self._max_chars:
                break
            parts.append(text)
            used += len(text) + (1 if used else 0)
        summary = " ".join(parts)
        if len(summary) > self._max_chars:  # one sentence longer than the whole budget
            summary = summary[: self._max_chars - 1].rsplit(" ", 1)[0] + "…"
        return summary

    def _select(self, candidates: Sequence[tuple[str | None, str]], memories: Sequence[str]) -> list[int]:
        """Indices of the chosen sentences, in conversation order."""
        bags = [Counter(content_terms(sentence)) for _, sentence in candidates]
        df: Counter[str] = Counter()
        for bag in bags:
            df.update(bag.keys())
        n = len(bags)
        idf = {term: math.log((1 + n) / (1 + count)) + 1.0 for term, count in df.items()}
        vectors = [{t: c * idf[t] for t, c in bag.items()} for bag in bags]
        centroid: Counter[str] = Counter()
        for vector in vectors:
            centroid.update(vector)
        memory_terms = {t for memory in memories for t in content_terms(memory)}
        scores: list[float] = []
        for i, ((speaker, sentence), vector) in enumerate(zip(candidates, vectors, strict=True)):
            score = _cosine(vector, centroid)
            if memory_terms and vector and speaker is not None:  # a memory gets no bonus for itself
                shared = sum(1 for t in vector if t in memory_terms)
                score += self._memory_weight * shared / len(vector)
            if len(vector) < SHORT_SENTENCE_TERMS:
                score *= 0.3
            if sentence.endswith("?"):
                score *= 0.8
            score += 0.05 / (1 + i)
            scores.append(score)
        order = sorted(range(n), key=lambda i: (-scores[i], i))
        chosen: list[int] = []
        length = 0
        for i in order:
            if len(chosen) >= self._max_sentences:
                break
            if not vectors[i] or scores[i] < MIN_RELATIVE_SCORE * scores[order[0]]:
                continue  # greetings, or too weak next to the best sentence to be worth reading
            if any(_cosine(vectors[i], vectors[j]) > REDUNDANCY_COSINE for j in chosen):
                continue
            size = len(candidates[i][1])
            if chosen and length + size > self._max_chars:
                continue
            chosen.append(i)
            length += size
        return sorted(chosen)


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if not a or not b:
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    dot = sum(value * b.get(term, 0.0) for term, value in a.items())
    if not dot:
        return 0.0
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm

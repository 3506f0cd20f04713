"""Supersede benchmark: the fact-slot rules (:mod:`engram.extract.slots`) on hand-labelled pairs.

Usage::

    python bench/supersede.py [--pairs bench/data/supersede_pairs.jsonl] [--verbose]

Each line of the pairs file is ``{"old", "new", "expect", "note"}`` with ``expect`` one of
``supersedes``, ``same``, ``compatible``, ``unrelated``. The pairs were written by hand from the
product brief's kind of example ("I live in Singapore" -> "I moved to Berlin last month"),
before the rules; ``bench/data/supersede_blind.jsonl`` was written after the rules were frozen
and never tuned on. Neither is a sample of real traffic: read the numbers as "which kinds of
change the rules handle", not as a rate to expect in production.

Reported: for the decision that matters (does the new memory supersede the old one?)
precision and recall, and how many supersedes would be automatic (confidence >= the
threshold) versus sent to review; the confusion of all four relations; the pairs it got wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from engram.extract.slots import AUTO_SUPERSEDE, compare

RELATIONS = ("supersedes", "same", "compatible", "unrelated")
DEFAULT_PAIRS = Path(__file__).parent / "data" / "supersede_pairs.jsonl"


def evaluate(pairs: Sequence[dict[str, str]]) -> dict[str, object]:
    confusion: Counter[tuple[str, str]] = Counter()
    wrong: list[dict[str, object]] = []
    automatic = review = automatic_wrong = 0
    for pair in pairs:
        verdict = compare(pair["old"], pair["new"])
        confusion[(pair["expect"], verdict.relation)] += 1
        if verdict.relation == "supersedes":
            if verdict.confidence >= AUTO_SUPERSEDE:
                automatic += 1
                automatic_wrong += pair["expect"] != "supersedes"
            else:
                review += 1
        if verdict.relation != pair["expect"]:
            wrong.append({**pair, "got": verdict.relation, "confidence": verdict.confidence, "reason": verdict.reason})
    predicted = sum(v for (_, got), v in confusion.items() if got == "supersedes")
    actual = sum(v for (want, _), v in confusion.items() if want == "supersedes")
    correct = confusion[("supersedes", "supersedes")]
    return {
        "pairs": len(pairs),
        "supersede_precision": round(correct / predicted, 3) if predicted else 0.0,
        "supersede_recall": round(correct / actual, 3) if actual else 0.0,
        "supersedes_expected": actual,
        "supersedes_predicted": predicted,
        "automatic": automatic,
        "automatic_wrong": automatic_wrong,
        "to_review": review,
        "relation_accuracy": round(sum(confusion[(r, r)] for r in RELATIONS) / len(pairs), 3) if pairs else 0.0,
        "confusion": {f"{want}->{got}": n for (want, got), n in sorted(confusion.items())},
        "wrong": wrong,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pairs", type=Path, action="append", help="JSONL pairs file (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="list every wrong pair")
    args = parser.parse_args(argv)
    for path in args.pairs or [DEFAULT_PAIRS]:
        pairs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        result = evaluate(pairs)
        print(f"## {path.name}: {result['pairs']} pairs")
        print(
            f"supersede precision {result['supersede_precision']:.3f}, recall {result['supersede_recall']:.3f} "
            f"({result['supersedes_predicted']} predicted, {result['supersedes_expected']} expected); "
            f"automatic {result['automatic']} (wrong {result['automatic_wrong']}), to review {result['to_review']}; "
            f"all four relations right: {result['relation_accuracy']:.3f}"
        )
        print("confusion (expected->got):", ", ".join(f"{k} {v}" for k, v in result["confusion"].items()))  # type: ignore[attr-defined]
        if args.verbose:
            for item in result["wrong"]:  # type: ignore[attr-defined]
                print(
                    f"  - {item['old']!r} -> {item['new']!r}: expected {item['expect']}, got {item['got']} "
                    f"({item['confidence']}: {item['reason']})"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())

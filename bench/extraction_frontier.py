"""The learned extractor's short-exchange precision-recall trade, held out: which operating point to ship.

Usage::

    python -m bench.extraction_frontier --persona ../shared/eval/persona-chat-dev.csv [--c 1.0]

For each outer fold of :mod:`bench.train_extractor` (conversations split as there), the short-style
grid (threshold x rule floor x longest run x content gate; :data:`FLOORS`, :data:`SPANS`,
:data:`GATES` narrow the trainer's) is scored twice: on the training dialogues by inner folds (as the
trainer chooses), and on the fold's unseen dialogues by the model fitted on all its training
dialogues. Each selection rule (:data:`RULES`) picks a point from the inner scores only; the table
shows that point's held-out precision and recall per fold. The last row, the most held-out recall
whose held-out precision is at least 0.5, is no rule (it looks at the unseen fold): it bounds what any
rule could reach with these candidates and weights.

Cheaper than the trainer: ``C`` is fixed (``--c``), and suggestions are scored as the trainer scores
them (rule layer, content gate, best disjoint candidates; no dedupe), so numbers sit within about
0.02 of ``make bench-intelligence``'s.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from bench.extraction_data import Matcher, load_persona
from bench.train_extractor import (
    INNER_FOLDS,
    OUTER_FOLDS,
    THRESHOLDS,
    Operating,
    Prepared,
    _probabilities,
    _scored,
    assign_folds,
    fit,
    point_score,
    prepare,
)
from engram.extract.learned import FactModel

FLOORS = (0.92, 0.9, 0.85, 0.8, 0.7)
SPANS = (1, 2)
GATES = (0, 1, 2)
Curve = dict[Operating, tuple[float, float]]  # point -> (precision, recall)


def f_beta(precision: float, recall: float, beta: float = 1.0) -> float:
    b2 = beta * beta
    return (1 + b2) * precision * recall / (b2 * precision + recall) if precision + recall else 0.0


def most_recall(min_precision: float) -> Callable[[Curve], Operating]:
    """The point with the most recall whose precision is at least ``min_precision`` (then the most precise)."""

    def choose(curve: Curve) -> Operating:
        allowed = [k for k, (p, _) in curve.items() if p >= min_precision] or list(curve)
        return max(allowed, key=lambda k: (curve[k][1], curve[k][0]))

    return choose


def best_f(beta: float) -> Callable[[Curve], Operating]:
    return lambda curve: max(curve, key=lambda k: f_beta(*curve[k], beta))


RULES: Mapping[str, Callable[[Curve], Operating]] = {
    "F1 (the trainer's)": best_f(1.0),
    "F1.5": best_f(1.5),
    "F2": best_f(2.0),
    **{f"most recall, inner P >= {m}": most_recall(m) for m in (0.5, 0.52, 0.55, 0.58)},
}


def curve(passes: Sequence[Prepared], probabilities: Sequence[Sequence[float]]) -> Curve:
    """Precision and recall of every grid point over ``passes`` (as the trainer scores a point)."""
    out: Curve = {}
    for floor in FLOORS:
        for gate in GATES:
            scored = [_scored(p, q, floor, gate) for p, q in zip(passes, probabilities, strict=True)]
            for span in SPANS:
                for threshold in THRESHOLDS:
                    score = point_score(passes, scored, threshold, span)
                    out[(threshold, floor, span, gate)] = (score.precision, score.recall)
    return out


def fold_curves(prepared: Sequence[Prepared], fold: int, c: float) -> tuple[Curve, Curve]:
    """(inner-fold curve on the fold's training dialogues, held-out curve on its unseen ones), short style."""
    folds = assign_folds(prepared, OUTER_FOLDS)
    train = [p for i, p in enumerate(prepared) if folds[i] != fold]
    test = [p for i, p in enumerate(prepared) if folds[i] == fold and not p.long_style]
    inner_folds = assign_folds(train, INNER_FOLDS)
    inner: dict[int, list[float]] = {}
    for k in range(INNER_FOLDS):
        model = FactModel(fit([p for i, p in enumerate(train) if inner_folds[i] != k], c))
        inner.update({i: _probabilities(model, p) for i, p in enumerate(train) if inner_folds[i] == k})
    short = [i for i, p in enumerate(train) if not p.long_style]
    full = FactModel(fit(train, c))
    return (
        curve([train[i] for i in short], [inner[i] for i in short]),
        curve(test, [_probabilities(full, p) for p in test]),
    )


def report(curves: Sequence[tuple[Curve, Curve]]) -> str:
    folds = " | ".join(f"fold {k}: point, held-out P / R" for k in range(len(curves)))
    lines = [
        f"| selection rule (inner folds only) | {folds} |",
        "|---" * (len(curves) + 1) + "|",
    ]
    for name, rule in RULES.items():
        cells = []
        for inner, held in curves:
            point = rule(inner)
            cells.append(f"{point}: {held[point][0]:.3f} / {held[point][1]:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    cells = []
    for _, held in curves:
        point = most_recall(0.5)(held)
        cells.append(f"{point}: {held[point][0]:.3f} / {held[point][1]:.3f}")
    lines.append("| bound, not a rule: most held-out recall at held-out P >= 0.5 | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--persona", type=Path, required=True, help="Synthetic-Persona-Chat CSV")
    parser.add_argument("--c", type=float, default=1.0, help="inverse L2 regularisation (fixed; the trainer chooses)")
    parser.add_argument("--limit", type=int, default=None, help="first N dialogues")
    args = parser.parse_args(argv)
    prepared = prepare(load_persona(args.persona, args.limit), Matcher(use_model=False))
    curves = []
    for fold in range(OUTER_FOLDS):
        curves.append(fold_curves(prepared, fold, args.c))
        print(f"fold {fold} done", file=sys.stderr, flush=True)
    print(report(curves))
    return 0


if __name__ == "__main__":
    sys.exit(main())

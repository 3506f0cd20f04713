"""Train the learned extractor's model, and cross-validate it by conversation.

Usage::

    python -m bench.train_extractor --persona ../shared/eval/persona-chat-dev.csv \\
        [--locomo ../shared/eval/locomo-dev.json --cv] [--out shared/engram/extract/model/fact_model.json]

Training data: Synthetic-Persona-Chat only (:data:`TRAIN_DATASETS`; CC BY 4.0). LoCoMo is
CC BY-NC 4.0, so the shipped weights must not depend on it: it is read only to evaluate
(``--cv``), never to fit weights or choose thresholds.

What is learned. Every candidate of :func:`engram.extract.features.conversation_candidates` is
labelled by the benchmark's matching rule (:mod:`bench.extraction_data`, content words only):
positive when the memory text it would become matches one of the speaker's gold facts. A
logistic regression (scikit-learn, L2, ``C`` = :data:`C`) is fitted on the binary features that
occur at least :data:`MIN_COUNT` times, then refitted on the :data:`MAX_WEIGHTS` features with
the largest weights (so the shipped file stays small). Two more parameters turn probabilities
into memories: the threshold for conversations of short messages and the one for long turns
(:mod:`engram.extract.features`); each is chosen by cross-validation on the training data only
(inner folds), to maximise F1 over the training conversations of that style (a style absent
from the training data takes the other style's threshold).

Held-out protocol (:func:`cross_validate`). Conversations are the unit of every split: the
Persona-Chat dialogues (and the six LoCoMo conversations) go to :data:`OUTER_FOLDS` folds. For
each fold, the model is trained (and its threshold chosen) on the Persona-Chat dialogues of the
other folds and run, as the shipped extractor runs, on the held-out conversations of that fold:
Persona-Chat dialogues it never saw, and LoCoMo conversations, which no model ever sees in
training. Reported: per LoCoMo conversation and per Persona fold, precision and recall, then
mean and standard deviation.

The shipped model is fitted on all the Persona-Chat development dialogues, with the thresholds
chosen by the same cross-validation. Its weights, rounded, go to ``fact_model.json`` with the data's attribution.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.extraction_data import Matcher, SpeakerPass, load_locomo, load_persona
from engram.extract.features import Candidate, conversation_candidates
from engram.extract.learned import FactModel, LearnedExtractor, best_disjoint, memory_text

C = 0.1
MIN_COUNT = 5
MAX_WEIGHTS = 3000
OUTER_FOLDS = 3
INNER_FOLDS = 2
THRESHOLDS = (0.1, 0.125, 0.15, 0.175, 0.2, 0.225, 0.25, 0.275, 0.3, 0.35, 0.4, 0.5)
TRAIN_DATASETS = frozenset({"persona"})  # what the shipped weights may be fitted on (licence)
HELD_OUT_SPLIT = (
    f"{OUTER_FOLDS} folds by conversation; each fold's model fitted on the other folds' Persona-Chat "
    "dialogues only; scored on the fold's unseen Persona-Chat dialogues (mean/sd over folds) and on "
    "every LoCoMo conversation (never fitted on; mean/sd over conversations); content-word rule"
)
DEFAULT_OUT = Path("shared/engram/extract/model/fact_model.json")
ATTRIBUTION = {
    "persona-chat": (
        "Synthetic-Persona-Chat, Google Research (Jandaghi et al. 2023), "
        "https://github.com/google-research-datasets/Synthetic-Persona-Chat, CC BY 4.0: validation split"
    ),
    "locomo": (
        "LoCoMo, Snap Research (Maharana et al. 2024), https://github.com/snap-research/locomo, CC BY-NC 4.0: "
        "conversations conv-26, 30, 41, 42, 43, 44 (observations as labels)"
    ),
}


@dataclass
class Prepared:
    """A speaker pass with its candidates and, for each, the gold facts its memory text matches."""

    source: SpeakerPass
    candidates: list[Candidate]
    hits: list[list[int]] = field(default_factory=list)


def prepare(passes: Sequence[SpeakerPass], matcher: Matcher) -> list[Prepared]:
    out: list[Prepared] = []
    for item in passes:
        candidates = conversation_candidates(item.messages)
        hits = [matcher.hits(memory_text(c.text), item.facts, item.subject_words) for c in candidates]
        out.append(Prepared(item, candidates, hits))
    return out


def fit(prepared: Sequence[Prepared]) -> dict[str, float]:
    """Weights of a logistic regression on the candidates' features (bias folded into ``bias``)."""
    counts: Counter[str] = Counter(f for p in prepared for c in p.candidates for f in c.features)
    weights = _fit(prepared, {f for f, n in counts.items() if n >= MIN_COUNT})
    if len(weights) > MAX_WEIGHTS:
        strongest = sorted(weights, key=lambda f: -abs(weights[f]))[:MAX_WEIGHTS]
        weights = _fit(prepared, set(strongest) | {"bias"})
    return weights


def _fit(prepared: Sequence[Prepared], keep: set[str]) -> dict[str, float]:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    rows = [{f: 1 for f in c.features if f in keep} for p in prepared for c in p.candidates]
    labels = [bool(h) for p in prepared for h in p.hits]
    vectorizer = DictVectorizer()
    matrix = vectorizer.fit_transform(rows)
    model = LogisticRegression(C=C, max_iter=3000).fit(matrix, labels)
    names = vectorizer.get_feature_names_out()
    weights = {str(name): float(w) for name, w in zip(names, model.coef_[0], strict=True) if w}
    weights["bias"] = weights.get("bias", 0.0) + float(model.intercept_[0])
    return weights


@dataclass
class Score:
    suggestions: int = 0
    matched: int = 0
    facts: int = 0
    found: int = 0

    def add(self, hits: Sequence[Sequence[int]], facts: int) -> None:
        self.suggestions += len(hits)
        self.matched += sum(1 for h in hits if h)
        self.facts += facts
        self.found += len({i for h in hits for i in h})

    @property
    def precision(self) -> float:
        return self.matched / self.suggestions if self.suggestions else 0.0

    @property
    def recall(self) -> float:
        return self.found / self.facts if self.facts else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def choose_thresholds(train: Sequence[Prepared]) -> tuple[float, float]:
    """(short-style, long-style) thresholds maximising F1 over inner folds of ``train``."""
    folds = assign_folds(train, INNER_FOLDS)
    probabilities: dict[int, list[float]] = {}
    for k in range(INNER_FOLDS):
        model = FactModel(fit([p for i, p in enumerate(train) if folds[i] != k]))
        for i, p in enumerate(train):
            if folds[i] == k:
                probabilities[i] = [model.probability(c.features) for c in p.candidates]
    chosen: list[float] = []
    for long_style in (False, True):
        passes = [i for i, p in enumerate(train) if p.candidates and p.candidates[0].long_style == long_style]
        best = (-1.0, chosen[0] if chosen else 0.5)
        for threshold in THRESHOLDS:
            score = Score()
            for i in passes:
                p = train[i]
                kept = _select(p.candidates, probabilities[i], threshold)
                score.add([p.hits[j] for j in kept], len(p.source.facts))
            if passes and score.f1 > best[0]:
                best = (score.f1, threshold)
        chosen.append(best[1])
    if not any(p.candidates and not p.candidates[0].long_style for p in train):
        chosen[0] = chosen[1]  # no short-style training conversations: use the long-style threshold
    return chosen[0], chosen[1]


def _select(candidates: Sequence[Candidate], probabilities: Sequence[float], threshold: float) -> list[int]:
    """The same choice as :meth:`LearnedExtractor.select`, on precomputed probabilities."""
    index = {id(c): j for j, c in enumerate(candidates)}
    by_message: dict[int, list[tuple[Candidate, float]]] = {}
    for c, p in zip(candidates, probabilities, strict=True):
        if p >= threshold:
            by_message.setdefault(c.message, []).append((c, p))
    return sorted(index[id(c)] for scored in by_message.values() for c, _ in best_disjoint(scored, threshold))


def assign_folds(prepared: Sequence[Prepared], k: int) -> list[int]:
    """Fold of each pass: conversations of each dataset dealt round-robin in their file order."""
    order: dict[str, dict[str, int]] = {}
    for p in prepared:
        groups = order.setdefault(p.source.dataset, {})
        groups.setdefault(p.source.group, len(groups))
    return [order[p.source.dataset][p.source.group] % k for p in prepared]


def trainable(prepared: Sequence[Prepared]) -> list[Prepared]:
    """The passes the shipped weights may be fitted on (:data:`TRAIN_DATASETS`)."""
    return [p for p in prepared if p.source.dataset in TRAIN_DATASETS]


def train_model(prepared: Sequence[Prepared]) -> FactModel:
    """Fit weights and thresholds on the trainable passes of ``prepared`` (the rest are ignored)."""
    prepared = trainable(prepared)
    threshold, threshold_long = choose_thresholds(prepared)
    return FactModel(fit(prepared), threshold=threshold, threshold_long=threshold_long)


Extract = Callable[[SpeakerPass], list[tuple[str, str]]]  # (memory text, memory type) per suggestion


@dataclass
class HeldOut:
    """What each system suggested for each pass, each pass's fold, and the learned operating points."""

    folds: list[int]
    outputs: dict[str, dict[int, list[tuple[str, str]]]]
    operating_points: list[dict[str, float]]


def cross_validate(prepared: Sequence[Prepared], baselines: dict[str, Extract], log: Callable[[str], None]) -> HeldOut:
    """Run the learned extractor on every pass with a model that never saw its conversation.

    For each outer fold the model (weights, threshold, cap) is trained on the trainable passes
    (:data:`TRAIN_DATASETS`) of the other folds and the shipped code path
    (:class:`LearnedExtractor`) runs on the held-out passes. The baselines are not trained: they
    run on every pass.
    """
    folds = assign_folds(prepared, OUTER_FOLDS)
    outputs: dict[str, dict[int, list[tuple[str, str]]]] = {"learned": {}}
    operating: list[dict[str, float]] = []
    for k in range(OUTER_FOLDS):
        train = [p for i, p in enumerate(prepared) if folds[i] != k]
        model = train_model(train)
        operating.append({"fold": k, "threshold": model.threshold, "threshold_long": model.threshold_long})
        log(f"fold {k}: thresholds {model.threshold} / {model.threshold_long} (long), {len(model.weights)} weights")
        extractor = LearnedExtractor(model=model)
        for i, p in enumerate(prepared):
            if folds[i] == k:
                result = extractor.extract(p.source.messages)
                outputs["learned"][i] = [(s.content, s.memory_type) for s in result.suggestions]
    for name, extract in baselines.items():
        outputs[name] = {i: extract(p.source) for i, p in enumerate(prepared)}
    return HeldOut(folds, outputs, operating)


def held_out_scores(prepared: Sequence[Prepared], held_out: HeldOut, matcher: Matcher) -> dict[str, Any]:
    """Per system and dataset: P/R per held-out unit (LoCoMo conversation, Persona fold), mean, spread."""
    matcher.prepare(
        [t for texts in held_out.outputs.values() for ts in texts.values() for t, _ in ts]
        + [f for p in prepared for f in p.source.facts]
    )
    out: dict[str, Any] = {}
    for name, texts in held_out.outputs.items():
        units: dict[str, dict[str, Score]] = {}
        by_type: dict[str, Counter[str]] = {}
        for i, p in enumerate(prepared):
            unit = p.source.group if p.source.dataset == "locomo" else f"fold-{held_out.folds[i]}"
            score = units.setdefault(p.source.dataset, {}).setdefault(unit, Score())
            hits = [matcher.hits(t, p.source.facts, p.source.subject_words) for t, _ in texts[i]]
            score.add(hits, len(p.source.facts))
            types = by_type.setdefault(p.source.dataset, Counter())
            for (_, memory_type), hit in zip(texts[i], hits, strict=True):
                types[memory_type] += 1
                types[f"{memory_type}:matched"] += bool(hit)
        out[name] = {dataset: _summary(by_unit, by_type[dataset]) for dataset, by_unit in units.items()}
    return out


def _summary(by_unit: dict[str, Score], types: Counter[str]) -> dict[str, Any]:
    precision = [s.precision for s in by_unit.values()]
    recall = [s.recall for s in by_unit.values()]
    return {
        "precision_mean": round(statistics.mean(precision), 3),
        "precision_sd": round(statistics.pstdev(precision), 3),
        "recall_mean": round(statistics.mean(recall), 3),
        "recall_sd": round(statistics.pstdev(recall), 3),
        "suggestions": sum(s.suggestions for s in by_unit.values()),
        "facts": sum(s.facts for s in by_unit.values()),
        "units": {u: {"precision": round(s.precision, 3), "recall": round(s.recall, 3)} for u, s in by_unit.items()},
        "by_type": {
            t: {"count": n, "matched": types[f"{t}:matched"]} for t, n in sorted(types.items()) if ":" not in t
        },
    }


def model_json(model: FactModel, prepared: Sequence[Prepared], cv: dict[str, Any] | None) -> dict[str, Any]:
    datasets = sorted({p.source.dataset for p in prepared})
    trained = sorted({p.source.dataset for p in trainable(prepared)})
    fitted = trainable(prepared)
    return {
        "format": 1,
        "kind": "logistic regression over engram.extract.features candidates",
        "threshold": model.threshold,
        "threshold_long": model.threshold_long,
        "trained_on": {name: ATTRIBUTION["persona-chat" if name == "persona" else "locomo"] for name in trained},
        "evaluated_on": {name: ATTRIBUTION["persona-chat" if name == "persona" else "locomo"] for name in datasets},
        "training": {
            "C": C,
            "min_count": MIN_COUNT,
            "max_weights": MAX_WEIGHTS,
            "candidates": sum(len(p.candidates) for p in fitted),
            "positives": sum(1 for p in fitted for h in p.hits if h),
            "label": "memory text matches a gold fact of the speaker: content-word F1 >= 0.5",
        },
        "held_out_split": HELD_OUT_SPLIT if cv else None,
        "held_out": cv,
        "weights": {k: round(v, 4) for k, v in sorted(model.weights.items()) if abs(v) >= 5e-4},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--persona", type=Path, required=True, help="Synthetic-Persona-Chat CSV")
    parser.add_argument(
        "--locomo", type=Path, default=None, help="LoCoMo JSON: held-out evaluation only (--cv), never fitted on"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the model")
    parser.add_argument("--cv", action="store_true", help="also cross-validate (bench.intelligence reports it too)")
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    matcher = Matcher(use_model=False)
    passes = load_persona(args.persona) + (load_locomo(args.locomo) if args.locomo else [])
    prepared = prepare(passes, matcher)
    log(f"{len(prepared)} speaker passes, {sum(len(p.candidates) for p in prepared)} candidates")
    cv = None
    if args.cv:
        scores = held_out_scores(prepared, cross_validate(prepared, {}, log), matcher)["learned"]
        for dataset, row in scores.items():
            log(
                f"held out {dataset}: P {row['precision_mean']:.3f} ± {row['precision_sd']:.3f}, "
                f"R {row['recall_mean']:.3f} ± {row['recall_sd']:.3f}"
            )
        keep = ("precision_mean", "precision_sd", "recall_mean", "recall_sd")
        cv = {d: {k: row[k] for k in keep} for d, row in scores.items()}
    model = train_model(prepared)
    payload = model_json(model, prepared, cv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=0, separators=(",", ":")) + "\n", encoding="utf-8")
    thresholds = f"thresholds {model.threshold} short, {model.threshold_long} long"
    log(f"wrote {args.out}: {len(payload['weights'])} weights, {thresholds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

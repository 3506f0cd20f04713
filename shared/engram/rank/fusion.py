"""The fusion: one logistic model over the features, and a score that is a sum of named terms.

**The model.** ``z = bias + Σ weight_f · value_f`` over the features of
:mod:`engram.rank.features`. The learned weights (vector, text, coverage, names, date) come from
a logistic regression fitted by ``bench/retrieval.py`` on LoCoMo questions against their
candidate memories, with the two classes weighted equally — so the score is the probability of
"this memory is what the query asks about" *at even prior odds*: ``score / (1 - score)`` is how
many times likelier the memory's features are among true matches than among other candidates
the index offers. It does not depend on how many memories a namespace holds, which is what lets
one threshold mean the same thing in a namespace of ten memories and one of ten thousand. The
usage weights (entities, feedback, access) are not learnable from public data; they are fixed
prior-odds adjustments, set by hand and documented with the weights.

**The score as a sum.** ``score = sigmoid(z)``, rounded to 6 decimals. Explain must show terms
that add up to that score, and a logistic model is additive in ``z``, not in the score. The
terms are therefore the model's Shapley values in score space: start from the ``prior`` term
``sigmoid(bias)`` (a memory about which nothing is known: every feature at 0), and give each
feature its average marginal effect on the score over every order in which the features could
be added. That is exact (the terms sum to ``sigmoid(z) - sigmoid(bias)``), does not depend on
an arbitrary order, gives a feature at 0 a contribution of 0, and keeps each term's sign equal to
the sign of ``weight · value``. With ``n`` non-zero features it costs ``n · 2^(n-1)`` sigmoids
(at most 9 features), computed only for the memories whose terms are shown. Each term is
rounded to 6 decimals; the rounding residue (at most a few 1e-6) goes to the largest term, so
the shown terms add up exactly to the shown score.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations

ROUND = 6


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class Term:
    name: str
    weight: float
    value: float
    contribution: float


@dataclass(frozen=True)
class RankModel:
    """A fitted logistic model: ``bias`` and one weight per feature name."""

    bias: float
    weights: Mapping[str, float]
    threshold: float = 0.7
    source: str = ""  # how the weights were obtained (shown by explain)

    def logit(self, values: Mapping[str, float]) -> float:
        return self.bias + math.fsum(w * values.get(name, 0.0) for name, w in self.weights.items())

    def score(self, values: Mapping[str, float]) -> float:
        return round(sigmoid(self.logit(values)), ROUND)

    def terms(self, values: Mapping[str, float]) -> list[Term]:
        """The prior, then one term per feature (in the model's order); they add up to :meth:`score`."""
        parts = {name: w * values.get(name, 0.0) for name, w in self.weights.items()}
        shapley = _shapley(self.bias, {n: c for n, c in parts.items() if c != 0.0})
        prior = round(sigmoid(self.bias), ROUND)
        terms = [Term("prior", self.bias, 1.0, prior)]
        for name, w in self.weights.items():
            terms.append(Term(name, w, values.get(name, 0.0), round(shapley.get(name, 0.0), ROUND)))
        residue = round(self.score(values) - math.fsum(t.contribution for t in terms), ROUND)
        if residue:
            i = max(range(1, len(terms)), key=lambda j: abs(terms[j].contribution), default=0)
            t = terms[i]
            terms[i] = Term(t.name, t.weight, t.value, round(t.contribution + residue, ROUND))
        return terms


def _shapley(bias: float, parts: Mapping[str, float]) -> dict[str, float]:
    """Exact Shapley values of ``S ↦ sigmoid(bias + Σ_{i∈S} parts[i])``."""
    names = list(parts)
    n = len(names)
    if n == 0:
        return {}
    weight = [math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)]
    out = {}
    for i, name in enumerate(names):
        others = [parts[names[j]] for j in range(n) if j != i]
        total = 0.0
        for size in range(n):
            for subset in _subset_sums(others, size):
                base = bias + subset
                total += weight[size] * (sigmoid(base + parts[name]) - sigmoid(base))
        out[name] = total
    return out


def _subset_sums(values: list[float], size: int) -> Iterable[float]:
    for combo in combinations(values, size):
        yield math.fsum(combo)

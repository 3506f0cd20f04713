"""The shipped ranking weights, per embedder.

**Procedure.** The learned part (bias and the weights of vector, text, coverage, names, date,
vector gap and slot) is a logistic regression (scikit-learn, L2, C = 1, both classes weighted
equally) over every candidate the index offers for each question (each turn a memory, with or
without the turn before as its ``context``: see below), evidence turns positive, plus the same questions
with the speakers' names swapped for absent names (all candidates negative); then the bias is
moved so that the default threshold sits where, on the fitted conversations, (share of answerable
questions with an evidence memory returned) + (share of absent-name questions with nothing
returned) is largest. ``bench/retrieval.py`` judges that procedure held out — fitted on five
conversations, reported on the sixth, six times — and ``make bench-retrieval`` prints those
figures. The weights below are the same procedure fitted on all six development conversations
(``bench/retrieval.py --write-weights``), so no held-out figure is computed with them.

**Data.** Fitted on LoCoMo (Maharana et al., 2024, snap-research/LoCoMo, CC BY-NC 4.0),
conversations conv-26, 30, 41, 42, 43, 44. Only the handful of coefficients below is shipped;
no text of the dataset is.

**Per embedder.** Each embedder has its own fit (its cosines are put on its own scale by
:mod:`engram.embed.calibration` first), so a score of 0.7 marks the same operating point — the
best separation of answerable questions from questions about absent people — whichever embedder
is on. Embedders without a fit here (Titan: no AWS access) use MiniLM's; refit with the bench
when the embedder can run.

**With and without context.** Two fits per embedder: ``FITTED`` on turns created without
context, for memories without one, and ``FITTED_CONTEXT`` on turns created with the turn before as
their context, for memories with one (in one query each candidate is scored by the model of its
kind; both are calibrated to the same threshold). One fit for both was tried: the context fit
ranks memories without context worse (held out, turns without context r@10 70.3 against 70.9,
LoCoMo's observations 75.7 against 76.8) and lets "What is the user's favourite colour?" through on
the seed memories; ``make bench-retrieval`` prints those rows.

**Short facts.** Product memories are short facts, not dialogue turns. ``make bench-retrieval``
also reports the procedure with LoCoMo's observations (third-person facts tied to turns) as the
memories: the ranker is no stricter on them than on turns. What lifts a stated fact that matches a
question in meaning alone ("What timezone is the user in?" → "User is based in Singapore") is not
refitting on facts but two features that mean the same on turns and on facts: ``vector_gap`` (the
memory is the query's nearest in meaning) and ``slot`` (the memory fills a fact slot of the topic
the question asks about, :mod:`engram.rank.slots`). Both are fitted here on turns like the rest;
the seed examples are tests, never training data.

**Usage weights** are set by hand, because no public data says how much a user's feedback
should count: the seed's bonuses (entity 0.06, feedback 0.08 per point, access 0.01 per use up
to 25) converted to logit units at the threshold (the slope of the sigmoid at 0.7 is 0.21), so a
reinforced memory moves by about what the seed promises there.
"""

from __future__ import annotations

from engram.rank.fusion import RankModel

DEFAULT_THRESHOLD = 0.7
USAGE_WEIGHTS = {"entities": 0.3, "feedback": 0.4, "access": 0.05}
FALLBACK = "minilm"

# --- fitted by bench/retrieval.py --write-weights: begin ---
FITTED: dict[str, dict[str, float]] = {
    "minilm": {
        "bias": -2.7670,
        "vector": 0.4196,
        "text": 0.9989,
        "coverage": 6.3830,
        "name_subject": 2.2029,
        "name_unknown": -2.6060,
        "date": 1.7550,
        "vector_gap": 1.4425,
        "slot": 3.2044,
    },
    "hashing": {
        "bias": -4.4707,
        "vector": -0.1494,
        "text": 3.0449,
        "coverage": 6.3057,
        "name_subject": 2.9259,
        "name_unknown": -3.0997,
        "date": 1.2686,
        "vector_gap": 0.0936,
        "slot": 2.5746,
    },
}
FITTED_CONTEXT: dict[str, dict[str, float]] = {
    "minilm": {
        "bias": -1.9995,
        "vector": -0.1546,
        "text": 2.4563,
        "coverage": 3.4035,
        "name_subject": 3.3257,
        "name_unknown": -2.6845,
        "date": 1.3216,
        "vector_gap": 2.1564,
        "slot": 3.6319,
    },
    "hashing": {
        "bias": -3.4139,
        "vector": -0.2786,
        "text": 3.6683,
        "coverage": 3.5517,
        "name_subject": 3.0752,
        "name_unknown": -3.5134,
        "date": 1.3913,
        "vector_gap": 0.5183,
        "slot": 2.9099,
    },
}
SOURCE = (
    "bench/retrieval.py --write-weights: fitted on all 6 LoCoMo dev conversations (883 "
    "questions; LoCoMo, CC BY-NC 4.0); held-out figures of the procedure: make bench-retrieval"
)
# --- fitted by bench/retrieval.py --write-weights: end ---

_models: dict[str, RankModel] = {}


def model_for(embedder: str, threshold: float = DEFAULT_THRESHOLD, *, context: bool = False) -> RankModel:
    """The model of an embedder: for memories without context (``FITTED``), or with one
    (``context``: ``FITTED_CONTEXT``)."""
    table, kind = (FITTED_CONTEXT, "context") if context else (FITTED, "no-context")
    key = embedder if embedder in table else FALLBACK
    found = _models.get(f"{key}:{kind}:{threshold}")
    if found is None:
        fitted = dict(table[key])
        bias = fitted.pop("bias")
        found = RankModel(
            bias=bias,
            weights={**fitted, **USAGE_WEIGHTS},
            threshold=threshold,
            source=f"{SOURCE} ({key} weights, memories {'with' if context else 'without'} context)",
        )
        _models[f"{key}:{kind}:{threshold}"] = found
    return found

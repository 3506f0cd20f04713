"""The shipped ranking weights, per embedder.

The learned part (bias and the weights of vector, text, coverage, names and date) is fitted by
``bench/retrieval.py --write-weights`` on the LoCoMo development conversations: a logistic
regression, both classes weighted equally, with the bias then moved so that the default
threshold sits where it best separates answerable questions from questions about absent
people (see the bench's docstring). The block between the markers below is rewritten by the
bench; the held-out figures of the same procedure are printed by ``make bench-retrieval``.

The usage weights are set by hand, because no public data says how much a user's feedback
should count: they are the seed's bonuses (entity 0.06, feedback 0.08 per point, access 0.01 per
use up to 25) converted to logit units where it matters, at the threshold (the slope of the
sigmoid at 0.7 is 0.21), so a reinforced memory moves by about what the seed promises there.

Embedders without fitted weights (Titan) use MiniLM's: the ``vector`` feature is put on each
embedder's own scale by :mod:`engram.embed.calibration`, so the weights carry over; refit with
the bench when the embedder can run here.
"""

from __future__ import annotations

from engram.rank.fusion import RankModel

DEFAULT_THRESHOLD = 0.7
USAGE_WEIGHTS = {"entities": 0.3, "feedback": 0.4, "access": 0.05}
FALLBACK = "minilm"

# --- fitted by bench/retrieval.py --write-weights: begin ---
FITTED: dict[str, dict[str, float]] = {
    "minilm": {
        "bias": -4.36,
        "vector": 1.27,
        "text": 3.74,
        "coverage": 1.56,
        "name_subject": 2.73,
        "name_unknown": -2.18,
        "date": 1.57,
    },
}
SOURCE = "placeholder"
# --- fitted by bench/retrieval.py --write-weights: end ---

_models: dict[str, RankModel] = {}


def model_for(embedder: str, threshold: float = DEFAULT_THRESHOLD) -> RankModel:
    key = embedder if embedder in FITTED else FALLBACK
    found = _models.get(f"{key}:{threshold}")
    if found is None:
        fitted = dict(FITTED[key])
        bias = fitted.pop("bias")
        found = RankModel(
            bias=bias,
            weights={**fitted, **USAGE_WEIGHTS},
            threshold=threshold,
            source=f"{SOURCE} ({key} weights)",
        )
        _models[f"{key}:{threshold}"] = found
    return found

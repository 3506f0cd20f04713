"""Per-embedder calibration: raw cosine similarity → a 0-1 ``vector_score`` that means the same
thing whichever embedder is on, so ``threshold: 0.7`` keeps its meaning.

Raw cosines live in different ranges per model (MiniLM puts unrelated sentences near 0.05 and
paraphrases near 0.7; feature hashing rarely exceeds 0.4 even for a good match). Each embedder
gets a logistic map ``1 / (1 + exp(-(cos - noise) / scale))`` with ``scale = (match - noise) /
ln 4``, through two anchors measured on LoCoMo (dev split, question ↔ dialogue turn, same
conversation):

* ``noise``: the median cosine between a question and a turn that is *not* its evidence —
  maps to 0.5 ("as similar as typical unrelated text");
* ``match``: the median cosine between a question and one of its evidence turns — maps to 0.8
  ("a typical true match").

So 0.7 sits two-thirds of the way from typical noise to a typical match. ``bench/retrieval.py --fit-calibration``
recomputes the anchors (and reports the share of true matches and of noise that clear 0.7, the
check that the threshold means the same for each embedder). The map is strictly increasing and
never saturates (an affine map clipped at 1 would tie all strong matches), so it never changes
a vector ranking, only what the threshold admits. Unknown embedders fall back to the identity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

NOISE_SCORE = 0.5
MATCH_SCORE = 0.8


@dataclass(frozen=True)
class Calibration:
    noise: float  # raw cosine that maps to 0.5
    match: float  # raw cosine that maps to 0.8

    def __call__(self, raw: float) -> float:
        if self.match <= self.noise:
            return max(0.0, min(1.0, raw))
        scale = (self.match - self.noise) / math.log(MATCH_SCORE / (1.0 - MATCH_SCORE))
        z = (raw - self.noise) / scale
        if z < -60:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    def as_dict(self) -> dict[str, float]:
        return {
            "noise_cosine": self.noise,
            "match_cosine": self.match,
            "noise_score": NOISE_SCORE,
            "match_score": MATCH_SCORE,
        }


# Fitted with bench/retrieval.py --fit-calibration on locomo-dev (6 conversations, 3 435 turns,
# 883 questions): noise = median non-evidence cosine, match = median evidence cosine.
CALIBRATIONS: dict[str, Calibration] = {
    "hashing": Calibration(noise=0.067, match=0.170),
    "minilm": Calibration(noise=0.232, match=0.471),
    # Titan v2 (1024-d, normalised) was not measured here (no AWS access); anchors from its
    # published behaviour on short English text — refit with the bench when deploying.
    "titan-v2": Calibration(noise=0.30, match=0.55),
}


class _Identity(Calibration):
    def __call__(self, raw: float) -> float:
        return max(0.0, min(1.0, raw))


IDENTITY = _Identity(noise=0.0, match=0.0)


def calibration_for(embedder_name: str) -> Calibration:
    return CALIBRATIONS.get(embedder_name, IDENTITY)

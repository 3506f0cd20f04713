"""HashingEmbedder: deterministic, dependency-free text vectors (the "hashing trick").

Features: word unigrams (stopwords dropped), word bigrams (stopwords kept, so "not happy"
survives) and character 4-grams inside ``#word#``; each feature is hashed with BLAKE2b (stable
across processes, unlike ``hash()``) to a bucket and a sign, weighted by kind, with sublinear
term frequency, and the vector is L2-normalised. Similar wording gives similar vectors; it knows
nothing of synonyms. It is meant for tests and tiny installs, not for quality.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence

from engram.index.text import STOPWORDS, stem

_WORD_RE = re.compile(r"\w+", re.UNICODE)

UNIGRAM_WEIGHT = 1.0
BIGRAM_WEIGHT = 0.6
CHARGRAM_WEIGHT = 0.25
CHARGRAM = 4


class HashingEmbedder:
    def __init__(self, dimensions: int = 384) -> None:
        if dimensions < 8:
            raise ValueError("dimensions must be at least 8")
        self._dimensions = dimensions

    @property
    def name(self) -> str:
        return "hashing"

    @property
    def dimensions(self) -> int:
        return self._dimensions

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._one(text) for text in texts]

    def _features(self, text: str) -> Counter[str]:
        words = [w.lower() for w in _WORD_RE.findall(text)]
        feats: Counter[str] = Counter()
        for word in words:
            if word not in STOPWORDS:
                feats["u:" + stem(word)] += 1
        for a, b in itertools.pairwise(words):
            feats["b:" + a + " " + b] += 1
        for word in words:
            if word in STOPWORDS or len(word) < CHARGRAM - 1:
                continue
            padded = f"#{word}#"
            for i in range(len(padded) - CHARGRAM + 1):
                feats["c:" + padded[i : i + CHARGRAM]] += 1
        return feats

    def _one(self, text: str) -> list[float]:
        vec = [0.0] * self._dimensions
        for feat, count in self._features(text).items():
            digest = hashlib.blake2b(feat.encode(), digest_size=8).digest()
            value = int.from_bytes(digest, "little")
            bucket = value % self._dimensions
            sign = 1.0 if (value >> 63) & 1 else -1.0
            kind = feat[0]
            weight = UNIGRAM_WEIGHT if kind == "u" else BIGRAM_WEIGHT if kind == "b" else CHARGRAM_WEIGHT
            vec[bucket] += sign * weight * (1.0 + math.log(count))
        norm = math.sqrt(sum(v * v for v in vec))
        if norm == 0.0:
            return vec
        return [v / norm for v in vec]

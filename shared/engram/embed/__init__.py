"""Embedders: the port (:mod:`engram.embed.ports`, re-exported here) and the adapter picker.

``get_embedder(settings)`` picks the adapter from ``settings.embedder``:

* ``hashing`` — dependency-free, deterministic feature hashing (tests, tiny installs);
* ``local`` — all-MiniLM-L6-v2 in numpy over its offline weights, no torch (local mode);
* ``bedrock`` — Amazon Titan Text Embeddings v2 through ``bedrock-runtime`` (AWS).

Adapters import their heavy dependencies inside methods, so importing this package is free;
``warm_embedder(settings)`` loads the configured model up front (a server calls it at start).
Services import the port (:mod:`engram.embed.ports`, re-exported here), never this package:
only the composition root (:mod:`engram.container`) picks an adapter.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from engram.embed.ports import Embedder, EmbeddingError

if TYPE_CHECKING:
    from engram.config import Settings

__all__ = ["Embedder", "EmbeddingError", "get_embedder", "normalise", "reset_embedders"]


_lock = threading.Lock()
_cache: dict[tuple[str, str, int, str], Embedder] = {}


def get_embedder(settings: Settings) -> Embedder:
    """One embedder per configuration per process (a model is loaded once per container)."""
    key = (settings.embedder, settings.bedrock_embedding_model, settings.embedding_dimensions, settings.region)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            return found
        embedder: Embedder
        if settings.embedder == "hashing":
            from engram.embed.hashing import HashingEmbedder

            embedder = HashingEmbedder(settings.embedding_dimensions)
        elif settings.embedder == "local":
            from engram.embed.local_model import LocalModelEmbedder

            embedder = LocalModelEmbedder()
        else:
            from engram.embed.bedrock import BedrockEmbedder

            embedder = BedrockEmbedder(
                model_id=settings.bedrock_embedding_model,
                dimensions=settings.embedding_dimensions,
                region=settings.region,
            )
        _cache[key] = embedder
        return embedder


def warm_embedder(settings: Settings) -> Embedder:
    """The configured embedder, with its model loaded and run once (adapters without a model
    to load, hashing and Bedrock, are returned as they are)."""
    embedder = get_embedder(settings)
    warm = getattr(embedder, "warm", None)
    if callable(warm):
        warm()
    return embedder


def reset_embedders() -> None:
    with _lock:
        _cache.clear()


def normalise(vector: Sequence[float]) -> list[float]:
    norm = sum(v * v for v in vector) ** 0.5
    if norm == 0.0:
        return [0.0] * len(vector)
    return [float(v) / norm for v in vector]

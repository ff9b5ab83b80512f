"""The guardrail's second layer: a linear model over hashed character n-grams, scored per
256-character window so that one injected sentence in a long message still stands out.

Training (`scripts/train_guard.py`) and scoring share `block_ngrams`, so the shipped model
sees exactly the features it was fitted on. Scoring is a few numpy gathers: no scikit-learn
at run time."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["MODEL_PATH", "NgramModel", "block_ngrams", "load_model", "windows_of"]

MODEL_PATH = Path(__file__).with_name("model.npz")
BITS = 18
NGRAM_SIZES = (3, 4, 5)
BLOCK = 128  # a window is two blocks; consecutive windows overlap by one block
_PRIME = np.uint64(1_000_003)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_SHIFT = np.uint64(64 - BITS)

IntArray = npt.NDArray[np.int64]


def block_ngrams(text: str) -> tuple[IntArray, IntArray, int]:
    """(block of each n-gram occurrence, its hashed bucket, number of blocks)."""
    codes = np.frombuffer(f" {text} ".encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    blocks, buckets = [], []
    hashed = np.zeros(len(codes), dtype=np.uint64)
    for size in range(1, NGRAM_SIZES[-1] + 1):  # the hash of n-grams grows by one character
        count = len(codes) - size + 1
        if count <= 0:
            break
        hashed = hashed[:count] * _PRIME + codes[size - 1 : size - 1 + count]
        if size in NGRAM_SIZES:
            mixed = (hashed ^ np.uint64(size << 56)) * _MIX
            buckets.append((mixed >> _SHIFT).astype(np.int64))
            blocks.append(np.arange(count, dtype=np.int64) // BLOCK)
    if not buckets:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, 1
    return np.concatenate(blocks), np.concatenate(buckets), int(blocks[0][-1]) + 1


def windows_of(per_block: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per-window sums from per-block sums: window k is blocks k and k + 1."""
    return per_block if len(per_block) == 1 else per_block[:-1] + per_block[1:]


@dataclass(frozen=True)
class NgramModel:
    """Logistic regression weights over the hashed n-gram buckets."""

    weights: npt.NDArray[np.float32]
    intercept: float
    threshold: float

    def window_scores(self, text: str) -> npt.NDArray[np.float64]:
        """The probability, per window of the text, that it is an injection."""
        block_ids, buckets, blocks = block_ngrams(text)
        if len(buckets) == 0:
            return np.zeros(1)
        per_block = np.bincount(block_ids, weights=self.weights[buckets], minlength=blocks)
        sums = windows_of(per_block.astype(np.float64))
        counts = windows_of(np.bincount(block_ids, minlength=blocks).astype(np.float64))
        logits = sums / np.sqrt(np.maximum(counts, 1.0)) + self.intercept
        return 1.0 / (1.0 + np.exp(-logits))

    def score(self, text: str) -> float:
        """The highest window probability."""
        return float(self.window_scores(text).max())


@lru_cache(maxsize=1)
def load_model(path: Path = MODEL_PATH) -> NgramModel:
    """The shipped model, read once per process."""
    with np.load(path) as data:
        weights = np.zeros(1 << BITS, dtype=np.float32)
        weights[data["buckets"]] = data["values"].astype(np.float32)
        return NgramModel(weights, float(data["intercept"]), float(data["threshold"]))


def save_model(path: Path, weights: npt.NDArray[np.float64], intercept: float,
               threshold: float) -> None:
    """Writes the non-zero weights (float16) compressed; `load_model` reads it back."""
    buckets = np.flatnonzero(np.abs(weights) >= 1e-3).astype(np.uint32)
    np.savez_compressed(path, buckets=buckets, values=weights[buckets].astype(np.float16),
                        intercept=np.float64(intercept), threshold=np.float64(threshold))

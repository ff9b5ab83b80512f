"""The guardrail's second layer: a linear model over hashed character n-grams, scored per
256-character window so that one injected sentence in a long message still stands out.

Training (`scripts/train_guard.py`) and scoring share `segment_ngrams`, so the shipped model
sees exactly the features it was fitted on. Scoring is a few numpy gathers: no scikit-learn
at run time."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["MODEL_PATH", "NgramModel", "load_model", "segment_ngrams"]

MODEL_PATH = Path(__file__).with_name("model.npz")
BITS = 18
NGRAM_SIZES = (3, 4, 5)
BLOCK = 128  # a window is two blocks; consecutive windows overlap by one block
_PRIME = np.uint64(1_000_003)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_SHIFT = np.uint64(64 - BITS)

IntArray = npt.NDArray[np.int64]


def segment_ngrams(text: str) -> tuple[IntArray, IntArray, int]:
    """(window of each n-gram occurrence, its hashed bucket, number of windows)."""
    padded = f" {text} "
    codes = np.frombuffer(padded.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    positions, buckets = [], []
    for size in NGRAM_SIZES:
        count = len(codes) - size + 1
        if count <= 0:
            continue
        hashed = np.full(count, size, dtype=np.uint64)
        for offset in range(size):
            hashed = hashed * _PRIME + codes[offset : offset + count]
        buckets.append(((hashed * _MIX) >> _SHIFT).astype(np.int64))
        positions.append(np.arange(count, dtype=np.int64))
    if not buckets:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, 1
    block = np.concatenate(positions) // BLOCK
    bucket = np.concatenate(buckets)
    windows = max(1, int(block.max()))  # blocks - 1, at least one window
    # Block b belongs to window b (if it exists) and to window b - 1 (if b > 0).
    first = block < windows
    second = block > 0
    window_ids = np.concatenate([block[first], block[second] - 1])
    return window_ids, np.concatenate([bucket[first], bucket[second]]), windows


@dataclass(frozen=True)
class NgramModel:
    """Logistic regression weights over the hashed n-gram buckets."""

    weights: npt.NDArray[np.float32]
    intercept: float
    threshold: float

    def window_scores(self, text: str) -> npt.NDArray[np.float64]:
        """The probability, per window of the text, that it is an injection."""
        window_ids, buckets, windows = segment_ngrams(text)
        if len(buckets) == 0:
            return np.zeros(1)
        sums = np.bincount(window_ids, weights=self.weights[buckets], minlength=windows)
        counts = np.bincount(window_ids, minlength=windows)
        logits = sums / np.sqrt(np.maximum(counts, 1)) + self.intercept
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


def logit(probability: float) -> float:
    return math.log(probability / (1 - probability))

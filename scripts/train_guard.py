"""Trains the guardrail's classifier on the training split of the project's corpus and writes
`app/guardrail/model.npz` (logistic regression over hashed character n-grams).

The regularisation and the threshold are chosen on out-of-fold scores of the training split
(folds grouped by template, so a fold is scored by a model that never saw its phrasing); the
held-out split is never read here.

    .venv/bin/python -m scripts.train_guard            # needs scikit-learn (the dev extra)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from app.guardrail import CLASSIFIER_MIN_CHARS
from app.guardrail.classifier import BITS, MODEL_PATH, block_ngrams, save_model
from app.guardrail.pipeline import views
from scripts.guard_corpus import Sample, build

C_GRID = (32.0, 128.0, 512.0)
TARGET_FP = 0.006  # out-of-fold share of benign training messages the classifier may block
FAMILY_FP = 0.02  # ... and of the benign messages of any one family
FOLDS = 4


def _rows(sample: Sample) -> list[tuple[str, int]]:
    """(view text, label) rows: an embedded attack is a positive row, its host a negative.
    Views the guardrail does not give the classifier (too short) are left out here too."""
    label = int(sample.label == "malicious")
    if sample.payload is None:
        rows = [(view, label) for view in views(sample.text).all()]
    else:
        host = sample.text.replace(sample.payload, "")
        rows = [(v, 1) for v in views(sample.payload).all()] + [(v, 0) for v in views(host).all()]
    return [(text, label) for text, label in rows if len(text) >= CLASSIFIER_MIN_CHARS]


class Windows:
    """The windows of every row as one sparse matrix, and which sample each window is from."""

    def __init__(self, samples: list[Sample]) -> None:
        data, cols, indptr, labels, owners = [], [], [0], [], []
        for number, sample in enumerate(samples):
            for text, label in _rows(sample):
                block_ids, buckets, blocks = block_ngrams(text)
                for window in range(max(1, blocks - 1)):  # window k: blocks k and k + 1
                    chosen = buckets[(block_ids == window) | (block_ids == window + 1)]
                    found, counts = np.unique(chosen, return_counts=True)
                    cols.append(found)
                    data.append(counts / np.sqrt(max(len(chosen), 1)))
                    indptr.append(indptr[-1] + len(found))
                    labels.append(label)
                    owners.append(number)
        self.matrix = sparse.csr_matrix(
            (np.concatenate(data), np.concatenate(cols), np.array(indptr)),
            shape=(len(labels), 1 << BITS))
        self.labels = np.array(labels)
        self.owners = np.array(owners)


def _fit(matrix: sparse.csr_matrix, labels: npt.NDArray[np.int64], c: float) -> LogisticRegression:
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000, solver="liblinear",
                               random_state=0)
    return model.fit(matrix, labels)


def _sample_scores(windows: Windows, window_scores: npt.NDArray[np.float64],
                   count: int) -> npt.NDArray[np.float64]:
    """A message scores its highest window over all its views."""
    scores = np.zeros(count)
    np.maximum.at(scores, windows.owners, window_scores)
    return scores


def _out_of_fold(samples: list[Sample], windows: Windows, c: float) -> npt.NDArray[np.float64]:
    groups = np.array([s.template for s in samples])[windows.owners]
    oof = np.zeros(len(windows.labels))
    for train, test in GroupKFold(n_splits=FOLDS).split(windows.matrix, groups=groups):
        model = _fit(windows.matrix[train], windows.labels[train], c)
        oof[test] = model.predict_proba(windows.matrix[test])[:, 1]
    return _sample_scores(windows, oof, len(samples))


def _threshold(scores: npt.NDArray[np.float64], malicious: npt.NDArray[np.bool_],
               families: npt.NDArray[np.str_]) -> float:
    """The lowest threshold that blocks at most TARGET_FP of the benign messages, and at most
    FAMILY_FP of any one benign family (hard families must not pay for the easy ones)."""
    chosen = [0.5, _quantile_cut(scores[~malicious], TARGET_FP)]
    for family in np.unique(families[~malicious]):
        chosen.append(_quantile_cut(scores[~malicious & (families == family)], FAMILY_FP))
    return max(chosen)


def _quantile_cut(benign: npt.NDArray[np.float64], share: float) -> float:
    """The lowest threshold that blocks at most this share of these benign scores."""
    ordered = np.sort(benign)
    return float(ordered[len(ordered) - 1 - int(share * len(ordered))] + 1e-6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args()
    started = time.perf_counter()
    samples = [s for s in build() if s.split == "train"]
    malicious = np.array([s.label == "malicious" for s in samples])
    families = np.array([s.category for s in samples])
    windows = Windows(samples)
    print(f"train split: {len(samples)} messages, {len(windows.labels)} windows")
    best: tuple[float, float, float] | None = None
    for c in C_GRID:
        scores = _out_of_fold(samples, windows, c)
        threshold = _threshold(scores, malicious, families)
        recall = float((scores[malicious] >= threshold).mean())
        print(f"C={c:g}: out-of-fold recall {recall:.3f} at threshold {threshold:.3f}")
        if best is None or recall > best[0]:
            best = (recall, c, threshold)
    assert best is not None
    _, c, threshold = best
    model = _fit(windows.matrix, windows.labels, c)
    save_model(args.out, model.coef_[0], float(model.intercept_[0]), threshold)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1024:.0f} KiB, C={c:g}, threshold {threshold:.3f}) "
          f"in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

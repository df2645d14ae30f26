"""Regenerate ``minitorch/_data/digits.npz`` from scikit-learn's bundled digits (run once).

Needs scikit-learn (a one-off, not a dependency of minitorch). The 1,797 8x8 images (grey
levels 0..16) are split once, stratified by class with a fixed seed: 20% of each class goes
to the test set. Stored as uint8 arrays ``x_train (N, 8, 8)``, ``y_train (N,)``,
``x_test``, ``y_test`` in a compressed .npz (no pickled objects).

Usage: ``python scripts/make_digits_npz.py [out_path]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits  # type: ignore[import-untyped]

SEED = 0
TEST_FRACTION = 0.2


def main() -> None:
    out = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else (Path(__file__).resolve().parent.parent / "minitorch" / "_data" / "digits.npz")
    )
    digits = load_digits()
    images = digits.images.astype(np.uint8)  # values 0..16, exactly integers
    assert np.array_equal(images, digits.images)
    labels = digits.target.astype(np.uint8)
    rng = np.random.default_rng(SEED)
    test = np.zeros(len(labels), dtype=bool)
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test[idx[: round(TEST_FRACTION * len(idx))]] = True
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        x_train=images[~test],
        y_train=labels[~test],
        x_test=images[test],
        y_test=labels[test],
    )
    print(f"wrote {out}: {int((~test).sum())} train, {int(test.sum())} test")


if __name__ == "__main__":
    main()

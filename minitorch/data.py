"""Data: mini-batches (``DataLoader``), the bundled digits set, and an MNIST/IDX reader.

* ``DataLoader(dataset, batch_size, shuffle, drop_last, seed)`` yields batches of
  Tensors; ``ArrayDataset(x, y)`` pairs equal-length arrays row by row.
* ``load_digits()``: scikit-learn's copy of the UCI handwritten digits (1,797 8x8 images,
  grey levels 0..16, classes 0..9; CC BY 4.0), shipped inside the package as
  ``minitorch/_data/digits.npz`` with a fixed, class-stratified train/test split
  (1,438 / 359; made by ``scripts/make_digits_npz.py``). No download, no scikit-learn.
* ``read_idx(path)``: the IDX format of MNIST files (``.gz`` too); ``load_mnist(dir)``.
"""

from __future__ import annotations

import gzip
import math
import random
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from .tensor import Tensor
from .tensor_ops import TensorBackend

__all__ = [
    "ArrayDataset",
    "DataLoader",
    "Digits",
    "load_digits",
    "load_mnist",
    "read_idx",
]

Array = npt.NDArray[Any]


class Dataset(Protocol):
    """Anything with a length and integer indexing (an item is a row or a tuple of rows)."""

    def __len__(self) -> int: ...

    def __getitem__(self, i: int, /) -> Any: ...


class ArrayDataset:
    """Equal-length arrays seen row by row: ``ds[i] == (a[i], b[i], ...)``.

    Also indexable by an integer array (a whole batch at once, as the DataLoader does).
    """

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ValueError("ArrayDataset needs at least one array.")
        self.arrays = tuple(np.asarray(a) for a in arrays)
        n = len(self.arrays[0])
        lengths = [len(a) for a in self.arrays]
        if any(m != n for m in lengths):
            raise ValueError(f"ArrayDataset: arrays have different lengths {lengths}.")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, i: Any) -> tuple[Any, ...]:
        return tuple(a[i] for a in self.arrays)


class DataLoader:
    """Iterate over ``dataset`` in mini-batches of ``batch_size`` rows.

    Each batch is a tuple of Tensors (one per field of an item; a single Tensor when items
    are not tuples), rows stacked along a new first dim, as float64 on ``backend``
    (``as_tensors=False`` gives NumPy arrays instead). The last batch may be smaller unless
    ``drop_last``. With ``shuffle``, every pass uses a new permutation from a NumPy
    generator seeded by ``seed`` (or, if ``seed`` is None, by Python's ``random`` at the
    start of the pass), so runs are reproducible.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        backend: TensorBackend | None = None,
        as_tensors: bool = True,
    ) -> None:
        if batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be positive, got {batch_size}.")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.backend = backend
        self.as_tensors = as_tensors
        self._rng = None if seed is None else np.random.default_rng(seed)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _order(self) -> npt.NDArray[np.intp]:
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        rng = self._rng or np.random.default_rng(random.getrandbits(64))
        return rng.permutation(n)

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        for b in range(len(self)):
            yield self._batch(order[b * self.batch_size : (b + 1) * self.batch_size])

    def _batch(self, idx: npt.NDArray[np.intp]) -> Any:
        ds = self.dataset
        if isinstance(ds, ArrayDataset):
            fields: Sequence[Array] = ds[idx]
            single = False
        else:
            items = [ds[int(i)] for i in idx]
            single = not isinstance(items[0], tuple)
            rows = [(it,) for it in items] if single else items
            fields = [np.stack([np.asarray(r[k]) for r in rows]) for k in range(len(rows[0]))]
        out = tuple(self._convert(f) for f in fields)
        return out[0] if single else out

    def _convert(self, a: Array) -> Any:
        if not self.as_tensors:
            return a
        return Tensor(np.asarray(a, dtype=np.float64), backend=self.backend)


# ---------------------------------------------------------------------------
# The digits set
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Digits:
    """The digits split: images ``x_*`` (float64) and labels ``y_*`` (int64, 0..9)."""

    x_train: Array
    y_train: Array
    x_test: Array
    y_test: Array

    def train(self) -> ArrayDataset:
        """``ArrayDataset(x_train, y_train)``."""
        return ArrayDataset(self.x_train, self.y_train)

    def test(self) -> ArrayDataset:
        """``ArrayDataset(x_test, y_test)``."""
        return ArrayDataset(self.x_test, self.y_test)


_LAYOUTS = {"hw": (8, 8), "chw": (1, 8, 8), "flat": (64,)}


def load_digits(normalize: bool = True, layout: str = "hw") -> Digits:
    """The bundled 8x8 digits with their fixed split: 1,438 training and 359 test images.

    ``normalize``: grey levels 0..16 scaled to [0, 1]. ``layout``: image shape ``"hw"``
    ``(N, 8, 8)``, ``"chw"`` ``(N, 1, 8, 8)`` (for Conv2d) or ``"flat"`` ``(N, 64)``.
    """
    if layout not in _LAYOUTS:
        raise ValueError(f"load_digits: layout must be one of {sorted(_LAYOUTS)}, got {layout!r}.")
    ref = resources.files("minitorch") / "_data" / "digits.npz"
    with ref.open("rb") as f, np.load(f, allow_pickle=False) as z:
        arrays = {k: z[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    scale = 16.0 if normalize else 1.0

    def images(a: Array) -> Array:
        return (a.astype(np.float64) / scale).reshape(len(a), *_LAYOUTS[layout])

    return Digits(
        x_train=images(arrays["x_train"]),
        y_train=arrays["y_train"].astype(np.int64),
        x_test=images(arrays["x_test"]),
        y_test=arrays["y_test"].astype(np.int64),
    )


# ---------------------------------------------------------------------------
# IDX (MNIST) files
# ---------------------------------------------------------------------------

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> Array:
    """Read an IDX file (MNIST's format; gzip-compressed files too) into a NumPy array.

    Layout: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), the number of dims n, n big-endian uint32 sizes, then the
    big-endian data in row-major order. The result has native byte order.
    """
    p = Path(path)
    raw = p.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"read_idx: {p} is not an IDX file (bad magic number {raw[:4]!r}).")
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {p} is truncated (header of {ndim} dims).")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    count = math.prod(shape)
    if len(raw) - header != count * dtype.itemsize:
        raise ValueError(
            f"read_idx: {p} holds {len(raw) - header} data bytes but shape {shape} of "
            f"{dtype.name} needs {count * dtype.itemsize}."
        )
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=header)
    return data.reshape(shape).astype(dtype.newbyteorder("="))


def load_mnist(directory: str | Path, kind: str = "train") -> tuple[Array, Array]:
    """``(images, labels)`` from the standard MNIST files in ``directory``.

    ``kind="train"`` reads ``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte``,
    ``kind="test"`` the ``t10k-`` files; a ``.gz`` suffix is found too.
    """
    prefix = {"train": "train", "test": "t10k"}.get(kind)
    if prefix is None:
        raise ValueError(f"load_mnist: kind must be 'train' or 'test', got {kind!r}.")
    d = Path(directory)

    def find(stem: str) -> Path:
        for name in (stem, stem + ".gz"):
            if (d / name).exists():
                return d / name
        raise FileNotFoundError(f"load_mnist: no {stem}[.gz] in {d}.")

    images = read_idx(find(f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(find(f"{prefix}-labels-idx1-ubyte"))
    if len(images) != len(labels):
        raise ValueError(f"load_mnist: {len(images)} images but {len(labels)} labels in {d}.")
    return images, labels

"""TensorData: a flat storage plus the shape and strides that make it an n-d array.

A tensor of shape ``(d0, d1, ..., dn-1)`` keeps its numbers in a flat ``storage``; the
element at index ``(i0, ..., in-1)`` lives at position ``Σ_k i_k · strides[k]``. Changing
only shape and strides gives a new *view* of the same storage: ``permute`` reorders the
dims, a zero stride repeats a dim (broadcasting), an offset plus larger strides selects a
slice. Nothing is copied.

The teaching helpers (``index_to_position``, ``to_index``, ``broadcast_index``,
``shape_broadcast``, ``strides_from_shape``) are plain Python over small int arrays, used
by the reference backend; the fast backend works on the NumPy view ``_array`` (the same
memory, seen with the tensor's shape and strides).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from . import _trace, devices

__all__ = [
    "MAX_DIMS",
    "Index",
    "IndexingError",
    "OutIndex",
    "Shape",
    "Storage",
    "Strides",
    "TensorData",
    "UserIndex",
    "UserShape",
    "UserStrides",
    "broadcast_index",
    "index_to_position",
    "shape_broadcast",
    "strides_from_shape",
    "to_index",
]

MAX_DIMS = 32
"""The most dimensions a tensor may have (as in NumPy)."""

Storage: TypeAlias = npt.NDArray[np.floating[Any]]
"""Flat float storage (float64 by default, float32 on request)."""
OutIndex: TypeAlias = npt.NDArray[np.int32]
Index: TypeAlias = npt.NDArray[np.int32]
Shape: TypeAlias = npt.NDArray[np.int32]
Strides: TypeAlias = npt.NDArray[np.int32]

UserIndex: TypeAlias = Sequence[int]
UserShape: TypeAlias = Sequence[int]
UserStrides: TypeAlias = Sequence[int]

_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


class IndexingError(RuntimeError):
    """An index, shape or stride that does not fit a tensor, or shapes that do not broadcast."""


# ---------------------------------------------------------------------------
# Index <-> position helpers (the lecture's building blocks)
# ---------------------------------------------------------------------------


def index_to_position(index: Index | UserIndex, strides: Strides | UserStrides) -> int:
    """Position in storage of ``index``: ``Σ_i index[i] · strides[i]``."""
    position = 0
    for i, s in zip(index, strides):
        position += int(i) * int(s)
    return position


def to_index(ordinal: int, shape: Shape | UserShape, out_index: OutIndex) -> None:
    """Fill ``out_index`` with the row-major index number ``ordinal`` of ``shape``.

    Ordinals ``0 … size-1`` enumerate every index exactly once (the last dim fastest).
    """
    rest = int(ordinal)
    for i in range(len(shape) - 1, -1, -1):
        d = int(shape[i])
        out_index[i] = rest % d
        rest //= d


def broadcast_index(
    big_index: Index, big_shape: Shape | UserShape, shape: Shape | UserShape, out_index: OutIndex
) -> None:
    """Map ``big_index`` (an index of the broadcast shape) to an index of ``shape``.

    Shapes are right-aligned: leading dims of ``big_shape`` that ``shape`` lacks are
    dropped, and a dim of size 1 in ``shape`` always maps to 0.
    """
    offset = len(big_shape) - len(shape)
    for i in range(len(shape)):
        out_index[i] = 0 if int(shape[i]) == 1 else big_index[i + offset]


def shape_broadcast(shape1: UserShape, shape2: UserShape) -> tuple[int, ...]:
    """The broadcast of two shapes (NumPy rules), e.g. ``(2, 5)`` and ``(5,)`` -> ``(2, 5)``.

    Right-aligned; a dim of size 1 (or a missing dim) stretches to the other size.
    Two different sizes, neither 1, raise ``IndexingError`` naming both shapes.
    """
    n1, n2 = len(shape1), len(shape2)
    n = max(n1, n2)
    out = []
    for i in range(n):
        a = int(shape1[i - n + n1]) if i >= n - n1 else 1
        b = int(shape2[i - n + n2]) if i >= n - n2 else 1
        if a == b or b == 1:
            out.append(a)
        elif a == 1:
            out.append(b)
        else:
            raise IndexingError(
                f"Shapes {tuple(shape1)} and {tuple(shape2)} do not broadcast: sizes {a} and "
                f"{b} meet in dim {i} of the result (sizes must match, or one must be 1)."
            )
    return tuple(out)


def strides_from_shape(shape: UserShape) -> tuple[int, ...]:
    """Contiguous (row-major) strides: ``(2, 3, 4)`` -> ``(12, 4, 1)``."""
    strides = []
    step = 1
    for d in reversed(tuple(shape)):
        strides.append(step)
        step *= int(d)
    return tuple(reversed(strides))


# ---------------------------------------------------------------------------
# TensorData
# ---------------------------------------------------------------------------


def _as_storage(storage: Any) -> Storage:
    """A 1-D float array: float arrays (NumPy, or CuPy on a GPU) are used as they are
    (shared), the rest converted."""
    if isinstance(storage, np.ndarray) or devices.is_device_array(storage):
        arr: Storage = storage if storage.dtype in _FLOAT_DTYPES else storage.astype(np.float64)
        return arr if arr.ndim == 1 else arr.reshape(-1)
    return np.array(storage, dtype=np.float64).reshape(-1)


def _as_strided(arr: Any, shape: tuple[int, ...], strides: tuple[int, ...]) -> Any:
    """A view of ``arr``'s memory with byte ``strides`` (on the array's own device)."""
    if isinstance(arr, np.ndarray):
        return np.lib.stride_tricks.as_strided(
            arr, shape=shape, strides=strides, writeable=arr.flags.writeable
        )
    return devices.namespace(arr).lib.stride_tricks.as_strided(arr, shape=shape, strides=strides)


class TensorData:
    """Storage, shape and strides of a tensor.

    ``TensorData(storage, shape, strides=None)``: ``storage`` is a sequence of numbers
    (copied into float64) or a 1-D NumPy float array (used as it is, shared); ``shape`` and
    ``strides`` are tuples of ints, ``strides`` contiguous by default.

    Internally the data is also kept as ``_array``: a NumPy view of the storage with this
    shape and strides, on which the fast backend computes directly.
    """

    __slots__ = ("_array", "_shape_arr", "_storage_arr", "_strides_arr", "dims", "shape", "size")

    _array: npt.NDArray[np.floating[Any]]
    _storage_arr: Storage | None
    _shape_arr: Shape | None
    _strides_arr: Strides | None
    shape: tuple[int, ...]
    dims: int
    size: int

    def __init__(
        self,
        storage: Sequence[float] | Storage,
        shape: UserShape,
        strides: UserStrides | None = None,
    ) -> None:
        if not isinstance(shape, tuple):
            raise TypeError(f"TensorData: shape must be a tuple of ints, got {shape!r}.")
        if strides is not None and not isinstance(strides, tuple):
            raise TypeError(f"TensorData: strides must be a tuple of ints, got {strides!r}.")
        if len(shape) > MAX_DIMS:
            raise IndexingError(f"TensorData: {len(shape)} dims is more than MAX_DIMS={MAX_DIMS}.")
        shape = tuple(int(d) for d in shape)
        if any(d < 0 for d in shape):
            raise IndexingError(f"TensorData: negative size in shape {shape}.")
        store = _as_storage(storage)
        size = 1
        for d in shape:
            size *= d
        if strides is None:
            if len(store) != size:
                raise IndexingError(
                    f"TensorData: storage holds {len(store)} values but shape {shape} needs {size}."
                )
            arr = store.reshape(shape)
        else:
            strides = tuple(int(s) for s in strides)
            if len(strides) != len(shape):
                raise IndexingError(
                    f"TensorData: shape {shape} and strides {strides} differ in length."
                )
            if any(s < 0 for s in strides):
                raise IndexingError(f"TensorData: negative stride in {strides}.")
            last = sum((d - 1) * s for d, s in zip(shape, strides)) if size else -1
            if last >= len(store):
                raise IndexingError(
                    f"TensorData: shape {shape} with strides {strides} reaches position "
                    f"{last}, past the storage's {len(store)} values."
                )
            step = store.strides[0] if store.ndim == 1 and len(store) else store.itemsize
            arr = _as_strided(store, shape, tuple(s * step for s in strides))
        self._array = arr
        self._storage_arr = store
        self._shape_arr = None
        self._strides_arr = None
        self.shape = shape
        self.dims = len(shape)
        self.size = size

    @classmethod
    def _from_array(cls, arr: npt.NDArray[Any], storage: Storage | None = None) -> TensorData:
        """Wrap a NumPy array (any layout, no copy) as TensorData; ``storage`` if known.

        Arrays with negative strides are copied (storage positions must be non-negative).
        """
        if arr.dtype not in _FLOAT_DTYPES:
            arr = arr.astype(np.float64)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        elif min(arr.strides) < 0 and not arr.flags.c_contiguous:
            arr = devices.namespace(arr).ascontiguousarray(arr)
            storage = None
        td = cls._from_c_array(arr)
        td._storage_arr = storage
        return td

    @classmethod
    def _from_c_array(cls, arr: npt.NDArray[Any]) -> TensorData:
        """Wrap a float array of at least 1 dim as it is: no checks, no copy (hot path)."""
        td = object.__new__(cls)
        td._array = arr
        td._storage_arr = None
        td._shape_arr = None
        td._strides_arr = None
        td.shape = arr.shape
        td.dims = arr.ndim
        td.size = arr.size
        return td

    # -- the course attributes -------------------------------------------------
    @property
    def _storage(self) -> Storage:
        """Flat storage: position ``index_to_position(idx, strides)`` holds element ``idx``.

        Shares memory with the tensor (writes show through).
        """
        st = self._storage_arr
        if st is None:
            arr = self._array
            if arr.flags.c_contiguous:
                st = arr.reshape(-1)
            else:
                extent = (
                    1 + sum((d - 1) * s for d, s in zip(arr.shape, self.strides)) if arr.size else 0
                )
                st = _as_strided(arr, (extent,), (arr.itemsize,))
            self._storage_arr = st
        return st

    @_storage.setter
    def _storage(self, value: Storage) -> None:
        td = TensorData(value, self.shape, self.strides)
        self._array = td._array
        self._storage_arr = td._storage_arr

    @property
    def strides(self) -> tuple[int, ...]:
        """Element strides (a tuple): how far apart in storage neighbours along each dim are."""
        arr = self._array
        item = arr.itemsize
        return tuple(s // item for s in arr.strides)

    @property
    def _shape(self) -> Shape:
        sa = self._shape_arr
        if sa is None:
            sa = self._shape_arr = np.array(self.shape, dtype=np.int32)
        return sa

    @property
    def _strides(self) -> Strides:
        sa = self._strides_arr
        if sa is None:
            sa = self._strides_arr = np.array(self.strides, dtype=np.int32)
        return sa

    @property
    def dtype(self) -> np.dtype[Any]:
        """float64 (default) or float32."""
        return self._array.dtype

    def is_contiguous(self) -> bool:
        """True when the layout is plain row-major: strides non-increasing, no gaps."""
        return bool(self._array.flags.c_contiguous)

    @staticmethod
    def shape_broadcast(shape_a: UserShape, shape_b: UserShape) -> tuple[int, ...]:
        """See :func:`shape_broadcast`."""
        return shape_broadcast(shape_a, shape_b)

    # -- indexing ----------------------------------------------------------------
    def index(self, index: int | UserIndex | Index) -> int:
        """Storage position of ``index`` (an int for 1-d data, else one int per dim).

        Raises ``IndexingError`` for the wrong number of entries, a negative entry or one
        past its dim.
        """
        if isinstance(index, (int, np.integer)):
            idx: tuple[int, ...] = (int(index),)
        else:
            idx = tuple(int(i) for i in index)
        if len(idx) != self.dims:
            raise IndexingError(
                f"Index {idx} has {len(idx)} entries; the tensor of shape {self.shape} needs "
                f"{self.dims}."
            )
        for i, d in zip(idx, self.shape):
            if i < 0:
                raise IndexingError(f"Negative index {idx} (shape {self.shape}); not supported.")
            if i >= d:
                raise IndexingError(f"Index {idx} is out of range for shape {self.shape}.")
        return index_to_position(idx, self.strides)

    def indices(self) -> Iterable[UserIndex]:
        """Every index tuple of the shape once, row-major (last dim fastest)."""
        return itertools.product(*(range(d) for d in self.shape))

    def sample(self) -> UserIndex:
        """A uniformly random valid index (drawn with Python's ``random``)."""
        return tuple(random.randint(0, d - 1) for d in self.shape)

    def get(self, key: int | UserIndex) -> float:
        """The element at ``key`` as a Python float."""
        return float(self._storage[self.index(key)])

    def set(self, key: int | UserIndex, val: float) -> None:
        """Write ``val`` at ``key`` (in place: every view of this storage sees it)."""
        self._storage[self.index(key)] = val

    def tuple(self) -> tuple[Storage, Shape, Strides]:
        """``(_storage, _shape, _strides)``: what the low-level kernels take."""
        return (self._storage, self._shape, self._strides)

    def permute(self, *order: int) -> TensorData:
        """A view with dims reordered: ``shape[i] = old.shape[order[i]]`` (shares storage)."""
        if len(order) == 1 and not isinstance(order[0], (int, np.integer)):
            order = tuple(order[0])
        order = tuple(map(int, order))
        if sorted(order) != list(range(self.dims)):
            raise IndexingError(
                f"permute{order}: the order must be a permutation of {tuple(range(self.dims))} "
                f"for shape {self.shape}."
            )
        # The view's storage is this one's: shared when already known, else derived (lazily,
        # from the view itself) over the same memory.
        arr = self._array.transpose(order)
        td = TensorData._from_array(arr, self._storage_arr)
        if (kernels := _trace.STATE.kernels) is not None and td._array is arr:  # minitorch.compile
            kernels.append((lambda x: x.transpose(order), (self._array,), arr))
        return td

    def view(self, *shape: int) -> TensorData:
        """The same contiguous storage seen with another shape of the same size."""
        if not self._array.flags.c_contiguous:
            raise IndexingError(f"view needs contiguous data; shape {self.shape} is not.")
        return TensorData._from_array(self._array.reshape(shape), self._storage)

    def to_cuda_(self) -> None:
        """Move the storage to the GPU in place, keeping shape and strides (the course's
        name; needs CuPy and a GPU, else ``DeviceError`` says which is missing)."""
        moved = TensorData(devices.move(self._storage, devices.CUDA), self.shape, self.strides)
        self._array, self._storage_arr = moved._array, moved._storage_arr

    # -- display -------------------------------------------------------------------
    def to_string(self) -> str:
        """The values as nested brackets, two decimals (``nan``/``inf`` shown as such)."""
        return np.array2string(
            devices.to_host(self._array),
            precision=2,
            floatmode="fixed",
            threshold=1000,
            separator=" ",
            suppress_small=False,
        )

    def __repr__(self) -> str:
        return f"TensorData(shape={self.shape}, strides={self.strides}, dtype={self.dtype})"

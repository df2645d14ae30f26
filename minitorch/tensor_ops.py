"""Tensor backends: the map / zip / reduce / matrix_multiply kernels every tensor op runs on.

A backend is a ``TensorOps`` subclass whose static methods turn a Python float function
into a tensor function:

* ``map(fn)(a, out=None)``: ``out[i] = fn(a[i])`` elementwise (``a`` broadcasts into ``out``);
* ``zip(fn)(a, b)``: ``out[i] = fn(a[i], b[i])`` over ``shape_broadcast(a.shape, b.shape)``;
* ``reduce(fn, start)(a, dim)``: fold ``fn`` along ``dim`` from ``start``; ``dim`` kept, size 1;
* ``matrix_multiply(a, b)``: batched matrix product over the last two dims.

``TensorBackend(ops)`` builds the named table the tensor Functions call (``add_zip``,
``neg_map``, ``add_reduce`` …). ``SimpleOps`` is the pure-Python reference: it loops over
indices with the helpers of ``tensor_data`` and honours any strides and broadcasting.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from . import operators
from .devices import CPU, CUDA
from .tensor_data import (
    Index,
    IndexingError,
    Shape,
    Storage,
    Strides,
    TensorData,
    broadcast_index,
    index_to_position,
    shape_broadcast,
    to_index,
)

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = [
    "MapProto",
    "SimpleBackend",
    "SimpleOps",
    "TensorBackend",
    "TensorFunctions",
    "TensorOps",
    "make_tensor_backend",
    "matmul_shape",
    "tensor_map",
    "tensor_matrix_multiply",
    "tensor_reduce",
    "tensor_zip",
]


# ---------------------------------------------------------------------------
# Extra float functions (beyond ``operators``) that the tensor Functions need.
# Both backends know them; FastOps vectorises them by identity.
# ---------------------------------------------------------------------------


def sub(x: float, y: float) -> float:
    """x - y."""
    return float(x - y)


def div(x: float, y: float) -> float:
    """x / y (x * inf-like at y = 0 raises ZeroDivisionError, as Python does)."""
    return float(x / y)


def pow(x: float, y: float) -> float:
    """x ** y (real result; NaN where Python would give a complex number)."""
    try:
        return math.pow(x, y)
    except ValueError:
        return math.nan
    except OverflowError:
        return math.inf


def nonzero(x: float) -> float:
    """1.0 if x != 0 else 0.0."""
    return 1.0 if x != 0 else 0.0


class MapProto(Protocol):
    """``f(a, out=None)``: elementwise map of ``a``, into ``out`` when given."""

    def __call__(self, x: Tensor, out: Tensor | None = ..., /) -> Tensor: ...


class TensorOps:
    """Interface of a backend (every method static). ``cuda`` is False except on GPU."""

    cuda = False

    @classmethod
    def namespace(cls) -> ModuleType:
        """The array namespace of this backend's data: NumPy (CuPy for a GPU backend)."""
        return np

    @staticmethod
    def map(fn: Callable[[float], float]) -> MapProto:
        """Elementwise ``fn``: ``f(a, out=None)``."""
        raise NotImplementedError

    @staticmethod
    def cmap(fn: Callable[[float], float]) -> Callable[[Tensor, Tensor], Tensor]:
        """Elementwise ``fn`` into a given ``out``: ``f(a, out)``."""
        raise NotImplementedError

    @staticmethod
    def zip(fn: Callable[[float, float], float]) -> Callable[[Tensor, Tensor], Tensor]:
        """Elementwise binary ``fn`` with broadcasting: ``f(a, b)``."""
        raise NotImplementedError

    @staticmethod
    def reduce(
        fn: Callable[[float, float], float], start: float = 0.0
    ) -> Callable[[Tensor, int], Tensor]:
        """Fold ``fn`` along a dim from ``start``: ``f(a, dim)``, the dim kept with size 1."""
        raise NotImplementedError

    @staticmethod
    def matrix_multiply(a: Tensor, b: Tensor) -> Tensor:
        """Batched matrix product over the last two dims."""
        raise NotImplementedError


class TensorBackend:
    """The table of tensor kernels built from one ``TensorOps`` class.

    Attributes (all callables on Tensors): maps ``neg_map sigmoid_map relu_map log_map
    exp_map id_map inv_map tanh_map nonzero_map abs_map sign_map sqrt_map ln_map`` and
    ``id_cmap``; zips ``add_zip mul_zip sub_zip div_zip pow_zip lt_zip le_zip eq_zip
    is_close_zip clamp_min_zip clamp_max_zip relu_back_zip log_back_zip inv_back_zip
    sigmoid_out_back_zip tanh_out_back_zip``; reductions ``add_reduce`` (start 0.0),
    ``mul_reduce`` (start 1.0), ``max_reduce`` (start -inf), ``min_reduce`` (start inf);
    ``matrix_multiply``; flag ``cuda``.
    """

    def __init__(self, ops: type[TensorOps]) -> None:
        self.ops = ops
        # Maps
        self.neg_map = ops.map(operators.neg)
        self.sigmoid_map = ops.map(operators.sigmoid)
        self.relu_map = ops.map(operators.relu)
        self.log_map = ops.map(operators.log)
        self.exp_map = ops.map(operators.exp)
        self.id_map = ops.map(operators.id)
        self.id_cmap = ops.cmap(operators.id)
        self.inv_map = ops.map(operators.inv)
        self.tanh_map = ops.map(operators.tanh)
        self.nonzero_map = ops.map(nonzero)
        self.abs_map = ops.map(operators.abs)
        self.sign_map = ops.map(operators.sign)
        self.sqrt_map = ops.map(operators.sqrt)
        self.ln_map = ops.map(operators.ln)
        # Zips
        self.add_zip = ops.zip(operators.add)
        self.mul_zip = ops.zip(operators.mul)
        self.sub_zip = ops.zip(sub)
        self.div_zip = ops.zip(div)
        self.pow_zip = ops.zip(pow)
        self.lt_zip = ops.zip(operators.lt)
        self.eq_zip = ops.zip(operators.eq)
        self.is_close_zip = ops.zip(operators.is_close)
        self.le_zip = ops.zip(operators.le)
        self.clamp_min_zip = ops.zip(operators.clamp_min)
        self.clamp_max_zip = ops.zip(operators.clamp_max)
        self.relu_back_zip = ops.zip(operators.relu_back)
        self.log_back_zip = ops.zip(operators.log_back)
        self.inv_back_zip = ops.zip(operators.inv_back)
        self.sigmoid_out_back_zip = ops.zip(operators.sigmoid_out_back)
        self.tanh_out_back_zip = ops.zip(operators.tanh_out_back)
        # Reductions
        self.add_reduce = ops.reduce(operators.add, 0.0)
        self.mul_reduce = ops.reduce(operators.mul, 1.0)
        self.max_reduce = ops.reduce(operators.max, -math.inf)
        self.min_reduce = ops.reduce(operators.min, math.inf)
        self.matrix_multiply = ops.matrix_multiply
        self.cuda = ops.cuda
        self.device = CUDA if ops.cuda else CPU
        """Where this backend's arrays live (``cpu`` or ``cuda``)."""
        self.xp = ops.namespace()
        """The array namespace its arrays belong to (``numpy``, or CuPy on a GPU)."""

    def __repr__(self) -> str:
        return f"TensorBackend({self.ops.__name__})"


# ---------------------------------------------------------------------------
# Shared shape logic
# ---------------------------------------------------------------------------


def matmul_shape(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Output shape of ``a @ b``: batch dims broadcast, ``(…, n, m) @ (…, m, p) -> (…, n, p)``.

    Two 2-D operands give a 2-D result. Raises ``IndexingError`` naming both shapes.
    """
    if len(a_shape) < 2 or len(b_shape) < 2:
        raise IndexingError(
            f"MatMul: shapes {a_shape} and {b_shape}: the backend kernel needs at least 2 "
            "dims on both sides (`a @ b` on Tensors also takes 1-D operands)."
        )
    if a_shape[-1] != b_shape[-2]:
        raise IndexingError(
            f"MatMul: shapes {a_shape} and {b_shape} do not multiply: a.shape[-1] = "
            f"{a_shape[-1]} must equal b.shape[-2] = {b_shape[-2]}."
        )
    try:
        batch = shape_broadcast(a_shape[:-2], b_shape[:-2])
    except IndexingError:
        raise IndexingError(
            f"MatMul: shapes {a_shape} and {b_shape}: batch dims {a_shape[:-2]} and "
            f"{b_shape[:-2]} do not broadcast."
        ) from None
    return (*batch, a_shape[-2], b_shape[-1])


def _zip_shape(name: str, a: Tensor, b: Tensor) -> tuple[int, ...]:
    if a.shape == b.shape:
        return a.shape
    try:
        return shape_broadcast(a.shape, b.shape)
    except IndexingError as err:
        raise IndexingError(f"{name}: {err}") from None


def _fn_name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", "fn")


def _empty(like: Tensor, shape: tuple[int, ...], dtype: Any, fill: float = 0.0) -> Tensor:
    return like._new(TensorData._from_array(np.full(shape, fill, dtype=dtype)))


# ---------------------------------------------------------------------------
# SimpleOps: the pure-Python reference backend
# ---------------------------------------------------------------------------


class SimpleOps(TensorOps):
    """Pure-Python kernels over storage positions (slow, obviously correct: the reference)."""

    @staticmethod
    def map(fn: Callable[[float], float]) -> MapProto:
        """``out[i] = fn(a[i])``; ``a`` broadcasts into ``out`` when ``out`` is given."""
        kernel = tensor_map(fn)

        def _map(a: Tensor, out: Tensor | None = None, /) -> Tensor:
            if out is None:
                out = _empty(a, a.shape, a.dtype)
            else:
                _check_map_out(_fn_name(fn), a, out)
            kernel(*out.tuple(), *a.tuple())
            return out

        return _map

    @staticmethod
    def cmap(fn: Callable[[float], float]) -> Callable[[Tensor, Tensor], Tensor]:
        """``map`` into a required ``out``."""
        kernel = tensor_map(fn)

        def _cmap(a: Tensor, out: Tensor) -> Tensor:
            _check_map_out(_fn_name(fn), a, out)
            kernel(*out.tuple(), *a.tuple())
            return out

        return _cmap

    @staticmethod
    def zip(fn: Callable[[float, float], float]) -> Callable[[Tensor, Tensor], Tensor]:
        """``out[i] = fn(a[i], b[i])`` over the broadcast shape."""
        kernel = tensor_zip(fn)
        name = _fn_name(fn)

        def _zip(a: Tensor, b: Tensor) -> Tensor:
            shape = _zip_shape(name, a, b)
            out = _empty(a, shape, np.result_type(a.dtype, b.dtype))
            kernel(*out.tuple(), *a.tuple(), *b.tuple())
            return out

        return _zip

    @staticmethod
    def reduce(
        fn: Callable[[float, float], float], start: float = 0.0
    ) -> Callable[[Tensor, int], Tensor]:
        """Fold ``fn`` along ``dim`` from ``start``; the result keeps ``dim`` with size 1."""
        kernel = tensor_reduce(fn)
        name = _fn_name(fn)

        def _reduce(a: Tensor, dim: int) -> Tensor:
            dim = _check_dim(name, a, dim)
            shape = list(a.shape)
            shape[dim] = 1
            out = _empty(a, tuple(shape), a.dtype, start)
            kernel(*out.tuple(), *a.tuple(), dim)
            return out

        return _reduce

    @staticmethod
    def matrix_multiply(a: Tensor, b: Tensor) -> Tensor:
        """Batched matrix product in pure Python (batch dims broadcast; 2-D @ 2-D is 2-D)."""
        shape = matmul_shape(a.shape, b.shape)
        out = _empty(a, shape, np.result_type(a.dtype, b.dtype))
        tensor_matrix_multiply(*out.tuple(), *a.tuple(), *b.tuple())
        return out


def _check_map_out(name: str, a: Tensor, out: Tensor) -> None:
    if out.shape != a.shape and shape_broadcast(a.shape, out.shape) != out.shape:
        raise IndexingError(
            f"{name} map: input of shape {a.shape} does not broadcast into out of shape "
            f"{out.shape}."
        )


def _check_dim(name: str, a: Tensor, dim: int) -> int:
    d = int(dim)
    if d < 0:
        d += a.dims
    if not 0 <= d < a.dims:
        raise IndexingError(f"{name} reduce: dim {dim} is out of range for shape {a.shape}.")
    return d


# ---------------------------------------------------------------------------
# Reference kernels (low level: storages, shapes and strides)
# ---------------------------------------------------------------------------


def tensor_map(
    fn: Callable[[float], float],
) -> Callable[[Storage, Shape, Strides, Storage, Shape, Strides], None]:
    """Kernel ``(out, out_shape, out_strides, in_storage, in_shape, in_strides)``.

    For every index of ``out_shape``: ``out[idx] = fn(in[broadcast(idx)])``.
    """

    def _map(
        out: Storage,
        out_shape: Shape,
        out_strides: Strides,
        in_storage: Storage,
        in_shape: Shape,
        in_strides: Strides,
    ) -> None:
        out_index: Index = np.zeros(len(out_shape), dtype=np.int32)
        in_index: Index = np.zeros(len(in_shape), dtype=np.int32)
        for ordinal in range(int(np.prod(out_shape))):
            to_index(ordinal, out_shape, out_index)
            broadcast_index(out_index, out_shape, in_shape, in_index)
            v = float(in_storage[index_to_position(in_index, in_strides)])
            out[index_to_position(out_index, out_strides)] = fn(v)

    return _map


def tensor_zip(
    fn: Callable[[float, float], float],
) -> Callable[[Storage, Shape, Strides, Storage, Shape, Strides, Storage, Shape, Strides], None]:
    """Kernel ``(out, out_shape, out_strides, a_storage, a_shape, a_strides, b_storage, …)``.

    For every index of ``out_shape``: ``out[idx] = fn(a[broadcast(idx)], b[broadcast(idx)])``.
    """

    def _zip(
        out: Storage,
        out_shape: Shape,
        out_strides: Strides,
        a_storage: Storage,
        a_shape: Shape,
        a_strides: Strides,
        b_storage: Storage,
        b_shape: Shape,
        b_strides: Strides,
    ) -> None:
        out_index: Index = np.zeros(len(out_shape), dtype=np.int32)
        a_index: Index = np.zeros(len(a_shape), dtype=np.int32)
        b_index: Index = np.zeros(len(b_shape), dtype=np.int32)
        for ordinal in range(int(np.prod(out_shape))):
            to_index(ordinal, out_shape, out_index)
            broadcast_index(out_index, out_shape, a_shape, a_index)
            broadcast_index(out_index, out_shape, b_shape, b_index)
            x = float(a_storage[index_to_position(a_index, a_strides)])
            y = float(b_storage[index_to_position(b_index, b_strides)])
            out[index_to_position(out_index, out_strides)] = fn(x, y)

    return _zip


def tensor_reduce(
    fn: Callable[[float, float], float],
) -> Callable[[Storage, Shape, Strides, Storage, Shape, Strides, int], None]:
    """Kernel ``(out, out_shape, out_strides, a_storage, a_shape, a_strides, reduce_dim)``.

    ``out`` arrives filled with the start value; each output cell folds
    ``acc = fn(acc, a[…, j, …])`` for ``j`` along ``reduce_dim`` in order.
    """

    def _reduce(
        out: Storage,
        out_shape: Shape,
        out_strides: Strides,
        a_storage: Storage,
        a_shape: Shape,
        a_strides: Strides,
        reduce_dim: int,
    ) -> None:
        out_index: Index = np.zeros(len(out_shape), dtype=np.int32)
        n = int(a_shape[reduce_dim])
        step = int(a_strides[reduce_dim])
        for ordinal in range(int(np.prod(out_shape))):
            to_index(ordinal, out_shape, out_index)
            o = index_to_position(out_index, out_strides)
            pos = index_to_position(out_index, a_strides)  # index along reduce_dim is 0
            acc = float(out[o])
            for j in range(n):
                acc = fn(acc, float(a_storage[pos + j * step]))
            out[o] = acc

    return _reduce


def tensor_matrix_multiply(
    out: Storage,
    out_shape: Shape,
    out_strides: Strides,
    a_storage: Storage,
    a_shape: Shape,
    a_strides: Strides,
    b_storage: Storage,
    b_shape: Shape,
    b_strides: Strides,
) -> None:
    """Reference batched matmul: ``out[…, i, j] = Σ_k a[…, i, k] · b[…, k, j]``.

    The batch dims (all but the last two) broadcast as in ``zip``.
    """
    nd = len(out_shape)
    out_index: Index = np.zeros(nd, dtype=np.int32)
    a_index: Index = np.zeros(len(a_shape), dtype=np.int32)
    b_index: Index = np.zeros(len(b_shape), dtype=np.int32)
    m = int(a_shape[-1])
    a_step = int(a_strides[-1])
    b_step = int(b_strides[-2])
    for ordinal in range(int(np.prod(out_shape))):
        to_index(ordinal, out_shape, out_index)
        # Batch dims broadcast; the matrix dims are set by hand.
        broadcast_index(out_index[:-2], out_shape[:-2], a_shape[:-2], a_index)
        broadcast_index(out_index[:-2], out_shape[:-2], b_shape[:-2], b_index)
        a_index[-2] = out_index[-2]
        a_index[-1] = 0
        b_index[-2] = 0
        b_index[-1] = out_index[-1]
        a_pos = index_to_position(a_index, a_strides)
        b_pos = index_to_position(b_index, b_strides)
        acc = 0.0
        for k in range(m):
            acc += float(a_storage[a_pos + k * a_step]) * float(b_storage[b_pos + k * b_step])
        out[index_to_position(out_index, out_strides)] = acc


SimpleBackend = TensorBackend(SimpleOps)
"""The reference backend (pure Python)."""

TensorFunctions = SimpleBackend
"""The course's earlier name for the reference backend."""


def make_tensor_backend(tensor_ops: type[TensorOps], is_cuda: bool = False) -> TensorBackend:
    """The course's earlier spelling of ``TensorBackend(tensor_ops)``; ``is_cuda`` is read
    from ``tensor_ops.cuda`` instead, so it is checked, not needed."""
    if is_cuda and not tensor_ops.cuda:
        raise ValueError(
            f"make_tensor_backend({tensor_ops.__name__}, is_cuda=True): "
            f"{tensor_ops.__name__} runs on the CPU; use minitorch.CudaOps for the GPU."
        )
    return TensorBackend(tensor_ops)

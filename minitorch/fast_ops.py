"""FastOps: the NumPy backend (ufuncs, reductions and BLAS ``matmul``; no JIT).

Each known float function of ``operators`` (and the extras of ``tensor_ops``) has a
vectorised twin in a lookup table, written to give exactly what ``SimpleOps`` gives
(strict ``<``, exact ``==``, ``log(x + 1e-6)``, ``relu_back`` on ``x > 0``, ``is_close``
at 1e-2, the overflow-free sigmoid). Any other Python float function still works, through
a generic element-by-element path (``np.frompyfunc``), so ``map``/``zip``/``reduce`` accept
lambdas too. Results are fresh C-contiguous arrays of the input's dtype (float64 or
float32), wrapped as Tensors on the input's backend.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from . import _trace, operators
from .tensor_data import TensorData
from .tensor_ops import (
    MapProto,
    TensorBackend,
    TensorOps,
    _check_dim,
    _check_map_out,
    _zip_shape,
    div,
    matmul_shape,
    nonzero,
    pow,
    sub,
)

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["FastBackend", "FastOps"]

Array = npt.NDArray[Any]
UFn = Callable[[Array], Array]
BFn = Callable[[Array, Array], Array]


def _sigmoid(x: Array) -> Array:
    """σ(x) without overflow: 1/(1+e^-x) for x >= 0, e^x/(1+e^x) otherwise.

    Both branches are ``exp(min(x, 0)) / (1 + exp(-|x|))``, computed without temporaries
    beyond two buffers.
    """
    if x.ndim == 0:  # a NumPy scalar (a shape-(1,) operand of a zip)
        x = x.reshape(1)
    e = np.abs(x)
    np.negative(e, out=e)
    np.exp(e, out=e)
    e += 1.0
    num = np.minimum(x, 0.0)
    np.exp(num, out=num)
    np.divide(num, e, out=num)
    return num


def _relu_back(x: Array, d: Array) -> Array:
    """d where x > 0, else 0.

    A multiply by the mask is ~20x faster than ``np.where`` on large arrays; where d holds
    inf or NaN that product would give NaN instead of 0, so those rare cases take the
    exact ``np.where`` path.
    """
    dtype = _bdtype(x, d)
    if not np.isfinite(d).all():
        return np.where(x > 0, d, 0.0).astype(dtype, copy=False)
    return np.multiply(d, x > 0, dtype=dtype)


def _copy(x: Array) -> Array:
    return np.array(x, copy=True, order="C")


def _as(x: Array, like: Array) -> Array:
    return x.astype(like.dtype, copy=False)


def _bdtype(a: Array, b: Array) -> np.dtype[Any]:
    return np.result_type(a.dtype, b.dtype)


def _quiet(f: UFn) -> UFn:
    """``f`` with NumPy's warnings for invalid values and poles silenced (NaN/-inf result)."""

    def run(x: Array) -> Array:
        with np.errstate(divide="ignore", invalid="ignore"):
            return f(x)

    return run


_MAP_TABLE: dict[Callable[..., float], UFn] = {
    operators.neg: np.negative,
    operators.id: _copy,
    operators.sigmoid: _sigmoid,
    operators.relu: lambda x: np.fmax(0.0, x),  # fmax(0, x) is 0 for NaN and -0.0, like relu
    operators.log: lambda x: np.log(x + operators.EPS),
    operators.exp: np.exp,
    operators.inv: np.reciprocal,
    operators.tanh: np.tanh,
    nonzero: lambda x: _as(x != 0, x),
    operators.abs: np.abs,
    operators.sign: np.sign,
    operators.sqrt: _quiet(np.sqrt),
    operators.ln: _quiet(np.log),
}

_ZIP_TABLE: dict[Callable[..., float], BFn] = {
    operators.add: np.add,
    operators.mul: np.multiply,
    sub: np.subtract,
    div: np.divide,
    pow: np.power,
    operators.lt: lambda a, b: (a < b).astype(_bdtype(a, b)),
    operators.eq: lambda a, b: (a == b).astype(_bdtype(a, b)),
    operators.is_close: lambda a, b: (np.abs(a - b) < 1e-2).astype(_bdtype(a, b)),
    operators.le: lambda a, b: (a <= b).astype(_bdtype(a, b)),
    operators.max: lambda a, b: np.where(a > b, a, b),
    operators.min: lambda a, b: np.where(a < b, a, b),
    operators.clamp_min: lambda x, lo: np.where(x < lo, lo, x).astype(_bdtype(x, lo)),
    operators.clamp_max: lambda x, hi: np.where(x > hi, hi, x).astype(_bdtype(x, hi)),
    operators.relu_back: _relu_back,
    # The derivative formulas themselves, which are array-safe ...
    operators.log_back: operators.log_back,
    operators.inv_back: operators.inv_back,
    operators.exp_out_back: operators.exp_out_back,
    operators.sigmoid_out_back: operators.sigmoid_out_back,
    operators.tanh_out_back: operators.tanh_out_back,
    # ... and, for those given the input, the same formulas at the vectorised f(x).
    operators.exp_back: lambda x, d: operators.exp_out_back(np.exp(x), d),
    operators.sigmoid_back: lambda x, d: operators.sigmoid_out_back(_sigmoid(x), d),
    operators.tanh_back: lambda x, d: operators.tanh_out_back(np.tanh(x), d),
}

_REDUCE_TABLE: dict[Callable[..., float], np.ufunc] = {
    operators.add: np.add,
    operators.mul: np.multiply,
    operators.max: np.maximum,
    operators.min: np.minimum,
}


def _generic_map(fn: Callable[[float], float]) -> UFn:
    """Element-by-element ``fn`` (any Python float function)."""
    ufn = np.frompyfunc(lambda v: fn(float(v)), 1, 1)

    def run(x: Array) -> Array:
        return np.asarray(ufn(x), dtype=x.dtype).reshape(x.shape)

    return run


def _generic_zip(fn: Callable[[float, float], float]) -> BFn:
    """Element-by-element binary ``fn`` with broadcasting."""
    ufn = np.frompyfunc(lambda v, w: fn(float(v), float(w)), 2, 1)

    def run(a: Array, b: Array) -> Array:
        shape = np.broadcast_shapes(a.shape, b.shape)
        return np.asarray(ufn(a, b), dtype=_bdtype(a, b)).reshape(shape)

    return run


_contiguous = np.ascontiguousarray  # r itself when already C-contiguous (cheaper than r.flags)
_from_c_array = TensorData._from_c_array


def _wrap(like: Tensor, r: Array) -> Tensor:
    """A constant Tensor on ``like``'s backend holding the fresh result ``r``."""
    return like._new(_from_c_array(_contiguous(r)))


def _matmul(x: Array, y: Array) -> Array:
    return _contiguous(np.matmul(x, y))


@functools.cache
def _kernel(vec: Callable[..., Array], form: int, contiguous: bool) -> Callable[..., Array]:
    """The array kernel that ``minitorch.compile`` replays for one traced map or zip:
    ``vec`` itself where its result was already C-contiguous (the same shapes give the
    same layout on replay), reading a shape-(1,) operand as a scalar as the zip did
    (``form`` 1: the second, 2: the first)."""
    if form == 1:
        f: Callable[..., Array] = lambda x, y: vec(x, y[0])  # noqa: E731
    elif form == 2:
        f = lambda x, y: vec(x[0], y)  # noqa: E731
    else:
        f = vec
    if contiguous:
        return f
    return lambda *xs: _contiguous(f(*xs))


def _reducer(reduce: Any, dim: int, start: float | None) -> Callable[[Array], Array]:
    """The array kernel of one reduction along ``dim`` (what ``minitorch.compile`` replays)."""
    if start is None:
        return lambda x: _contiguous(reduce(x, dim, None, None, True))
    return lambda x: _contiguous(reduce(x, dim, None, None, True, start))


class FastOps(TensorOps):
    """NumPy kernels: ufuncs for maps and zips, ``ufunc.reduce``, BLAS ``matmul``."""

    @staticmethod
    def map(fn: Callable[[float], float]) -> MapProto:
        """Elementwise ``fn``: ``f(a, out=None)`` (``a`` broadcasts into ``out``)."""
        vec = _MAP_TABLE.get(fn) or _generic_map(fn)
        name = getattr(fn, "__name__", "fn")

        def _map(a: Tensor, out: Tensor | None = None, /) -> Tensor:
            x = a._tensor._array
            raw = vec(x)
            if out is None:
                r = _contiguous(raw)
                if _trace.KERNELS is not None:
                    _trace.KERNELS.append((_kernel(vec, 0, r is raw), (x,), r))
                return a._new(_from_c_array(r))  # _wrap, inlined
            r = raw
            _check_map_out(name, a, out)
            np.copyto(out._tensor._array, r, casting="unsafe")
            return out

        return _map

    @staticmethod
    def cmap(fn: Callable[[float], float]) -> Callable[[Tensor, Tensor], Tensor]:
        """Elementwise ``fn`` into a given ``out``."""
        f = FastOps.map(fn)

        def _cmap(a: Tensor, out: Tensor) -> Tensor:
            return f(a, out)

        return _cmap

    @staticmethod
    def zip(fn: Callable[[float, float], float]) -> Callable[[Tensor, Tensor], Tensor]:
        """Elementwise binary ``fn`` over ``shape_broadcast(a.shape, b.shape)``."""
        vec = _ZIP_TABLE.get(fn)
        name = getattr(fn, "__name__", "fn")
        if vec is None:
            generic = _generic_zip(fn)

            def _generic_zip_run(a: Tensor, b: Tensor) -> Tensor:
                try:
                    r = generic(a._tensor._array, b._tensor._array)
                except ValueError:
                    _zip_shape(name, a, b)
                    raise
                return _wrap(a, r)

            return _generic_zip_run

        def _zip(a: Tensor, b: Tensor) -> Tensor:
            x = a._tensor._array
            y = b._tensor._array
            try:
                if y.size == 1 and y.ndim == 1:  # y: a shape-(1,) constant such as `x * 2`
                    form, raw = 1, vec(x, y[0])  # NumPy scalar: no broadcasting cost
                elif x.size == 1 and x.ndim == 1:
                    form, raw = 2, vec(x[0], y)
                else:
                    form, raw = 0, vec(x, y)
            except ValueError:
                _zip_shape(name, a, b)  # raises IndexingError naming both shapes
                raise
            r = _contiguous(raw)
            if _trace.KERNELS is not None:
                _trace.KERNELS.append((_kernel(vec, form, r is raw), (x, y), r))
            return a._new(_from_c_array(r))  # _wrap, inlined

        return _zip

    @staticmethod
    def reduce(
        fn: Callable[[float, float], float], start: float = 0.0
    ) -> Callable[[Tensor, int], Tensor]:
        """Fold ``fn`` along ``dim`` from ``start``; ``dim`` is kept with size 1."""
        ufunc = _REDUCE_TABLE.get(fn)
        name = getattr(fn, "__name__", "fn")
        if ufunc is None:
            ufunc = np.frompyfunc(lambda acc, v: fn(float(acc), float(v)), 2, 1)

            def _generic(a: Tensor, dim: int) -> Tensor:
                d = _check_dim(name, a, dim)
                arr = a._tensor._array
                assert ufunc is not None
                r = ufunc.reduce(arr.astype(object), axis=d, keepdims=True, initial=start)
                return _wrap(a, np.asarray(r, dtype=arr.dtype))

            return _generic

        reduce: Any = ufunc.reduce  # positional arguments: (a, axis, dtype, out, keepdims[, start])
        if ufunc.identity == start:  # add from 0, mul from 1: no explicit start needed

            def _reduce(a: Tensor, dim: int) -> Tensor:
                x = a._tensor._array
                try:
                    r = _contiguous(reduce(x, dim, None, None, True))
                except (ValueError, TypeError):
                    _check_dim(name, a, dim)
                    raise
                if _trace.KERNELS is not None:
                    _trace.KERNELS.append((_reducer(reduce, dim, None), (x,), r))
                return a._new(_from_c_array(r))

            return _reduce

        def _reduce_from(a: Tensor, dim: int) -> Tensor:
            x = a._tensor._array
            try:
                r = _contiguous(reduce(x, dim, None, None, True, start))
            except (ValueError, TypeError):
                _check_dim(name, a, dim)
                raise
            if _trace.KERNELS is not None:
                _trace.KERNELS.append((_reducer(reduce, dim, start), (x,), r))
            return a._new(_from_c_array(r))

        return _reduce_from

    @staticmethod
    def matrix_multiply(a: Tensor, b: Tensor) -> Tensor:
        """``a @ b`` over the last two dims, batch dims broadcast; 2-D @ 2-D gives 2-D.

        ``(B, n, m) @ (B or 1, m, p) -> (B, n, p)``. Mismatched shapes raise
        ``IndexingError`` naming both.
        """
        x = a._tensor._array
        y = b._tensor._array
        if x.ndim < 2 or y.ndim < 2:
            matmul_shape(a.shape, b.shape)
        try:
            raw = np.matmul(x, y)
        except ValueError:
            matmul_shape(a.shape, b.shape)
            raise
        r = _contiguous(raw)
        if _trace.KERNELS is not None:
            _trace.KERNELS.append((np.matmul if r is raw else _matmul, (x, y), r))
        return a._new(_from_c_array(r))


FastBackend = TensorBackend(FastOps)
"""The NumPy backend: the default of ``Tensor``, ``tensor``, ``rand`` and ``zeros``."""

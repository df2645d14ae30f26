"""A stand-in for CuPy on the CPU, with CuPy's rules, so the GPU code runs in every test run.

Its ``ndarray`` holds a NumPy array but is not one, and behaves as a GPU array does where
it matters for correctness:

* no implicit conversion to NumPy (``np.asarray(x)``, ``np.add(x, y)`` and any NumPy
  function given one raise ``TypeError``, as CuPy's ``__array__`` does); ``x.get()`` and
  ``asnumpy(x)`` copy to the host;
* its functions refuse NumPy arrays (CuPy's ``Unsupported type``) except the converters
  (``asarray``, ``array``);
* indexing and reductions give 0-d arrays, not NumPy scalars; ``float(x)`` and ``bool(x)``
  work (CuPy synchronises);
* ``lib.stride_tricks.as_strided`` takes no ``writeable``; no ``frompyfunc``.

Install it with ``minitorch.devices.use_cuda(fake_cupy)``; every ``cuda`` tensor then
lives here. The real GPU tests (marker ``gpu``) run the same checks on CuPy.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np

_NO = frozenset({"frompyfunc", "errstate", "array2string", "set_printoptions", "vectorize"})
_CONVERTERS = frozenset({"asarray", "array", "ascontiguousarray_from_host"})


class ndarray:
    """A device array: a NumPy array behind CuPy's rules."""

    __slots__ = ("__weakref__", "_a", "_base")
    __array_ufunc__ = None  # NumPy's ufuncs refuse it (TypeError), as with CuPy's

    def __init__(self, a: np.ndarray) -> None:
        assert isinstance(a, np.ndarray), type(a)
        self._a = a
        self._base: ndarray | None = None  # the array whose memory this one views

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
            "construct a NumPy array explicitly."
        )

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        raise TypeError(f"NumPy's {func.__name__} was given a GPU array (fake_cupy).")

    # -- attributes ------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    T = property(lambda self: _wrap(self._a.T, (self,)))
    mT = property(lambda self: _wrap(self._a.mT, (self,)))

    @property
    def flags(self) -> Any:
        f = self._a.flags
        return types.SimpleNamespace(
            c_contiguous=f.c_contiguous, f_contiguous=f.f_contiguous, owndata=f.owndata
        )

    @property
    def base(self) -> Any:
        return self._base

    def get(self) -> np.ndarray:
        return self._a.copy()

    def item(self) -> Any:
        return self._a.item()

    def tolist(self) -> Any:
        return self._a.tolist()

    def __float__(self) -> float:
        return float(self._a)

    def __int__(self) -> int:
        return int(self._a)

    def __bool__(self) -> bool:
        return bool(self._a)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Any:
        for i in range(len(self._a)):
            yield self[i]

    def __repr__(self) -> str:
        return "fake_cupy." + repr(self._a)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._a, name)
        if not callable(attr):
            raise AttributeError(name)
        return _function(attr, (self,), refuse_host=True)

    def __getitem__(self, key: Any) -> Any:
        return _wrap(self._a[_key(key)], (self,))

    def __setitem__(self, key: Any, value: Any) -> None:
        self._a[_key(key)] = _unwrap(value, refuse_host=True)


def _key(key: Any) -> Any:
    if isinstance(key, tuple):
        return tuple(_key(k) for k in key)
    if isinstance(key, np.ndarray):
        raise TypeError("fake_cupy: index a GPU array with GPU arrays, not NumPy arrays.")
    return key._a if isinstance(key, ndarray) else key


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _unwrap(x: Any, refuse_host: bool) -> Any:
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, np.ndarray):
        if refuse_host:
            raise TypeError(f"Unsupported type {type(x)} (fake_cupy: a NumPy array on the GPU).")
        return x
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v, refuse_host) for v in x)
    return x


def _wrap(r: Any, inputs: tuple[Any, ...]) -> Any:
    if isinstance(r, np.ndarray):
        for x in inputs:  # the same array comes back as the same object (out=, no-op views)
            if isinstance(x, ndarray) and x._a is r:
                return x
        w = ndarray(r)
        if r.base is not None:  # a view: its base is the input array it views
            root = _root(r)
            for x in inputs:
                if isinstance(x, ndarray) and _root(x._a) is root:
                    w._base = x._base if x._base is not None else x
                    break
        return w
    if isinstance(r, np.generic) and not isinstance(r, (np.str_, np.bytes_)):
        return ndarray(np.asarray(r))
    if isinstance(r, tuple):
        return tuple(_wrap(v, inputs) for v in r)
    if isinstance(r, list):
        return [_wrap(v, inputs) for v in r]
    return r


def _function(f: Callable[..., Any], bound: tuple[Any, ...], refuse_host: bool) -> Any:
    def run(*args: Any, **kwargs: Any) -> Any:
        a = _unwrap(args, refuse_host)
        kw = {k: _unwrap(v, refuse_host) for k, v in kwargs.items()}
        everything = bound + args + tuple(kwargs.values())
        return _wrap(f(*a, **kw), everything)

    run.__name__ = getattr(f, "__name__", "fn")
    return run


def _binary(name: str) -> Callable[..., Any]:
    def op(self: ndarray, other: Any) -> Any:
        return _function(getattr(self._a, name), (self,), refuse_host=True)(other)

    return op


_BINARY = (
    "add sub mul truediv floordiv pow mod matmul lt le gt ge eq ne and or xor "
    "radd rsub rmul rtruediv rpow rmatmul iadd isub imul itruediv ipow"
)
for _op in _BINARY.split():
    setattr(ndarray, f"__{_op}__", _binary(f"__{_op}__"))
for _op in ("neg", "pos", "abs", "invert"):
    setattr(ndarray, f"__{_op}__", lambda self, _n=_op: _wrap(getattr(self._a, f"__{_n}__")(), ()))
ndarray.__hash__ = None  # type: ignore[assignment]


# -- the namespace ---------------------------------------------------------------------
def asarray(x: Any, dtype: Any = None, order: Any = None) -> ndarray:
    if isinstance(x, ndarray):
        if dtype is None or np.dtype(dtype) == x.dtype:
            return x
        return ndarray(x._a.astype(dtype))
    return ndarray(np.array(_unwrap(x, False), dtype=dtype, order=order or "K"))


def array(x: Any, dtype: Any = None, copy: bool = True, order: Any = "K") -> ndarray:
    return ndarray(np.array(_unwrap(x, False), dtype=dtype, copy=True, order=order))


def asnumpy(x: Any) -> np.ndarray:
    if isinstance(x, ndarray):
        return x._a.copy()
    return np.asarray(x)


def get_array_module(*args: Any) -> Any:
    import sys

    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else np


class _Strides:
    @staticmethod
    def as_strided(x: ndarray, shape: Any = None, strides: Any = None) -> ndarray:
        return _wrap(np.lib.stride_tricks.as_strided(x._a, shape=shape, strides=strides), (x,))


lib = types.SimpleNamespace(stride_tricks=_Strides)


class _Device:
    id = 0

    def __init__(self, i: int = 0) -> None:
        self.id = i

    def synchronize(self) -> None:
        pass

    def __enter__(self) -> _Device:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


cuda = types.SimpleNamespace(
    runtime=types.SimpleNamespace(
        getDeviceCount=lambda: 1,
        getDeviceProperties=lambda i: {"name": b"fake_cupy (NumPy behind CuPy's rules)"},
    ),
    Device=_Device,
)


class _UFunc:
    def __init__(self, u: np.ufunc) -> None:
        self._u = u
        self.__name__ = u.__name__
        self.identity = u.identity

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _function(self._u, (), refuse_host=True)(*args, **kwargs)


def __getattr__(name: str) -> Any:
    if name in _NO or name.startswith("__"):
        raise AttributeError(f"fake_cupy has no {name} (nor has CuPy)")
    f = getattr(np, name)
    if isinstance(f, np.ufunc):
        return _UFunc(f)
    if isinstance(f, type) or not callable(f):
        return f  # dtypes and constants
    return _function(f, (), refuse_host=True)

"""Making tensors: from data, filled with a value, ranges, random; PyTorch's names and the course's.

Sizes are given as in PyTorch (``zeros(2, 3)``, ``zeros((2, 3))``, ``zeros([2, 3])``,
``zeros(size=(2, 3))``) or the course's way, with the backend as the second positional
argument (``zeros((2, 3), backend)``): an int is a size, a ``TensorBackend`` is a backend.
Every function takes ``dtype=`` (float64 by default, or float32), ``backend=`` (the NumPy
``FastBackend`` by default), ``device=`` (``"cpu"`` or ``"cuda"``, as in PyTorch; random
values are drawn on the host, so a seed gives the same numbers on either) and
``requires_grad=``. Results are constants unless
``requires_grad=True`` (then leaves).

Randomness: every random number minitorch draws comes from Python's ``random``. ``rand``
draws from it directly (the course's contract: reproducible after ``random.seed(n)``); the
NumPy draws (``randn``, weight initialisers, dropout masks, shuffles) use
``numpy_generator()``, a NumPy generator seeded from it. So ``manual_seed(n)`` (which is
``random.seed(n)``) makes all of them reproducible.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _trace
from .devices import Device
from .tensor import Tensor, _backend_for, _dtype
from .tensor_data import TensorData
from .tensor_ops import TensorBackend

__all__ = [
    "arange",
    "empty",
    "eye",
    "from_numpy",
    "full",
    "full_like",
    "linspace",
    "manual_seed",
    "numpy_generator",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randn",
    "randn_like",
    "tensor",
    "zeros",
    "zeros_like",
]


# ---------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _check_dims(name: str, dims: Any) -> tuple[int, ...]:
    out = []
    for d in dims:
        if not _is_int(d):
            raise TypeError(
                f"{name}(): sizes must be ints, got {d!r} ({type(d).__name__}); e.g. "
                f"{name}(2, 3) or {name}((2, 3))."
            )
        if d < 0:
            raise ValueError(f"{name}(): negative dimension {int(d)} in size {tuple(dims)}.")
        out.append(int(d))
    return tuple(out)


def _size_args(
    name: str, args: tuple[Any, ...], size: Any, positional: tuple[str, ...], given: dict[str, Any]
) -> tuple[tuple[int, ...], dict[str, Any]]:
    """Split ``f(*args)`` into the size and the options named by ``positional``.

    The size is a run of leading ints, or one sequence; what follows fills ``positional``
    in order (the course's ``zeros(shape, backend)``). Keywords in ``given`` win when not
    None; an option given twice raises.
    """
    if size is not None:
        if args and _is_int(args[0]):
            raise TypeError(f"{name}(): the size is given both positionally and as size=.")
        dims: Any = (size,) if _is_int(size) else size
        rest = args
    elif not args:
        raise TypeError(f"{name}() needs a size, e.g. {name}(2, 3) or {name}((2, 3)).")
    elif isinstance(args[0], (list, tuple)):
        dims, rest = args[0], args[1:]
    else:
        n = 0
        while n < len(args) and _is_int(args[n]):
            n += 1
        if n == 0:
            raise TypeError(
                f"{name}(): the size must be ints or a tuple of ints, got {args[0]!r}; e.g. "
                f"{name}(2, 3) or {name}((2, 3))."
            )
        dims, rest = args[:n], args[n:]
    if len(rest) > len(positional):
        raise TypeError(
            f"{name}(): too many positional arguments after the size {tuple(dims)}: {rest!r}. "
            f"Pass {', '.join(k + '=' for k in positional)} by keyword."
        )
    opts = dict(given)
    for key, v in zip(positional, rest):
        if key == "backend" and not isinstance(v, TensorBackend):
            raise TypeError(
                f"{name}(): {v!r} after the size is neither a size (an int) nor a backend; "
                f"sizes are ints: {name}(2, 3) or {name}((2, 3), backend)."
            )
        if opts.get(key) not in (None, False):
            raise TypeError(f"{name}(): {key} given twice (positionally and by keyword).")
        opts[key] = v
    return _check_dims(name, dims), opts


def _make(
    arr: npt.NDArray[Any],
    backend: TensorBackend | None,
    requires_grad: bool,
    dtype: Any,
    device: Any = None,
) -> Tensor:
    """A tensor of the host array ``arr`` (moved to ``device`` or ``backend``'s device)."""
    dt = _dtype(dtype) or np.dtype(np.float64)
    td = TensorData._from_array(np.ascontiguousarray(arr, dtype=dt))
    return Tensor(td, backend=backend, requires_grad=bool(requires_grad), device=device)


def _filled(
    name: str,
    args: tuple[Any, ...],
    size: Any,
    value: float,
    backend: TensorBackend | None,
    dtype: Any,
    requires_grad: bool,
    device: Any,
) -> Tensor:
    given = {"backend": backend, "dtype": dtype}
    shape, o = _size_args(name, args, size, ("backend", "dtype"), given)
    dt = _dtype(o["dtype"]) or np.dtype(np.float64)
    where = _device(o["backend"], device)
    if where is not None and where.type != "cpu":  # made on the device, not copied there
        arr = (o["backend"] or _backend_for(where)).xp.full(shape, value, dtype=dt)
        td = TensorData._from_array(arr)
        return Tensor(td, backend=o["backend"], requires_grad=bool(requires_grad), device=device)
    return _make(np.full(shape, value, dtype=dt), o["backend"], requires_grad, dt, device)


# ---------------------------------------------------------------------------
# From data
# ---------------------------------------------------------------------------


def tensor(
    ls: Any,
    backend: TensorBackend | None = None,
    requires_grad: bool = False,
    dtype: Any = None,
    device: Any = None,
) -> Tensor:
    """A tensor from (nested) lists or tuples of numbers; the shape follows the nesting.

    ``tensor([[1, 2], [3, 4]])`` has shape (2, 2); ragged nesting raises a ValueError.
    """
    return Tensor(ls, backend=backend, requires_grad=requires_grad, dtype=dtype, device=device)


def from_numpy(
    array: Any,
    backend: TensorBackend | None = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """A tensor sharing memory with a float32/float64 NumPy array (other dtypes are copied;
    so is the whole array when a GPU ``device`` is asked for)."""
    arr = np.asarray(array)
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    t = Tensor(TensorData._from_array(arr), backend=backend, device=device)
    if requires_grad:
        t.requires_grad_(True)
    return t


# ---------------------------------------------------------------------------
# Filled
# ---------------------------------------------------------------------------


def zeros(
    *args: Any,
    size: Any = None,
    backend: TensorBackend | None = None,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """Zeros: ``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros((2, 3), backend)``."""
    return _filled("zeros", args, size, 0.0, backend, dtype, requires_grad, device)


def ones(
    *args: Any,
    size: Any = None,
    backend: TensorBackend | None = None,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """Ones: ``ones(2, 3)``, ``ones((2, 3))`` or ``ones((2, 3), backend)``."""
    return _filled("ones", args, size, 1.0, backend, dtype, requires_grad, device)


def empty(
    *args: Any,
    size: Any = None,
    backend: TensorBackend | None = None,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """An "uninitialised" tensor, as in PyTorch; here always zeros (never stale memory)."""
    return _filled("empty", args, size, 0.0, backend, dtype, requires_grad, device)


def full(
    size: Any,
    fill_value: float,
    backend: TensorBackend | None = None,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """Every element ``fill_value``: ``full((2, 3), 1.5)``."""
    if not isinstance(fill_value, (int, float, np.number)) or isinstance(fill_value, bool):
        raise TypeError(f"full(): fill_value must be a number, got {type(fill_value).__name__}.")
    dims = (size,) if _is_int(size) else size
    if not isinstance(dims, (list, tuple)):
        raise TypeError(
            f"full(): size must be a tuple of ints, got {size!r}; e.g. full((2, 3), 1.5)."
        )
    shape = _check_dims("full", dims)
    return _make(np.full(shape, float(fill_value)), backend, requires_grad, dtype, device)


def eye(
    n: int,
    m: int | None = None,
    backend: TensorBackend | None = None,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """The (n, m) identity matrix (m defaults to n): 1.0 on the diagonal, 0.0 elsewhere."""
    (rows, cols) = _check_dims("eye", (n, n if m is None else m))
    return _make(np.eye(rows, cols), backend, requires_grad, dtype, device)


def _device(backend: TensorBackend | None, device: Any) -> Device | None:
    """The device asked for: ``device``, else ``backend``'s (None: neither given)."""
    if device is not None:
        return Device(device)
    return None if backend is None else backend.device


def _like_backend(t: Tensor, backend: TensorBackend | None, device: Any) -> TensorBackend | None:
    """The backend of a ``*_like`` result: the one given, else ``t``'s unless another device
    is asked for."""
    if backend is not None or device is None:
        return backend or t.backend
    return None


def _like(t: Any, name: str) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}() takes a Tensor, got {type(t).__name__}.")
    return t


def zeros_like(
    t: Tensor,
    dtype: Any = None,
    backend: TensorBackend | None = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """Zeros of ``t``'s shape (and, unless given, its dtype and backend)."""
    return full_like(_like(t, "zeros_like"), 0.0, dtype, backend, requires_grad, device)


def ones_like(
    t: Tensor,
    dtype: Any = None,
    backend: TensorBackend | None = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """Ones of ``t``'s shape (and, unless given, its dtype and backend)."""
    return full_like(_like(t, "ones_like"), 1.0, dtype, backend, requires_grad, device)


def full_like(
    t: Tensor,
    fill_value: float,
    dtype: Any = None,
    backend: TensorBackend | None = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """``fill_value`` everywhere, in ``t``'s shape (and, unless given, dtype and backend)."""
    t = _like(t, "full_like")
    return full(
        t.shape,
        fill_value,
        _like_backend(t, backend, device),
        dtype or t.dtype,
        requires_grad=requires_grad,
        device=device,
    )


# ---------------------------------------------------------------------------
# Ranges
# ---------------------------------------------------------------------------


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    backend: TensorBackend | None = None,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """start, start + step, … up to ``end`` (excluded): ``arange(5)``, ``arange(1, 2, 0.25)``.

    ⌈(end − start) / step⌉ elements (floats: minitorch tensors are float).
    """
    if end is None:
        start, end = 0, start
    for v in (start, end, step):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
            raise TypeError(f"arange(): start, end and step must be numbers, got {v!r}.")
    if step == 0:
        raise ValueError("arange(): step must be nonzero.")
    if (end - start) * step < 0:
        raise ValueError(
            f"arange(): upper bound and larger bound inconsistent with step sign: from "
            f"{start} to {end} by {step} never arrives; flip the sign of step."
        )
    arr = np.arange(start, end, step, dtype=np.float64)
    return _make(arr, backend, requires_grad, dtype, device)


def linspace(
    start: float,
    end: float,
    steps: int,
    backend: TensorBackend | None = None,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    if not _is_int(steps) or steps < 0:
        raise ValueError(f"linspace(): steps must be a non-negative int, got {steps!r}.")
    return _make(np.linspace(start, end, int(steps)), backend, requires_grad, dtype, device)


# ---------------------------------------------------------------------------
# Random
# ---------------------------------------------------------------------------


def manual_seed(seed: int) -> None:
    """Seed every random draw of minitorch (``random.seed(seed)``; see the module docstring)."""
    if not _is_int(seed):
        raise TypeError(f"manual_seed(): the seed must be an int, got {type(seed).__name__}.")
    random.seed(int(seed))


def numpy_generator() -> np.random.Generator:
    """A NumPy generator seeded from Python's ``random``: the one source of NumPy draws."""
    return np.random.default_rng(random.getrandbits(64))


@_trace.live
def rand(
    *args: Any,
    size: Any = None,
    backend: TensorBackend | None = None,
    requires_grad: bool = False,
    dtype: Any = None,
    device: Any = None,
) -> Tensor:
    """Uniform [0, 1) values from Python's ``random`` (reproducible after ``random.seed``).

    ``rand(2, 3)``, ``rand((2, 3))``, or the course's ``rand(shape, backend, requires_grad)``.
    """
    given = {"backend": backend, "requires_grad": requires_grad, "dtype": dtype}
    shape, o = _size_args("rand", args, size, ("backend", "requires_grad", "dtype"), given)
    vals = [random.random() for _ in range(math.prod(shape))]
    arr = np.array(vals, dtype=np.float64).reshape(shape)
    return _make(arr, o["backend"], o["requires_grad"], o["dtype"], device)


@_trace.live
def randn(
    *args: Any,
    size: Any = None,
    backend: TensorBackend | None = None,
    requires_grad: bool = False,
    dtype: Any = None,
    device: Any = None,
) -> Tensor:
    """Standard normal values (mean 0, variance 1) from ``numpy_generator()``."""
    given = {"backend": backend, "requires_grad": requires_grad, "dtype": dtype}
    shape, o = _size_args("randn", args, size, ("backend", "requires_grad", "dtype"), given)
    arr = numpy_generator().standard_normal(shape)
    return _make(arr, o["backend"], o["requires_grad"], o["dtype"], device)


def rand_like(
    t: Tensor,
    dtype: Any = None,
    backend: TensorBackend | None = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """``rand`` in ``t``'s shape (and, unless given, its dtype and backend)."""
    t = _like(t, "rand_like")
    return rand(
        t.shape,
        backend=_like_backend(t, backend, device),
        dtype=dtype or t.dtype,
        requires_grad=requires_grad,
        device=device,
    )


def randn_like(
    t: Tensor,
    dtype: Any = None,
    backend: TensorBackend | None = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """``randn`` in ``t``'s shape (and, unless given, its dtype and backend)."""
    t = _like(t, "randn_like")
    return randn(
        t.shape,
        backend=_like_backend(t, backend, device),
        dtype=dtype or t.dtype,
        requires_grad=requires_grad,
        device=device,
    )

"""Tensor: an n-dimensional array that remembers how it was computed.

A ``Tensor`` wraps a ``TensorData`` (NumPy storage, shape, strides), the ``backend`` whose
kernels compute with it, and its ``history`` (the Function, context and inputs that made
it). Operators and methods go through the Functions of ``tensor_functions``, so results
record the graph that ``backward()`` walks with the engine shared with ``Scalar``
(``autodiff.backpropagate``).

As for Scalars there are three kinds:

* **constant** – ``history is None``: the default (``Tensor([1, 2])``), no gradient;
* **leaf** – ``requires_grad=True`` / ``requires_grad_(True)``: gradients accumulate in
  ``.grad`` (a Tensor of the same shape);
* **internal node** – made by a Function from inputs that require gradients.

Reductions keep the reduced dim with size 1, ``t[i, j]`` gives a Python float, and
``view`` needs a contiguous tensor (see the contract's "deliberate differences").
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Sequence
from itertools import count
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from . import _fastpath
from .autodiff import UNPACK_HINT, GraphFreedError, History, backpropagate, grads_tuple
from .fast_ops import FastBackend
from .indexing import is_full_index, normalize_key
from .tensor_data import IndexingError, Storage, TensorData, UserShape, UserStrides, shape_broadcast
from .tensor_ops import TensorBackend

if TYPE_CHECKING:
    from .tensor_functions import Function

__all__ = ["History", "Tensor"]

_next_id = count(1).__next__
_new_object = object.__new__
_FLOATS = (np.dtype(np.float64), np.dtype(np.float32))
_LEAF = History()
"""The history of every leaf (all empty; shared, as histories are never modified)."""


class _Param:
    """Stands in a history for a non-Tensor argument (a dim, an order): a constant."""

    __slots__ = ()
    unique_id = 0
    history = None
    parents = ()

    def is_constant(self) -> bool:
        return True

    def is_leaf(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<parameter argument>"


class _Flag:
    """The value of ``t.requires_grad``: truthy like a bool, and callable (course code calls it)."""

    __slots__ = ("_v",)

    def __init__(self, v: bool) -> None:
        self._v = v

    def __call__(self) -> bool:
        return self._v

    def __bool__(self) -> bool:
        return self._v

    def __eq__(self, other: object) -> bool:
        return self._v == (other._v if isinstance(other, _Flag) else other)

    def __hash__(self) -> int:
        return hash(self._v)

    def __repr__(self) -> str:
        return repr(self._v)


_TRUE = _Flag(True)
_FALSE = _Flag(False)


class _Size(int):
    """The value of ``t.size``: the number of elements (an ``int``, as the course has it)
    that can also be called like PyTorch's ``t.size()``: ``t.size()`` is the shape tuple and
    ``t.size(d)`` the length of dim ``d`` (negative ``d`` counts from the end)."""

    _shape: tuple[int, ...]

    def __new__(cls, n: int, shape: tuple[int, ...]) -> _Size:
        obj = super().__new__(cls, n)
        obj._shape = shape
        return obj

    def __call__(self, dim: int | None = None) -> Any:
        shape = self._shape
        if dim is None:
            return shape
        n = len(shape)
        if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
            raise TypeError(f"size(dim): dim must be an int, got {type(dim).__name__}.")
        if not -n <= dim < n:
            raise IndexError(
                f"size({dim}): dim out of range for a tensor of shape {shape} "
                f"(use -{n} to {n - 1})."
            )
        return shape[dim]


def _dtype(dtype: Any) -> np.dtype[Any] | None:
    if dtype is None:
        return None
    dt: np.dtype[Any] = np.dtype(dtype)
    if dt not in _FLOATS:
        raise TypeError(f"Tensor dtype must be float64 or float32, got {dt}.")
    return dt


def _to_data(v: Any, dtype: np.dtype[Any] | None) -> TensorData:
    """TensorData for a number, nested lists, a NumPy array, a TensorData or a Tensor."""
    if isinstance(v, TensorData):
        if dtype is None or v.dtype == dtype:
            return v
        return TensorData._from_array(v._array.astype(dtype))
    if isinstance(v, Tensor):
        return TensorData._from_array(np.array(v._tensor._array, dtype=dtype or v.dtype))
    if isinstance(v, np.ndarray):
        dt = dtype or (v.dtype if v.dtype in _FLOATS else np.dtype(np.float64))
        return TensorData._from_array(np.array(v, dtype=dt, order="C"))
    dt = dtype or np.dtype(np.float64)
    if isinstance(v, (bool, numbers.Real, np.number)):
        return TensorData._from_array(np.array([v], dtype=dt))
    if isinstance(v, (list, tuple)):
        try:
            arr = np.array(v, dtype=dt)
        except ValueError as err:
            raise ValueError(
                f"Cannot make a tensor from {_short(v)}: the nested lists must be "
                f"rectangular (every list at one level the same length) and hold numbers "
                f"({err})."
            ) from None
        except TypeError as err:
            raise TypeError(f"Cannot make a tensor from {_short(v)}: {err}.") from None
        return TensorData._from_array(arr)
    raise TypeError(
        f"Tensor(...) needs a number, nested lists, a NumPy array or a TensorData, got "
        f"{type(v).__name__}."
    )


def _is_device(v: Any) -> bool:
    """True for a device name (``"cpu"``, ``"cuda:0"``), as opposed to a dtype name."""
    return isinstance(v, str) and v.split(":")[0] in ("cpu", "cuda", "mps", "xla", "meta")


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) < 60 else s[:57] + "..."


def _check_key(key: Any, shape: tuple[int, ...]) -> Any:
    """A checked NumPy key (a tuple) for ``key`` (``indexing.normalize_key``)."""
    return normalize_key(key, shape)[0]


def _as_gradient(fn: Any, inp: Tensor, g: Any) -> Tensor:
    """A backward's non-Tensor result for ``inp``: a number fills the input's shape."""
    if isinstance(g, Tensor):
        return g
    if isinstance(g, numbers.Real) and not isinstance(g, bool):
        return inp._new(TensorData._from_array(np.full(inp.shape, g, dtype=inp.dtype)))
    raise TypeError(
        f"{fn.__name__}.backward returned a {type(g).__name__} for an input; "
        "expected a Tensor (or 0.0 for a parameter argument)."
    )


class Tensor:
    """An n-d array of floats that records the Functions applied to it.

    ``Tensor(data, requires_grad=False, backend=None, name=None, dtype=None)``: ``data`` is
    a number (shape ``(1,)``), nested lists, a NumPy array or a ``TensorData`` (used as
    is). The course form ``Tensor(tensor_data, back, name, backend)`` works too. The
    default backend is the NumPy one (``FastBackend``), dtype float64.
    """

    __slots__ = ("__weakref__", "_name", "_tensor", "backend", "grad", "history", "unique_id")

    __array_ufunc__ = None
    """NumPy defers to the Tensor's reflected operators: ``np.float64(2) * t`` and
    ``np.array([1.0]) * t`` are Tensors that keep the graph (``np.asarray(t)`` still works)."""

    _tensor: TensorData
    history: History | None
    backend: TensorBackend
    grad: Tensor | None
    unique_id: int

    def __init__(
        self,
        v: Any,
        back: History | bool | None = None,
        name: str | None = None,
        backend: TensorBackend | None = None,
        requires_grad: bool = False,
        dtype: Any = None,
    ) -> None:
        if isinstance(back, bool):  # Tensor(data, True): PyTorch's positional requires_grad
            requires_grad, back = back, None
        self._tensor = _to_data(v, _dtype(dtype))
        self.history = _LEAF if requires_grad and back is None else back
        self.backend = FastBackend if backend is None else backend
        self.grad = None
        self.unique_id = _next_id()
        self._name = name

    # -- construction helpers ----------------------------------------------------
    def _new(self, tensor_data: TensorData) -> Tensor:
        """A constant Tensor on this backend wrapping ``tensor_data`` (no copy)."""
        t = _new_object(Tensor)
        t._tensor = tensor_data
        t.history = None
        t.backend = self.backend
        t.grad = None
        t.unique_id = _next_id()
        t._name = None
        return t

    @staticmethod
    def make(
        storage: Storage | Sequence[float],
        shape: UserShape,
        strides: UserStrides | None = None,
        backend: TensorBackend | None = None,
    ) -> Tensor:
        """A constant Tensor over ``TensorData(storage, shape, strides)``."""
        return Tensor(TensorData(storage, tuple(shape), strides), backend=backend)

    def _type_(self, backend: TensorBackend) -> None:
        """Move this tensor to ``backend`` (in place)."""
        self.backend = backend

    def _ensure_tensor(self, b: Any) -> Tensor:
        """``b`` as a Tensor: numbers become shape-(1,) tensors of this backend and dtype.

        Numbers are read-only constants, shared (``_fastpath.number``).
        """
        if isinstance(b, Tensor):
            return b
        if isinstance(b, (float, int)):
            return _fastpath.number(self, b)
        if isinstance(b, np.generic) or (isinstance(b, np.ndarray) and b.ndim == 0):
            return _fastpath.number(self, float(b))  # NumPy scalars: np.float64(2.0) * t
        return Tensor(b, backend=self.backend, dtype=self.dtype)

    # -- properties ----------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """The shape (a tuple)."""
        return self._tensor.shape

    @property
    def size(self) -> _Size:
        """Number of elements (an int), callable as in PyTorch: ``t.size()`` is the shape,
        ``t.size(d)`` the length of dim ``d``. (Internal code reads ``t._tensor.size``.)"""
        td = self._tensor
        return _Size(td.size, td.shape)

    @property
    def dims(self) -> int:
        """Number of dimensions."""
        return self._tensor.dims

    @property
    def dtype(self) -> np.dtype[Any]:
        """float64 (default) or float32."""
        return self._tensor._array.dtype

    @property
    def f(self) -> TensorBackend:
        """The backend (the course's short name)."""
        return self.backend

    @property
    def name(self) -> str:
        """A label for graphs and messages: the given name, else the unique id."""
        return self._name if self._name is not None else str(self.unique_id)

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    @property
    def requires_grad(self) -> _Flag:
        """Whether gradients flow to this tensor (not a constant).

        Truthy and comparable like a bool, and callable: ``t.requires_grad()`` returns a
        real bool. Assigning ``t.requires_grad = flag`` calls ``requires_grad_(flag)``.
        """
        return _FALSE if self.history is None else _TRUE

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(bool(flag))

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """True: make this a fresh leaf (also if it had a history); False: a constant."""
        self.history = _LEAF if flag else None
        return self

    @property
    def grad_fn(self) -> type[Function] | None:
        """The Function that produced this tensor (None for leaves and constants)."""
        h = self.history
        return None if h is None else h.last_fn

    # -- the Variable protocol ----------------------------------------------------------
    def is_leaf(self) -> bool:
        """True for a tensor that requires grad and was not made by a Function."""
        h = self.history
        return h is not None and h.last_fn is None

    def is_constant(self) -> bool:
        """True when no gradient flows here (no history)."""
        return self.history is None

    @property
    def parents(self) -> Sequence[Any]:
        """The inputs of the Function that made this tensor."""
        h = self.history
        return () if h is None else h.inputs

    def accumulate_derivative(self, x: Tensor) -> None:
        """Add ``x`` (a gradient of this tensor's shape) to ``.grad``. Leaves only.

        ``.grad`` starts from zeros, i.e. the first gradient is stored as a copy (a fresh
        C-contiguous buffer of this tensor's dtype, never shared with another tensor).
        """
        h = self.history
        if h is None or h.last_fn is not None:
            raise RuntimeError(
                f"accumulate_derivative is for leaves; this tensor was made by "
                f"{getattr(self.grad_fn, '__name__', 'nothing')}."
            )
        if x._tensor.shape != self._tensor.shape:
            x = self.expand(x)
        g = self.grad
        if g is not None:
            self.grad = g + x
        elif x.history is not None:  # create_graph: keep the graph of the gradient
            self.grad = x
        elif _fastpath.can_take(x, self):
            self.grad = x  # a fresh gradient nobody else holds: no copy needed
        else:
            arr = np.array(x._tensor._array, dtype=self._tensor._array.dtype, order="C")
            self.grad = self._new(TensorData._from_c_array(arr))

    def chain_rule(self, d_output: Tensor) -> list[tuple[Tensor, Tensor]]:
        """``(input, input.expand(grad))`` for each input that needs a gradient.

        Each gradient from the Function's backward is summed back to its input's shape.
        """
        h = self.history
        if h is None or h.last_fn is None or h.ctx is None:
            raise RuntimeError(
                "chain_rule needs a tensor made by a Function; this one is a "
                f"{'constant' if h is None else 'leaf'}."
            )
        fn = h.last_fn
        ctx = h.ctx
        if ctx.freed:
            raise GraphFreedError(
                f"Trying to backward through {fn.__name__} a second time: the graph's saved "
                "values were freed after the first backward(). Pass `retain_graph=True` to "
                "the first backward() to keep the graph, or recompute the forward pass."
            )
        ctx.output = self  # type: ignore[attr-defined]  # this node, during backward only
        try:
            grads = fn.backward(ctx, d_output)  # Function._backward, inlined
        except TypeError as err:
            hint = (" " + UNPACK_HINT) if ctx.saved_values else ""
            raise TypeError(f"{fn.__name__}.backward raised TypeError: {err}.{hint}") from err
        finally:
            ctx.output = None  # type: ignore[attr-defined]  # keep no reference: no cycle
        if type(grads) is not tuple:
            grads = grads_tuple(grads)
        inputs = h.inputs
        if len(grads) != len(inputs):
            raise TypeError(
                f"{fn.__name__}.backward returned {len(grads)} value(s) but "
                f"{fn.__name__}.forward took {len(inputs)} input(s): return one gradient per "
                "input (0.0 for parameter arguments)."
            )
        out = []
        for inp, g in zip(inputs, grads):
            if inp.history is None or g is None:  # constants and parameter arguments
                continue
            if type(g) is not Tensor:
                g = _as_gradient(fn, inp, g)
            if g._tensor.shape != inp._tensor.shape:
                try:
                    g = inp.expand(g)
                except IndexingError:
                    raise IndexingError(
                        f"{fn.__name__}.backward returned a gradient of shape {g.shape} for "
                        f"an input of shape {inp.shape}; it must broadcast to the input's shape."
                    ) from None
            out.append((inp, g))
        return out

    def release_graph(self) -> None:
        """Free what this node's Function saved (called by backward unless retain_graph)."""
        h = self.history
        if h is not None:
            ctx = h.ctx
            if ctx is not None:  # Context.release(), inlined: this runs once per node
                ctx.saved_values = ()
                ctx.freed = True

    def backward(
        self,
        grad_output: Any = None,
        retain_graph: bool = False,
        create_graph: bool = False,
    ) -> None:
        """Backpropagate from this tensor; reached leaves accumulate ``.grad``.

        ``grad_output`` is ∂L/∂self (a tensor of this shape, or a number); it may be left
        out for a one-element tensor (1.0). Saved values are freed afterwards unless
        ``retain_graph=True``. ``create_graph=True`` records the backward pass, so the
        gradients can be differentiated again (it implies ``retain_graph``).
        """
        if self.history is None:
            raise RuntimeError(
                "backward() was called on a constant tensor (requires_grad is False): no "
                "input of it requires a gradient. Create inputs with requires_grad=True (or "
                "call .requires_grad_()) and compute outside `no_grad()`."
            )
        if grad_output is None:
            if self.size != 1:
                raise RuntimeError(
                    f"backward() without grad_output needs a one-element tensor; this one "
                    f"has shape {self.shape}. Reduce it first (e.g. .sum()) or pass "
                    f"grad_output of shape {self.shape}."
                )
            seed = self._new(TensorData._from_array(np.ones(self.shape, dtype=self.dtype)))
        else:
            if isinstance(grad_output, Tensor):
                seed = grad_output
            elif isinstance(grad_output, (numbers.Real, np.ndarray, list, tuple)):
                seed = Tensor(grad_output, backend=self.backend, dtype=self.dtype)
            else:
                raise TypeError(
                    f"backward: grad_output must be a Tensor or a number, got "
                    f"{type(grad_output).__name__}."
                )
            if seed.shape != self.shape:
                if seed.size == 1:
                    seed = self._new(
                        TensorData._from_array(np.full(self.shape, seed.item(), dtype=self.dtype))
                    )
                else:
                    raise IndexingError(
                        f"backward: grad_output has shape {seed.shape} but the tensor has "
                        f"shape {self.shape}; they must match."
                    )
            if seed.history is not None and not create_graph:
                seed = seed.detach()
        with _fastpath.BackwardPass(_next_id):
            backpropagate(self, seed, retain_graph=retain_graph, create_graph=create_graph)

    def zero_grad_(self) -> None:
        """Forget the gradient (``.grad = None``)."""
        self.grad = None

    def zero_grad(self) -> None:
        """Forget the gradient (``.grad = None``); same as ``zero_grad_``."""
        self.grad = None

    def detach(self) -> Tensor:
        """A constant sharing this tensor's data and backend, cut from the graph."""
        return self._new(self._tensor)

    # -- conversion ----------------------------------------------------------------------
    def item(self) -> float:
        """The single value of a one-element tensor, as a Python float."""
        if self.size != 1:
            raise IndexingError(
                f"item() needs a one-element tensor; this one has shape {self.shape}."
            )
        return float(self._tensor._array.reshape(-1)[0])

    def __float__(self) -> float:
        return self.item()

    def __bool__(self) -> bool:
        if self.size != 1:
            raise RuntimeError(
                f"The truth value of a tensor of shape {self.shape} is ambiguous; use "
                ".all() or .item()."
            )
        return bool(self.item())

    def to_numpy(self) -> npt.NDArray[Any]:
        """A NumPy copy with this tensor's shape (C-contiguous)."""
        return np.array(self._tensor._array, order="C", copy=True)

    def numpy(self) -> npt.NDArray[Any]:
        """A NumPy copy with this tensor's shape."""
        return self.to_numpy()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> npt.NDArray[Any]:
        arr = self._tensor._array
        if dtype is not None:
            arr = arr.astype(dtype)
        return arr.copy() if copy else arr

    def tuple(self) -> tuple[Any, Any, Any]:
        """``(_storage, _shape, _strides)`` of the underlying TensorData."""
        return self._tensor.tuple()

    def zeros(self, shape: UserShape | None = None) -> Tensor:
        """Zeros of ``shape`` (default: this shape) on this backend, with this dtype."""
        s = self.shape if shape is None else tuple(shape)
        return self._new(TensorData._from_array(np.zeros(s, dtype=self.dtype)))

    def contiguous(self) -> Tensor:
        """This tensor if already contiguous, else a contiguous copy (``Copy``)."""
        if self._tensor.is_contiguous():
            return self
        return tf.Copy.apply(self)

    def is_contiguous(self) -> bool:
        """True for a plain row-major layout."""
        return self._tensor.is_contiguous()

    # -- display -----------------------------------------------------------------------
    def __repr__(self) -> str:
        body = self._tensor.to_string().replace("\n", "\n       ")
        extra = ""
        if self.dtype != np.float64:
            extra += f", dtype={self.dtype}"
        h = self.history
        if h is not None:
            extra += (
                ", requires_grad=True" if h.last_fn is None else f", grad_fn=<{h.last_fn.__name__}>"
            )
        return f"tensor({body}{extra})"

    def __str__(self) -> str:
        return self._tensor.to_string()

    def _repr_svg_(self) -> str | None:
        """Notebook display: the graph that produced this tensor (``minitorch.viz``)."""
        from .viz import repr_svg

        return repr_svg(self)

    # -- indexing ------------------------------------------------------------------------
    def __getitem__(self, key: Any) -> Any:
        """PyTorch's indexing (``indexing.normalize_key``), with the course's full index.

        A full index of ints (``t[i]`` on 1-D, ``t[i, j]`` on 2-D …) is a Python float, its
        entries non-negative. Otherwise: ints (negatives count from the end), slices,
        ``...`` and ``None`` give a view; index lists/arrays/Tensors and masks give a copy.
        The gradient is scattered back (``GetItem``; repeated indices add up).
        """
        arr = self._tensor._array
        if type(key) is int and arr.ndim == 1 and 0 <= key < arr.shape[0]:
            return float(arr[key])
        np_key, basic = normalize_key(key, self._tensor.shape)
        if basic and is_full_index(np_key, arr.ndim):
            return float(arr[np_key])
        return tf.GetItem.apply(self, np_key)

    def __setitem__(self, key: Any, value: Any) -> None:
        """Write in place: ``t[i, j] = v`` or ``t[0:2, :] = values`` (broadcasting)."""
        if isinstance(key, (int, np.integer)) or (
            isinstance(key, (tuple, list)) and all(isinstance(k, (int, np.integer)) for k in key)
        ):
            self._tensor.set(int(key) if isinstance(key, (int, np.integer)) else tuple(key), value)
            return
        self._tensor._array[_check_key(key, self.shape)] = np.asarray(value)

    def __len__(self) -> int:
        return self.shape[0]

    def __iter__(self) -> Iterator[Any]:
        """Over a 1-D tensor: its values (floats, the contract); else views of its rows."""
        if self.dims == 1:
            for i in range(self.shape[0]):
                yield self[i]
        else:
            for i in range(self.shape[0]):
                yield tf.GetItem.apply(self, (i,))

    # -- operators ------------------------------------------------------------------------
    def __add__(self, b: Any) -> Tensor:
        return tf.Add.apply(self, b if type(b) is Tensor else self._ensure_tensor(b))

    def __radd__(self, b: Any) -> Tensor:
        return tf.Add.apply(self._ensure_tensor(b), self)

    def __sub__(self, b: Any) -> Tensor:
        return tf.Sub.apply(self, b if type(b) is Tensor else self._ensure_tensor(b))

    def __rsub__(self, b: Any) -> Tensor:
        return tf.Sub.apply(self._ensure_tensor(b), self)

    def __mul__(self, b: Any) -> Tensor:
        return tf.Mul.apply(self, b if type(b) is Tensor else self._ensure_tensor(b))

    def __rmul__(self, b: Any) -> Tensor:
        return tf.Mul.apply(self._ensure_tensor(b), self)

    def __truediv__(self, b: Any) -> Tensor:
        return tf.Div.apply(self, b if type(b) is Tensor else self._ensure_tensor(b))

    def __rtruediv__(self, b: Any) -> Tensor:
        return tf.Div.apply(self._ensure_tensor(b), self)

    def __matmul__(self, b: Any) -> Tensor:
        """Matrix product; 1-D operands follow PyTorch's ``matmul`` (1-D @ 1-D has shape (1,))."""
        if type(b) is not Tensor:
            b = self._ensure_tensor(b)
        if self._tensor.dims == 1 or b._tensor.dims == 1:
            return tf.matmul(self, b)
        return tf.MatMul.apply(self, b)

    def __rmatmul__(self, b: Any) -> Tensor:
        return self._ensure_tensor(b).__matmul__(self)

    def __pow__(self, b: Any) -> Tensor:
        """``self ** b`` for a number or a tensor ``b`` (broadcasting; both get gradients)."""
        return tf.Pow.apply(self, b if isinstance(b, Tensor) else self._ensure_tensor(b))

    def __rpow__(self, b: Any) -> Tensor:
        """``number ** self``: ∂/∂self = b^self · ln b."""
        return tf.Pow.apply(self._ensure_tensor(b), self)

    def __abs__(self) -> Tensor:
        return tf.Abs.apply(self)

    def __neg__(self) -> Tensor:
        return tf.Neg.apply(self)

    def __lt__(self, b: Any) -> Tensor:
        return tf.LT.apply(self, self._ensure_tensor(b))

    def __gt__(self, b: Any) -> Tensor:
        return tf.LT.apply(self._ensure_tensor(b), self)

    def __le__(self, b: Any) -> Tensor:
        return tf.LE.apply(self, self._ensure_tensor(b))

    def __ge__(self, b: Any) -> Tensor:
        return tf.LE.apply(self._ensure_tensor(b), self)

    def __eq__(self, b: Any) -> Tensor:  # type: ignore[override]
        return tf.EQ.apply(self, self._ensure_tensor(b))

    def __ne__(self, b: Any) -> Tensor:  # type: ignore[override]
        return 1.0 - tf.EQ.apply(self, self._ensure_tensor(b))

    __hash__ = None  # type: ignore[assignment]  # == builds a Tensor, so no hashing

    # -- methods -------------------------------------------------------------------------
    def sigmoid(self) -> Tensor:
        """σ(x) elementwise; derivative σ(x)(1 - σ(x))."""
        return tf.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        """max(x, 0) elementwise; derivative 1 where x > 0."""
        return tf.ReLU.apply(self)

    def log(self) -> Tensor:
        """ln(x + 1e-6) elementwise; derivative 1/(x + 1e-6)."""
        return tf.Log.apply(self)

    def exp(self) -> Tensor:
        """e^x elementwise; derivative e^x."""
        return tf.Exp.apply(self)

    def tanh(self) -> Tensor:
        """tanh(x) elementwise; derivative 1 - tanh(x)²."""
        return tf.Tanh.apply(self)

    def is_close(self, y: Any) -> Tensor:
        """1.0 where |x - y| < 1e-2, else 0.0."""
        return tf.IsClose.apply(self, self._ensure_tensor(y))

    def sum(self, dim: Any = None, keepdim: bool = True) -> Tensor:
        """Sum along ``dim`` (an int or a tuple of ints; kept with size 1 unless
        ``keepdim=False``), or of everything (shape ``(1,)``)."""
        out = tf.Sum.apply(self, dim)
        return out if keepdim or dim is None else out._drop_dims(dim)

    def mean(self, dim: Any = None, keepdim: bool = True) -> Tensor:
        """Mean along ``dim`` (an int or a tuple; ``sum(dim) / n``), or of everything (shape
        ``(1,)``); NaN for no elements."""
        out = tf.Mean.apply(self, dim)
        return out if keepdim or dim is None else out._drop_dims(dim)

    def max(self, dim: Any = None, keepdim: bool = True) -> Tensor:
        """Maximum along ``dim`` (an int or a tuple; kept with size 1), or of everything;
        grad to every tie. The values only (the course's contract; ``argmax`` gives indices)."""
        out = tf.Max.apply(self, dim)
        return out if keepdim or dim is None else out._drop_dims(dim)

    def all(self, dim: Any = None, keepdim: bool = True) -> Tensor:
        """1.0 where every element (along ``dim``, an int or a tuple) is non-zero, else 0.0."""
        out = tf.All.apply(self, dim)
        return out if keepdim or dim is None else out._drop_dims(dim)

    def _drop_dims(self, dim: Any) -> Tensor:
        """This reduction result without the (size-1) dims ``dim``; shape ``(1,)`` at least."""
        ds = tf._dims(self, dim) or ()
        shape = tuple(n for i, n in enumerate(self.shape) if i not in ds)
        return self.contiguous().view(*(shape or (1,)))

    def permute(self, *order: Any) -> Tensor:
        """A view with the dims reordered: ``shape[i] = old.shape[order[i]]``.

        Negative dims count from the end (PyTorch); the order may be one sequence.
        """
        if len(order) == 1 and not isinstance(order[0], (int, np.integer)):
            if isinstance(order[0], Tensor):
                return tf.Permute.apply(self, order[0])
            order = tuple(order[0])
        n = self._tensor.dims
        return tf.Permute.apply(self, tuple([d + n if d < 0 else d for d in order]))

    def view(self, *shape: Any) -> Tensor:
        """The same data with another shape (same size; needs a contiguous tensor; -1 infers)."""
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            return tf.View.apply(self, shape[0])
        return tf.View.apply(self, shape)

    # -- PyTorch names: elementwise, reductions, conversion (issue 10) --------------------
    def abs(self) -> Tensor:
        """|x| elementwise; derivative sign(x) (0 at 0)."""
        return tf.Abs.apply(self)

    def sqrt(self) -> Tensor:
        """√x elementwise (NaN below 0); derivative 1 / (2√x)."""
        return tf.Sqrt.apply(self)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        """Values limited to [min, max] (numbers or tensors; either may be None).

        Derivative 1 where min ≤ x ≤ max, else 0 (tensor bounds get the gradient where
        they are chosen). NaN stays NaN.
        """
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must not be None.")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            out = self
            if min is not None:
                out = tf.where(out < min, min, out)
            if max is not None:
                out = tf.where(out > max, max, out)
            return out
        return tf.Clamp.apply(self, min, max)

    clip = clamp

    def where(self, condition: Any, other: Any) -> Tensor:
        """This tensor where ``condition`` is non-zero, else ``other`` (broadcasting)."""
        return tf.where(condition, self, other)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """``value`` where ``mask`` is non-zero, else this tensor; the shape stays this one.

        ``value`` is a number or a one-element tensor (which then gets the gradient).
        """
        if isinstance(value, Tensor) and value._tensor.size != 1:
            raise IndexingError(
                f"masked_fill: value must be a number or a one-element tensor, got shape "
                f"{value.shape}; for a tensor of values use where(mask, values, x)."
            )
        out = tf.where(mask, value, self)
        if out.shape != self.shape:
            raise IndexingError(
                f"masked_fill: the mask of shape {getattr(mask, 'shape', None)} must broadcast "
                f"to the tensor's shape {self.shape}."
            )
        return out

    def min(self, dim: Any = None, keepdim: bool = True) -> Tensor:
        """Minimum along ``dim`` (an int or a tuple; kept with size 1), or of everything;
        grad to every tie. The values only (``argmin`` gives indices)."""
        out = tf.Min.apply(self, dim)
        return out if keepdim or dim is None else out._drop_dims(dim)

    def prod(self, dim: Any = None, keepdim: bool = True) -> Tensor:
        """Product along ``dim`` (an int or a tuple; kept with size 1), or of everything;
        exact gradients with zeros in the input (the product of the others)."""
        if dim is None:
            return tf.Prod.apply(self, None)
        out = self
        for d in tf._dims(self, dim) or ():
            out = tf.Prod.apply(out, d)
        return out if keepdim else out._drop_dims(dim)

    def var(
        self,
        dim: Any = None,
        unbiased: bool | None = None,
        keepdim: bool = True,
        *,
        correction: float | None = None,
    ) -> Tensor:
        """Σ (x − mean)² / (n − correction) along ``dim`` (an int, a tuple, or everything).

        ``correction`` defaults to 1 (Bessel's; ``unbiased=False`` means 0); n ≤ correction
        gives inf or NaN, as in PyTorch.
        """
        if correction is None:
            correction = 0 if unbiased is False else 1
        elif unbiased is not None:
            raise TypeError("var/std: pass either unbiased or correction, not both.")
        ds = tf._dims(self, dim)
        n = self._tensor.size if ds is None else math.prod(self.shape[d] for d in ds)
        centred = self - self.mean(ds)
        s = (centred * centred).sum(ds)
        denom = n - correction
        out = s * (1.0 / denom) if denom > 0 else s * math.inf
        return out if keepdim or ds is None else out._drop_dims(ds)

    def std(
        self,
        dim: Any = None,
        unbiased: bool | None = None,
        keepdim: bool = True,
        *,
        correction: float | None = None,
    ) -> Tensor:
        """√var (same arguments as ``var``)."""
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Indices of the maxima along ``dim`` (the first of ties), or into the flattened tensor.

        A constant float64 tensor (PyTorch gives int64; minitorch tensors are float).
        ``minitorch.argmax(t, dim)`` is the course's one-hot mask, a different thing.
        """
        return self._arg_extremum("argmax", dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Indices of the minima along ``dim`` (the first of ties), as float64; see argmax."""
        return self._arg_extremum("argmin", dim, keepdim)

    def _arg_extremum(self, name: str, dim: Any, keepdim: bool) -> Tensor:
        tf._nonempty_dims(name, self, dim)
        arr = self._tensor._array
        find = np.argmax if name == "argmax" else np.argmin
        if dim is None:
            idx = np.array([find(arr.reshape(-1))])
            if keepdim:
                idx = idx.reshape((1,) * arr.ndim)
        else:
            ds = tf._dims(self, dim) or ()
            if len(ds) != 1:
                raise TypeError(f"{name}: dim must be one int (or None), got {dim!r}.")
            idx = find(arr, axis=ds[0], keepdims=keepdim)
        return self._new(TensorData._from_array(np.asarray(idx, dtype=np.float64)))

    def clone(self) -> Tensor:
        """A copy with its own memory (contiguous); gradients flow back to this tensor."""
        return tf.Copy.apply(self)

    def float(self) -> Tensor:
        """This tensor as float32 (PyTorch's ``float``); itself if already float32."""
        return self.to(np.float32)

    def double(self) -> Tensor:
        """This tensor as float64 (PyTorch's ``double``); itself if already float64."""
        return self.to(np.float64)

    def to(self, *args: Any, dtype: Any = None, device: Any = None, copy: bool = False) -> Tensor:
        """This tensor with another dtype and/or backend, differentiably.

        ``to(np.float32)``, ``to("float64")``, ``to(other_tensor)`` (its dtype and backend),
        ``to(backend)``, ``to("cpu")`` (minitorch computes on the CPU: no change). Returns
        this very tensor when nothing changes (unless ``copy=True``).
        """
        backend = self.backend
        for a in args:
            if isinstance(a, Tensor):
                dtype, backend = a.dtype, a.backend
            elif isinstance(a, TensorBackend):
                backend = a
            elif isinstance(a, str) and _is_device(a):
                device = a
            else:
                dtype = a
        if device is not None and str(device).split(":")[0] != "cpu":
            raise ValueError(
                f"to({device!r}): minitorch computes on the CPU with NumPy; only the device "
                "'cpu' exists. Choose a backend with to(backend) instead."
            )
        dt = _dtype(dtype) or self.dtype
        if dt == self.dtype and backend is self.backend:
            return tf.Copy.apply(self) if copy else self
        return tf.To.apply(self, dt, backend)

    def numel(self) -> int:
        """Number of elements."""
        return int(self._tensor.size)

    def dim(self) -> int:
        """Number of dimensions (PyTorch's name; ``dims`` is the course's)."""
        return self._tensor.dims

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return self._tensor.dims

    def tolist(self) -> Any:
        """The values as nested Python lists of floats (a one-element tensor gives ``[x]``)."""
        return self._tensor._array.tolist()

    def expand(self, *sizes: Any) -> Tensor:
        """Two forms. ``expand(other: Tensor)`` (the contract): ``other`` (a gradient
        broadcastable with this shape) brought to exactly this shape: broadcast up where
        ``other`` is smaller, then summed over the dims where this tensor has size 1 or no
        dim, the one place where broadcasting is undone.

        ``expand(*sizes)`` (PyTorch): this tensor broadcast to ``sizes`` as a view (``-1``
        keeps a dim; ``shape_functions.expand``).
        """
        other = sizes[0] if len(sizes) == 1 else None
        if not isinstance(other, Tensor):
            return sf.expand(self, *sizes)
        shape = self._tensor.shape
        oshape = other._tensor.shape
        if oshape == shape:
            return other
        try:
            full = shape_broadcast(oshape, shape)
        except IndexingError:
            raise IndexingError(
                f"expand: a gradient of shape {oshape} does not broadcast with the "
                f"tensor's shape {shape}."
            ) from None
        g = other if full == oshape else tf.BroadcastTo.apply(other, full)
        return g if full == shape else tf.SumTo.apply(g, shape)

    def transpose(self, *dims: int) -> Tensor:
        """``transpose(dim0, dim1)``: those two dims swapped (a view; PyTorch).

        ``transpose()`` with no dims: the last two swapped (the course's form).
        """
        if len(dims) == 2:
            return sf.transpose(self, dims[0], dims[1])
        if dims:
            raise TypeError(
                f"transpose takes two dims (dim0, dim1), or none for the last two; got {dims}."
            )
        return self.mT

    T = property(
        lambda self: tf.Permute.apply(self, tuple(range(self._tensor.dims - 1, -1, -1))),
        doc="All dims reversed (a view), as PyTorch's ``.T``; ``.mT`` swaps the last two.",
    )

    # -- PyTorch names: shapes and joining (issue 10) ------------------------------------
    @property
    def mT(self) -> Tensor:
        """The last two dims swapped (a view; batched matrix transpose)."""
        n = self._tensor.dims
        if n < 2:
            raise IndexingError(
                f"mT (and transpose()) swap the last two dims; shape {self.shape} has only "
                f"{n}. Use .T, or view it as a matrix first (e.g. t.unsqueeze(0))."
            )
        return tf.Permute.apply(self, (*range(n - 2), n - 1, n - 2))

    def reshape(self, *shape: Any) -> Tensor:
        """This tensor with ``shape`` (one -1 inferred): a view when possible, else a copy."""
        return sf.reshape(self, *shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        """``reshape(*other.shape)``."""
        return sf.reshape(self, other.shape)

    def view_as(self, other: Tensor) -> Tensor:
        """``view(*other.shape)`` (needs a contiguous tensor, as ``view``)."""
        return self.view(other.shape)

    def squeeze(self, dim: Any = None) -> Tensor:
        """Without the size-1 dims (all, or those of ``dim``: an int or a tuple); a view."""
        return sf.squeeze(self, dim)

    def unsqueeze(self, dim: int) -> Tensor:
        """With a new dim of size 1 at ``dim`` (a view)."""
        return sf.unsqueeze(self, dim)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Dims ``start_dim … end_dim`` merged into one (a view when possible)."""
        return sf.flatten(self, start_dim, end_dim)

    def swapaxes(self, dim0: int, dim1: int) -> Tensor:
        """``transpose(dim0, dim1)``."""
        return sf.transpose(self, dim0, dim1)

    def swapdims(self, dim0: int, dim1: int) -> Tensor:
        """``transpose(dim0, dim1)``."""
        return sf.transpose(self, dim0, dim1)

    def movedim(self, source: Any, destination: Any) -> Tensor:
        """The dims ``source`` moved to ``destination`` (a view)."""
        return sf.movedim(self, source, destination)

    def expand_as(self, other: Tensor) -> Tensor:
        """This tensor broadcast to ``other``'s shape (a view)."""
        return sf.expand(self, other.shape)

    def repeat(self, *sizes: Any) -> Tensor:
        """This tensor tiled ``sizes[i]`` times along each dim (a copy)."""
        return sf.repeat(self, *sizes)

    def flip(self, *dims: Any) -> Tensor:
        """Reversed along ``dims`` (a copy)."""
        return sf.flip(self, dims[0] if len(dims) == 1 else dims)

    def split(self, split_size_or_sections: Any, dim: int = 0) -> sf.Pieces:
        """Views along ``dim`` of ``split_size`` (last may be smaller) or of listed sizes."""
        return sf.split(self, split_size_or_sections, dim)

    def chunk(self, chunks: int, dim: int = 0) -> sf.Pieces:
        """At most ``chunks`` views of ``ceil(size / chunks)`` along ``dim``."""
        return sf.chunk(self, chunks, dim)

    def unbind(self, dim: int = 0) -> sf.Pieces:
        """The slices along ``dim``, without that dim (views)."""
        return sf.unbind(self, dim)

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        """Elements ``start … start+length-1`` along ``dim`` (a view)."""
        return sf.narrow(self, dim, start, length)

    def select(self, dim: int, index: int) -> Tensor:
        """The slice at ``index`` along ``dim``, without that dim (a view)."""
        return sf.select(self, dim, index)


# Circular by design: the Functions need Tensor, Tensor's operators need the Functions.
from . import shape_functions as sf  # noqa: E402
from . import tensor_functions as tf  # noqa: E402

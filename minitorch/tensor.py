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
import warnings
from collections.abc import Callable, Iterator, Sequence
from itertools import count
from typing import TYPE_CHECKING, Any
from weakref import ref as _weakref

import numpy as np
import numpy.typing as npt

from . import _fastpath, _trace, _versions, devices
from .autodiff import (
    UNPACK_HINT,
    FreedValuesError,
    GraphFreedError,
    History,
    backpropagate,
    grads_tuple,
)
from .devices import CPU, Device, DeviceError, same_device
from .fast_ops import FastBackend
from .indexing import for_array, is_full_index, normalize_key
from .tensor_data import IndexingError, Storage, TensorData, UserShape, UserStrides, shape_broadcast
from .tensor_ops import TensorBackend

if TYPE_CHECKING:
    from .tensor_functions import Function

__all__ = ["FreedValuesError", "History", "Tensor", "node_of"]

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


def _copy(arr: Any, dtype: Any = None) -> Any:
    """A C-contiguous copy of ``arr`` on its own device (in ``dtype`` if given)."""
    if isinstance(arr, np.ndarray):
        return np.array(arr, dtype=dtype, order="C")
    return devices.namespace(arr).array(arr, dtype=dtype, order="C")


def _backend_for(device: Device) -> TensorBackend:
    """The backend that ``device`` means: NumPy on the CPU, CuPy on a GPU."""
    if device.type == "cpu":
        return FastBackend
    from .cuda_ops import cuda_backend

    return cuda_backend()


def _place(
    td: TensorData, backend: TensorBackend | None, device: Any
) -> tuple[TensorData, TensorBackend]:
    """``td`` on the device of ``backend`` or ``device`` (moved if it is elsewhere), and the
    backend; with neither given, the backend of the device already holding the data."""
    here = devices.device_of(td._array)
    if device is not None:
        where = Device(device)
        if backend is None:
            backend = _backend_for(where)
        elif backend.device != where:
            raise DeviceError(
                f"Tensor: backend {backend} computes on {backend.device}, not on the asked "
                f"device {where}; give one of them."
            )
    elif backend is None:
        backend = _backend_for(here)
    if backend.device != here:
        td = TensorData._from_array(devices.move(td._array, backend.device))
    return td, backend


def _to_data(v: Any, dtype: np.dtype[Any] | None) -> TensorData:
    """TensorData for a number, nested lists, a NumPy array, a TensorData or a Tensor."""
    if isinstance(v, TensorData):
        if dtype is None or v.dtype == dtype:
            return v
        return TensorData._from_array(v._array.astype(dtype))
    if isinstance(v, Tensor):
        arr = v._tensor._array
        return TensorData._from_array(devices.namespace(arr).array(arr, dtype=dtype or v.dtype))
    if devices.is_device_array(v):
        dt = dtype or (v.dtype if v.dtype in _FLOATS else np.dtype(np.float64))
        return TensorData._from_array(devices.namespace(v).array(v, dtype=dt, order="C"))
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


class _FreedData(TensorData):
    """The data of a graph node whose values backward does not need: shape and dtype only.

    Reading the values raises ``FreedValuesError`` naming the fix. ``_root_id`` is the id
    of the array that owned the values' memory when the node was made, for ``inplace`` to
    tell whether a tensor is a view of this node: the tensor made from the node's tensor
    was made while that array lived, so its own root has the same id only if it is the same
    array. Made per node with three fields (the hot path makes one per operation).
    """

    __slots__ = ("_root_id", "dtype")

    _root_id: int
    dtype: np.dtype[Any]
    _storage_arr = None  # (class defaults standing in for TensorData's unset fields)
    _shape_arr = None
    _strides_arr = None

    @property  # read-only here: there are no values to set
    def _array(self) -> npt.NDArray[Any]:  # type: ignore[override]
        raise FreedValuesError(
            f"The values of this intermediate tensor (shape {self.shape}) were freed: a "
            "graph keeps only what backward needs, not every intermediate's values. Keep "
            "a reference to the tensor itself (e.g. `h = x * w`, then read `h`) to read "
            "them. (A Function whose backward reads `ctx.output` in a helper must set "
            "`uses_output = True`.)"
        )

    @property
    def dims(self) -> int:  # type: ignore[override]
        return len(self.shape)

    @property
    def size(self) -> int:  # type: ignore[override]
        return math.prod(self.shape)

    def __repr__(self) -> str:
        return f"TensorData(shape={self.shape}, dtype={self.dtype}, values freed)"


class _NodeMark:
    """The ``_node`` of a graph node itself: it stands for itself."""

    __slots__ = ()
    history = None


_IS_NODE = _NodeMark()


def node_of(t: Tensor) -> Tensor:
    """The graph node that stands for the non-leaf ``t`` in its consumers' histories.

    It shares ``t``'s ``unique_id``, ``history``, backend and name, so the engine walks
    and differentiates it as it would ``t``, but not ``t``'s values unless the Function
    that made ``t`` reads them in backward (``uses_output``, e.g. exp, sigmoid): so an
    intermediate no user code holds is freed while the graph lives on. Made once per
    history and cached on ``t`` (``Function.apply`` reads the cache first).
    """
    s = t._node
    if s is _IS_NODE:
        return t
    h: Any = t.history
    if s is not None and s.history is h:
        return s  # type: ignore[no-any-return]
    s = _new_object(Tensor)
    td = t._tensor
    if h.last_fn.uses_output:
        s._tensor = td
    else:
        f = s._tensor = _new_object(_FreedData)
        f.shape = td.shape
        arr = td._array
        f.dtype = arr.dtype
        f._root_id = id(arr if arr.base is None else _versions.root(arr))
    s.history = h
    s.backend = t.backend
    s._grad = None
    s.unique_id = uid = t.unique_id
    s._name = t._name
    s._node = _IS_NODE
    t._node = s
    if _versions.on and uid in _versions._WATCHED:
        _versions.watch(s)
    return s


def _check_key(key: Any, shape: tuple[int, ...]) -> Any:
    """A checked NumPy key (a tuple) for ``key`` (``indexing.normalize_key``)."""
    return normalize_key(key, shape)[0]


def _as_gradient(fn: Any, inp: Tensor, g: Any) -> Tensor:
    """A backward's non-Tensor result for ``inp``: a number fills the input's shape."""
    if isinstance(g, Tensor):
        return g
    if isinstance(g, numbers.Real) and not isinstance(g, bool):
        full = inp.backend.xp.full(inp.shape, g, dtype=inp.dtype)
        return inp._new(TensorData._from_array(full))
    raise TypeError(
        f"{fn.__name__}.backward returned a {type(g).__name__} for an input; "
        "expected a Tensor (or 0.0 for a parameter argument)."
    )


class RemovableHandle:
    """What ``register_hook`` returns: ``remove()`` takes the hook off (also as a ``with``)."""

    __slots__ = ("_hooks", "id")
    _ids = count(1).__next__

    def __init__(self, hooks: dict[int, Any]) -> None:
        self._hooks = hooks
        self.id = RemovableHandle._ids()

    def remove(self) -> None:
        """Remove the hook (removing it twice does nothing)."""
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class _Only:
    """The leaves a ``backward(inputs=...)`` accumulates into (None: all of them)."""

    ids: set[int] | None = None


def _modified_message(fn: Any, t: Any, what: str, then: int, now: int) -> str:
    return (
        "One of the tensors needed for gradient computation has been modified by an "
        f"in-place operation: {what} of {fn.__name__} (shape {tuple(t.shape)}) is at version "
        f"{now}, but {fn.__name__}'s backward needs it at version {then}, as it was when "
        "recorded. Use the out-of-place op (`y = y + 1` rather than `y.add_(1)` or "
        "`y += 1`), or .clone() the tensor before modifying it in place."
    )


class _ModifiedOutput:
    """Stands for a Function's result in ``ctx.output`` once that result was modified in
    place: any use of it (by a backward that needs it) raises the version error."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(self.message)

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(self.message)


def _node_inputs(h: History) -> Sequence[Any]:
    """``h.inputs``, each rebased input replaced by the node it was when ``h`` was recorded."""
    inputs = h.inputs
    old = _versions.OLD_NODES
    for v in inputs:
        if v.unique_id in old:
            break
    else:
        return inputs
    gens = getattr(h.ctx, "input_gens", None)
    out = []
    for i, v in enumerate(inputs):
        nodes = old.get(v.unique_id)
        if nodes:
            g = gens[i] if gens else 0
            if g < len(nodes):
                v = nodes[g]
        out.append(v)
    return out


def _run_hooks(t: Tensor, d: Tensor) -> Tensor:
    """``d`` passed through ``t``'s hooks (each may return a replacement, or None)."""
    hooks = _versions.HOOKS.get(t.unique_id)
    if not hooks:
        return d
    for hook in list(hooks.values()):
        r = hook(d)
        if r is not None:
            if not isinstance(r, Tensor):
                raise TypeError(
                    f"A hook registered on a tensor of shape {t.shape} returned a "
                    f"{type(r).__name__}; return a Tensor of that shape (or None to keep the "
                    "gradient)."
                )
            if r.shape != d.shape:
                raise RuntimeError(
                    f"A hook returned a gradient of shape {r.shape}, but the tensor's gradient "
                    f"has shape {d.shape}; return one of the same shape."
                )
            d = r
    return d


def _prepare_chain_rule(node: Tensor, h: History, d: Tensor) -> tuple[Tensor, Any, Sequence[Any]]:
    """The bookkeeping of ``chain_rule`` once ``_versions.on``: hooks, ``retain_grad``,
    version checks. Returns the gradient, what ``ctx.output`` is to be and the inputs."""
    d = _run_hooks(node, d)
    keeper = _versions.RETAINS.get(node.unique_id)
    target = None if keeper is None else keeper()
    if target is not None:  # the tensor the user holds (``node`` may be its graph node)
        kept = d  # a copy, unless it carries a graph (create_graph)
        if d.history is None:
            kept = node._new(TensorData._from_c_array(_copy(d._tensor._array)))
        g = target._grad
        target._grad = kept if g is None else g + kept
    fn = h.last_fn
    ctx: Any = h.ctx
    saved = ctx.saved_values
    if saved:
        versions = getattr(ctx, "saved_versions", None)
        for i, v in enumerate(saved):
            if isinstance(v, Tensor):
                now = _versions.version(v._tensor._array)
                then = versions[i] if versions else 0
                if now != then:
                    raise RuntimeError(_modified_message(fn, v, f"saved tensor {i}", then, now))
    out: Any = node
    td = node._tensor
    if type(td) is not _FreedData:  # (a node without values: backward does not read them)
        now = _versions.version(td._array)
        then = getattr(ctx, "output_version", 0)
        if now != then:
            out = _ModifiedOutput(_modified_message(fn, node, "the output", then, now))
    return d, out, (_node_inputs(h) if _versions.rebased else h.inputs)


def _backward_error(fn: Any, ctx: Any, out: Any, err: Exception) -> Exception:
    """A TypeError/AttributeError raised by ``fn.backward``, explained."""
    if type(out) is _ModifiedOutput:
        return RuntimeError(out.message)
    msg = str(err)
    hint = ""
    if ctx.saved_values and (isinstance(err, TypeError) or "'tuple'" in msg):
        hint = " " + UNPACK_HINT
    return type(err)(f"{fn.__name__}.backward raised {type(err).__name__}: {msg}.{hint}")


def _backward_to(
    out: Tensor, seed: Tensor, inputs: Any, retain_graph: bool, create_graph: bool
) -> None:
    """``out.backward(seed, inputs=inputs)``: only ``inputs`` get ``.grad``."""
    targets = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not targets or not all(isinstance(t, Tensor) and t.history is not None for t in targets):
        raise RuntimeError(
            "backward(inputs=...): give a non-empty list of tensors that require grad."
        )
    retained = {t.unique_id: _weakref(t) for t in targets if not t.is_leaf() and not t.retains_grad}
    _versions.switch_on()
    previous = _Only.ids
    _Only.ids = {t.unique_id for t in targets}
    _versions.RETAINS.update(retained)
    try:
        out.backward(seed, retain_graph=retain_graph, create_graph=create_graph)
    finally:
        _Only.ids = previous
        for uid in retained:
            _versions.RETAINS.pop(uid, None)


class Tensor:
    """An n-d array of floats that records the Functions applied to it.

    ``Tensor(data, requires_grad=False, backend=None, name=None, dtype=None)``: ``data`` is
    a number (shape ``(1,)``), nested lists, a NumPy array or a ``TensorData`` (used as
    is). The course form ``Tensor(tensor_data, back, name, backend)`` works too. The
    default backend is the NumPy one (``FastBackend``), dtype float64.
    """

    __slots__ = (
        "__weakref__",
        "_grad",
        "_name",
        "_node",
        "_tensor",
        "backend",
        "history",
        "unique_id",
    )

    __array_ufunc__ = None
    """NumPy defers to the Tensor's reflected operators: ``np.float64(2) * t`` and
    ``np.array([1.0]) * t`` are Tensors that keep the graph (``np.asarray(t)`` still works)."""

    _tensor: TensorData
    history: History | None
    backend: TensorBackend
    _grad: Tensor | None
    unique_id: int
    _node: Any
    """The graph node standing for this tensor in the histories of its consumers (see
    ``node_of``), made once and cached; ``_IS_NODE`` on a node itself; None until used."""

    def __init__(
        self,
        v: Any,
        back: History | bool | None = None,
        name: str | None = None,
        backend: TensorBackend | None = None,
        requires_grad: bool = False,
        dtype: Any = None,
        device: Any = None,
    ) -> None:
        if isinstance(back, bool):  # Tensor(data, True): PyTorch's positional requires_grad
            requires_grad, back = back, None
        td = _to_data(v, _dtype(dtype))
        if (
            device is None
            and type(td._array) is np.ndarray
            and (backend is None or backend.device is CPU)
        ):
            self._tensor, self.backend = td, FastBackend if backend is None else backend
        else:
            self._tensor, self.backend = _place(td, backend, device)
        self.history = _LEAF if requires_grad and back is None else back
        self._grad = None
        self.unique_id = _next_id()
        self._name = name
        self._node = None

    # -- construction helpers ----------------------------------------------------
    def _new(self, tensor_data: TensorData) -> Tensor:
        """A constant Tensor on this backend wrapping ``tensor_data`` (no copy)."""
        t = _new_object(Tensor)
        t._tensor = tensor_data
        t.history = None
        t.backend = self.backend
        t._grad = None
        t.unique_id = _next_id()
        t._name = None
        t._node = None
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
        """Move this tensor to ``backend`` (in place; its data too, if on another device)."""
        if backend.device != self.backend.device:
            self._tensor = TensorData._from_array(devices.move(self._tensor._array, backend.device))
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
        if isinstance(b, (tuple, list)) and any(isinstance(x, Tensor) for x in b):
            raise TypeError(
                f"An operand is a {type(b).__name__} of Tensors, not a Tensor. {UNPACK_HINT}"
            )
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
        try:
            return self._tensor._array.dtype
        except FreedValuesError:  # a graph node whose values were freed keeps its dtype
            return self._tensor.dtype

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
        n = self._node
        if isinstance(n, Tensor):  # the graph node drawn for it carries the name too
            n._name = value

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
        """True: make this a fresh leaf (also if it had a history); False: a constant.

        On a tensor made by a Function (a non-leaf) True cuts it from its graph, as the
        course's contract says, and warns: no gradient reaches its inputs any more.
        """
        h = self.history
        if flag and h is not None and h.last_fn is not None:
            warnings.warn(
                f"requires_grad_(True) on a tensor made by {h.last_fn.__name__} (not a leaf) "
                "makes it a fresh leaf: it is cut from its graph, and no gradient will reach "
                "the tensors it was computed from. Call requires_grad_() on the leaf whose "
                "gradient you want; to cut on purpose, write y.detach().requires_grad_().",
                UserWarning,
                stacklevel=2,
            )
        self.history = _LEAF if flag else None
        return self

    @property
    def grad_fn(self) -> type[Function] | None:
        """The Function that produced this tensor (None for leaves and constants)."""
        h = self.history
        return None if h is None else h.last_fn

    @property
    def grad(self) -> Tensor | None:
        """The gradient that ``backward()`` accumulated (leaves, and ``retain_grad()`` tensors).

        May be assigned ``None`` or a Tensor of this tensor's shape.
        """
        g = self._grad
        if g is not None and (tracer := _trace.STATE.active) is not None and not tracer.depth:
            tracer.read_grad(self, g)  # minitorch.compile: read it live
        return g

    @grad.setter
    @_trace.live
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"t.grad must be None or a Tensor of shape {self.shape}, got a "
                    f"{type(value).__name__}; wrap it with minitorch.tensor(...)."
                )
            if value.shape != self.shape:
                raise RuntimeError(
                    f"t.grad: the assigned gradient has shape {value.shape}, but the tensor "
                    f"has shape {self.shape}; they must match."
                )
        self._grad = value

    # -- the Variable protocol ----------------------------------------------------------
    @property
    def is_leaf(self) -> _Flag:
        """True unless this tensor was made by a Function (constants are leaves too).

        Truthy like a bool, and callable: ``t.is_leaf()`` (the course's form) returns a
        real bool.
        """
        h = self.history
        return _TRUE if h is None or h.last_fn is None else _FALSE

    def is_constant(self) -> bool:
        """True when no gradient flows here (no history)."""
        return self.history is None

    @property
    def parents(self) -> Sequence[Any]:
        """The inputs of the Function that made this tensor.

        An input that was modified in place after this tensor was made stands here as
        the node it was then (``_versions.rebased``, ``inplace``).
        """
        h = self.history
        if h is None:
            return ()
        return _node_inputs(h) if _versions.rebased else h.inputs

    def accumulate_derivative(self, x: Tensor) -> None:
        """Add ``x`` (a gradient of this tensor's shape) to ``.grad``. Leaves only.

        ``.grad`` starts from zeros, i.e. the first gradient is stored as a copy (a fresh
        C-contiguous buffer of this tensor's dtype, never shared with another tensor).
        Hooks (``register_hook``) see ``x`` first and may replace it.
        """
        if (tracer := _trace.STATE.active) is not None and not tracer.depth:  # minitorch.compile
            tracer.accumulate(self, x)
            return
        h = self.history
        if h is None or h.last_fn is not None:
            raise RuntimeError(
                f"accumulate_derivative is for leaves; this tensor was made by "
                f"{getattr(self.grad_fn, '__name__', 'nothing')}."
            )
        if _versions.on:
            if _Only.ids is not None and self.unique_id not in _Only.ids:
                return
            x = _run_hooks(self, x)
        if x._tensor.shape != self._tensor.shape:
            x = self.expand(x)
        g = self._grad
        if g is not None:
            self._grad = g + x
        elif x.history is not None:  # create_graph: keep the graph of the gradient
            self._grad = x
        elif _fastpath.can_take(x, self):
            self._grad = x  # a fresh gradient nobody else holds: no copy needed
        else:
            arr = _copy(x._tensor._array, self._tensor._array.dtype)
            self._grad = self._new(TensorData._from_c_array(arr))

    def chain_rule(self, d_output: Tensor) -> list[tuple[Tensor, Tensor]]:
        """``(input, input.expand(grad))`` for each input that needs a gradient.

        Each gradient from the Function's backward is summed back to its input's shape.
        Once the bookkeeping is on (``_versions.on``): hooks run on ``d_output`` first,
        ``retain_grad()`` keeps it, and a saved tensor modified in place since it was
        saved raises.
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
        if _versions.on:
            d_output, node, inputs = _prepare_chain_rule(self, h, d_output)
        else:
            node, inputs = self, h.inputs
        ctx.output = node  # type: ignore[attr-defined]  # this node, during backward only
        try:
            if (
                tracer := _trace.STATE.active
            ) is not None and not tracer.depth:  # minitorch.compile
                grads = tracer.backward(fn, ctx, d_output)
            else:
                grads = fn.backward(ctx, d_output)  # Function._backward, inlined
        except (TypeError, AttributeError) as err:
            raise _backward_error(fn, ctx, node, err) from err
        finally:
            ctx.output = None  # type: ignore[attr-defined]  # keep no reference: no cycle
        if type(grads) is not tuple:
            grads = grads_tuple(grads)
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
        """Free the tensors and arrays this node's Function saved (backward does this unless
        ``retain_graph``); a node that saved none stays usable (views, sums, additions)."""
        h = self.history
        if h is not None:
            ctx = h.ctx
            if ctx is not None and ctx.saved_values:  # Context.release(), inlined
                for v in ctx.saved_values:
                    if isinstance(v, (Tensor, np.ndarray)):
                        ctx.saved_values = ()
                        ctx.freed = True
                        break

    def backward(
        self,
        grad_output: Any = None,
        retain_graph: bool = False,
        create_graph: bool = False,
        *,
        gradient: Any = None,
        inputs: Sequence[Tensor] | None = None,
    ) -> None:
        """Backpropagate from this tensor; reached leaves accumulate ``.grad``.

        ``grad_output`` (PyTorch's name: ``gradient``) is ∂L/∂self (a tensor of this shape,
        or a number); it may be left out for a one-element tensor (1.0). Saved values are
        freed afterwards unless ``retain_graph=True``, and this tensor's own node is marked
        used (a second ``backward()`` from it raises). ``create_graph=True`` records the
        backward pass, so the gradients can be differentiated again (it implies
        ``retain_graph``). ``inputs``: accumulate ``.grad`` into these tensors only.
        """
        if gradient is not None:
            if grad_output is not None:
                raise TypeError("backward: pass grad_output or gradient (the same), not both.")
            grad_output = gradient
        if create_graph:
            _trace.refuse(
                "backward(create_graph=True)",
                "a replay builds no graph to differentiate again. Use minitorch.grad / "
                "hessian outside the compiled function, or call it uncompiled.",
            )
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
            ones = self.backend.xp.ones(self.shape, dtype=self.dtype)
            seed = self._new(TensorData._from_array(ones))
            if (tracer := _trace.STATE.active) is not None:
                tracer.constant(seed)  # minitorch.compile: not traced data
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
                    full = self.backend.xp.full(self.shape, seed.item(), dtype=self.dtype)
                    seed = self._new(TensorData._from_array(full))
                else:
                    raise IndexingError(
                        f"backward: grad_output has shape {seed.shape} but the tensor has "
                        f"shape {self.shape}; they must match."
                    )
            if seed.history is not None and not create_graph:
                seed = seed.detach()
        if inputs is not None:
            _backward_to(self, seed, inputs, retain_graph, create_graph)
            return
        with _fastpath.BackwardPass(_next_id):
            backpropagate(self, seed, retain_graph=retain_graph, create_graph=create_graph)
        if not (retain_graph or create_graph):
            ctx = self.history.ctx
            if ctx is not None:  # the output a backward started from counts as used
                ctx.saved_values = ()
                ctx.freed = True

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf after ``backward()`` (leaves always keep it)."""
        _trace.refuse(
            "retain_grad()",
            "a replay builds no graph, so it keeps no gradient of an intermediate. Compute "
            "what you need from the gradients of leaves, or call the function uncompiled.",
        )
        h = self.history
        if h is None:
            raise RuntimeError(
                "retain_grad() on a tensor that does not require grad: no gradient will reach "
                "it. Make its inputs require grad (requires_grad=True) first."
            )
        if h.last_fn is not None:
            _versions.RETAINS[self.unique_id] = _weakref(self)
            _versions.watch(self)
            _versions.switch_on()

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf on which ``retain_grad()`` was called."""
        h = self.history
        return h is not None and h.last_fn is not None and self.unique_id in _versions.RETAINS

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` each time the gradient of this tensor is computed.

        The hook may return a replacement gradient (same shape) or None (keep it). On a
        leaf it runs before ``.grad`` accumulates; on a non-leaf before the gradient goes
        on to its inputs (and before ``retain_grad()`` keeps it). Returns a handle whose
        ``remove()`` takes the hook off.
        """
        if self.history is None:
            raise RuntimeError(
                "register_hook on a tensor that does not require grad: no gradient will ever "
                "reach it. Call requires_grad_() on it (a leaf) first."
            )
        if not callable(hook):
            raise TypeError(f"register_hook needs a function grad -> grad or None, got {hook!r}.")
        hooks = _versions.HOOKS.get(self.unique_id)
        if hooks is None:
            hooks = _versions.HOOKS[self.unique_id] = {}
            _versions.watch(self)
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        _versions.switch_on()
        return handle

    @_trace.live
    def zero_grad_(self) -> None:
        """Forget the gradient (``.grad = None``)."""
        self._grad = None

    @_trace.live
    def zero_grad(self) -> None:
        """Forget the gradient (``.grad = None``); same as ``zero_grad_``."""
        self._grad = None

    def detach(self) -> Tensor:
        """A constant sharing this tensor's data (and its version counter), cut from the graph."""
        return self._new(self._tensor)

    def get_data(self) -> Tensor:
        """The course's earlier name for ``detach()``."""
        return self.detach()

    # -- conversion ----------------------------------------------------------------------
    def item(self) -> float:
        """The single value of a one-element tensor, as a Python float."""
        _trace.check_read(self, "item() (also float(t) and bool(t))")
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
        """A NumPy copy with this tensor's shape (C-contiguous); a CPU tensor only."""
        _trace.check_read(self, "to_numpy()")
        self._on_host("to_numpy()")
        return np.array(self._tensor._array, order="C", copy=True)

    def _on_host(self, what: str) -> None:
        if self.backend.device is not CPU:
            raise TypeError(
                f"{what}: this tensor is on {self.device}; NumPy reads CPU memory only. Call "
                ".cpu() first (t.cpu().numpy()), which copies it to the host."
            )

    def numpy(self) -> npt.NDArray[Any]:
        """A NumPy copy with this tensor's shape."""
        return self.to_numpy()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> npt.NDArray[Any]:
        _trace.check_read(self, "np.asarray(t)")
        self._on_host("np.asarray(t)")
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
        return self._new(TensorData._from_array(self.backend.xp.zeros(s, dtype=self.dtype)))

    def contiguous(self) -> Tensor:
        """This tensor if already contiguous, else a contiguous copy (``Copy``)."""
        if self._tensor.is_contiguous():
            return self
        return tf.Copy.apply(self)

    def is_contiguous(self) -> bool:
        """True for a plain row-major layout."""
        return self._tensor.is_contiguous()

    # -- in-place operations (issue 10) ---------------------------------------------------
    # Each writes into this tensor's storage and returns it, following ``inplace.write``:
    # a leaf that requires grad raises under grad mode, every write bumps the storage's
    # version, and a tensor of a graph is rebased onto the recorded op.

    def _binary_(
        self, op: str, other: Any, ufunc: Any, recorded: Callable[[Tensor, Any], Tensor]
    ) -> Tensor:
        if isinstance(other, Tensor):
            same_device(op, self, other)
            inplace.check_fits(self, op, other)
            o: Any = other._tensor._array
        elif isinstance(other, (numbers.Real, np.number)) and not isinstance(other, bool):
            o = other
        else:
            other = self._ensure_tensor(other)
            inplace.check_fits(self, op, other)
            o = other._tensor._array

        kernel = getattr(self.backend.xp, ufunc)

        def direct(arr: npt.NDArray[Any]) -> None:
            kernel(arr, o, out=arr, casting="same_kind")

        return inplace.write(self, op, (other,), direct, recorded)

    def _unary_(self, op: str, method: Callable[[Tensor], Tensor]) -> Tensor:
        copyto = self.backend.xp.copyto

        def direct(arr: npt.NDArray[Any]) -> None:
            copyto(arr, method(self)._tensor._array, casting="same_kind")

        return inplace.write(self, op, (), direct, method)

    @_trace.live
    def add_(self, other: Any, *, alpha: float = 1) -> Tensor:
        """``self += alpha * other`` in place (``other`` broadcast to this shape)."""
        if alpha != 1:
            other = other * alpha if isinstance(other, Tensor) else self._scaled(other, alpha)
        return self._binary_("add_", other, "add", lambda a, b: a + b)

    @_trace.live
    def sub_(self, other: Any, *, alpha: float = 1) -> Tensor:
        """``self -= alpha * other`` in place (``other`` broadcast to this shape)."""
        if alpha != 1:
            other = other * alpha if isinstance(other, Tensor) else self._scaled(other, alpha)
        return self._binary_("sub_", other, "subtract", lambda a, b: a - b)

    def _scaled(self, other: Any, alpha: float) -> Any:
        if isinstance(other, (numbers.Real, np.number)) and not isinstance(other, bool):
            return other * alpha
        return self._ensure_tensor(other) * alpha

    @_trace.live
    def mul_(self, other: Any) -> Tensor:
        """``self *= other`` in place (``other`` broadcast to this shape)."""
        return self._binary_("mul_", other, "multiply", lambda a, b: a * b)

    @_trace.live
    def div_(self, other: Any) -> Tensor:
        """``self /= other`` in place (``other`` broadcast to this shape)."""
        return self._binary_("div_", other, "divide", lambda a, b: a / b)

    @_trace.live
    def pow_(self, exponent: Any) -> Tensor:
        """``self = self ** exponent`` in place."""
        if isinstance(exponent, Tensor):
            inplace.check_fits(self, "pow_", exponent)
        return inplace.write(
            self,
            "pow_",
            (exponent,),
            lambda arr: self.backend.xp.copyto(
                arr, (self**exponent)._tensor._array, casting="same_kind"
            ),
            lambda a, p: a**p,
        )

    @_trace.live
    def neg_(self) -> Tensor:
        """``self = -self`` in place."""
        return inplace.write(
            self, "neg_", (), lambda arr: self.backend.xp.negative(arr, out=arr), lambda a: -a
        )

    @_trace.live
    def exp_(self) -> Tensor:
        """``self = exp(self)`` in place."""
        return self._unary_("exp_", Tensor.exp)

    @_trace.live
    def log_(self) -> Tensor:
        """``self = log(self)`` in place (minitorch's log: ln(x + 1e-6))."""
        return self._unary_("log_", Tensor.log)

    @_trace.live
    def sigmoid_(self) -> Tensor:
        """``self = sigmoid(self)`` in place."""
        return self._unary_("sigmoid_", Tensor.sigmoid)

    @_trace.live
    def relu_(self) -> Tensor:
        """``self = relu(self)`` in place."""
        return self._unary_("relu_", Tensor.relu)

    @_trace.live
    def tanh_(self) -> Tensor:
        """``self = tanh(self)`` in place."""
        return self._unary_("tanh_", Tensor.tanh)

    @_trace.live
    def abs_(self) -> Tensor:
        """``self = |self|`` in place."""
        return self._unary_("abs_", Tensor.abs)

    @_trace.live
    def sqrt_(self) -> Tensor:
        """``self = √self`` in place."""
        return self._unary_("sqrt_", Tensor.sqrt)

    @_trace.live
    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        """``self = clamp(self, min, max)`` in place."""
        return self._unary_("clamp_", lambda t: t.clamp(min, max))

    def _set_(self, op: str, key: Any, value: Any) -> Tensor:
        """``self[key] = value`` (``key`` a NumPy key, ``value`` a number or Tensor)."""
        v = value if isinstance(value, Tensor) else self._ensure_tensor(value)
        arr = self._tensor._array
        target = arr[for_array(key, arr)].shape
        try:
            fits = np.broadcast_shapes(target, _drop_leading_ones(v.shape, len(target)))
        except ValueError:
            fits = None
        if fits != target:
            raise RuntimeError(
                f"{op}: a value of shape {v.shape} cannot be written into a selection of shape "
                f"{target}; it must broadcast to it."
            )

        same_device(op, self, v)
        here = for_array(key, self._tensor._array)

        def direct(arr: npt.NDArray[Any]) -> None:
            arr[here] = v._tensor._array.reshape(_drop_leading_ones(v.shape, len(target)))

        return inplace.write(self, op, (v,), direct, lambda a, b: inplace.SetItem.apply(a, b, key))

    @_trace.live
    def zero_(self) -> Tensor:
        """Fill with zeros in place."""
        return self._set_("zero_", Ellipsis, 0.0)

    @_trace.live
    def fill_(self, value: Any) -> Tensor:
        """Fill with ``value`` (a number or a one-element tensor) in place."""
        if isinstance(value, Tensor) and value.size != 1:
            raise RuntimeError(
                f"fill_ takes a number or a one-element tensor, got shape {value.shape}; "
                "use copy_() to write a tensor's values."
            )
        return self._set_("fill_", Ellipsis, value)

    @_trace.live
    def copy_(self, src: Any) -> Tensor:
        """Write ``src``'s values (broadcast to this shape) into this tensor, in place."""
        if not isinstance(src, Tensor):
            src = Tensor(src, backend=self.backend, dtype=self.dtype)
        return self._set_("copy_", Ellipsis, src)

    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    @_trace.live
    def __imatmul__(self, other: Any) -> Tensor:
        return inplace.write(
            self,
            "@=",
            (other,),
            lambda arr: self.backend.xp.copyto(
                arr, _fits(self, "@=", self @ other), casting="same_kind"
            ),
            lambda a, b: a @ b,
        )

    # -- display -----------------------------------------------------------------------
    def __repr__(self) -> str:
        try:
            body = self._tensor.to_string().replace("\n", "\n       ")
        except FreedValuesError:  # a graph node whose values were freed
            body = f"<values freed>, shape={self.shape}"
        extra = ""
        if self.backend.device is not CPU:
            extra += f", device='{self.device}'"
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
            _trace.check_read(self, "t[i] (a Python float)")
            return float(arr[key])
        if _trace.STATE.active is not None:
            for k in key if type(key) is tuple else (key,):
                if isinstance(k, Tensor):
                    _trace.check_read(k, "indexing with a tensor (its values pick the elements)")
        np_key, basic = normalize_key(key, self._tensor.shape)
        if basic and is_full_index(np_key, arr.ndim):
            _trace.check_read(self, "t[i, j, ...] (a Python float)")
            return float(arr[np_key])
        return tf.GetItem.apply(self, np_key)

    @_trace.live
    def __setitem__(self, key: Any, value: Any) -> None:
        """Write in place: ``t[i, j] = v``, ``t[0:2, :] = values`` (broadcast to the selection).

        ``value`` is a number or a Tensor (nested lists and arrays are converted); an
        in-place op like the others (``inplace``): a leaf that requires grad refuses under
        grad mode, and a value that requires grad gets its gradient (``SetItem``).
        """
        self._set_("t[key] = value", _setitem_key(self, key), value)

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

    @_trace.live
    def _arg_extremum(self, name: str, dim: Any, keepdim: bool) -> Tensor:
        tf._nonempty_dims(name, self, dim)
        arr = self._tensor._array
        xp = self.backend.xp
        find = xp.argmax if name == "argmax" else xp.argmin
        if dim is None:
            idx = find(arr.reshape(-1)).reshape(1)
            if keepdim:
                idx = idx.reshape((1,) * arr.ndim)
        else:
            ds = tf._dims(self, dim) or ()
            if len(ds) != 1:
                raise TypeError(f"{name}: dim must be one int (or None), got {dim!r}.")
            idx = find(arr, axis=ds[0], keepdims=keepdim)
        return self._new(TensorData._from_array(idx.astype(np.float64)))

    def clone(self) -> Tensor:
        """A copy with its own memory (contiguous); gradients flow back to this tensor."""
        return tf.Copy.apply(self)

    def float(self) -> Tensor:
        """This tensor as float32 (PyTorch's ``float``); itself if already float32."""
        return self.to(np.float32)

    def double(self) -> Tensor:
        """This tensor as float64 (PyTorch's ``double``); itself if already float64."""
        return self.to(np.float64)

    def to(
        self,
        *args: Any,
        dtype: Any = None,
        device: Any = None,
        copy: bool = False,
        non_blocking: bool = False,
    ) -> Tensor:
        """This tensor with another dtype, device and/or backend, differentiably.

        ``to(np.float32)``, ``to("float64")``, ``to("cuda")``, ``to("cpu")``,
        ``to(minitorch.device("cuda"), dtype=...)``, ``to(other_tensor)`` (its dtype and
        backend), ``to(backend)``. Returns this very tensor when nothing changes (unless
        ``copy=True``); the gradient flows back to this tensor's device and dtype.
        ``non_blocking`` is accepted for PyTorch's code; copies are always synchronous.
        """
        backend = self.backend
        for a in args:
            if isinstance(a, Tensor):
                dtype, backend = a.dtype, a.backend
            elif isinstance(a, TensorBackend):
                backend = a
            elif isinstance(a, Device) or (isinstance(a, str) and _is_device(a)):
                device = a
            else:
                dtype = a
        if device is not None:
            where = Device(device)
            if where != backend.device:
                backend = _backend_for(where)
        dt = _dtype(dtype) or self.dtype
        if dt == self.dtype and backend is self.backend:
            return tf.Copy.apply(self) if copy else self
        return tf.To.apply(self, dt, backend)

    def cuda(self, device: Any = None, non_blocking: bool = False) -> Tensor:
        """This tensor on the GPU (``to("cuda")``); itself when already there."""
        return self.to("cuda" if device is None else device)

    def cpu(self) -> Tensor:
        """This tensor on the CPU (``to("cpu")``); itself when already there."""
        return self.to("cpu")

    @property
    def device(self) -> Device:
        """Where this tensor's numbers live: ``device(type='cpu')`` or ``cuda:0``."""
        return self.backend.device

    @property
    def is_cuda(self) -> bool:
        """True for a tensor on the GPU."""
        return self.backend.device.type == "cuda"

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


def _setitem_key(t: Tensor, key: Any) -> Any:
    """The NumPy key for ``t[key] = ...``; a full index of ints is checked as the contract says
    (wrong length, negative or out of range: IndexingError)."""
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        key = (key,)
    if isinstance(key, tuple) and all(  # a list is advanced indexing, as for reads
        isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in key
    ):
        if 0 < len(key) < t.dims:
            k = ", ".join(str(int(i)) for i in key)
            raise IndexingError(
                f"t[{k}] = value on a tensor of shape {t.shape}: an index of {len(key)} int(s) "
                f"is not a full index ({t.dims} ints); to write a sub-tensor, write "
                f"t[{k}, ...] = value."
            )
        t._tensor.index(tuple(key))  # raises IndexingError, naming the problem
        return tuple(int(k) for k in key)
    return _check_key(key, t.shape)


def _fits(t: Tensor, op: str, r: Tensor) -> npt.NDArray[Any]:
    """``r``'s values, when ``r`` has ``t``'s shape (an in-place result must keep it)."""
    if r.shape != t.shape:
        raise RuntimeError(
            f"{op}: the result has shape {r.shape}, which does not fit the tensor's shape "
            f"{t.shape} (an in-place op cannot change the shape); use the out-of-place op."
        )
    return r._tensor._array


def _drop_leading_ones(shape: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    """``shape`` without the leading size-1 dims beyond ``ndim`` (NumPy assigns that way)."""
    while len(shape) > ndim and shape[0] == 1:
        shape = shape[1:]
    return shape


# Circular by design: the Functions need Tensor, Tensor's operators need the Functions.
from . import inplace  # noqa: E402
from . import shape_functions as sf  # noqa: E402
from . import tensor_functions as tf  # noqa: E402

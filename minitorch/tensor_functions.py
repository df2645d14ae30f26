"""Tensor Functions: one class per differentiable operation, forward and backward side by side.

``forward(ctx, *inputs)`` computes with the backend's kernels (``t.f.add_zip`` …), so it
runs on any backend. ``backward(ctx, grad)`` receives ∂L/∂out (a Tensor of the output's
shape) and returns one gradient per input: a Tensor, or ``0.0`` for parameter arguments
(dims, orders, shapes) and for inputs that need no gradient. A gradient may have any
shape that broadcasts to its input's: ``Tensor.chain_rule`` (through ``Tensor.expand``)
sums it back to exactly the input's shape, in one place.

Each backward is written **once, in Tensor operations** (``grad * b``, ``-grad``,
``grad @ b.T``). Whether those operations are recorded is decided in one place,
``Function.apply``, from the grad mode that the engine sets for the pass: an ordinary
``backward()`` records nothing, ``backward(create_graph=True)`` records the very same
formulas, so gradients can be differentiated again. Elementwise derivatives come from
``operators`` (``log_back``, ``inv_back``, ``exp_out_back`` …), the package's one source
of them. A fused kernel kept for speed is a Function of its own (``SigmoidBackward``:
forward the one-kernel ``d·s·(1−s)``, backward in Tensor operations), so it too is
differentiable.

A backward that needs the Function's own result reads ``ctx.output`` (the node being
differentiated, handed over for the call), rather than saving it in forward.

Users add operations the same way (and one row in the op table of ``tests/test_tensor.py``
checks its first and second derivatives)::

    class Square(Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a.f.mul_zip(a, a)

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_values
            return grad * a * 2
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import numpy as np

from . import _trace, _versions, devices, operators
from .autodiff import Context, History, grads_tuple, is_grad_enabled
from .creation import from_numpy, ones, rand, tensor, zeros  # the course's place for them
from .devices import namespace, same_device
from .gradcheck import grad_central_difference, grad_check, gradcheck  # the course's names
from .indexing import for_array
from .tensor import Tensor, _Param, node_of
from .tensor_data import IndexingError, TensorData

__all__ = [
    "EQ",
    "LE",
    "LT",
    "Abs",
    "Add",
    "All",
    "BroadcastTo",
    "Clamp",
    "Copy",
    "Div",
    "Exp",
    "Function",
    "GetItem",
    "Inv",
    "IsClose",
    "Ln",
    "Log",
    "LogBackward",
    "MatMul",
    "Max",
    "Mean",
    "Min",
    "Mul",
    "Neg",
    "Permute",
    "Pow",
    "Prod",
    "ReLU",
    "ReLUBackward",
    "Sigmoid",
    "SigmoidBackward",
    "Sqrt",
    "Sub",
    "Sum",
    "SumTo",
    "Tanh",
    "TanhBackward",
    "TensorContext",
    "To",
    "View",
    "Where",
    "from_numpy",
    "grad_central_difference",
    "grad_check",
    "gradcheck",
    "matmul",
    "ones",
    "rand",
    "tensor",
    "where",
    "zeros",
]

_PARAM = _Param()
_NEEDS_ONE = (True,)
_NEEDS_TWO = {(a, b): (a, b) for a in (False, True) for b in (False, True)}
_NEEDS: dict[tuple[bool, ...], tuple[bool, ...]] = {}
_new_object = object.__new__


class TensorContext(Context):
    """A ``Context`` that also knows which inputs need a gradient (``needs_input_grad``)
    and, while ``backward`` runs, the Function's result (``output``).

    ``output`` is the node being differentiated, handed over by ``Tensor.chain_rule`` for
    the call only: a backward that needs the result (σ' = s(1 - s)) reads it there rather
    than saving it, which would make a reference cycle (result → history → context →
    result). Under ``create_graph`` it is the graph node itself, so second derivatives
    flow through it.

    Once an in-place op has run in the process (``_versions.on``), the context also
    remembers the storage versions of the tensors it saved (``saved_versions``) and of its
    result (``output_version``), and, once a tensor was rebased, the generation of each
    input (``input_gens``); a field never set means 0 for every entry.
    """

    __slots__ = ("input_gens", "needs_input_grad", "output", "output_version", "saved_versions")

    needs_input_grad: tuple[bool, ...]
    output: Tensor  # set for the duration of backward only (None otherwise)
    saved_versions: tuple[int, ...]
    output_version: int
    input_gens: tuple[int, ...]

    def save_for_backward(self, *values: Any) -> None:
        """Store ``values`` (as a tuple) for backward; nothing is kept under ``no_grad``.

        With the version counters on, the version of each saved Tensor's storage is kept
        too, so that backward can tell if it was modified in place since.
        """
        if not self.no_grad:
            self.saved_values = values
            if _versions.on:
                self.saved_versions = tuple(
                    [
                        _versions.version(v._tensor._array) if isinstance(v, Tensor) else 0
                        for v in values
                    ]
                )


_RECORDS_NOTHING = TensorContext(no_grad=True)
_RECORDS_NOTHING.needs_input_grad = ()
"""The context of every unrecorded application: it keeps nothing (``save_for_backward``
does nothing under ``no_grad``), so one serves all."""


class _Explained:
    """What a Function inherits when it lacks ``forward`` or ``backward``: an error naming
    the Function and the method to add (not a bare AttributeError)."""

    forward: Any = classmethod(lambda cls, ctx, *inputs: _missing(cls, "forward"))
    backward: Any = classmethod(lambda cls, ctx, grad: _missing(cls, "backward"))


class Function(_Explained):
    """Base class of differentiable tensor operations.

    Subclasses define static ``forward(ctx, *inputs)`` and ``backward(ctx, grad)``;
    callers use ``Fn.apply(*inputs)``.

    ``uses_output``: whether ``backward`` reads ``ctx.output`` (the result's values), so
    that the graph keeps them. Found by looking for ``.output`` in ``backward``'s code when
    the subclass does not set it; a backward that reads it only in a helper sets it.
    """

    uses_output: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "uses_output" not in cls.__dict__:
            cls.uses_output = _reads_output(cls.__dict__.get("backward", cls.backward))

    @classmethod
    def _forward(cls, ctx: Context, *inps: Any) -> Tensor:
        return cls.forward(ctx, *inps)  # type: ignore[no-any-return]

    @classmethod
    def _backward(cls, ctx: Context, grad: Tensor) -> tuple[Any, ...]:
        """Call ``backward``; a single returned value becomes a 1-tuple."""
        return grads_tuple(cls.backward(ctx, grad))

    @classmethod
    def apply(cls, *vals: Any) -> Tensor:
        """Run ``forward`` and record ``History(cls, ctx, inputs)`` when a gradient is needed.

        The one place where recording is decided: the graph is recorded only if grad mode
        is on (``is_grad_enabled()``) and some input requires a gradient; otherwise the
        context is a ``no_grad`` one (nothing saved) and the result is a constant.
        ``forward`` receives the inputs as they are and computes with the backend's
        kernels (the result is made this Function's node; a Tensor operation used inside
        ``forward`` would be recorded as usual, apart from this node). Non-Tensor
        arguments (ints, tuples) are passed to ``forward`` unchanged and take no gradient.
        """
        # This runs once per operation, forward and backward (every backward formula goes
        # through it): the unrecorded path shares one context, objects are built field by
        # field (no dataclass __init__ calls), and the all-Tensor case reuses ``vals``.
        c: Tensor
        if (tracer := _trace.STATE.active) is not None and not tracer.depth:  # minitorch.compile
            return tracer.apply(cls, vals)  # type: ignore[no-any-return]
        track = False
        if is_grad_enabled():
            for v in vals:
                if isinstance(v, Tensor) and v.history is not None:
                    track = True
                    break
        if not track:
            c = cls.forward(_RECORDS_NOTHING, *vals)
            if type(c) is not Tensor or c.history is not None:
                c = _constant_result(cls, c)
            return c
        # The history records each non-leaf input by its graph node (``node_of``: no values
        # unless its backward needs them), leaves and constants as they are.
        inputs: Sequence[Any]
        needs: tuple[bool, ...]
        if len(vals) == 1:
            needs = _NEEDS_ONE
            a = vals[0]
            h = a.history
            if h.last_fn is not None:
                s = a._node
                a = s if s is not None and s.history is h else node_of(a)
            inputs = (a,)
        elif len(vals) == 2 and type(vals[0]) is Tensor and type(vals[1]) is Tensor:
            a, b = vals
            h = a.history
            hb = b.history
            needs = _NEEDS_TWO[h is not None, hb is not None]
            if h is not None and h.last_fn is not None:
                s = a._node
                a = s if s is not None and s.history is h else node_of(a)
            if hb is not None and hb.last_fn is not None:
                s = b._node
                b = s if s is not None and s.history is hb else node_of(b)
            inputs = (a, b)
        else:
            needs = tuple([isinstance(v, Tensor) and v.history is not None for v in vals])
            needs = _NEEDS.setdefault(needs, needs)  # one shared tuple per pattern
            inputs = [
                (v if v.history is None or v.history.last_fn is None else node_of(v))
                if isinstance(v, Tensor)
                else _PARAM
                for v in vals
            ]
        ctx = _new_object(TensorContext)
        ctx.saved_values = ()
        ctx.freed = False
        ctx.no_grad = False
        ctx.needs_input_grad = needs
        c = cls.forward(ctx, *vals)
        if type(c) is not Tensor and not isinstance(c, Tensor):
            _bad_forward(cls, c)
        if c.history is not None:
            c = c._new(c._tensor)
        else:
            for v in vals:
                if c is v:
                    c = c._new(c._tensor)
                    break
        h = _new_object(History)
        h.last_fn = cls
        h.ctx = ctx
        h.inputs = inputs
        c.history = h
        if _versions.on:
            _record_versions(ctx, c, vals)
        return c


def _reads_output(backward: Any) -> bool:
    """Whether the code of ``backward`` (or of a function defined in it) reads ``.output``."""
    fn = getattr(backward, "__func__", backward)
    code = getattr(fn, "__code__", None)
    if code is None:  # not plain Python: keep the output, to be safe
        return True
    stack = [code]
    while stack:
        c = stack.pop()
        if "output" in c.co_names:
            return True
        stack.extend(k for k in c.co_consts if hasattr(k, "co_names"))
    return False


def _record_versions(ctx: TensorContext, c: Tensor, vals: Sequence[Any]) -> None:
    """Record the result's storage version and, once tensors were rebased, input generations."""
    ctx.output_version = _versions.version(c._tensor._array)
    if _versions.rebased:
        old = _versions.OLD_NODES
        gens = [len(old.get(x.unique_id, ())) if isinstance(x, Tensor) else 0 for x in vals]
        if any(gens):
            ctx.input_gens = tuple(gens)


def _missing(cls: type[_Explained], method: str) -> NoReturn:
    what = (
        "computing the result with the backend's kernels (e.g. `a.f.add_zip(a, b)`)"
        if method == "forward"
        else "returning grad times its derivative, one gradient per input (0.0 for "
        "parameter arguments)"
    )
    raise NotImplementedError(
        f"{cls.__name__} defines no {method}(ctx, ...), so it cannot be "
        + ("evaluated" if method == "forward" else "differentiated")
        + f": add a @staticmethod {method} {what}."
    )


def _constant_result(cls: type[Function], c: object) -> Tensor:
    """What ``forward`` returned, checked, as a constant (cut from any graph it has)."""
    if not isinstance(c, Tensor):
        _bad_forward(cls, c)
    return c if c.history is None else c._new(c._tensor)


def _bad_forward(cls: type[Function], c: object) -> NoReturn:
    raise TypeError(
        f"{cls.__name__}.forward returned {type(c).__name__}, expected a Tensor (compute "
        "with the backend, e.g. `a.f.add_zip(a, b)`, and return the result)."
    )


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def _ints(v: Any) -> tuple[int, ...]:
    """A parameter argument (int, sequence of ints, or Tensor of them) as a tuple of ints."""
    if type(v) is tuple:  # the usual case (shapes, orders), checked first: it is the cheapest
        return tuple(map(int, v))
    if isinstance(v, Tensor):
        return tuple(map(int, v._tensor._array.reshape(-1)))
    if isinstance(v, (int, np.integer)):
        return (int(v),)
    return tuple(map(int, v))


def _dim(a: Tensor, dim: Any) -> int | None:
    """Normalise a dim argument (int, 1-element Tensor or None); negatives count from the end."""
    if dim is None:
        return None
    (d,) = _ints(dim)
    if d < 0:
        d += a.dims
    if not 0 <= d < a.dims:
        raise IndexingError(f"dim {dim!r} is out of range for shape {a.shape}.")
    return d


def _dims(a: Tensor, dim: Any) -> tuple[int, ...] | None:
    """Normalise a dim argument (an int, a tuple/list of ints, a Tensor of them, or None).

    Negative dims count from the end; the result is sorted. Out-of-range or repeated
    dims raise ``IndexingError``.
    """
    if dim is None:
        return None
    n = a._tensor.dims
    if type(dim) is int and 0 <= dim < n:  # the common case, first: it is the cheapest
        return (dim,)
    ds = _ints(dim)
    out = []
    for d in ds:
        if not -n <= d < n:
            raise IndexingError(
                f"dim {d} is out of range for a tensor of shape {a.shape} (use -{n} to {n - 1})."
            )
        out.append(d + n if d < 0 else d)
    if len(set(out)) != len(out):
        raise IndexingError(f"dim {dim!r}: a dim appears more than once in the list of dims.")
    return tuple(sorted(out))


def _nonempty_dims(name: str, a: Tensor, dim: Any) -> tuple[int, ...] | None:
    """``_dims``, checking that every reduced dim has elements (max/min of nothing)."""
    ds = _dims(a, dim)
    if a._tensor.size:  # no dim is empty
        return ds
    if ds is None or any(a.shape[d] == 0 for d in ds):
        where = "the tensor" if ds is None else f"dim {ds if len(ds) > 1 else ds[0]}"
        raise IndexingError(
            f"{name}(): Expected reduction dim to have non-zero size: {where} of shape "
            f"{a.shape} is empty, and the {name} of no elements is undefined. Reduce a "
            "non-empty dim, or check the size first."
        )
    return ds


def _grads(ctx: Context, g: Any) -> tuple[Any, ...]:
    """``g`` for the first input and 0.0 for the parameter arguments after it."""
    n = len(getattr(ctx, "needs_input_grad", ())) or 1
    return (g,) + (0.0,) * (n - 1)


def _full_reduce(a: Tensor, reducer: Callable[[Tensor, int], Tensor]) -> Tensor:
    """Reduce every element of ``a`` to shape ``(1,)`` with a backend reduction."""
    if a.dims != 1:
        a = _viewed(a, _flat)
    return reducer(a, 0)


def _flat(x: Any) -> Any:
    """``x`` as one dim (a view where the layout allows)."""
    return x.reshape(-1)


def _needs(ctx: Context, n: int) -> tuple[bool, ...]:
    """Which of the ``n`` inputs need a gradient (all, for a context not made by apply)."""
    needs: tuple[bool, ...] = getattr(ctx, "needs_input_grad", ())
    return needs if len(needs) == n else (True,) * n


def _zeros_like(t: Tensor) -> Tensor:
    return t._new(TensorData._from_array(t.backend.xp.zeros(t.shape, dtype=t.dtype)))


# ---------------------------------------------------------------------------
# Elementwise
# ---------------------------------------------------------------------------


class Neg(Function):
    """f(a) = -a;  ∂f/∂a = -1."""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        return a.f.neg_map(a)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        return -grad


class Inv(Function):
    """f(a) = 1/a;  ∂f/∂a = -1/a² (``operators.inv_back``)."""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        ctx.save_for_backward(a)
        return a.f.inv_map(a)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        a: Tensor
        (a,) = ctx.saved_values
        return operators.inv_back(a, grad)


class Add(Function):
    """f(a, b) = a + b (broadcasting);  ∂f/∂a = ∂f/∂b = 1."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        return a.f.add_zip(a, b)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, Tensor]:
        return grad, grad


class Sub(Function):
    """f(a, b) = a - b (broadcasting);  ∂f/∂a = 1, ∂f/∂b = -1."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        return a.f.sub_zip(a, b)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, Any]:
        return grad, (-grad if _needs(ctx, 2)[1] else 0.0)


class Mul(Function):
    """f(a, b) = a · b (broadcasting);  ∂f/∂a = b, ∂f/∂b = a.

    Saves only what backward needs (b for a's gradient, a for b's), so that modifying
    the other one in place afterwards is fine, as in PyTorch.
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        if not ctx.no_grad:
            need_a, need_b = _needs(ctx, 2)
            ctx.save_for_backward(a if need_b else None, b if need_a else None)
        return a.f.mul_zip(a, b)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, Any]:
        a, b = ctx.saved_values
        need_a, need_b = _needs(ctx, 2)
        return (grad * b if need_a else 0.0, grad * a if need_b else 0.0)


class Div(Function):
    """f(a, b) = a / b (broadcasting);  ∂f/∂a = 1/b, ∂f/∂b = -a/b² (a saved only for it)."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        if not ctx.no_grad:
            ctx.save_for_backward(a if _needs(ctx, 2)[1] else None, b)
        return a.f.div_zip(a, b)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, Any]:
        a, b = ctx.saved_values
        need_a, need_b = _needs(ctx, 2)
        return (grad / b if need_a else 0.0, -(grad * a / (b * b)) if need_b else 0.0)


class Pow(Function):
    """f(a, b) = a^b (broadcasting; ``b`` a tensor or a number).

    ∂f/∂a = b·a^(b−1) (0 where b = 0),  ∂f/∂b = a^b·ln a (0 where a = 0 and b ≥ 0),
    as in PyTorch. Both inputs get gradients, a one-element ``b`` included.
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Any) -> Tensor:
        if not isinstance(b, Tensor):  # a number exponent: a parameter argument
            b = a._ensure_tensor(float(b))
        ctx.save_for_backward(a, b)
        return a.f.pow_zip(a, b)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Any, Any]:
        a, b = ctx.saved_values
        need_a, need_b = _needs(ctx, 2)
        ga: Any = 0.0
        gb: Any = 0.0
        if need_a:
            if b.history is None and b._tensor.size == 1:  # a constant exponent p
                p = float(b._tensor._array.reshape(-1)[0])
                # a^0 = 1 everywhere (the formula would give 0 · a^-1, NaN at 0)
                ga = grad * 0.0 if p == 0.0 else grad * (a ** (p - 1.0) * p)
            else:
                zero = b._ensure_tensor(0.0)
                ga = grad * Where.apply(b.f.eq_zip(b, zero), zero, b * a ** (b - 1.0))
        if need_b:
            zero = a._ensure_tensor(0.0)
            flat = a.f.mul_zip(a.f.eq_zip(a, zero), b.f.le_zip(zero, b))  # a = 0, b ≥ 0
            gb = grad * Where.apply(flat, zero, ctx.output * Ln.apply(a))
        return ga, gb


class Ln(Function):
    """f(a) = ln a, the exact logarithm (-inf at 0, NaN below);  ∂f/∂a = 1/a.

    ``Tensor.log`` is the course's ln(a + 1e-6) (``Log``); ``Ln`` is the exact one that
    ∂(a^b)/∂b = a^b·ln a needs.
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        ctx.save_for_backward(a)
        return a.f.ln_map(a)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        a: Tensor
        (a,) = ctx.saved_values
        return operators.ln_back(a, grad)


class Log(Function):
    """f(a) = ln(a + 1e-6);  ∂f/∂a = 1/(a + 1e-6) (``operators.log_back``)."""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        ctx.save_for_backward(a)
        return a.f.log_map(a)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        (a,) = ctx.saved_values
        return LogBackward.apply(a, grad)


class LogBackward(Function):
    """f(a, d) = d / (a + 1e-6) (``operators.log_back``, one kernel): Log's backward.

    ∂f/∂a = -d / (a + 1e-6)²,  ∂f/∂d = 1 / (a + 1e-6).
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, d: Tensor) -> Tensor:
        ctx.save_for_backward(a, d)
        return a.f.log_back_zip(a, d)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, Any]:
        a, d = ctx.saved_values
        need_a, need_d = _needs(ctx, 2)
        return (
            -LogBackward.apply(a, LogBackward.apply(a, grad * d)) if need_a else 0.0,
            LogBackward.apply(a, grad) if need_d else 0.0,
        )


class Exp(Function):
    """f(a) = e^a;  ∂f/∂a = e^a, read from the output (``operators.exp_out_back``)."""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        return a.f.exp_map(a)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> Tensor:
        return operators.exp_out_back(ctx.output, grad)


# Sigmoid, tanh and ReLU backward run as one fused kernel each: the Functions
# SigmoidBackward, TanhBackward and ReLUBackward, whose forward is that kernel (the
# backend's zip of the operators formula) and whose backward is written in Tensor
# operations. Measured against the same formula as separate Tensor operations
# (``operators.sigmoid_out_back(s, grad)`` on Tensors; ``grad * (a > 0)``): the
# bench_tensor ``elementwise`` workload is 8% slower unfused; per op (the op then ``* w``,
# forward and backward) unfused is slower by: sigmoid 19% (10x10) / 36% (256x256),
# tanh 22% / 0-2%, relu 4% / 42%.


class Sigmoid(Function):
    """f(a) = σ(a) = 1/(1 + e^-a);  ∂f/∂a = σ(a)(1 - σ(a)), from the output."""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        return a.f.sigmoid_map(a)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> Tensor:
        return SigmoidBackward.apply(ctx.output, grad)


class SigmoidBackward(Function):
    """f(s, d) = d·s·(1 - s) (``operators.sigmoid_out_back``, one kernel): Sigmoid's backward.

    ∂f/∂s = d·(1 - 2s),  ∂f/∂d = s(1 - s).
    """

    @staticmethod
    def forward(ctx: Context, s: Tensor, d: Tensor) -> Tensor:
        ctx.save_for_backward(s, d)
        return s.f.sigmoid_out_back_zip(s, d)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, Any]:
        s, d = ctx.saved_values
        need_s, need_d = _needs(ctx, 2)
        return (
            grad * d * (1.0 - 2.0 * s) if need_s else 0.0,
            SigmoidBackward.apply(s, grad) if need_d else 0.0,
        )


class Tanh(Function):
    """f(a) = tanh(a);  ∂f/∂a = 1 - tanh(a)², from the output."""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        return a.f.tanh_map(a)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> Tensor:
        return TanhBackward.apply(ctx.output, grad)


class TanhBackward(Function):
    """f(t, d) = d·(1 - t²) (``operators.tanh_out_back``, one kernel): Tanh's backward.

    ∂f/∂t = -2·d·t,  ∂f/∂d = 1 - t².
    """

    @staticmethod
    def forward(ctx: Context, t: Tensor, d: Tensor) -> Tensor:
        ctx.save_for_backward(t, d)
        return t.f.tanh_out_back_zip(t, d)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, Any]:
        t, d = ctx.saved_values
        need_t, need_d = _needs(ctx, 2)
        return (
            grad * d * t * -2.0 if need_t else 0.0,
            TanhBackward.apply(t, grad) if need_d else 0.0,
        )


class ReLU(Function):
    """f(a) = max(a, 0);  ∂f/∂a = 1 if a > 0 else 0."""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        ctx.save_for_backward(a)
        return a.f.relu_map(a)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        (a,) = ctx.saved_values
        return ReLUBackward.apply(a, grad)


class ReLUBackward(Function):
    """f(a, d) = d where a > 0, else 0 (``operators.relu_back``, one kernel): ReLU's backward.

    ∂f/∂a = 0 (piecewise constant in a),  ∂f/∂d = 1 where a > 0, else 0: f itself.
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, d: Tensor) -> Tensor:
        ctx.save_for_backward(a)
        return a.f.relu_back_zip(a, d)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, Any]:
        (a,) = ctx.saved_values
        return 0.0, ReLUBackward.apply(a, grad)


class _Comparison(Function):
    """A piecewise-constant comparison: both derivatives are 0 (zeros of each input's shape).

    Only the inputs' shapes and dtypes are saved (``_save_shapes``), not the inputs.
    """

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, Any]:
        a, b = ctx.saved_values
        return _zeros_as(grad, a), _zeros_as(grad, b)


def _save_shapes(ctx: Context, *ts: Tensor) -> None:
    """Save the shape and dtype of each of ``ts`` (what zero gradients need)."""
    ctx.save_for_backward(*[(t.shape, t.dtype) for t in ts])


def _zeros_as(like: Tensor, shape_dtype: tuple[tuple[int, ...], Any]) -> Tensor:
    shape, dtype = shape_dtype
    return like._new(TensorData._from_array(like.backend.xp.zeros(shape, dtype=dtype)))


class LT(_Comparison):
    """f(a, b) = 1.0 if a < b else 0.0;  derivatives 0."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        _save_shapes(ctx, a, b)
        return a.f.lt_zip(a, b)


class EQ(_Comparison):
    """f(a, b) = 1.0 if a == b else 0.0;  derivatives 0."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        _save_shapes(ctx, a, b)
        return a.f.eq_zip(a, b)


class IsClose(_Comparison):
    """f(a, b) = 1.0 if |a - b| < 1e-2 else 0.0;  derivatives 0."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        _save_shapes(ctx, a, b)
        return a.f.is_close_zip(a, b)


# ---------------------------------------------------------------------------
# Reductions (the reduced dim is kept with size 1; no dim: everything, to shape (1,))
# ---------------------------------------------------------------------------


class Sum(Function):
    """f(a) = Σ_dim a (``dim`` an int, a tuple of ints or None; reduced dims kept as 1;
    no dim → (1,));  ∂f/∂a = 1 (grad broadcast back)."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: Any = None) -> Tensor:
        ds = _dims(a, dim)
        if ds is None:
            return _full_reduce(a, a.f.add_reduce)
        out = a
        for d in ds:
            out = a.f.add_reduce(out, d)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, ...]:
        return _grads(ctx, grad)  # chain_rule broadcasts grad back to a's shape


class Mean(Function):
    """f(a) = Σ_dim a / n (n = the number of elements reduced; NaN when n = 0);  ∂f/∂a = 1/n."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: Any = None) -> Tensor:
        ds = _dims(a, dim)
        n = a._tensor.size if ds is None else math.prod(a.shape[d] for d in ds)
        ctx.save_for_backward(float(n))
        s = Sum.forward(ctx, a, ds)
        if n:
            return a.f.div_zip(s, a._ensure_tensor(float(n)))
        with np.errstate(invalid="ignore"):  # the mean of nothing is NaN, as in PyTorch
            return a.f.div_zip(s, a._ensure_tensor(0.0))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, ...]:
        (n,) = ctx.saved_values
        return _grads(ctx, grad / n)


def _extremum(ctx: Context, a: Tensor, dim: Any, name: str) -> Tensor:
    """The max or min (``name``) of ``a`` along ``dim`` with the backend's reduction."""
    ds = _nonempty_dims(name, a, dim)
    ctx.save_for_backward(a)
    reduce = a.f.max_reduce if name == "max" else a.f.min_reduce
    if ds is None:
        return _full_reduce(a, reduce)
    out = a
    for d in ds:
        out = reduce(out, d)
    return out


def _extremum_backward(ctx: TensorContext, grad: Tensor) -> tuple[Any, ...]:
    """grad to every element equal to the result (every tie), 0 elsewhere."""
    (a,) = ctx.saved_values
    hit = a.f.eq_zip(a, ctx.output)  # piecewise constant in a: a constant mask
    return _grads(ctx, grad * hit)


class Max(Function):
    """f(a) = max_dim a (``dim`` an int, a tuple or None);  ∂f/∂a = 1 where a equals the max
    (every tie), else 0."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: Any = None) -> Tensor:
        return _extremum(ctx, a, dim, "max")

    backward = staticmethod(_extremum_backward)


class Min(Function):
    """f(a) = min_dim a (``dim`` an int, a tuple or None);  ∂f/∂a = 1 where a equals the min
    (every tie), else 0."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: Any = None) -> Tensor:
        return _extremum(ctx, a, dim, "min")

    backward = staticmethod(_extremum_backward)


class All(Function):
    """f(a) = 1.0 if every element along ``dim`` (an int, a tuple or None) is non-zero,
    else 0.0 (mul-reduce of a ≠ 0)."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: Any = None) -> Tensor:
        ds = _dims(a, dim)
        _save_shapes(ctx, a)
        nz = a.f.nonzero_map(a)
        if ds is None:
            return _full_reduce(nz, a.f.mul_reduce)
        for d in ds:
            nz = a.f.mul_reduce(nz, d)
        return nz

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, ...]:
        (a,) = ctx.saved_values
        return _grads(ctx, _zeros_as(grad, a))


# ---------------------------------------------------------------------------
# PyTorch names (issue 10): abs, sqrt, clamp, where, <=, prod, dtype conversion, 1-D matmul
# ---------------------------------------------------------------------------


class Abs(Function):
    """f(a) = |a|;  ∂f/∂a = sign(a) (0 at 0, as in PyTorch)."""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        ctx.save_for_backward(a)
        return a.f.abs_map(a)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        a: Tensor
        (a,) = ctx.saved_values
        return grad * a.f.sign_map(a)  # piecewise constant in a: a constant mask


class Sqrt(Function):
    """f(a) = √a (NaN below 0);  ∂f/∂a = 1/(2√a), from the output (``operators.sqrt_out_back``)."""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        return a.f.sqrt_map(a)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> Tensor:
        with np.errstate(divide="ignore"):  # ∞ at 0, as in PyTorch
            return operators.sqrt_out_back(ctx.output, grad)


class Clamp(Function):
    """f(a) = min(max(a, lo), hi) for numbers lo, hi (either may be None; NaN stays NaN).

    ∂f/∂a = 1 where lo ≤ a ≤ hi, else 0 (as in PyTorch: the bounds themselves pass the
    gradient).
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, lo: Any, hi: Any) -> Tensor:
        ctx.save_for_backward(a, lo, hi)
        out = a
        if lo is not None:
            out = a.f.clamp_min_zip(out, a._ensure_tensor(float(lo)))
        if hi is not None:
            out = a.f.clamp_max_zip(out, a._ensure_tensor(float(hi)))
        return out if out is not a else a.f.id_map(a)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float, float]:
        a, lo, hi = ctx.saved_values
        inside: Tensor | None = None
        if lo is not None:
            inside = a.f.le_zip(a._ensure_tensor(float(lo)), a)
        if hi is not None:
            below = a.f.le_zip(a, a._ensure_tensor(float(hi)))
            inside = below if inside is None else a.f.mul_zip(inside, below)
        return (grad if inside is None else grad * inside), 0.0, 0.0


class Where(Function):
    """f(c, x, y) = x where c ≠ 0, else y (all three broadcast);  ∂f/∂x = [c ≠ 0],
    ∂f/∂y = [c = 0], no gradient to c.

    A selection, not arithmetic: the other branch's values never leak into the result
    (an ∞ or NaN there is not multiplied by 0), and it gets an exact 0 gradient (which,
    as in PyTorch, still gives 0·∞ = NaN inside a branch whose own derivative is ∞).
    """

    @staticmethod
    def forward(ctx: Context, c: Tensor, x: Tensor, y: Tensor) -> Tensor:
        ctx.save_for_backward(c)
        ca, xa, ya = c._tensor._array, x._tensor._array, y._tensor._array
        same_device("where", x, c)
        same_device("where", x, y)
        xp = x.backend.xp
        try:
            out = xp.where(ca != 0, xa, ya)
        except ValueError:
            raise IndexingError(
                f"where: the condition {c.shape}, x {x.shape} and y {y.shape} do not "
                "broadcast to one shape."
            ) from None
        return x._new(TensorData._from_array(xp.ascontiguousarray(out)))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, Any, Any]:
        (c,) = ctx.saved_values
        _, need_x, need_y = _needs(ctx, 3)
        zero = grad._ensure_tensor(0.0)
        return (
            0.0,
            Where.apply(c, grad, zero) if need_x else 0.0,
            Where.apply(c, zero, grad) if need_y else 0.0,
        )


def where(condition: Tensor, x: Any, y: Any) -> Tensor:
    """``x`` where ``condition`` is non-zero, else ``y`` (tensors or numbers, broadcasting)."""
    if not isinstance(condition, Tensor):
        raise TypeError(
            f"where: the condition must be a Tensor, got {type(condition).__name__} (e.g. `x > 0`)."
        )
    like = x if isinstance(x, Tensor) else y if isinstance(y, Tensor) else condition
    return Where.apply(condition, like._ensure_tensor(x), like._ensure_tensor(y))


class LE(_Comparison):
    """f(a, b) = 1.0 if a <= b else 0.0;  derivatives 0."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        _save_shapes(ctx, a, b)
        return a.f.le_zip(a, b)


class Prod(Function):
    """f(a) = Π_dim a (``dim`` an int or None; kept as 1);  ∂f/∂a_i = Π_{j≠i} a_j.

    Without zeros in ``a`` that is out / a_i (as PyTorch computes it); with zeros, the
    product of the others is formed for each i (exact; O(n) memory per element).
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: Any = None) -> Tensor:
        ds = _dims(a, dim)
        if ds is not None and len(ds) != 1:
            raise IndexingError(
                f"Prod takes one dim or None, got {dim!r} (Tensor.prod takes more)."
            )
        d = None if ds is None else ds[0]
        ctx.save_for_backward(a, d)
        return _full_reduce(a, a.f.mul_reduce) if d is None else a.f.mul_reduce(a, d)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Any, ...]:
        a, d = ctx.saved_values
        if not (a._tensor._array == 0).any():
            return _grads(ctx, grad * (ctx.output / a))
        return _grads(ctx, grad * _product_of_others(a, d))


def _product_of_others(a: Tensor, d: int | None) -> Tensor:
    """o with o_i = Π_{j≠i} a_j along ``d`` (or over everything): exact with zeros, in Tensor
    operations (so differentiable again)."""
    if d is None:
        flat = a.contiguous().view(a._tensor.size)
        return _product_of_others(flat, 0).view(*a.shape)
    shape = a.shape
    n = shape[d]
    rows = a.contiguous().view(*shape[:d], 1, *shape[d:])  # [..., i, j, ...] = a_j
    eye = a.backend.xp.eye(n, dtype=a.dtype).reshape((n, n) + (1,) * (len(shape) - d - 1))
    diag = a._new(TensorData._from_array(eye))
    others = Where.apply(diag, a._ensure_tensor(1.0), rows)  # a_j, 1 where j = i
    return Prod.apply(others, d + 1).contiguous().view(*shape)


class To(Function):
    """f(a) = a as another dtype and/or backend, on that backend's device (the values
    rounded to the dtype, copied between host and GPU as needed); ∂f/∂a = 1 (the grad
    converted back to a's dtype, backend and device)."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dtype: Any, backend: Any) -> Tensor:
        ctx.save_for_backward(a.dtype, a.backend)
        arr = a._tensor._array
        if devices.device_of(arr) != backend.device:
            arr = devices.move(arr, backend.device).astype(dtype, copy=False)
        else:
            arr = arr.astype(dtype)
        return Tensor(TensorData._from_array(arr), backend=backend)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float, float]:
        dtype, backend = ctx.saved_values
        if grad.dtype == dtype and grad.backend is backend:
            return grad, 0.0, 0.0
        return To.apply(grad, dtype, backend), 0.0, 0.0


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` with PyTorch's rules for 1-D operands (``MatMul`` for the rest).

    1-D @ 1-D is the dot product, of shape (1,) (minitorch has no 0-d tensors); a 1-D
    ``a`` is a row (1, n) and a 1-D ``b`` a column (n, 1), the added dim removed after.
    """
    da, db = a._tensor.dims, b._tensor.dims
    if da != 1 and db != 1:
        return MatMul.apply(a, b)
    if a.shape[-1] != b.shape[0 if db == 1 else -2]:
        raise IndexingError(
            f"matmul: shapes {a.shape} and {b.shape} do not multiply: the last dim of a "
            f"({a.shape[-1]}) must equal {'the length of b' if db == 1 else 'b.shape[-2]'} "
            f"({b.shape[0] if db == 1 else b.shape[-2]})."
        )
    x = a.contiguous().view(1, a.shape[0]) if da == 1 else a
    y = b.contiguous().view(b.shape[0], 1) if db == 1 else b
    out = MatMul.apply(x, y)
    shape = out.shape
    if da == 1 and db == 1:
        return out.view(1)
    if db == 1:
        return out.view(*shape[:-1])
    return out.view(*shape[:-2], shape[-1])


# ---------------------------------------------------------------------------
# Views and layout
# ---------------------------------------------------------------------------


class Permute(Function):
    """f(a) = a with dims reordered (a view);  backward: grad permuted by the inverse order."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, order: Any) -> Tensor:
        o = _ints(order)
        ctx.save_for_backward(o)
        return a._new(a._tensor.permute(*o))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float]:
        (o,) = ctx.saved_values
        inverse = [0] * len(o)
        for i, j in enumerate(o):
            inverse[j] = i
        return Permute.apply(grad, tuple(inverse)), 0.0


class View(Function):
    """f(a) = a seen with another shape (same size, contiguous, no copy);  grad viewed back."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, shape: Any) -> Tensor:
        new = _ints(shape)
        if not a._tensor.is_contiguous():
            raise IndexingError(
                f"view{new}: the tensor of shape {a.shape} is not contiguous (e.g. it was "
                "permuted); view never copies. Call .contiguous() first."
            )
        if new.count(-1) == 1:
            known = math.prod(s for s in new if s != -1)
            if known and a.size % known == 0:
                new = tuple(a.size // known if s == -1 else s for s in new)
        if math.prod(new) != a.size or any(s < 0 for s in new):
            raise IndexingError(f"view: cannot view shape {a.shape} ({a.size} elements) as {new}.")
        ctx.save_for_backward(a.shape)
        return _viewed(a, lambda x: x.reshape(new), a._tensor._storage)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float]:
        (shape,) = ctx.saved_values
        return View.apply(grad.contiguous(), shape), 0.0


class Copy(Function):
    """f(a) = a as a fresh contiguous copy;  ∂f/∂a = 1."""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        return a.f.id_map(a)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        return grad


def _broadcast_view(arr: Any, shape: tuple[int, ...]) -> Any:
    """``arr`` seen with the larger ``shape`` (zero strides on repeated dims; no copy)."""
    if not isinstance(arr, np.ndarray) or not arr.flags.c_contiguous or arr.size == 0:
        return namespace(arr).broadcast_to(arr, shape)
    lead = len(shape) - arr.ndim
    strides = [0] * lead
    for d, n, st in zip(shape[lead:], arr.shape, arr.strides):
        if n == d:
            strides.append(st)
        elif n == 1:
            strides.append(0)
        else:
            return np.broadcast_to(arr, shape)  # raises, naming the shapes
    return np.ndarray(shape, dtype=arr.dtype, buffer=arr, strides=tuple(strides))


class BroadcastTo(Function):
    """f(a) = a repeated to a larger shape (a view, zero strides);  backward: grad summed back."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, shape: Any) -> Tensor:
        s = _ints(shape)
        return _viewed(a, lambda x: _broadcast_view(x, s))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float]:
        return grad, 0.0  # chain_rule sums it back to the input's shape (SumTo)


def _sum_to(a: Tensor, target: tuple[int, ...]) -> Tensor:
    """``a`` summed (backend ``add_reduce``) down to ``target``, which broadcasts to a.shape."""
    shape = a._tensor.shape
    lead = len(shape) - len(target)
    out = a
    for i, n in enumerate(shape):
        if i < lead or (target[i - lead] == 1 and n != 1):
            out = a.f.add_reduce(out, i)
    if out._tensor.shape == target:
        return out
    return _viewed(out, lambda x: x.reshape(target))


def _viewed(a: Tensor, view: Callable[[Any], Any], storage: Any = None) -> Tensor:
    """A constant tensor holding ``view(a's array)`` (a reshape, a broadcast ...), told to
    ``minitorch.compile`` as a kernel it can replay on new arrays."""
    x = a._tensor._array
    r = view(x)
    td = TensorData._from_array(r, storage)
    if (kernels := _trace.STATE.kernels) is not None and td._array is r:
        kernels.append((view, (x,), r))
    return a._new(td)


class SumTo(Function):
    """f(a) = a summed down to ``shape`` (which broadcasts to a.shape);  backward: broadcast."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, shape: Any) -> Tensor:
        return _sum_to(a, _ints(shape))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float]:
        return grad, 0.0  # chain_rule broadcasts it back up to the input's shape


class GetItem(Function):
    """f(a) = a[key] for a NumPy key from ``indexing.normalize_key``;  backward: grad scattered.

    Basic keys (ints, slices, ``...``, ``None``) give a view, advanced ones (index arrays,
    masks) a copy. ∂f/∂a: zeros of a's shape with grad added at the selected places
    (``_Scatter``; an element selected twice gets both gradients).
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, key: Any) -> Tensor:
        ctx.save_for_backward(a.shape, key)
        arr = a._tensor._array
        return a._new(TensorData._from_array(arr[for_array(key, arr)]))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float]:
        shape, key = ctx.saved_values
        return _Scatter.apply(grad, shape, key), 0.0


def _is_basic(key: tuple[Any, ...]) -> bool:
    """True when ``key`` holds no index arrays or masks (``a[key]`` is a view)."""
    return all(k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice)) for k in key)


class _Scatter(Function):
    """f(g) = zeros(shape) with g added at ``[key]`` (the adjoint of GetItem);  backward: GetItem.

    For index arrays the places may repeat: their values add up (a bincount over the
    selected positions).
    """

    @staticmethod
    def forward(ctx: Context, g: Tensor, shape: tuple[int, ...], key: Any) -> Tensor:
        ctx.save_for_backward(key)
        garr = g._tensor._array
        xp = g.backend.xp
        if _is_basic(key):
            z = xp.zeros(shape, dtype=g.dtype)
            part = z[key]
            part[...] = garr.reshape(part.shape)
        else:
            size = math.prod(shape)
            pos = xp.arange(size).reshape(shape)[for_array(key, garr)]
            sums = xp.bincount(pos.reshape(-1), weights=garr.reshape(-1), minlength=size)
            z = sums.astype(g.dtype, copy=False).reshape(shape)
        return g._new(TensorData._from_array(z))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float, float]:
        (key,) = ctx.saved_values
        return GetItem.apply(grad, key), 0.0, 0.0


# ---------------------------------------------------------------------------
# Matrix product
# ---------------------------------------------------------------------------


class MatMul(Function):
    """f(a, b) = a @ b over the last two dims (batch dims broadcast).

    ``(…, n, m) @ (…, m, p) -> (…, n, p)``;  ∂L/∂a = g @ bᵀ, ∂L/∂b = aᵀ @ g (broadcast
    batch dims are summed back by the chain rule).
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        if not ctx.no_grad:  # each input is needed only for the other's gradient
            need_a, need_b = _needs(ctx, 2)
            ctx.save_for_backward(a if need_b else None, b if need_a else None)
        return a.f.matrix_multiply(a, b)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, Any]:
        a, b = ctx.saved_values
        need_a, need_b = _needs(ctx, 2)
        return (grad @ b.mT if need_a else 0.0, a.mT @ grad if need_b else 0.0)

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
import random
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import numpy as np

from . import _versions, operators
from .autodiff import Context, History, grads_tuple, is_grad_enabled
from .gradcheck import grad_central_difference, grad_check, gradcheck  # the course's names
from .tensor import Tensor, _Param
from .tensor_data import IndexingError, TensorData
from .tensor_ops import TensorBackend

__all__ = [
    "EQ",
    "LT",
    "Add",
    "All",
    "BroadcastTo",
    "Copy",
    "Div",
    "Exp",
    "Function",
    "GetItem",
    "Inv",
    "IsClose",
    "Log",
    "MatMul",
    "Max",
    "Mean",
    "Mul",
    "Neg",
    "Permute",
    "Pow",
    "ReLU",
    "ReLUBackward",
    "Sigmoid",
    "SigmoidBackward",
    "Sub",
    "Sum",
    "SumTo",
    "Tanh",
    "TanhBackward",
    "TensorContext",
    "View",
    "from_numpy",
    "grad_central_difference",
    "grad_check",
    "gradcheck",
    "ones",
    "rand",
    "tensor",
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
    """

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
        inputs: Sequence[Any] = vals
        needs: tuple[bool, ...]
        if len(vals) == 1:
            needs = _NEEDS_ONE
        elif len(vals) == 2 and type(vals[0]) is Tensor and type(vals[1]) is Tensor:
            needs = _NEEDS_TWO[vals[0].history is not None, vals[1].history is not None]
        else:
            needs = tuple([isinstance(v, Tensor) and v.history is not None for v in vals])
            needs = _NEEDS.setdefault(needs, needs)  # one shared tuple per pattern
            for v in vals:
                if not isinstance(v, Tensor):
                    inputs = [v if isinstance(v, Tensor) else _PARAM for v in vals]
                    break
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


def _grads(ctx: Context, g: Any) -> tuple[Any, ...]:
    """``g`` for the first input and 0.0 for the parameter arguments after it."""
    n = len(getattr(ctx, "needs_input_grad", ())) or 1
    return (g,) + (0.0,) * (n - 1)


def _full_reduce(a: Tensor, reducer: Callable[[Tensor, int], Tensor]) -> Tensor:
    """Reduce every element of ``a`` to shape ``(1,)`` with a backend reduction."""
    if a.dims != 1:
        a = a._new(TensorData._from_array(a._tensor._array.reshape(-1)))
    return reducer(a, 0)


def _needs(ctx: Context, n: int) -> tuple[bool, ...]:
    """Which of the ``n`` inputs need a gradient (all, for a context not made by apply)."""
    needs: tuple[bool, ...] = getattr(ctx, "needs_input_grad", ())
    return needs if len(needs) == n else (True,) * n


def _zeros_like(t: Tensor) -> Tensor:
    return t._new(TensorData._from_array(np.zeros(t.shape, dtype=t.dtype)))


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
    """f(a) = a^p for a number p;  ∂f/∂a = p · a^(p-1)."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, p: Any) -> Tensor:
        exponent = float(p.item()) if isinstance(p, Tensor) else float(p)
        ctx.save_for_backward(a, exponent)
        return a.f.pow_zip(a, a._ensure_tensor(exponent))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float]:
        a, p = ctx.saved_values
        if p == 0.0:  # a^0 = 1 everywhere (the formula would give 0 · a^-1, NaN at 0)
            return grad * 0.0, 0.0
        return grad * (a ** (p - 1.0) * p), 0.0


class Log(Function):
    """f(a) = ln(a + 1e-6);  ∂f/∂a = 1/a (``operators.log_back``)."""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        ctx.save_for_backward(a)
        return a.f.log_map(a)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        a: Tensor
        (a,) = ctx.saved_values
        return operators.log_back(a, grad)


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
    return like._new(TensorData._from_array(np.zeros(shape, dtype=dtype)))


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
    """f(a) = Σ_dim a (shape: ``dim`` kept as 1; no dim → (1,));  ∂f/∂a = 1 (grad broadcast)."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: Any = None) -> Tensor:
        d = _dim(a, dim)
        if d is None:
            return _full_reduce(a, a.f.add_reduce)
        return a.f.add_reduce(a, d)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, ...]:
        return _grads(ctx, grad)  # chain_rule broadcasts grad back to a's shape


class Mean(Function):
    """f(a) = Σ_dim a / n (n = shape[dim], or size);  ∂f/∂a = 1/n."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: Any = None) -> Tensor:
        d = _dim(a, dim)
        n = a.size if d is None else a.shape[d]
        ctx.save_for_backward(float(n))
        s = _full_reduce(a, a.f.add_reduce) if d is None else a.f.add_reduce(a, d)
        return a.f.div_zip(s, a._ensure_tensor(float(n)))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, ...]:
        (n,) = ctx.saved_values
        return _grads(ctx, grad / n)


class Max(Function):
    """f(a) = max_dim a;  ∂f/∂a = 1 where a equals the max (every tie), else 0."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: Any = None) -> Tensor:
        d = _dim(a, dim)
        ctx.save_for_backward(a)
        return _full_reduce(a, a.f.max_reduce) if d is None else a.f.max_reduce(a, d)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Any, ...]:
        (a,) = ctx.saved_values
        argmax = a.f.eq_zip(a, ctx.output)  # piecewise constant in a: a constant mask
        return _grads(ctx, grad * argmax)


class All(Function):
    """f(a) = 1.0 if every element along ``dim`` is non-zero else 0.0 (mul-reduce of a ≠ 0)."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: Any = None) -> Tensor:
        d = _dim(a, dim)
        _save_shapes(ctx, a)
        nz = a.f.nonzero_map(a)
        return _full_reduce(nz, a.f.mul_reduce) if d is None else a.f.mul_reduce(nz, d)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, ...]:
        (a,) = ctx.saved_values
        return _grads(ctx, _zeros_as(grad, a))


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
        return a._new(TensorData._from_array(a._tensor._array.reshape(new), a._tensor._storage))

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
    if not arr.flags.c_contiguous or arr.size == 0:
        return np.broadcast_to(arr, shape)
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
        return a._new(TensorData._from_array(_broadcast_view(a._tensor._array, _ints(shape))))

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
    return out._new(TensorData._from_array(out._tensor._array.reshape(target)))


class SumTo(Function):
    """f(a) = a summed down to ``shape`` (which broadcasts to a.shape);  backward: broadcast."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, shape: Any) -> Tensor:
        return _sum_to(a, _ints(shape))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float]:
        return grad, 0.0  # chain_rule broadcasts it back up to the input's shape


class GetItem(Function):
    """f(a) = a[key] for ints / slices / ``...`` / ``None`` (a view);  backward: grad scattered."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, key: Any) -> Tensor:
        ctx.save_for_backward(a.shape, key)
        return a._new(TensorData._from_array(a._tensor._array[key]))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float]:
        shape, key = ctx.saved_values
        return _Scatter.apply(grad, shape, key), 0.0


class _Scatter(Function):
    """f(g) = zeros(shape) with ``[key] = g`` (the adjoint of GetItem)."""

    @staticmethod
    def forward(ctx: Context, g: Tensor, shape: tuple[int, ...], key: Any) -> Tensor:
        ctx.save_for_backward(key)
        z = np.zeros(shape, dtype=g.dtype)
        z[key] = g._tensor._array
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
        return (grad @ b.T if need_a else 0.0, a.T @ grad if need_b else 0.0)


# ---------------------------------------------------------------------------
# Making tensors
# ---------------------------------------------------------------------------


def _shape_arg(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def tensor(
    ls: Any,
    backend: TensorBackend | None = None,
    requires_grad: bool = False,
    dtype: Any = None,
) -> Tensor:
    """A tensor from (nested) lists or tuples of numbers; the shape follows the nesting.

    ``tensor([[1, 2], [3, 4]])`` has shape (2, 2); ragged nesting raises a ValueError.
    """
    return Tensor(ls, backend=backend, requires_grad=requires_grad, dtype=dtype)


def zeros(shape: Any, backend: TensorBackend | None = None, dtype: Any = None) -> Tensor:
    """A tensor of zeros of ``shape`` (a constant)."""
    return Tensor(np.zeros(_shape_arg(shape)), backend=backend, dtype=dtype)


def ones(shape: Any, backend: TensorBackend | None = None, dtype: Any = None) -> Tensor:
    """A tensor of ones of ``shape`` (a constant)."""
    return Tensor(np.ones(_shape_arg(shape)), backend=backend, dtype=dtype)


def rand(
    shape: Any,
    backend: TensorBackend | None = None,
    requires_grad: bool = False,
    dtype: Any = None,
) -> Tensor:
    """Uniform [0, 1) values from Python's ``random`` (reproducible after ``random.seed``)."""
    s = _shape_arg(shape)
    vals = [random.random() for _ in range(math.prod(s))]
    return Tensor(
        np.array(vals, dtype=np.float64).reshape(s),
        backend=backend,
        requires_grad=requires_grad,
        dtype=dtype,
    )


def from_numpy(
    array: Any, backend: TensorBackend | None = None, requires_grad: bool = False
) -> Tensor:
    """A tensor sharing memory with a float32/float64 NumPy array (other dtypes are copied)."""
    arr = np.asarray(array)
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    t = Tensor(TensorData._from_array(arr), backend=backend)
    if requires_grad:
        t.requires_grad_(True)
    return t

"""Scalar: a number that remembers how it was computed.

A ``Scalar`` wraps a float (``.data``) and its ``history``: the Function that produced it,
that Function's saved context and its input Scalars. Arithmetic on Scalars goes through
``ScalarFunction.apply`` (see ``scalar_functions.py``), so every result records the graph
that ``backward()`` later walks with the shared engine in ``autodiff.py``.

Three kinds of Scalar (the lecture's terminology):

* **leaf** – made by the user, ``Scalar(3.0)``: empty history; derivatives accumulate here;
* **internal node** – made by a Function: its history records the Function and inputs;
* **constant** – ``Scalar(3.0, back=None)`` or made under ``no_grad()``: no history at all.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from itertools import count
from typing import TYPE_CHECKING, Any, Union

from .autodiff import (
    UNPACK_HINT,
    GraphFreedError,
    ScalarHistory,
    backpropagate,
    central_difference,  # noqa: F401  (the course's minitorch.scalar.central_difference)
    grads_tuple,
)
from .gradcheck import derivative_check as derivative_check  # lives above Scalar; course name

if TYPE_CHECKING:
    from .autodiff import Context
    from .scalar_functions import ScalarFunction

__all__ = ["Scalar", "ScalarHistory", "ScalarLike", "derivative_check"]

ScalarLike = Union[float, int, "Scalar"]

_next_id = count(1).__next__


_LEAF = ScalarHistory()


def _as_float(v: object) -> float:
    """``float(v)`` for real numbers; a clear TypeError for anything else."""
    if isinstance(v, Scalar):
        raise TypeError(
            "Scalar(...) was given a Scalar. A Scalar cannot wrap another Scalar: use the "
            "Scalar itself, or its number `x.data` to start a new, unconnected leaf."
        )
    if isinstance(v, bool | numbers.Real):
        return float(v)
    if hasattr(v, "item") and getattr(v, "size", None) == 1:  # 1-element NumPy arrays
        return _as_float(v.item())
    raise TypeError(f"Scalar needs a real number (float or int), got {type(v).__name__} {v!r}.")


class Scalar:
    """A float that records the Functions applied to it, for reverse-mode autodiff.

    ``Scalar(v, back=ScalarHistory(), name=None)``: ``.data = float(v)``; the default
    history makes a leaf, ``back=None`` a constant. ``.derivative`` is ``None`` until a
    backward pass reaches it.
    """

    __slots__ = ("_name", "data", "derivative", "history", "unique_id")

    data: float
    history: ScalarHistory | None
    derivative: float | None
    unique_id: int

    def __init__(
        self,
        v: float,
        back: ScalarHistory | None = _LEAF,
        name: str | None = None,
    ) -> None:
        self.data = v if type(v) is float else _as_float(v)
        self.history = back
        self.derivative = None
        self.unique_id = _next_id()
        self._name = name

    # -- identity and display ------------------------------------------------
    @property
    def name(self) -> str:
        """A label for graphs and messages: the given name, else the unique id."""
        return self._name if self._name is not None else str(self.unique_id)

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    def __repr__(self) -> str:
        return f"Scalar({self.data:f})"

    def _repr_svg_(self) -> str | None:
        """Notebook display: the graph that produced this Scalar (``minitorch.viz``)."""
        from .viz import repr_svg

        return repr_svg(self)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return self.data

    def item(self) -> float:
        """The wrapped number (PyTorch's name for it)."""
        return self.data

    # -- the Variable protocol -------------------------------------------------
    def is_leaf(self) -> bool:
        """True for a Scalar made by the user (empty history)."""
        h = self.history
        return h is not None and h.last_fn is None

    def is_constant(self) -> bool:
        """True for a Scalar with no history: no derivative flows to it."""
        return self.history is None

    @property
    def parents(self) -> Sequence[Scalar]:
        """The inputs of the Function that made this Scalar."""
        if self.history is None:
            return ()
        return self.history.inputs

    def accumulate_derivative(self, x: float) -> None:
        """Add ``x`` to ``.derivative`` (which starts at 0.0). Leaves only."""
        h = self.history
        if h is None or h.last_fn is not None:
            raise RuntimeError(
                f"accumulate_derivative is for leaves; Scalar {self.name} is "
                + ("a constant." if h is None else f"made by {_fn_name(self)}.")
            )
        d = self.derivative
        self.derivative = x if d is None else d + x

    def chain_rule(self, d_output: float) -> list[tuple[Scalar, float]]:
        """``(input, d_output * ∂self/∂input)`` for every input of the Function, in order.

        Calls the Function's ``backward`` and checks what it returns: one number per input.
        """
        h = self.history
        if h is None or h.ctx is None or h.last_fn is None:
            raise RuntimeError(
                f"chain_rule needs a Scalar made by a Function; Scalar {self.name} is a "
                f"{'constant' if h is None else 'leaf'}."
            )
        ctx = h.ctx
        fn = h.last_fn
        if ctx.freed:
            raise GraphFreedError(_freed_message(fn.__name__))
        try:
            grads = fn.backward(ctx, d_output)  # _backward, inlined
        except TypeError as err:
            raise _explain_backward_error(fn, ctx, d_output, err) from err
        inputs = h.inputs
        # The common cases are checked inline; anything else gets the full check.
        if type(grads) is float:
            if len(inputs) == 1:
                return [(inputs[0], grads)]
        elif type(grads) is tuple and len(grads) == 2 == len(inputs):
            g0, g1 = grads
            if type(g0) is float and type(g1) is float:
                return [(inputs[0], g0), (inputs[1], g1)]
        grads = grads_tuple(grads)
        return list(zip(inputs, _check_backward_result(fn, ctx, grads, len(inputs))))

    def release_graph(self) -> None:
        """Free what this node's Function saved (called by backward unless retain_graph)."""
        h = self.history
        if h is not None and h.ctx is not None:
            ctx = h.ctx  # Context.release(), inlined: this runs once per node
            ctx.saved_values = ()
            ctx.freed = True

    def backward(self, d_output: float | None = None, retain_graph: bool = False) -> None:
        """Backpropagate from this Scalar; reached leaves accumulate ``.derivative``.

        ``d_output`` is the starting derivative (default 1.0). The graph's saved values
        are released afterwards unless ``retain_graph=True``.
        """
        if self.history is None:
            raise RuntimeError(
                "backward() was called on a constant Scalar (no history): nothing in it "
                "depends on a leaf. Make inputs with Scalar(v), not Scalar(v, None), and "
                "compute outside `no_grad()`."
            )
        d = 1.0 if d_output is None else _as_float(d_output)
        backpropagate(self, d, retain_graph=retain_graph)

    @property
    def grad(self) -> float | None:
        """PyTorch's name for ``derivative`` (read and write)."""
        return self.derivative

    @grad.setter
    def grad(self, value: float | None) -> None:
        self.derivative = value

    def zero_grad(self) -> None:
        """Forget the accumulated derivative (back to ``None``)."""
        self.derivative = None

    def detach(self) -> Scalar:
        """A constant with the same value, cut from the graph."""
        return Scalar(self.data, None)

    # -- arithmetic: each operator is one Function --------------------------------
    def __add__(self, b: ScalarLike) -> Scalar:
        return Add.apply(self, b)

    def __radd__(self, b: ScalarLike) -> Scalar:
        return Add.apply(b, self)

    def __sub__(self, b: ScalarLike) -> Scalar:
        return Add.apply(self, Neg.apply(b))

    def __rsub__(self, b: ScalarLike) -> Scalar:
        return Add.apply(b, Neg.apply(self))

    def __mul__(self, b: ScalarLike) -> Scalar:
        return Mul.apply(self, b)

    def __rmul__(self, b: ScalarLike) -> Scalar:
        return Mul.apply(b, self)

    def __truediv__(self, b: ScalarLike) -> Scalar:
        return Mul.apply(self, Inv.apply(b))

    def __rtruediv__(self, b: ScalarLike) -> Scalar:
        return Mul.apply(b, Inv.apply(self))

    def __pow__(self, b: ScalarLike) -> Scalar:
        return Pow.apply(self, b)

    def __rpow__(self, b: ScalarLike) -> Scalar:
        return Pow.apply(b, self)

    def __neg__(self) -> Scalar:
        return Neg.apply(self)

    def __lt__(self, b: ScalarLike) -> Scalar:
        return LT.apply(self, b)

    def __gt__(self, b: ScalarLike) -> Scalar:
        return LT.apply(b, self)

    def __eq__(self, b: ScalarLike) -> Scalar:  # type: ignore[override]
        return EQ.apply(self, b)

    __hash__ = None  # type: ignore[assignment]  # == builds a Scalar, so no hashing

    def log(self) -> Scalar:
        """ln(x + 1e-6); derivative 1/x."""
        return Log.apply(self)

    def exp(self) -> Scalar:
        """e^x; derivative e^x."""
        return Exp.apply(self)

    def sigmoid(self) -> Scalar:
        """σ(x); derivative σ(x)(1 - σ(x))."""
        return Sigmoid.apply(self)

    def relu(self) -> Scalar:
        """max(x, 0); derivative 1 if x > 0 else 0."""
        return ReLU.apply(self)

    def tanh(self) -> Scalar:
        """tanh(x); derivative 1 - tanh(x)^2."""
        return Tanh.apply(self)


# ---------------------------------------------------------------------------
# Helpful errors for user-written Functions
# ---------------------------------------------------------------------------


def _fn_name(s: Scalar) -> str:
    h = s.history
    return h.last_fn.__name__ if h is not None and h.last_fn is not None else "nothing"


def _freed_message(fn_name: str) -> str:
    return (
        f"Trying to backward through {fn_name} a second time: its saved values were "
        "released after the first backward. Pass `retain_graph=True` to the first "
        "backward() to keep the graph, or recompute the forward pass."
    )


def _has_tuple(x: object) -> bool:
    return isinstance(x, tuple) or (
        isinstance(x, Iterable) and any(isinstance(v, tuple) for v in x)
    )


def _explain_backward_error(
    fn: type[ScalarFunction], ctx: Context, d_output: float, err: TypeError
) -> TypeError:
    """Re-word a TypeError raised inside a user's backward, with the usual cause."""
    msg = f"{fn.__name__}.backward(ctx, d_out={d_output!r}) raised TypeError: {err}."
    if ctx.saved_values:
        msg += f" Its ctx.saved_values is {ctx.saved_values!r}. " + UNPACK_HINT
    return TypeError(msg)


def _check_backward_result(
    fn: type[ScalarFunction], ctx: Context, grads: Sequence[Any], n_inputs: int
) -> tuple[float, ...]:
    """Validate what ``backward`` returned: one real number per input."""
    expected = "one number" if n_inputs == 1 else f"{n_inputs} numbers (a tuple, one per input)"
    shown = grads[0] if len(grads) == 1 else grads
    hint = (" " + UNPACK_HINT) if ctx.saved_values and _has_tuple(grads) else ""
    if len(grads) != n_inputs:
        raise TypeError(
            f"{fn.__name__}.backward returned {shown!r} ({len(grads)} value(s)) but "
            f"{fn.__name__}.forward took {n_inputs} input(s): expected {expected}, the "
            f"derivative for each input.{hint}"
        )
    out = []
    for i, g in enumerate(grads):
        if isinstance(g, bool) or not isinstance(g, numbers.Real):
            raise TypeError(
                f"{fn.__name__}.backward returned {shown!r}: the derivative for input {i} "
                f"is a {type(g).__name__}, expected a number. backward must return "
                f"{expected}.{hint}"
            )
        out.append(float(g))
    return tuple(out)


def check_forward_result(fn: type[ScalarFunction], result: object) -> float:
    """Validate what ``forward`` returned: a real number (ints become floats)."""
    if isinstance(result, Scalar):
        raise TypeError(
            f"{fn.__name__}.forward returned a Scalar ({result!r}), expected a plain number. "
            "forward receives plain numbers and must compute with them; call other "
            "Functions with .apply outside forward."
        )
    if isinstance(result, bool) or not isinstance(result, numbers.Real):
        hint = (" " + UNPACK_HINT) if isinstance(result, tuple) else ""
        raise TypeError(
            f"{fn.__name__}.forward returned {result!r} ({type(result).__name__}), expected "
            f"a number (float).{hint}"
        )
    return float(result)


# Circular by design: the Functions need Scalar, Scalar's operators need the Functions.
from .scalar_functions import (  # noqa: E402
    EQ,
    LT,
    Add,
    Exp,
    Inv,
    Log,
    Mul,
    Neg,
    Pow,
    ReLU,
    Sigmoid,
    Tanh,
)

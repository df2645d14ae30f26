"""Scalar Functions: one class per operation, its forward and backward side by side.

``forward(ctx, *xs)`` receives plain numbers and returns a number; ``backward(ctx, d)``
receives the derivative of the final output with respect to this Function's output and
returns ``d * ∂f/∂x_i`` for each input ``x_i`` (a bare number when there is one input).
Users define new operations the same way, by subclassing ``ScalarFunction``::

    class TimesFive(ScalarFunction):
        @staticmethod
        def forward(ctx, x):
            return x * 5

        @staticmethod
        def backward(ctx, d_out):
            return 5 * d_out
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from . import operators
from .autodiff import Context, History, grads_tuple, is_grad_enabled

if TYPE_CHECKING:
    from .scalar import Scalar, ScalarLike

__all__ = [
    "EQ",
    "LT",
    "Add",
    "Exp",
    "Inv",
    "Log",
    "Mul",
    "Neg",
    "Pow",
    "ReLU",
    "ScalarFunction",
    "Sigmoid",
    "Tanh",
]

_new_object = object.__new__


class ScalarFunction:
    """Base class of differentiable operations on Scalars.

    Subclasses define static ``forward(ctx, *values)`` and ``backward(ctx, d_out)``;
    callers use ``Fn.apply(*scalars)``, which unwraps the inputs, calls ``forward`` and
    wraps the result in a Scalar that remembers ``(Fn, ctx, inputs)``.
    """

    # Subclasses define both as static methods; these defaults explain what is missing.
    forward: Any = classmethod(lambda cls, ctx, *values: _missing(cls, "forward"))
    backward: Any = classmethod(lambda cls, ctx, d_out: _missing(cls, "backward"))

    @classmethod
    def _forward(cls, ctx: Context, *inps: float) -> float:
        return cls.forward(ctx, *inps)  # type: ignore[no-any-return]

    @classmethod
    def _backward(cls, ctx: Context, d_out: float) -> tuple[float, ...]:
        """Call ``backward``; a single returned value becomes a 1-tuple."""
        return grads_tuple(cls.backward(ctx, d_out))

    @classmethod
    def apply(cls, *vals: ScalarLike) -> Scalar:
        """Run ``forward`` on the inputs' numbers and record the graph.

        A Scalar contributes its ``.data``; any other argument is passed to ``forward``
        as it is and recorded as a fresh leaf ``Scalar(v)``. The result is a constant
        when no input needs a derivative (all constants) or under ``no_grad()``.
        """
        raw: list[Any] = []
        track = False
        numbers = False
        for v in vals:
            if isinstance(v, Scalar):
                raw.append(v.data)
                if v.history is not None:
                    track = True
            else:  # a plain number: passed as is, recorded as a fresh leaf
                raw.append(v)
                numbers = track = True
        if numbers:
            vals = tuple(v if isinstance(v, Scalar) else Scalar(v) for v in vals)
        if track and is_grad_enabled():
            # This runs once per operation: the context and history are built field by
            # field (a dataclass __init__ call each costs more).
            ctx = _new_object(Context)
            ctx.no_grad = False
            ctx.saved_values = ()
            ctx.freed = False
            c = cls.forward(ctx, *raw)  # what _forward does, one call less
            if type(c) is not float:
                c = check_forward_result(cls, c)
            h = _new_object(History)
            h.last_fn = cls
            h.ctx = ctx
            h.inputs = vals  # all Scalars now
            return Scalar(c, h)
        c = cls._forward(Context(True), *raw)
        if type(c) is not float:
            c = check_forward_result(cls, c)
        return Scalar(c, None)


def _missing(cls: type[ScalarFunction], method: str) -> Any:
    what = (
        "computing its value from plain numbers"
        if method == "forward"
        else "returning d_out times its derivative, one value per input"
    )
    raise NotImplementedError(
        f"{cls.__name__} defines no {method}(ctx, ...), so it cannot be "
        + ("evaluated" if method == "forward" else "differentiated")
        + f": add a @staticmethod {method} {what}."
    )


class Add(ScalarFunction):
    """f(x, y) = x + y;  ∂f/∂x = 1, ∂f/∂y = 1."""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        return float(a + b)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        return d_output, d_output


class Mul(ScalarFunction):
    """f(x, y) = x * y;  ∂f/∂x = y, ∂f/∂y = x."""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        ctx.save_for_backward(a, b)
        return float(a * b)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        a, b = ctx.saved_values
        return float(b * d_output), float(a * d_output)


class Inv(ScalarFunction):
    """f(x) = 1/x;  f'(x) = -1/x^2."""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        ctx.save_for_backward(a)
        return operators.inv(a)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        a: float
        (a,) = ctx.saved_values
        return operators.inv_back(a, d_output)


class Neg(ScalarFunction):
    """f(x) = -x;  f'(x) = -1."""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        return float(-a)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        return -d_output


class Log(ScalarFunction):
    """f(x) = ln(x + 1e-6);  f'(x) = 1/x."""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        if a + operators.EPS <= 0:
            raise ValueError(f"Log: log({a!r}) is undefined; Log needs a positive input.")
        ctx.save_for_backward(a)
        return operators.log(a)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        a: float
        (a,) = ctx.saved_values
        return operators.log_back(a, d_output)


class Exp(ScalarFunction):
    """f(x) = e^x;  f'(x) = e^x (the output is saved and reused)."""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        out = operators.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        out: float
        (out,) = ctx.saved_values
        return operators.exp_out_back(out, d_output)


class Sigmoid(ScalarFunction):
    """f(x) = σ(x) = 1/(1 + e^-x);  f'(x) = σ(x)(1 - σ(x))."""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        out = operators.sigmoid(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        s: float
        (s,) = ctx.saved_values
        return operators.sigmoid_out_back(s, d_output)


class ReLU(ScalarFunction):
    """f(x) = max(x, 0);  f'(x) = 1 if x > 0 else 0 (0 at x = 0)."""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        ctx.save_for_backward(a)
        return operators.relu(a)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        (a,) = ctx.saved_values
        return operators.relu_back(a, d_output)


class Tanh(ScalarFunction):
    """f(x) = tanh(x);  f'(x) = 1 - tanh(x)^2 (the output is saved and reused)."""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        out = operators.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        t: float
        (t,) = ctx.saved_values
        return operators.tanh_out_back(t, d_output)


class Pow(ScalarFunction):
    """f(x, y) = x^y;  ∂f/∂x = y·x^(y-1), ∂f/∂y = x^y·ln(x).

    ∂f/∂y is taken as 0 at x = 0 (its limit for y > 0) and is NaN for x < 0, where x^y is
    not real-differentiable in y. The exponent is usually a plain number (``x ** 2``).
    """

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        try:
            out = math.pow(a, b)
        except (ValueError, OverflowError) as err:
            raise ValueError(
                f"Pow: {a!r} ** {b!r} has no real value ({err}); a negative base needs an "
                "integer exponent."
            ) from None
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        a, b, out = ctx.saved_values
        try:
            d_a = d_output * b * math.pow(a, b - 1) if b != 0 else 0.0
        except (ValueError, ZeroDivisionError):  # x^y with y < 1 has a vertical tangent at 0
            d_a = math.copysign(math.inf, d_output * b) if d_output * b != 0 else 0.0
        if a > 0:
            d_b = d_output * out * math.log(a)
        elif a == 0:
            d_b = 0.0
        else:
            d_b = math.nan
        return float(d_a), float(d_b)


class LT(ScalarFunction):
    """f(x, y) = 1.0 if x < y else 0.0;  derivatives 0 (piecewise constant)."""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        return 1.0 if a < b else 0.0

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        return 0.0, 0.0


class EQ(ScalarFunction):
    """f(x, y) = 1.0 if x == y else 0.0;  derivatives 0 (piecewise constant)."""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        return 1.0 if a == b else 0.0

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        return 0.0, 0.0


# Circular by design (see scalar.py): resolved at call time.
from .scalar import Scalar, check_forward_result  # noqa: E402

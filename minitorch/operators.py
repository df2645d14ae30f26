"""Float maths, their derivatives, and the functional list helpers.

Every function takes Python numbers (ints are accepted) and returns a Python float.
The ``*_back`` functions give ``d * f'(x)``: the derivative of ``f`` at ``x`` times
the incoming derivative ``d``, the building block of every backward pass; this module
is the one place each derivative formula is written.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from .tensor import Tensor

A = TypeVar("A")
B = TypeVar("B")
Num = TypeVar("Num", float, "npt.NDArray[np.floating[Any]]", "Tensor")
"""What the arithmetic-only derivative formulas take: numbers, float arrays or Tensors."""

EPS = 1e-6
"""Added inside ``log`` so that ``log(0)`` is finite (as in the course library)."""


def mul(x: float, y: float) -> float:
    """x * y."""
    return float(x * y)


def id(x: float) -> float:
    """The identity, x."""
    return float(x)


def add(x: float, y: float) -> float:
    """x + y."""
    return float(x + y)


def neg(x: float) -> float:
    """-x."""
    return float(-x)


def lt(x: float, y: float) -> float:
    """1.0 if x < y else 0.0."""
    return 1.0 if x < y else 0.0


def eq(x: float, y: float) -> float:
    """1.0 if x == y else 0.0."""
    return 1.0 if x == y else 0.0


def max(x: float, y: float) -> float:
    """x if x > y else y (exact: no arithmetic is done)."""
    return float(x if x > y else y)


def is_close(x: float, y: float) -> float:
    """1.0 if |x - y| < 1e-2 else 0.0."""
    return 1.0 if abs(x - y) < 1e-2 else 0.0


def sigmoid(x: float) -> float:
    """σ(x) = 1 / (1 + e^-x), computed as e^x / (1 + e^x) for x < 0 so it never overflows.

    σ'(x) = σ(x)(1 - σ(x)).
    """
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def relu(x: float) -> float:
    """max(x, 0): x if x > 0 else 0.0."""
    return float(x) if x > 0 else 0.0


def log(x: float) -> float:
    """ln(x + EPS)."""
    return math.log(x + EPS)


def exp(x: float) -> float:
    """e^x."""
    return math.exp(x)


def inv(x: float) -> float:
    """1 / x (raises ZeroDivisionError at 0, like Python)."""
    return 1.0 / x


def tanh(x: float) -> float:
    """tanh(x); tanh'(x) = 1 - tanh(x)^2."""
    return math.tanh(x)


def le(x: float, y: float) -> float:
    """1.0 if x <= y else 0.0."""
    return 1.0 if x <= y else 0.0


def abs(x: float) -> float:
    """|x|; abs'(x) = sign(x) (0 at 0, as in PyTorch)."""
    return math.fabs(x)


def sign(x: float) -> float:
    """1.0 for x > 0, -1.0 for x < 0, 0.0 at 0 (NaN stays NaN)."""
    if x > 0:
        return 1.0
    if x < 0:
        return -1.0
    return float(x * 0.0)  # 0.0 (or NaN for NaN)


def sqrt(x: float) -> float:
    """√x (NaN for x < 0, as in PyTorch); sqrt'(x) = 1 / (2√x)."""
    return math.sqrt(x) if x >= 0 else math.nan


def ln(x: float) -> float:
    """The exact natural logarithm (``log`` adds EPS): -inf at 0, NaN below 0."""
    if x > 0:
        return math.log(x)
    return -math.inf if x == 0 else math.nan


def clamp_min(x: float, lo: float) -> float:
    """lo if x < lo else x (NaN stays NaN): ``max(x, lo)`` that propagates NaN in x."""
    return float(lo if x < lo else x)


def clamp_max(x: float, hi: float) -> float:
    """hi if x > hi else x (NaN stays NaN): ``min(x, hi)`` that propagates NaN in x."""
    return float(hi if x > hi else x)


def min(x: float, y: float) -> float:
    """x if x < y else y (exact: no arithmetic is done)."""
    return float(x if x < y else y)


# ---------------------------------------------------------------------------
# Derivatives: the package's one source of each formula
# ---------------------------------------------------------------------------
# ``f_back(x, d) = d * f'(x)``, and, for functions whose derivative is best read from
# their output y = f(x), ``f_out_back(y, d)``. The scalar Functions, the forward-mode
# duals, both backends' kernels and the tensor Functions all take them from here.
# ``log_back``, ``inv_back`` and the ``*_out_back`` formulas use arithmetic only (no
# ``float()``, no ``math``), so the very same function also works elementwise on NumPy
# arrays and on Tensors; ``relu_back`` branches (exactness), and ``exp_back``,
# ``sigmoid_back``, ``tanh_back`` evaluate f with ``math`` first, so the NumPy backend
# pairs those with a vectorised f.


def log_back(x: Num, d: Num) -> Num:
    """d * d/dx ln(x + EPS) = d / (x + EPS): finite at 0, the derivative of ``log``."""
    return d / (x + EPS)


def ln_back(x: Num, d: Num) -> Num:
    """d * d/dx ln(x) = d / x (the exact logarithm ``ln``)."""
    return d / x


def sqrt_out_back(s: Num, d: Num) -> Num:
    """d * sqrt'(x) from the output s = √x: d / (2s)."""
    return d / (s * 2.0)


def inv_back(x: Num, d: Num) -> Num:
    """d * d/dx (1/x) = -d / x^2."""
    return -d / (x * x)


def relu_back(x: float, d: float) -> float:
    """d * relu'(x) = d if x > 0 else 0.0 (the subgradient 0 is taken at x = 0).

    A branch on the number x, exact for any d (``d * (x > 0)`` would be NaN for an
    infinite d); ``d * 1.0`` is d itself, as a float (d may also be a dual number).
    """
    return d * 1.0 if x > 0 else 0.0


def exp_out_back(e: Num, d: Num) -> Num:
    """d * exp'(x) from the output e = e^x: d * e."""
    return d * e


def sigmoid_out_back(s: Num, d: Num) -> Num:
    """d * σ'(x) from the output s = σ(x): d * s(1 - s)."""
    return d * (s * (1.0 - s))


def tanh_out_back(t: Num, d: Num) -> Num:
    """d * tanh'(x) from the output t = tanh(x): d * (1 - t^2)."""
    return d * (1.0 - t * t)


def exp_back(x: float, d: float) -> float:
    """d * e^x (``exp_out_back`` at e^x)."""
    return exp_out_back(exp(x), d)


def sigmoid_back(x: float, d: float) -> float:
    """d * σ(x)(1 - σ(x)) (``sigmoid_out_back`` at σ(x))."""
    return sigmoid_out_back(sigmoid(x), d)


def tanh_back(x: float, d: float) -> float:
    """d * (1 - tanh(x)^2) (``tanh_out_back`` at tanh(x))."""
    return tanh_out_back(tanh(x), d)


# ---------------------------------------------------------------------------
# Functional helpers (higher-order functions over lists)
# ---------------------------------------------------------------------------


def map(fn: Callable[[A], B]) -> Callable[[Iterable[A]], list[B]]:
    """Lift ``fn`` to lists: ``map(fn)(ls) == [fn(x) for x in ls]``."""

    def apply(ls: Iterable[A]) -> list[B]:
        return [fn(x) for x in ls]

    return apply


def zipWith(fn: Callable[[A, A], B]) -> Callable[[Iterable[A], Iterable[A]], list[B]]:
    """Lift a binary ``fn`` to pairs of lists: ``[fn(x, y) for x, y in zip(ls1, ls2)]``."""

    def apply(ls1: Iterable[A], ls2: Iterable[A]) -> list[B]:
        return [fn(x, y) for x, y in zip(ls1, ls2)]

    return apply


def reduce(fn: Callable[[B, A], B], start: B) -> Callable[[Iterable[A]], B]:
    """Fold left from ``start``: ``reduce(fn, s)([x1, x2]) == fn(fn(s, x1), x2)``."""

    def apply(ls: Iterable[A]) -> B:
        acc = start
        for x in ls:
            acc = fn(acc, x)
        return acc

    return apply


def negList(ls: Iterable[float]) -> list[float]:
    """Negate every element."""
    return map(neg)(ls)


def addLists(ls1: Iterable[float], ls2: Iterable[float]) -> list[float]:
    """Elementwise sum of two lists."""
    return zipWith(add)(ls1, ls2)


def sum(ls: Iterable[float]) -> float:
    """Sum of a list (0.0 for an empty one)."""
    return reduce(add, 0.0)(ls)


def prod(ls: Iterable[float] | Sequence[int]) -> float:
    """Product of a list (1.0 for an empty one); works on shape tuples."""
    return reduce(mul, 1.0)(ls)

"""Float maths, their derivatives, and the functional list helpers.

Every function takes Python numbers (ints are accepted) and returns a Python float.
The ``*_back`` functions give ``d * f'(x)``: the derivative of ``f`` at ``x`` times
the incoming derivative ``d``, the building block of every backward pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

A = TypeVar("A")
B = TypeVar("B")

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


def log_back(x: float, d: float) -> float:
    """d * d/dx ln(x) = d / x."""
    return float(d / x)


def inv(x: float) -> float:
    """1 / x (raises ZeroDivisionError at 0, like Python)."""
    return 1.0 / x


def inv_back(x: float, d: float) -> float:
    """d * d/dx (1/x) = -d / x^2."""
    return float(-d / (x * x))


def relu_back(x: float, d: float) -> float:
    """d * relu'(x) = d if x > 0 else 0.0 (the subgradient 0 is taken at x = 0)."""
    return float(d) if x > 0 else 0.0


def sigmoid_back(x: float, d: float) -> float:
    """d * σ(x)(1 - σ(x))."""
    s = sigmoid(x)
    return d * s * (1.0 - s)


def exp_back(x: float, d: float) -> float:
    """d * e^x."""
    return d * math.exp(x)


def tanh(x: float) -> float:
    """tanh(x); tanh'(x) = 1 - tanh(x)^2."""
    return math.tanh(x)


def tanh_back(x: float, d: float) -> float:
    """d * (1 - tanh(x)^2)."""
    t = math.tanh(x)
    return d * (1.0 - t * t)


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

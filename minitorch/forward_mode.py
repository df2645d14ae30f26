"""Forward-mode autodiff: dual numbers that carry a tangent through every operation.

A dual number is ``p + t·ε`` with ``ε² = 0``. Evaluating ``f`` on ``x + 1·ε`` gives
``f(x) + f'(x)·ε`` (Taylor to first order), so one pass computes the value and the
derivative along the seeded direction, left to right through the graph: the lecture's
**forward derivative**. Each operation applies the chain rule to its own tangent, using
the derivatives of ``operators`` (``log_back``, ``inv_back``, ``relu_back`` …)::

    (p + tε)·(q + sε) = pq + (tq + ps)ε          exp(p + tε) = eᵖ + t·eᵖ ε

Cost: one pass per **input** direction; a function ``Rⁿ → Rᵐ`` needs ``n`` passes for its
Jacobian (reverse mode needs ``m``).

**Higher order.** The parts of a ``Dual`` may themselves be Duals, so derivatives nest:
``Dual(Dual(x, 1), 1)`` carries second derivatives. Every Dual has a ``tag`` naming the
differentiation it belongs to (newer transforms get larger tags); an operation splits its
operands with respect to the largest tag present and treats everything else as a
constant. This keeps nested derivatives apart ("perturbation confusion"): with
``D`` = derivative, ``D(λx. x · D(λy. x + y)(1))(1)`` is 1, not 2.

The parts may be any numbers that support the same arithmetic (floats, Duals; Scalars and
Tensors work through their methods), so a function written with ``+ - * / **`` and the
methods ``exp() log() sigmoid() relu() tanh()`` runs unchanged on Scalars and on Duals.

Non-differentiable points follow the reverse-mode rules: ``relu'(0) = 0``; comparisons
(``< > <= >= ==``) return plain floats 1.0/0.0 (derivative 0), so Python's ``max(a, b)``
picks ``a`` on a tie and the derivative is ``a``'s.
"""

from __future__ import annotations

import math
from itertools import count
from typing import Any

from . import operators

__all__ = [
    "Dual",
    "exp",
    "log",
    "new_tag",
    "primal_of",
    "relu",
    "sigmoid",
    "tangent_of",
    "tanh",
    "value_of",
]

_next_tag = count(1).__next__


def new_tag() -> int:
    """A fresh tag, larger than every tag handed out before (one per differentiation)."""
    return _next_tag()


def _plain(x: Any) -> bool:
    """True for a plain real number (float or int, not bool-like objects of other kinds)."""
    return isinstance(x, float | int)


def _zero(t: Any) -> bool:
    """True for a tangent known to be exactly zero (a plain 0), so terms can be skipped."""
    return _plain(t) and t == 0


def _tadd(a: Any, b: Any) -> Any:
    """a + b for tangents, skipping exact zeros."""
    if _zero(a):
        return b
    if _zero(b):
        return a
    return a + b


def _tmul(t: Any, k: Any) -> Any:
    """t · k for a tangent ``t``: exact zero stays 0.0 (``k`` is not evaluated further)."""
    if _zero(t):
        return 0.0
    return t * k


def value_of(x: Any) -> float:
    """The innermost real value of ``x`` (a Dual's primal, recursively)."""
    while isinstance(x, Dual):
        x = x.primal
    if _plain(x):
        return float(x)
    return float(x)


def _split(x: Any, tag: int) -> tuple[Any, Any]:
    """``(primal, tangent)`` of ``x`` with respect to ``tag``; a constant has tangent 0."""
    if isinstance(x, Dual) and x.tag == tag:
        return x.primal, x.tangent
    return x, 0.0


def primal_of(x: Any, tag: int) -> Any:
    """The part of ``x`` without the ``tag`` perturbation (``x`` itself if it has none)."""
    return _split(x, tag)[0]


def tangent_of(x: Any, tag: int) -> Any:
    """The ``tag`` tangent of ``x``: 0.0 when ``x`` does not depend on that perturbation.

    Raises ValueError if ``x`` carries a newer tag (a perturbation escaped the transform
    that made it, e.g. through a global variable).
    """
    if isinstance(x, Dual):
        if x.tag == tag:
            return x.tangent
        if x.tag > tag:
            raise ValueError(
                f"A dual number of a newer differentiation (tag {x.tag}) escaped into the "
                f"result of differentiation {tag}; functions being differentiated must not "
                "store intermediate values outside themselves."
            )
    return 0.0


def _make(p: Any, t: Any, tag: int) -> Dual:
    """``Dual(p, t, tag)`` without the checks (a zero tangent is kept: the result must
    still have the Scalar methods)."""
    d = object.__new__(Dual)
    d.primal = p
    d.tangent = t
    d.tag = tag
    return d


def _top(a: Any, b: Any) -> int:
    ta = a.tag if isinstance(a, Dual) else 0
    tb = b.tag if isinstance(b, Dual) else 0
    return ta if ta > tb else tb


# Generic maths on the parts: plain numbers use operators, anything else its methods.
def exp(x: Any) -> Any:
    """e^x for floats, Duals, Scalars and Tensors."""
    return operators.exp(x) if _plain(x) else x.exp()


def log(x: Any) -> Any:
    """ln(x + 1e-6) (``operators.log``) for floats, Duals, Scalars and Tensors; d/dx = 1/x."""
    return operators.log(x) if _plain(x) else x.log()


def sigmoid(x: Any) -> Any:
    """σ(x) for floats, Duals, Scalars and Tensors."""
    return operators.sigmoid(x) if _plain(x) else x.sigmoid()


def relu(x: Any) -> Any:
    """max(x, 0) for floats, Duals, Scalars and Tensors; relu'(0) = 0."""
    return operators.relu(x) if _plain(x) else x.relu()


def tanh(x: Any) -> Any:
    """tanh(x) for floats, Duals, Scalars and Tensors."""
    return operators.tanh(x) if _plain(x) else x.tanh()


def _pow(a: Any, b: Any) -> Any:
    if _plain(a) and _plain(b):
        try:
            return math.pow(a, b)
        except (ValueError, OverflowError) as err:
            raise ValueError(
                f"Pow: {a!r} ** {b!r} has no real value ({err}); a negative base needs an "
                "integer exponent."
            ) from None
    return a**b


def _ln(x: Any) -> Any:
    """Natural log for d/dy x^y = x^y ln x (exact for floats; 0 at x = 0, NaN below)."""
    if _plain(x):
        if x > 0:
            return math.log(x)
        return 0.0 if x == 0 else math.nan
    return x.log()


class Dual:
    """A dual number ``primal + tangent·ε`` belonging to the differentiation ``tag``.

    ``Dual(2.0, 1.0)`` seeds d/dx at x = 2 (a fresh tag is taken when none is given).
    ``primal`` and ``tangent`` may be floats or Duals of older (smaller) tags.
    """

    __slots__ = ("primal", "tag", "tangent")

    primal: Any
    tangent: Any
    tag: int

    def __init__(self, primal: Any, tangent: Any = 0.0, tag: int | None = None) -> None:
        if tag is None:
            tag = new_tag()
        for part in (primal, tangent):
            if isinstance(part, Dual) and part.tag >= tag:
                raise ValueError(
                    f"Dual(tag={tag}): its parts must belong to older differentiations "
                    f"(smaller tags), got a part with tag {part.tag}."
                )
        self.primal = primal
        self.tangent = tangent
        self.tag = tag

    # -- display and conversion ----------------------------------------------------
    def __repr__(self) -> str:
        return f"Dual({self.primal!r}, {self.tangent!r}, tag={self.tag})"

    def __float__(self) -> float:
        return value_of(self)

    def __bool__(self) -> bool:
        return bool(value_of(self))

    # -- arithmetic: each rule is the chain rule on the tangent -----------------------
    def __add__(self, b: Any) -> Any:
        tag = _top(self, b)
        p, t = _split(self, tag)
        q, s = _split(b, tag)
        return _make(p + q, _tadd(t, s), tag)

    def __radd__(self, b: Any) -> Any:
        tag = _top(self, b)
        p, t = _split(self, tag)
        q, s = _split(b, tag)
        return _make(q + p, _tadd(s, t), tag)

    def __sub__(self, b: Any) -> Any:
        tag = _top(self, b)
        p, t = _split(self, tag)
        q, s = _split(b, tag)
        return _make(p - q, t if _zero(s) else _tadd(t, -s), tag)

    def __rsub__(self, b: Any) -> Any:
        tag = _top(self, b)
        p, t = _split(self, tag)
        q, s = _split(b, tag)
        return _make(q - p, s if _zero(t) else _tadd(s, -t), tag)

    def __mul__(self, b: Any) -> Any:
        """(p + tε)(q + sε) = pq + (tq + ps)ε."""
        tag = _top(self, b)
        p, t = _split(self, tag)
        q, s = _split(b, tag)
        return _make(p * q, _tadd(_tmul(t, q), _tmul(s, p)), tag)

    def __rmul__(self, b: Any) -> Any:
        tag = _top(self, b)
        p, t = _split(self, tag)
        q, s = _split(b, tag)
        return _make(q * p, _tadd(_tmul(s, p), _tmul(t, q)), tag)

    def __truediv__(self, b: Any) -> Any:
        return _div(self, b)

    def __rtruediv__(self, b: Any) -> Any:
        return _div(b, self)

    def __neg__(self) -> Any:
        return _make(-self.primal, -self.tangent, self.tag)

    def __pos__(self) -> Any:
        return self

    def __pow__(self, b: Any) -> Any:
        return _power(self, b)

    def __rpow__(self, b: Any) -> Any:
        return _power(b, self)

    # -- comparisons: piecewise constant, so plain floats (derivative 0) ----------------
    def __lt__(self, b: Any) -> float:
        return 1.0 if value_of(self) < value_of(b) else 0.0

    def __gt__(self, b: Any) -> float:
        return 1.0 if value_of(self) > value_of(b) else 0.0

    def __le__(self, b: Any) -> float:
        return 1.0 if value_of(self) <= value_of(b) else 0.0

    def __ge__(self, b: Any) -> float:
        return 1.0 if value_of(self) >= value_of(b) else 0.0

    def __eq__(self, b: object) -> float:  # type: ignore[override]
        return 1.0 if value_of(self) == value_of(b) else 0.0

    def __ne__(self, b: object) -> float:  # type: ignore[override]
        return 1.0 if value_of(self) != value_of(b) else 0.0

    __hash__ = None  # type: ignore[assignment]  # == is numeric, as for Scalar

    # -- the Scalar methods: the tangent rule is the derivative formula of ``operators`` --
    def exp(self) -> Any:
        """e^(p + tε) = eᵖ + t·eᵖ ε  (``exp_out_back``)."""
        e = exp(self.primal)
        return _make(e, _chain(operators.exp_out_back, e, self.tangent), self.tag)

    def log(self) -> Any:
        """ln(p + 1e-6) + (t/p) ε  (``operators.log`` and ``log_back``)."""
        p = self.primal
        return _make(log(p), _chain(operators.log_back, p, self.tangent), self.tag)

    def sigmoid(self) -> Any:
        """σ(p) + t·σ(p)(1 - σ(p)) ε  (``sigmoid_out_back``)."""
        s = sigmoid(self.primal)
        return _make(s, _chain(operators.sigmoid_out_back, s, self.tangent), self.tag)

    def relu(self) -> Any:
        """relu(p) + (t if p > 0 else 0) ε  (``relu_back``: the derivative at 0 is 0)."""
        p = self.primal
        return _make(relu(p), _chain(operators.relu_back, value_of(p), self.tangent), self.tag)

    def tanh(self) -> Any:
        """tanh(p) + t(1 - tanh²p) ε  (``tanh_out_back``)."""
        th = tanh(self.primal)
        return _make(th, _chain(operators.tanh_out_back, th, self.tangent), self.tag)

    def inv(self) -> Any:
        """1/p - (t/p²) ε  (``inv_back``)."""
        return _div(1.0, self)


def _chain(back: Any, y: Any, t: Any) -> Any:
    """The tangent ``back(y, t)`` (a derivative formula of ``operators`` applied to the
    tangent ``t``); an exact zero tangent stays 0.0 without evaluating it."""
    return 0.0 if _zero(t) else back(y, t)


def _div(a: Any, b: Any) -> Any:
    """(p + tε)/(q + sε) = p/q + (t/q + p·s·(1/q)') ε, with (1/q)' from ``inv_back``."""
    tag = _top(a, b)
    p, t = _split(a, tag)
    q, s = _split(b, tag)
    dt = _tadd(0.0 if _zero(t) else t / q, 0.0 if _zero(s) else p * operators.inv_back(q, s))
    return _make(p / q, dt, tag)


def _power(a: Any, b: Any) -> Any:
    """(p + tε)^(q + sε) = pᑫ + (t·q·pᑫ⁻¹ + s·pᑫ·ln p) ε.

    As for Scalar ``Pow``, the exponent's term is 0 at p = 0 and NaN for p < 0.
    """
    tag = _top(a, b)
    p, t = _split(a, tag)
    q, s = _split(b, tag)
    out = _pow(p, q)
    dt: Any = 0.0
    if not _zero(t) and not _zero(q):
        dt = t * q * _pow(p, q - 1)
    if not _zero(s):
        dt = _tadd(dt, s * out * _ln(p))
    return _make(out, dt, tag)

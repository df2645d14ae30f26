"""Gradient checks: autodiff derivatives against central differences.

::

    derivative_check(f, *scalars)        each x.derivative of f(*scalars) (contract §4)
    grad_central_difference(f, *vals, arg=0, epsilon=1e-6, ind)
                                         ∂(Σ f)/∂vals[arg][ind] numerically (contract §6)
    grad_check(f, *vals)                 one random element of each gradient (contract §6)
    gradcheck(f, *inputs)                every element of every gradient, in float64
    gradgradcheck(f, *inputs)            every element of the second derivatives

``gradcheck`` and ``gradgradcheck`` share one scoring loop (``_score``): each element e of
each checked input is moved by ±ε, a scalar function φ (the weighted output for
``gradcheck``, a weighted first derivative for ``gradgradcheck``) is evaluated at both
points, the central difference (φ(x + εe) − φ(x − εe)) / 2ε is compared with the autodiff
value at |diff| ≤ atol + rtol·|numeric|, and a failure reports the worst element.

Layering: these checks exercise Scalars, Tensors and the functional transforms, so they
sit above all three; yet ``scalar``, ``tensor_functions`` and ``functional`` re-export
them under their old names (the course imports ``derivative_check`` and ``grad_check``
from there). So this module imports at module level only what lies below those three
(``autodiff``), and each check imports the Tensor class or ``functional.grad`` when it
runs: by then every module is loaded, and no import cycle can form.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .autodiff import central_difference, enable_grad, no_grad

if TYPE_CHECKING:
    from .scalar import Scalar
    from .tensor import Tensor

__all__ = [
    "derivative_check",
    "grad_central_difference",
    "grad_check",
    "gradcheck",
    "gradgradcheck",
]


def _name(f: Any) -> str:
    return getattr(f, "__name__", repr(f))


# ---------------------------------------------------------------------------
# The course's checks (contract §4, §6): rtol = atol = 1e-2, AssertionError
# ---------------------------------------------------------------------------


def derivative_check(f: Callable[..., Scalar], *scalars: Scalar) -> None:
    """Check ``f``'s autodiff derivatives against central differences (rtol = atol = 1e-2).

    Runs ``f(*scalars).backward()`` and compares each ``x.derivative`` with
    ``central_difference(f, *scalars, arg=i)``; raises AssertionError naming the argument.
    """
    out = f(*scalars)
    out.backward()
    for i, x in enumerate(scalars):
        estimate = central_difference(f, *scalars, arg=i)
        expected = float(getattr(estimate, "data", estimate))  # a Scalar or a number
        got = x.derivative
        if got is None or not math.isclose(got, expected, rel_tol=1e-2, abs_tol=1e-2):
            raise AssertionError(
                f"Derivative check failed for {_name(f)} with respect to argument {i} "
                f"({x!r}): autodiff gives {got}, central difference gives {expected}."
            )


def grad_central_difference(
    f: Any, *vals: Tensor, arg: int = 0, epsilon: float = 1e-6, ind: Sequence[int]
) -> float:
    """Central difference of ``f(*vals).sum()`` w.r.t. element ``ind`` of ``vals[arg]``.

    (L(x + εe) - L(x - εe)) / 2ε, computed in float64 (the perturbation is a float64
    SimpleBackend tensor, which mixes with tensors of any backend).
    """
    from .tensor import Tensor
    from .tensor_ops import SimpleBackend

    x = vals[arg]
    on_cpu = x.backend.device.type == "cpu"  # a GPU tensor gets its perturbation there
    up = Tensor(np.zeros(x.shape), backend=SimpleBackend if on_cpu else x.backend)
    up[tuple(ind)] = epsilon
    with no_grad():
        vals1 = [v if j != arg else v + up for j, v in enumerate(vals)]
        vals2 = [v if j != arg else v - up for j, v in enumerate(vals)]
        delta = f(*vals1).sum() - f(*vals2).sum()
    return float(delta[0]) / (2.0 * epsilon)


def grad_check(f: Any, *vals: Tensor) -> None:
    """Check ``f``'s gradients at one random element per input (rtol = atol = 1e-2).

    Each input becomes a fresh leaf with no grad; then ``random.seed(10)``,
    ``f(*vals).sum().backward()``, and ``x.grad[ind]`` is compared with
    ``grad_central_difference`` at ``ind = x._tensor.sample()``. Raises AssertionError.
    """
    for x in vals:
        x.requires_grad_(True)
        x.zero_grad_()
    random.seed(10)
    out = f(*vals)
    out.sum().backward()
    name = _name(f)
    for i, x in enumerate(vals):
        ind = x._tensor.sample()
        check = grad_central_difference(f, *vals, arg=i, ind=ind)
        if x.grad is None:
            raise AssertionError(f"grad_check {name}: input {i} got no gradient.")
        got = x.grad[tuple(ind)]
        if not math.isclose(got, check, rel_tol=1e-2, abs_tol=1e-2):
            raise AssertionError(
                f"Gradient check failed for {name}, input {i} (shape {x.shape}) at index "
                f"{tuple(ind)}: autodiff gives {got}, central difference gives {check}."
            )


# ---------------------------------------------------------------------------
# Every element: one scoring loop for first and second derivatives
# ---------------------------------------------------------------------------


def _value_at(
    phi: Callable[..., float], xs: list[Any], i: int, e: tuple[int, ...], delta: float
) -> float:
    """φ(*xs) with element ``e`` of ``xs[i]`` moved by ``delta`` (a Tensor in place and
    restored afterwards; a number by substitution)."""
    from .tensor import Tensor

    x = xs[i]
    if isinstance(x, Tensor):
        arr = x._tensor._array
        old = float(arr[e])
        arr[e] = old + delta
        try:
            return phi(*xs)
        finally:
            arr[e] = old
    return phi(*[x + delta if j == i else y for j, y in enumerate(xs)])


def _score(
    check: str,
    f: Any,
    xs: list[Any],
    analytic: dict[int, Any],
    phi: Callable[..., float],
    numeric_name: str,
    eps: float,
    atol: float,
    rtol: float,
) -> bool:
    """Compare ``analytic[i]`` (∂φ/∂xs[i]: an array of the input's shape, or a number) with
    central differences of φ, element by element. Returns True, or raises AssertionError
    naming ``check`` and the worst element (score |diff| / (atol + rtol·|numeric|))."""
    from .tensor import Tensor

    worst: tuple[float, str] = (-1.0, "")
    failed = False
    for i, derivative in analytic.items():
        x = xs[i]
        elements: Iterable[tuple[int, ...]] = (
            np.ndindex(*x.shape) if isinstance(x, Tensor) else [()]
        )
        for e in elements:
            numeric = (_value_at(phi, xs, i, e, eps) - _value_at(phi, xs, i, e, -eps)) / (2.0 * eps)
            a = float(np.asarray(derivative)[e])
            err = abs(a - numeric)
            tol = atol + rtol * abs(numeric)
            bad = not err <= tol
            failed = failed or bad
            score = err / tol if tol > 0.0 else (math.inf if err else 0.0)
            if bad and math.isnan(score):
                score = math.inf
            if score > worst[0]:
                where = f"(shape {x.shape}) element {e}" if isinstance(x, Tensor) else "the value"
                worst = (
                    score,
                    f"input {i} {where}: autodiff {a!r}, {numeric_name} {numeric!r}, "
                    f"|diff| {err:.3g}",
                )
    if failed:
        raise AssertionError(
            f"{check} failed for {_name(f)}; worst {worst[1]} (atol={atol}, rtol={rtol})."
        )
    return True


def _float64_leaves(inputs: Sequence[Any], requires_grad: bool) -> list[Any]:
    """Tensor inputs copied to float64 (keeping their memory layout, so a permuted input
    stays non-contiguous); other arguments as they are."""
    from .tensor import Tensor
    from .tensor_data import TensorData

    return [
        Tensor(
            TensorData._from_array(
                x.backend.xp.array(x._tensor._array, dtype=np.float64, order="K")
            ),
            backend=x.backend,
            requires_grad=requires_grad,
        )
        if isinstance(x, Tensor)
        else x
        for x in inputs
    ]


def _weights(rng: np.random.Generator, like: Tensor) -> Tensor:
    """Fixed random weights in [0.5, 1.5) of ``like``'s shape and backend."""
    from .tensor import Tensor

    return Tensor(rng.uniform(0.5, 1.5, size=like.shape), backend=like.backend)


def gradcheck(
    f: Callable[..., Tensor],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Check every gradient element of ``f`` against central differences, in float64.

    The output is reduced as ``L = Σ w ⊙ f(*inputs)`` with fixed random weights ``w`` (so
    gradients that sum to zero are still tested). Tensor inputs are copied to float64
    leaves (other arguments pass through); for each element ``x_i``:
    ``∂L/∂x_i ≈ (L(x + εe_i) - L(x - εe_i)) / 2ε``.
    Returns True, or raises AssertionError reporting the worst element.
    """
    from .tensor import Tensor

    xs = _float64_leaves(inputs, requires_grad=True)
    with no_grad():
        out0 = f(*xs)
    w = _weights(np.random.default_rng(seed), out0)

    def loss(*vs: Any) -> float:
        with no_grad():
            return float((f(*vs) * w).sum().item())

    (f(*xs) * w).sum().backward()
    analytic = {
        i: np.zeros(x.shape) if x.grad is None else x.grad.cpu().to_numpy()
        for i, x in enumerate(xs)
        if isinstance(x, Tensor)
    }
    return _score("gradcheck", f, xs, analytic, loss, "central difference", eps, atol, rtol)


def gradgradcheck(
    f: Callable[..., Any],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Check ``f``'s second derivatives against central differences of its first.

    With fixed random weights ``w`` (output) and ``v_i`` (inputs), ``L = Σ w ⊙ f(x)`` and
    ``G(x) = Σ_i ⟨v_i, ∂L/∂x_i⟩`` (a first derivative). Its gradient ``∂G/∂x`` (a
    Hessian-vector product, found by differentiating the backward pass) is compared,
    element by element, with ``(G(x + εe) - G(x - εe)) / 2ε``. Inputs are Tensors (copied
    to float64; non-Tensor arguments pass through) or all numbers (Scalars by value).
    Returns True, or raises AssertionError reporting the worst element.
    """
    from .functional import grad
    from .tensor import Tensor

    rng = np.random.default_rng(seed)
    xs: list[Any]
    if any(isinstance(x, Tensor) for x in inputs):
        xs = _float64_leaves(inputs, requires_grad=False)
        idx = tuple(i for i, x in enumerate(xs) if isinstance(x, Tensor))
        with enable_grad():
            out0 = f(*xs)
        w = _weights(rng, out0)
        vs: list[Any] = [_weights(rng, xs[i]) for i in idx]

        def loss(*a: Any) -> Any:
            return (f(*a) * w).sum()

        def g_of(*a: Any) -> Any:
            gs = grad(loss, idx)(*a)
            total = (gs[0] * vs[0]).sum()
            for g, v in zip(gs[1:], vs[1:]):
                total = total + (g * v).sum()
            return total

    else:
        xs = [float(getattr(x, "data", x)) for x in inputs]  # Scalars by value
        idx = tuple(range(len(inputs)))
        vs = [float(v) for v in rng.uniform(0.5, 1.5, size=len(idx))]

        def g_of(*a: Any) -> Any:
            gs = grad(f, idx)(*a)
            total = gs[0] * vs[0]
            for g, v in zip(gs[1:], vs[1:]):
                total = total + g * v
            return total

    def g_value(*a: Any) -> float:
        out = g_of(*a)
        return out.item() if isinstance(out, Tensor) else float(out)

    second = grad(g_of, idx)(*xs)
    analytic = {i: s.to_numpy() if isinstance(s, Tensor) else s for i, s in zip(idx, second)}
    return _score(
        "gradgradcheck",
        f,
        xs,
        analytic,
        g_value,
        "central difference of the first derivative",
        eps,
        atol,
        rtol,
    )

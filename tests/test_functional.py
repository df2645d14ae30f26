"""Functional transforms (issue 6): derivative, grad, vjp/jvp, jacobians, hessian, forward mode.

Every transform is checked in float64 to 1e-6 against analytic answers (seed 001's worked
examples, third derivatives of polynomial and exp/log compositions, the Hessian of xᵀAx,
the Jacobian of a small MLP) and, when PyTorch is installed, against ``torch.func`` on
the same functions. Transforms compose to third order on numbers (Scalars/Duals inside)
and on Tensors. Then the dual numbers themselves, ``gradgradcheck``, the errors and the
documented non-differentiable points, and the tutorial's code (docs/functional.md) runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minitorch
from minitorch import Dual, Function, Scalar, ScalarFunction, Tensor, TensorData, tensor
from minitorch.forward_mode import new_tag, primal_of, tangent_of, value_of
from minitorch.functional import (
    derivative,
    grad,
    gradgradcheck,
    hessian,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    value_and_grad,
    vjp,
)

ROOT = Path(__file__).resolve().parent.parent
EPS = 1e-6  # operators.log is ln(x + EPS); its derivative is 1/(x + EPS)


def close(got: Any, want: Any, tol: float = 1e-6) -> None:
    """Equal to ``tol`` (relative and absolute), for floats, tuples and Tensors."""
    np.testing.assert_allclose(_arr(got), _arr(want), rtol=tol, atol=tol)


def _arr(x: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.to_numpy()
    if isinstance(x, tuple | list):
        return np.array([_arr(v) for v in x], dtype=float)
    if hasattr(x, "numpy"):  # a torch tensor
        return x.detach().numpy()
    return np.asarray(x, dtype=float)


def t1(v: float) -> Tensor:
    """A one-element float64 tensor."""
    return tensor([v])


# ---------------------------------------------------------------------------
# Seed 001's examples, both modes
# ---------------------------------------------------------------------------


def seed_reciprocal(x: Any, y: Any) -> Any:
    """f(x, y) = 1 / (y + e^-x)."""
    return 1.0 / (y + (-x).exp())


def seed_product(a: Any, b: Any) -> Any:
    """e = (a + b)(b + 1)."""
    return (a + b) * (b + 1)


def seed_quadratic(x: Any) -> Any:
    """w = x² + 3x."""
    return x * x + 3 * x


def test_seed_reciprocal_both_modes() -> None:
    # c = y + e^-x = 2 at (0, 1): ∂f/∂y = -1/c² = -1/4, ∂f/∂x = e^-x/c² = 1/4
    want = (0.25, -0.25)
    close(grad(seed_reciprocal, (0, 1))(0.0, 1.0), want)
    close(jacrev(seed_reciprocal, (0, 1))(0.0, 1.0), want)
    close(jacfwd(seed_reciprocal, (0, 1))(0.0, 1.0), want)
    value, g = value_and_grad(seed_reciprocal, (0, 1))(0.0, 1.0)
    close(value, 0.5)
    close(g, want)
    out, pull = vjp(seed_reciprocal, 0.0, 1.0)
    close(out, 0.5)
    close(pull(2.0), (0.5, -0.5))
    close(jvp(seed_reciprocal, (0.0, 1.0), (1.0, 0.0)), (0.5, 0.25))
    close(jvp(seed_reciprocal, (0.0, 1.0), (0.0, 1.0)), (0.5, -0.25))
    close(derivative(seed_reciprocal, 1)(0.0, 1.0), -0.25)


def test_seed_product_both_modes() -> None:
    close(grad(seed_product, (0, 1))(2.0, 1.0), (2.0, 5.0))
    close(jacfwd(seed_product, (0, 1))(2.0, 1.0), (2.0, 5.0))
    close(value_and_grad(seed_product)(2.0, 1.0), (6.0, 2.0))
    # e = ab + a + b² + b: ∂²e/∂a² = 0, ∂²e/∂a∂b = 1, ∂²e/∂b² = 2
    close(hessian(seed_product, (0, 1))(2.0, 1.0), ((0.0, 1.0), (1.0, 2.0)))


@pytest.mark.parametrize("x", [-2.0, 0.0, 0.5, 3.0])
def test_seed_quadratic_to_third_order(x: float) -> None:
    close(seed_quadratic(x), x * x + 3 * x)
    for d1 in (derivative, grad, jacfwd, jacrev):
        close(d1(seed_quadratic)(x), 2 * x + 3)
    close(derivative(derivative(seed_quadratic))(x), 2.0)
    close(grad(grad(seed_quadratic))(x), 2.0)
    close(grad(grad(grad(seed_quadratic)))(x), 0.0)
    close(derivative(derivative(derivative(seed_quadratic)))(x), 0.0)


def test_ints_are_accepted_and_results_are_floats() -> None:
    g = grad(seed_quadratic)(2)
    assert type(g) is float and g == 7.0
    assert type(derivative(seed_quadratic)(2)) is float


# ---------------------------------------------------------------------------
# Third derivatives against analytic answers, on numbers and on Tensors
# ---------------------------------------------------------------------------


def _sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# name, f (written with operators and methods, so it runs on Scalars, Duals and Tensors),
# [f', f'', f'''] analytic, points
CASES: list[tuple[str, Callable[[Any], Any], list[Callable[[float], float]], list[float]]] = [
    (
        "poly",
        lambda x: x**5 - 2 * x**3 + x,
        [
            lambda x: 5 * x**4 - 6 * x**2 + 1,
            lambda x: 20 * x**3 - 12 * x,
            lambda x: 60 * x**2 - 12,
        ],
        [-1.3, 0.4, 2.0],
    ),
    (
        "poly_by_products",
        lambda x: (x + 1) * (x - 2) * x * x,  # x⁴ - x³ - 2x²
        [
            lambda x: 4 * x**3 - 3 * x**2 - 4 * x,
            lambda x: 12 * x**2 - 6 * x - 4,
            lambda x: 24 * x - 6,
        ],
        [-0.7, 1.5],
    ),
    (
        "exp_times_log",
        lambda x: x.exp() * x.log(),
        [
            lambda x: math.exp(x) * (math.log(x + EPS) + 1 / (x + EPS)),
            lambda x: math.exp(x) * (math.log(x + EPS) + 2 / (x + EPS) - 1 / (x + EPS) ** 2),
            lambda x: (
                math.exp(x)
                * (math.log(x + EPS) + 3 / (x + EPS) - 3 / (x + EPS) ** 2 + 2 / (x + EPS) ** 3)
            ),
        ],
        [0.6, 1.7],
    ),
    (
        "log_of_poly",
        lambda x: (x * x + 1).log(),
        [
            # ln(x² + c) with c = 1 + EPS
            lambda x: 2 * x / (x * x + 1 + EPS),
            lambda x: (2 * (1 + EPS) - 2 * x * x) / (x * x + 1 + EPS) ** 2,
            lambda x: (4 * x**3 - 12 * (1 + EPS) * x) / (x * x + 1 + EPS) ** 3,
        ],
        [-1.1, 0.3, 2.5],
    ),
    (
        "exp_of_square",
        lambda x: (-(x * x)).exp(),
        [
            lambda x: -2 * x * math.exp(-x * x),
            lambda x: (4 * x * x - 2) * math.exp(-x * x),
            lambda x: (-8 * x**3 + 12 * x) * math.exp(-x * x),
        ],
        [-0.8, 0.5, 1.2],
    ),
    (
        "sigmoid",
        lambda x: x.sigmoid(),
        [
            lambda x: _sig(x) * (1 - _sig(x)),
            lambda x: _sig(x) * (1 - _sig(x)) * (1 - 2 * _sig(x)),
            lambda x: _sig(x) * (1 - _sig(x)) * (1 - 6 * _sig(x) + 6 * _sig(x) ** 2),
        ],
        [-1.5, 0.0, 2.0],
    ),
    (
        "tanh",
        lambda x: x.tanh(),
        [
            lambda x: 1 - math.tanh(x) ** 2,
            lambda x: -2 * math.tanh(x) * (1 - math.tanh(x) ** 2),
            lambda x: (1 - math.tanh(x) ** 2) * (6 * math.tanh(x) ** 2 - 2),
        ],
        [-0.9, 0.3],
    ),
    (
        "inverse",
        lambda x: 1.0 / x,
        [lambda x: -1 / x**2, lambda x: 2 / x**3, lambda x: -6 / x**4],
        [-1.5, 0.7],
    ),
    (
        "real_power",
        lambda x: x**3.5,
        [lambda x: 3.5 * x**2.5, lambda x: 8.75 * x**1.5, lambda x: 13.125 * x**0.5],
        [0.5, 1.8],
    ),
    (
        "exp_of_log_of_exp",
        lambda x: (x.exp() + 1).log().exp(),  # = e^x + 1 (+ EPS)
        [math.exp, math.exp, math.exp],
        [-0.5, 1.0],
    ),
]
CASE_IDS = [c[0] for c in CASES]

# Compositions that reach the third derivative on numbers (every one must agree).
THIRD_ORDER = {
    "grad^3": lambda f: grad(grad(grad(f))),
    "derivative^3": lambda f: derivative(derivative(derivative(f))),
    "jacrev^3": lambda f: jacrev(jacrev(jacrev(f))),
    "jacfwd^3": lambda f: jacfwd(jacfwd(jacfwd(f))),
    "grad.derivative.grad": lambda f: grad(derivative(grad(f))),
    "jacfwd.grad.jacrev": lambda f: jacfwd(grad(jacrev(f))),
    "hessian.grad": lambda f: hessian(grad(f)),
    "grad.hessian": lambda f: grad(hessian(f)),
}


@pytest.mark.parametrize(("name", "f", "ds", "points"), CASES, ids=CASE_IDS)
def test_numbers_first_second_third_derivatives(
    name: str, f: Callable[[Any], Any], ds: list[Callable[[float], float]], points: list[float]
) -> None:
    for x in points:
        close(grad(f)(x), ds[0](x))
        close(derivative(f)(x), ds[0](x))
        close(grad(grad(f))(x), ds[1](x))
        close(hessian(f)(x), ds[1](x))
        close(jacrev(jacfwd(f))(x), ds[1](x))
        for compose in THIRD_ORDER.values():
            close(compose(f)(x), ds[2](x))


@pytest.mark.parametrize(("name", "f", "ds", "points"), CASES, ids=CASE_IDS)
def test_tensors_first_second_third_derivatives(
    name: str, f: Callable[[Any], Any], ds: list[Callable[[float], float]], points: list[float]
) -> None:
    for x in points:
        close(grad(f)(t1(x)), [ds[0](x)])
        close(derivative(f)(t1(x)), [ds[0](x)])
        close(grad(grad(f))(t1(x)), [ds[1](x)])
        close(grad(grad(grad(f)))(t1(x)), [ds[2](x)])
        close(jacfwd(jacrev(grad(f)))(t1(x)), [[[ds[2](x)]]])
        close(hessian(f)(t1(x)), [[ds[1](x)]])
    # elementwise on a vector: derivative(f) is f' at every element
    xs = tensor(points)
    close(derivative(f)(xs), [ds[0](x) for x in points])
    close(derivative(derivative(f))(xs), [ds[1](x) for x in points])
    close(grad(lambda v: f(v).sum())(xs), [ds[0](x) for x in points])


def _d_vjp(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """f' through vjp: the pullback of a unit cotangent (1.0, or ones for a Tensor)."""

    def d(x: Any) -> Any:
        out, pull = vjp(f, x)
        return pull(out * 0 + 1)[0]

    return d


def _d_jvp(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """f' through jvp: the derivative along a unit tangent."""

    def d(x: Any) -> Any:
        return jvp(f, (x,), (x * 0 + 1,))[1]

    return d


def _d_value_and_grad(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def d(x: Any) -> Any:
        return value_and_grad(f)(x)[1]

    return d


@pytest.mark.parametrize("x", [0.4, 1.3])
def test_every_transform_composes_to_third_order(x: float) -> None:
    """vjp, jvp and value_and_grad nest like grad, on numbers and on Tensors."""
    f = CASES[2][1]  # e^x · log x
    want = CASES[2][2][2](x)
    close(_d_vjp(_d_jvp(_d_value_and_grad(f)))(x), want)
    close(_d_jvp(_d_vjp(_d_jvp(f)))(x), want)
    close(_d_value_and_grad(_d_value_and_grad(_d_vjp(f)))(x), want)
    close(_d_vjp(_d_jvp(_d_value_and_grad(f)))(t1(x)), [want])
    close(_d_jvp(_d_vjp(_d_jvp(f)))(t1(x)), [want])
    close(_d_jvp(_d_jvp(_d_jvp(f)))(t1(x)), [want])
    close(_d_vjp(_d_vjp(_d_vjp(f)))(t1(x)), [want])


def test_mixed_partials_to_third_order_on_numbers() -> None:
    def f(x: Any, y: Any) -> Any:
        return x * x * y * y * y + x.exp() * y

    x, y = 0.7, -1.2
    # ∂³f/∂x²∂y = 6y² + e^x ;  ∂³f/∂x∂y² = 12xy ;  ∂³f/∂y³ = 6x²
    close(grad(grad(grad(f, 0), 0), 1)(x, y), 6 * y * y + math.exp(x))
    close(grad(grad(grad(f, 1), 0), 1)(x, y), 12 * x * y)
    close(derivative(grad(jacfwd(f, 1), 1), 1)(x, y), 6 * x * x)
    h = hessian(f, (0, 1))(x, y)
    fxy = 6 * x * y * y + math.exp(x)
    close(h, ((2 * y**3 + math.exp(x) * y, fxy), (fxy, 6 * x * x * y)))


# ---------------------------------------------------------------------------
# Hessian of xᵀAx and Jacobian of a small MLP
# ---------------------------------------------------------------------------

RNG = np.random.default_rng(7)
A_NP = RNG.normal(size=(4, 4))
X_NP = RNG.normal(size=4)


def quad(x: Tensor) -> Tensor:
    """xᵀAx for a vector x of shape (n,)."""
    n = x.shape[0]
    return (x.view(1, n) @ tensor(A_NP.tolist()) @ x.view(n, 1)).sum()


def test_hessian_of_quadratic_form_is_a_plus_a_transpose() -> None:
    x = tensor(X_NP.tolist())
    want = A_NP + A_NP.T
    close(grad(quad)(x), want @ X_NP)
    for h in (
        hessian(quad),
        jacfwd(grad(quad)),
        jacrev(grad(quad)),
        jacfwd(jacrev(quad)),  # shape (1, n, n): the output's (1,) leads
        jacrev(jacrev(quad)),
        jacfwd(jacfwd(quad)),
    ):
        got = h(x).to_numpy()
        close(got.reshape(4, 4), want)
    assert hessian(quad)(x).shape == (4, 4)
    assert jacrev(jacrev(quad))(x).shape == (1, 4, 4)
    # third derivative of a quadratic form: zero
    close(jacfwd(hessian(quad))(x), np.zeros((4, 4, 4)))


def test_hessian_of_quadratic_form_on_numbers() -> None:
    def qf(*xs: Any) -> Any:
        total: Any = 0.0
        for i in range(3):
            for j in range(3):
                total = total + float(A_NP[i, j]) * xs[i] * xs[j]
        return total

    got = hessian(qf, (0, 1, 2))(*X_NP[:3].tolist())
    close(got, (A_NP + A_NP.T)[:3, :3])


W1 = RNG.normal(size=(3, 5))
B1 = RNG.normal(size=5)
W2 = RNG.normal(size=(5, 2))
B2 = RNG.normal(size=2)
XIN = RNG.normal(size=(1, 3))


def mlp(x: Any, w1: Any, b1: Any, w2: Any, b2: Any) -> Any:
    """tanh(x W1 + b1) W2 + b2, x of shape (1, 3) → (1, 2). Runs on minitorch and torch."""
    return (x @ w1 + b1).tanh() @ w2 + b2


def _mlp_params() -> list[Tensor]:
    return [tensor(a.tolist()) for a in (XIN, W1, B1, W2, B2)]


def test_mlp_jacobian_against_analytic() -> None:
    args = _mlp_params()
    h = np.tanh(XIN @ W1 + B1)  # (1, 5)
    jx = W2.T @ np.diag(1 - h[0] ** 2) @ W1.T  # ∂y/∂x: (2, 3)
    for jac in (jacrev, jacfwd, jacobian):
        got = jac(mlp)(*args)
        assert got.shape == (1, 2, 1, 3)
        close(got.to_numpy().reshape(2, 3), jx)
    # with respect to W2: ∂y_o/∂W2[j, o'] = h_j δ(o, o')
    want_w2 = np.zeros((1, 2, 5, 2))
    for o in range(2):
        want_w2[0, o, :, o] = h[0]
    close(jacrev(mlp, 3)(*args), want_w2)
    close(jacfwd(mlp, 3)(*args), want_w2)
    # several argnums: a tuple of Jacobians, one per argument
    jb = jacrev(mlp, (2, 4))(*args)
    assert isinstance(jb, tuple) and jb[0].shape == (1, 2, 5) and jb[1].shape == (1, 2, 2)
    close(jb[1].to_numpy().reshape(2, 2), np.eye(2))


def test_vjp_and_jvp_match_the_jacobian() -> None:
    args = _mlp_params()
    jx = jacrev(mlp)(*args).to_numpy().reshape(2, 3)
    ct = tensor([[0.3, -1.7]])
    tan = tensor([[1.0, -0.5, 2.0]])
    out, pull = vjp(lambda x: mlp(x, *args[1:]), args[0])
    close(out, mlp(*args))
    (ctj,) = pull(ct)
    close(ctj.to_numpy().ravel(), ct.to_numpy().ravel() @ jx)
    out2, jt = jvp(lambda x: mlp(x, *args[1:]), (args[0],), (tan,))
    close(out2, mlp(*args))
    close(jt.to_numpy().ravel(), jx @ tan.to_numpy().ravel())
    # vjp differentiates every primal; its pullback may be called again
    _, pull_all = vjp(mlp, *args)
    cts = pull_all(ct)
    assert len(cts) == 5 and [c.shape for c in cts] == [a.shape for a in args]
    close(pull_all(ct)[0], ctj)


def test_tuple_outputs_have_jax_structure() -> None:
    def two(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return (x * y).sum(), x.exp()

    x, y = tensor([0.5, -1.0]), tensor([2.0, 3.0])
    jr = jacrev(two, (0, 1))(x, y)
    jf = jacfwd(two, (0, 1))(x, y)
    for j in (jr, jf):
        close(j[0][0], [[2.0, 3.0]])
        close(j[0][1], [[0.5, -1.0]])
        close(j[1][0], np.diag(np.exp([0.5, -1.0])))
        close(j[1][1], np.zeros((2, 2)))
    _, pull = vjp(two, x, y)
    gx, gy = pull((tensor([1.0]), tensor([1.0, 1.0])))
    close(gx, np.array([2.0, 3.0]) + np.exp([0.5, -1.0]))
    close(gy, [0.5, -1.0])
    _, tans = jvp(two, (x, y), (tensor([1.0, 0.0]), tensor([0.0, 0.0])))
    close(tans[0], [2.0])
    close(tans[1], [math.exp(0.5), 0.0])


def test_numbers_tuple_outputs() -> None:
    def polar(r: Any, t: Any) -> tuple[Any, Any]:
        return r * t.exp(), r * r * t

    r, t = 1.5, 0.4
    want = ((math.exp(t), r * math.exp(t)), (2 * r * t, r * r))
    close(jacrev(polar, (0, 1))(r, t), want)
    close(jacfwd(polar, (0, 1))(r, t), want)
    close(derivative(polar)(r, t), (math.exp(t), 2 * r * t))
    close(vjp(polar, r, t)[1]((1.0, 2.0)), (math.exp(t) + 4 * r * t, r * math.exp(t) + 2 * r * r))


# ---------------------------------------------------------------------------
# Closures, nesting and side effects
# ---------------------------------------------------------------------------


def test_nested_derivatives_do_not_confuse_perturbations() -> None:
    # d/dx [x · d/dy (x + y)] = 1 (a naive nesting gives 2)
    d = derivative
    close(d(lambda x: x * d(lambda y: x + y)(1.0))(1.0), 1.0)
    # d/dx [x · d/dy (x y)] = d/dx [x²] = 2x, whichever transforms are nested
    for outer in (grad, derivative, jacrev, jacfwd):
        for inner in (grad, derivative, jacrev, jacfwd):
            close(outer(lambda x, i=inner: x * i(lambda y: x * y)(1.0))(3.0), 6.0)
    # the same on Tensors (reverse over reverse)
    x = tensor([1.0, -2.0])

    def outer_t(x: Tensor) -> Tensor:
        inner = grad(lambda y: (x * y).sum())(tensor([1.0, 1.0]))  # = x
        return (x * inner).sum()  # = Σ x²

    close(grad(outer_t)(x), [2.0, -4.0])


def test_transforms_leave_grads_alone_but_stay_differentiable() -> None:
    w = tensor([2.0, -1.0], requires_grad=True)
    x = tensor([0.5, 3.0])
    g = grad(lambda v: (w * v * v).sum())(x)  # 2 w x
    close(g, [2.0, -6.0])
    assert w.grad is None
    g.sum().backward()  # ∂/∂w Σ 2 w x = 2x
    close(w.grad, [1.0, 6.0])
    # a leaf argument: the gradient is a function of it, so it can be differentiated again
    xl = tensor([0.5, 3.0], requires_grad=True)
    gl = grad(lambda v: (v * v * v).sum())(xl)  # 3x²
    assert xl.grad is None
    gl.sum().backward()
    close(xl.grad, [3.0, 18.0])


def test_scalar_closure_is_read_as_a_constant_and_untouched() -> None:
    w = Scalar(3.0)
    close(grad(lambda x: w * x * x)(2.0), 12.0)
    assert w.derivative is None


def test_transforms_work_under_no_grad() -> None:
    with minitorch.no_grad():
        close(grad(seed_quadratic)(1.0), 5.0)
        close(grad(lambda x: (x * x).sum())(tensor([1.0, 2.0])), [2.0, 4.0])
        close(hessian(quad)(tensor(X_NP.tolist())), A_NP + A_NP.T)
    assert minitorch.is_grad_enabled()


def test_reverse_and_forward_costs() -> None:
    """Seed 001: reverse needs one pass per output, forward one per input."""
    calls = {"f": 0, "backward": 0}

    class Counted(ScalarFunction):
        @staticmethod
        def forward(ctx: Any, x: float) -> float:
            return x

        @staticmethod
        def backward(ctx: Any, d: float) -> float:
            calls["backward"] += 1
            return d

    def f(x: Any, y: Any, z: Any) -> Any:
        calls["f"] += 1
        if isinstance(x, Scalar):
            x = Counted.apply(x)
        return x * y + z

    jacrev(f, (0, 1, 2))(1.0, 2.0, 3.0)
    assert calls == {"f": 1, "backward": 1}  # 3 inputs, 1 output: one pass back
    calls.update(f=0, backward=0)
    jacfwd(f, (0, 1, 2))(1.0, 2.0, 3.0)
    assert calls == {"f": 3, "backward": 0}  # one forward pass per input

    def g(x: Any) -> tuple[Any, Any, Any]:
        calls["f"] += 1
        return x, 2 * x, x * x

    calls.update(f=0)
    jacfwd(g)(1.0)
    assert calls["f"] == 1  # 1 input, 3 outputs: one forward pass


def test_tensor_jacobian_pass_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tensors: jacrev walks the graph backwards once per output element; jacfwd once
    for the shared recorded backward (double vjp), then once per input element."""
    import minitorch.functional as fn

    passes = []
    real = fn._backprop

    def counting(*a: Any, **k: Any) -> Any:
        passes.append(1)
        return real(*a, **k)

    monkeypatch.setattr(fn, "_backprop", counting)
    w = tensor(RNG.normal(size=(5, 2)).tolist())

    def f(x: Tensor) -> Tensor:  # R^5 -> R^2
        return (x.view(1, 5) @ w).sigmoid().view(2)

    x = tensor([0.1, 0.2, 0.3, 0.4, 0.5])
    jacrev(f)(x)
    assert len(passes) == 2
    passes.clear()
    jacfwd(f)(x)
    assert len(passes) == 1 + 5


# ---------------------------------------------------------------------------
# torch.func as an oracle
# ---------------------------------------------------------------------------


def _torch() -> Any:
    return pytest.importorskip("torch")


def test_against_torch_func_on_the_mlp() -> None:
    torch = _torch()
    tf = torch.func
    ours = _mlp_params()
    theirs = [torch.tensor(a, dtype=torch.float64) for a in (XIN, W1, B1, W2, B2)]
    for k in range(5):
        close(jacrev(mlp, k)(*ours), tf.jacrev(mlp, k)(*theirs))
        close(jacfwd(mlp, k)(*ours), tf.jacfwd(mlp, k)(*theirs))

    def loss(*a: Any) -> Any:
        y = mlp(*a)
        return (y * y).sum()

    def loss0(*a: Any) -> Any:
        return loss(*a).reshape(())

    g_ours = grad(loss, (0, 1, 2, 3, 4))(*ours)
    g_theirs = tf.grad(loss0, (0, 1, 2, 3, 4))(*theirs)
    for a, b in zip(g_ours, g_theirs):
        close(a, b)
    close(hessian(loss, 1)(*ours), tf.hessian(loss0, 1)(*theirs))
    ct = np.array([[0.3, -1.7]])
    _, pull = vjp(mlp, *ours)
    _, pull_t = tf.vjp(mlp, *theirs)
    for a, b in zip(pull(tensor(ct.tolist())), pull_t(torch.tensor(ct))):
        close(a, b)
    tans = [RNG.normal(size=a.shape) for a in (XIN, W1, B1, W2, B2)]
    _, jt = jvp(mlp, ours, [tensor(t.tolist()) for t in tans])
    _, jt_t = tf.jvp(mlp, tuple(theirs), tuple(torch.tensor(t) for t in tans))
    close(jt, jt_t)


@pytest.mark.parametrize(("name", "f", "ds", "points"), CASES, ids=CASE_IDS)
def test_against_torch_func_third_order(
    name: str, f: Callable[[Any], Any], ds: list[Callable[[float], float]], points: list[float]
) -> None:
    torch = _torch()
    if "log" in name:
        pytest.skip("operators.log is ln(x + 1e-6); compared with the analytic answers instead")
    g3 = torch.func.grad(torch.func.grad(torch.func.grad(f)))
    for x in points:
        want = g3(torch.tensor(x, dtype=torch.float64))
        close(grad(grad(grad(f)))(x), want)
        close(derivative(derivative(derivative(f)))(x), want)
        close(grad(grad(grad(f)))(t1(x)), want.reshape(1))


def test_against_torch_func_hessian_and_jacobians() -> None:
    torch = _torch()
    tf = torch.func

    def f(x: Any) -> Any:
        return ((x * x).sigmoid() * x.exp() + x.relu() * 3.0).sum()

    def g(x: Any) -> Any:
        return (x.tanh() * x - x**3) / (x * x + 1.0)

    xv = np.array([0.3, -1.2, 2.1, 0.05])
    ours, theirs = tensor(xv.tolist()), torch.tensor(xv)
    close(hessian(f)(ours), tf.hessian(lambda x: f(x))(theirs))
    close(grad(f)(ours), tf.grad(f)(theirs))
    close(jacrev(g)(ours), tf.jacrev(g)(theirs))
    close(jacfwd(g)(ours), tf.jacfwd(g)(theirs))
    close(jacfwd(jacrev(g))(ours), tf.jacfwd(tf.jacrev(g))(theirs))
    v = torch.tensor([1.0, 2.0, -1.0, 0.5], dtype=torch.float64)
    close(jvp(g, (ours,), (tensor(v.tolist()),))[1], tf.jvp(g, (theirs,), (v,))[1])


# ---------------------------------------------------------------------------
# Dual numbers
# ---------------------------------------------------------------------------

UNARY = [
    ("exp", lambda x: x.exp(), math.exp, 0.7),
    ("log", lambda x: x.log(), lambda x: math.log(x + EPS), 1.3),
    ("sigmoid", lambda x: x.sigmoid(), _sig, -0.4),
    ("relu", lambda x: x.relu(), lambda x: max(x, 0.0), 0.8),
    ("tanh", lambda x: x.tanh(), math.tanh, 0.2),
    ("neg", lambda x: -x, lambda x: -x, 0.5),
    ("inv", lambda x: 1 / x, lambda x: 1 / x, 1.7),
    ("div", lambda x: x / 3.0, lambda x: x / 3.0, 1.7),
    ("rsub", lambda x: 2.0 - x, lambda x: 2.0 - x, 1.7),
    ("sub", lambda x: x - 2.0, lambda x: x - 2.0, 1.7),
    ("radd", lambda x: 2.0 + x, lambda x: 2.0 + x, 1.7),
    ("pow", lambda x: x**2.5, lambda x: x**2.5, 1.3),
    ("rpow", lambda x: 2.0**x, lambda x: 2.0**x, 0.6),
    ("self_pow", lambda x: x**x, lambda x: x**x, 1.3),
    ("inv_method", lambda x: x.inv(), lambda x: 1 / x, 0.9),
]


@pytest.mark.parametrize(("name", "f", "ref", "x"), UNARY, ids=[u[0] for u in UNARY])
def test_dual_ops_match_central_differences(
    name: str, f: Callable[[Any], Any], ref: Callable[[float], float], x: float
) -> None:
    d = f(Dual(x, 1.0))
    assert isinstance(d, Dual)
    close(d.primal, ref(x))
    h = 1e-5
    close(d.tangent, (ref(x + h) - ref(x - h)) / (2 * h), tol=1e-6)


def test_dual_arithmetic_and_helpers() -> None:
    tag = new_tag()
    x = Dual(3.0, 1.0, tag)
    y = x * x * 2 + 1  # 2x² + 1, derivative 4x
    assert (primal_of(y, tag), tangent_of(y, tag)) == (19.0, 12.0)
    assert tangent_of(5.0, tag) == 0.0 and primal_of(5.0, tag) == 5.0
    assert float(y) == 19.0 and value_of(y) == 19.0 and bool(x)
    assert (x < 4.0, x > 4.0, x == 3.0, x != 3.0, x <= 3.0, x >= 3.5) == (1, 0, 1, 0, 1, 0)
    assert max(x, Dual(3.0, 7.0, tag)) is x  # a tie: Python's max keeps the first
    assert "Dual(3.0, 1.0" in repr(x)
    # nested: x + ε₁ + ε₂ squared carries the second derivative in the ε₁ε₂ part
    inner = Dual(Dual(3.0, 1.0, tag), 1.0, new_tag())
    sq = inner * inner
    assert sq.tangent.tangent == 2.0 and sq.primal.primal == 9.0
    with pytest.raises(ValueError, match="older"):
        Dual(Dual(1.0, 1.0), 1.0, tag)
    newer = Dual(1.0, 1.0)
    with pytest.raises(ValueError, match="escaped"):
        tangent_of(newer, tag)


def test_dual_pow_edge_cases() -> None:
    assert (Dual(0.0, 1.0) ** 2).tangent == 0.0
    assert (Dual(2.0, 1.0) ** 0).tangent == 0.0
    with pytest.raises(ValueError, match="no real value"):
        Dual(-2.0, 1.0) ** 0.5
    # d/dy 0^y = 0 (as Scalar Pow); d/dx x^y at x = 0 with y > 1 is 0
    assert (0.0 ** Dual(2.0, 1.0)).tangent == 0.0


# ---------------------------------------------------------------------------
# Non-differentiable points (documented conventions)
# ---------------------------------------------------------------------------


def test_relu_at_zero_has_derivative_zero_in_both_modes() -> None:
    relu = lambda x: x.relu()  # noqa: E731
    for d in (grad, derivative, jacrev, jacfwd):
        assert d(relu)(0.0) == 0.0
        assert d(relu)(1e-12) == 1.0
    close(grad(lambda v: v.relu().sum())(tensor([0.0, -1.0, 2.0])), [0.0, 0.0, 1.0])
    close(jacfwd(lambda x: x.relu())(tensor([0.0, 2.0])), [[0.0, 0.0], [0.0, 1.0]])
    close(grad(grad(relu))(1.0), 0.0)


def test_max_ties_send_the_gradient_to_every_maximum() -> None:
    x = tensor([1.0, 3.0, 3.0, 2.0])
    close(grad(lambda v: v.max())(x), [0.0, 1.0, 1.0, 0.0])
    close(jacfwd(lambda v: v.max())(x), [[0.0, 1.0, 1.0, 0.0]])
    # on numbers, Python's max(a, b) returns a on a tie: the derivative is a's
    close(grad(lambda a, b: max(a, b), (0, 1))(2.0, 2.0), (1.0, 0.0))
    close(jacfwd(lambda a, b: max(a, b), (0, 1))(2.0, 2.0), (1.0, 0.0))


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def test_argnums_errors() -> None:
    with pytest.raises(ValueError, match="argnums=2 is out of range for a call with 2"):
        grad(seed_product, 2)(1.0, 2.0)
    with pytest.raises(ValueError, match="out of range"):
        jacfwd(seed_product, (0, -3))(1.0, 2.0)
    with pytest.raises(ValueError, match="got none"):
        grad(lambda: 1.0)()
    with pytest.raises(TypeError, match="argnums must be"):
        grad(seed_product, "0")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="argnums must be"):
        jacrev(seed_product, ())
    with pytest.raises(TypeError, match="argnums must be an int"):
        derivative(seed_product, (0, 1))  # type: ignore[arg-type]
    close(grad(seed_product, -1)(2.0, 1.0), 5.0)  # negatives count from the end


def test_grad_needs_one_number_out() -> None:
    with pytest.raises(TypeError, match=r"shape \(3,\).*jacobian"):
        grad(lambda x: x * 2)(tensor([1.0, 2.0, 3.0]))
    with pytest.raises(TypeError, match="sequence of 2"):
        grad(lambda x: (x, x))(1.0)
    with pytest.raises(TypeError, match="must return a number"):
        grad(lambda x: "a")(1.0)
    with pytest.raises(TypeError, match="returned a Tensor"):
        grad(lambda x: tensor([1.0]))(1.0)
    with pytest.raises(TypeError, match="must return a Tensor"):
        grad(lambda x: "a")(tensor([1.0]))


def test_argument_type_errors() -> None:
    with pytest.raises(TypeError, match="mix numbers and Tensors"):
        grad(lambda x, y: (x * y).sum(), (0, 1))(1.0, tensor([1.0]))
    with pytest.raises(TypeError, match="argument 0 is a str"):
        grad(lambda s: 1.0)("x")
    with pytest.raises(ValueError, match="one tangent per primal"):
        jvp(seed_product, (1.0, 2.0), (1.0,))
    with pytest.raises(TypeError, match="tuples/lists"):
        jvp(seed_quadratic, 1.0, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shape"):
        jvp(lambda x: x * 2, (tensor([1.0, 2.0]),), (tensor([1.0]),))
    with pytest.raises(ValueError, match="shape"):
        vjp(lambda x: x * 2, tensor([1.0, 2.0]))[1](tensor([1.0, 2.0, 3.0]))
    with pytest.raises(TypeError, match="at least one"):
        vjp(seed_quadratic)


def test_ignored_inputs_get_zero_gradients() -> None:
    assert grad(lambda x: 3.0)(2.0) == 0.0
    assert grad(lambda x, y: y * y, (0, 1))(2.0, 3.0) == (0.0, 6.0)
    assert grad(grad(lambda x: 3.0))(2.0) == 0.0
    assert derivative(lambda x: 7)(1.0) == 0.0
    close(grad(lambda x: tensor([3.0]))(tensor([1.0, 2.0])), [0.0, 0.0])
    close(grad(lambda x, y: (y * y).sum(), (0, 1))(tensor([1.0]), tensor([2.0])), ([0.0], [4.0]))
    close(jacfwd(lambda x, y: y * 2, 0)(tensor([1.0, 2.0]), tensor([3.0])), [[0.0, 0.0]])
    close(jacrev(lambda x, y: y * 2, 0)(tensor([1.0, 2.0]), tensor([3.0])), [[0.0, 0.0]])
    close(hessian(lambda x: (x * 2).sum())(tensor([1.0, 2.0])), np.zeros((2, 2)))
    close(grad(lambda x: 5.0)(tensor([1.0, 2.0])), [0.0, 0.0])


def test_results_are_plain_and_fresh() -> None:
    x = tensor([1.0, 2.0])
    g = grad(lambda v: v.sum())(x)
    assert g.history is None and g.is_contiguous() and g.shape == (2,)
    g[0] = 5.0  # a fresh array, not a view of anything shared
    close(grad(lambda v: v.sum())(x), [1.0, 1.0])
    value, _ = value_and_grad(lambda v: (v * v).sum())(x)
    assert value.history is None
    close(value, [5.0])
    assert grad(seed_quadratic).__name__ == "grad(seed_quadratic)"


# ---------------------------------------------------------------------------
# gradgradcheck
# ---------------------------------------------------------------------------

GG_FUNCS: list[tuple[str, Callable[..., Any], list[Any]]] = [
    ("mul_exp", lambda a, b: (a * b).exp(), [[0.1, -0.3, 0.5], [0.4, 0.2, -0.1]]),
    ("sigmoid_tanh", lambda a: a.sigmoid() * a.tanh(), [[[0.3, -1.0], [2.0, 0.5]]]),
    ("log_div", lambda a, b: (a * a + 1.0).log() / (b + 3.0), [[0.5, 1.5], [[0.2], [0.7]]]),
    ("matmul", lambda a, b: (a @ b).sigmoid(), [[[0.1, 0.2], [0.3, -0.4]], [[0.5], [-0.6]]]),
    ("pow_sum", lambda a: (a**3).sum(0) * a.mean(), [[[0.3, 1.1], [-0.4, 0.9]]]),
    (
        "permute_view",
        lambda a: (a.permute(1, 0).contiguous().view(4) ** 2).exp(),
        [[[0.1, 0.2], [0.3, -0.2]]],
    ),
    ("max", lambda a: a.max(0) * a, [[[0.1, 0.9], [0.5, -0.2]]]),
]


@pytest.mark.parametrize(("name", "f", "inputs"), GG_FUNCS, ids=[g[0] for g in GG_FUNCS])
def test_gradgradcheck_passes_on_tensor_functions(
    name: str, f: Callable[..., Any], inputs: list[Any]
) -> None:
    assert gradgradcheck(f, *[tensor(v) for v in inputs])


def test_gradgradcheck_on_numbers() -> None:
    assert gradgradcheck(seed_reciprocal, 0.0, 1.0)
    assert gradgradcheck(lambda x, y: (x * y).exp() + x**3 * y.sigmoid(), 0.3, -0.7)


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable() -> None:
    class Cube(Function):
        """x³ whose backward computes 3x² outside the graph: first derivative right,
        second derivative lost."""

        @staticmethod
        def forward(ctx: Any, a: Tensor) -> Tensor:
            ctx.save_for_backward(a)
            return a.f.mul_zip(a.f.mul_zip(a, a), a)

        @staticmethod
        def backward(ctx: Any, g: Tensor) -> Tensor:
            (a,) = ctx.saved_values
            three_a2 = a._new(TensorData._from_array(3.0 * a.to_numpy() ** 2))
            return g * three_a2

    x = tensor([0.5, -1.5])
    assert minitorch.gradcheck(Cube.apply, x)
    with pytest.raises(AssertionError, match="gradgradcheck failed for apply"):
        gradgradcheck(Cube.apply, x)


# ---------------------------------------------------------------------------
# The tutorial runs
# ---------------------------------------------------------------------------


def test_docs_functional_code_blocks_run() -> None:
    text = (ROOT / "docs" / "functional.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 5
    namespace: dict[str, Any] = {"__name__": "docs_functional"}
    for block in blocks:
        exec(compile(block, "docs/functional.md", "exec"), namespace)

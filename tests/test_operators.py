"""Contract §1: ``minitorch.operators`` (float maths, derivatives, list helpers).

Every operator takes Python numbers (ints too) and returns a Python float; the
``*_back`` functions are checked against central differences of their forward.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minitorch
from minitorch import operators
from minitorch.operators import (
    add,
    addLists,
    eq,
    exp,
    id,
    inv,
    inv_back,
    is_close,
    log,
    log_back,
    lt,
    mul,
    neg,
    negList,
    prod,
    reduce,
    relu,
    relu_back,
    sigmoid,
    zipWith,
)
from minitorch.operators import max as op_max
from minitorch.operators import sum as op_sum

small_floats = st.floats(min_value=-100, max_value=100, allow_nan=False)
positive_floats = st.floats(min_value=0.1, max_value=100, allow_nan=False)
any_floats = st.floats(allow_nan=False, allow_infinity=False)
small_ints = st.integers(min_value=-1000, max_value=1000)


def _central(f: Callable[[float], float], x: float, eps: float = 1e-6) -> float:
    """Plain central difference, written independently of minitorch.autodiff."""
    return (f(x + eps) - f(x - eps)) / (2 * eps)


# ---------------------------------------------------------------------------
# Basic arithmetic: exact, floats out
# ---------------------------------------------------------------------------


@given(small_floats, small_floats)
def test_mul_add_neg_id_are_exact(x: float, y: float) -> None:
    assert mul(x, y) == x * y
    assert add(x, y) == x + y
    assert neg(x) == -x
    assert id(x) == x


@given(small_ints, small_ints)
def test_int_inputs_give_float_outputs(a: int, b: int) -> None:
    results = [mul(a, b), add(a, b), neg(a), id(a), lt(a, b), eq(a, b), op_max(a, b)]
    results += [is_close(a, b), relu(a), exp(a % 50), relu_back(a, b)]
    for r in results:
        assert type(r) is float
    assert mul(a, b) == float(a * b)
    assert add(a, b) == float(a + b)
    assert op_max(a, b) == float(max(a, b))


def test_int_inputs_give_float_outputs_for_the_rest() -> None:
    for r in [sigmoid(0), sigmoid(-3), log(2), inv(4), inv_back(2, 3), log_back(2, 3)]:
        assert type(r) is float
    assert inv(4) == 0.25
    assert inv_back(2, 3) == -0.75
    assert log_back(2, 3) == pytest.approx(1.5)


@given(small_floats)
def test_neg_is_an_involution_and_mul_by_minus_one(x: float) -> None:
    assert neg(neg(x)) == x
    assert neg(x) == mul(x, -1.0)


@given(small_floats, small_floats, small_floats)
def test_add_mul_algebra(x: float, y: float, z: float) -> None:
    assert add(x, y) == add(y, x)
    assert mul(x, y) == mul(y, x)
    # Distributivity holds up to rounding.
    assert mul(z, add(x, y)) == pytest.approx(add(mul(z, x), mul(z, y)), abs=1e-9)


# ---------------------------------------------------------------------------
# Comparisons and max
# ---------------------------------------------------------------------------


@given(small_floats, small_floats)
def test_lt_and_eq_return_one_or_zero(x: float, y: float) -> None:
    assert lt(x, y) == (1.0 if x < y else 0.0)
    assert eq(x, y) == (1.0 if x == y else 0.0)
    assert type(lt(x, y)) is float and type(eq(x, y)) is float
    # Exactly one of x < y, y < x, x == y holds.
    assert lt(x, y) + lt(y, x) + eq(x, y) == 1.0


@given(small_floats)
def test_lt_is_strict_and_eq_is_reflexive(x: float) -> None:
    assert lt(x, x) == 0.0
    assert eq(x, x) == 1.0
    assert lt(x - 1.0, x) == 1.0
    assert lt(x, x - 1.0) == 0.0


@given(small_floats, small_floats)
def test_max_returns_one_argument(x: float, y: float) -> None:
    m = op_max(x, y)
    assert m in (x, y)
    assert m >= x and m >= y
    assert m == (x if x > y else y)


@given(small_floats)
def test_max_is_exact(a: float) -> None:
    # The contract's examples: no arithmetic on the result.
    assert op_max(a - 1, a) == a
    assert op_max(a, a - 1) == a
    assert op_max(a + 1, a) == a + 1
    assert op_max(a, a + 1) == a + 1


@given(small_floats, small_floats)
def test_is_close(x: float, y: float) -> None:
    assert is_close(x, y) == (1.0 if abs(x - y) < 1e-2 else 0.0)
    assert is_close(x, x) == 1.0
    assert is_close(x, y) == is_close(y, x)


def test_is_close_threshold() -> None:
    assert is_close(1.0, 1.005) == 1.0
    assert is_close(1.0, 1.02) == 0.0
    assert is_close(0.0, -0.0099) == 1.0


# ---------------------------------------------------------------------------
# sigmoid and relu
# ---------------------------------------------------------------------------


@given(any_floats)
def test_sigmoid_range(x: float) -> None:
    s = sigmoid(x)
    assert 0.0 <= s <= 1.0


@given(small_floats)
def test_sigmoid_symmetry_and_centre(x: float) -> None:
    assert sigmoid(-x) == pytest.approx(1.0 - sigmoid(x), abs=1e-12)
    assert sigmoid(x) == pytest.approx(1.0 / (1.0 + math.exp(-x)), rel=1e-12, abs=1e-300)


def test_sigmoid_centre_and_monotone() -> None:
    assert sigmoid(0.0) == 0.5
    xs = [-50.0, -10.0, -1.0, -0.1, 0.0, 0.1, 1.0, 10.0, 30.0]
    values = [sigmoid(x) for x in xs]
    assert values == sorted(values)
    assert len(set(values)) == len(values)


@given(st.floats(min_value=710, max_value=1e308))
def test_sigmoid_is_stable_for_large_magnitudes(x: float) -> None:
    # math.exp overflows beyond ~709.8: a naive 1/(1+e^-x) at -x would raise.
    assert sigmoid(x) == 1.0
    assert 0.0 <= sigmoid(-x) < 1e-300  # e^-710 is subnormal; from ~746 on it is 0.0
    assert sigmoid(-1000.0) == 0.0


@pytest.mark.parametrize("x", [-1e308, -1000.0, -745.0, -709.0, 709.0, 1000.0, 1e308])
def test_sigmoid_extremes_do_not_raise(x: float) -> None:
    s = sigmoid(x)
    assert 0.0 <= s <= 1.0
    assert math.isfinite(s)


def test_sigmoid_infinities() -> None:
    assert sigmoid(math.inf) == 1.0
    assert sigmoid(-math.inf) == 0.0


@given(small_floats)
def test_sigmoid_is_accurate_for_negative_inputs(x: float) -> None:
    # For x < 0 the stable form e^x / (1 + e^x) keeps relative precision.
    assume(x < 0)
    expected = math.exp(x) / (1.0 + math.exp(x))
    assert sigmoid(x) == pytest.approx(expected, rel=1e-12)


@given(small_floats)
def test_relu(x: float) -> None:
    r = relu(x)
    assert r == (x if x > 0 else 0.0)
    assert r >= 0.0
    assert type(r) is float


def test_relu_at_zero() -> None:
    assert relu(0.0) == 0.0
    assert relu(-0.0) == 0.0
    assert relu(0) == 0.0


# ---------------------------------------------------------------------------
# log, exp, inv
# ---------------------------------------------------------------------------


def test_log_adds_eps() -> None:
    assert operators.EPS == 1e-6
    assert log(1.0) == math.log(1.0 + 1e-6)
    assert log(0.0) == math.log(1e-6)
    assert math.isfinite(log(0))


@given(positive_floats)
def test_log_is_math_log_of_x_plus_eps(x: float) -> None:
    assert log(x) == math.log(x + 1e-6)


@given(st.floats(min_value=-50, max_value=50))
def test_exp_and_log_are_inverse(x: float) -> None:
    assert exp(x) == math.exp(x)
    assert exp(x) > 0
    # log adds EPS = 1e-6, which only matters when e^x is tiny.
    assert log(exp(x)) == pytest.approx(math.log(math.exp(x) + 1e-6), rel=1e-12)
    if x > -3:
        assert log(exp(x)) == pytest.approx(x, abs=1e-4)


@given(st.floats(min_value=-20, max_value=20), st.floats(min_value=-20, max_value=20))
def test_exp_turns_sums_into_products(x: float, y: float) -> None:
    assert exp(x + y) == pytest.approx(exp(x) * exp(y), rel=1e-12)


@given(st.one_of(positive_floats, positive_floats.map(lambda v: -v)))
def test_inv(x: float) -> None:
    assert inv(x) == 1.0 / x
    assert inv(inv(x)) == pytest.approx(x, rel=1e-12)


def test_inv_of_zero_raises() -> None:
    with pytest.raises(ZeroDivisionError):
        inv(0.0)


# ---------------------------------------------------------------------------
# The *_back functions: d * f'(x), checked against central differences
# ---------------------------------------------------------------------------


@given(positive_floats, small_floats)
def test_log_back(x: float, d: float) -> None:
    assert log_back(x, d) == pytest.approx(d / (x + 1e-6), rel=1e-12)  # log is ln(x + EPS)
    assert log_back(x, d) == pytest.approx(d * _central(log, x), rel=1e-4, abs=1e-6)


@given(st.one_of(positive_floats, positive_floats.map(lambda v: -v)), small_floats)
def test_inv_back(x: float, d: float) -> None:
    assert inv_back(x, d) == pytest.approx(-d / (x * x), rel=1e-12)
    assert inv_back(x, d) == pytest.approx(d * _central(inv, x), rel=1e-4, abs=1e-6)


@given(small_floats, small_floats)
def test_relu_back(x: float, d: float) -> None:
    assert relu_back(x, d) == (d if x > 0 else 0.0)
    assume(abs(x) > 1e-3)  # away from the kink the central difference is exact
    assert relu_back(x, d) == pytest.approx(d * _central(relu, x), rel=1e-6, abs=1e-6)


def test_relu_back_at_zero_is_zero() -> None:
    assert relu_back(0.0, 5.0) == 0.0
    assert relu_back(1e-12, 5.0) == 5.0


@given(st.floats(min_value=-30, max_value=30), small_floats)
def test_sigmoid_back(x: float, d: float) -> None:
    s = sigmoid(x)
    assert operators.sigmoid_back(x, d) == pytest.approx(d * s * (1 - s), rel=1e-9, abs=1e-12)
    assert operators.sigmoid_back(x, d) == pytest.approx(
        d * _central(sigmoid, x), rel=1e-4, abs=1e-6
    )


@given(st.floats(min_value=-20, max_value=20), small_floats)
def test_exp_back(x: float, d: float) -> None:
    assert operators.exp_back(x, d) == pytest.approx(d * math.exp(x), rel=1e-12)
    assert operators.exp_back(x, d) == pytest.approx(d * _central(exp, x), rel=1e-4, abs=1e-6)


@given(st.floats(min_value=-10, max_value=10), small_floats)
def test_tanh_and_tanh_back(x: float, d: float) -> None:
    assert operators.tanh(x) == math.tanh(x)
    assert operators.tanh_back(x, d) == pytest.approx(
        d * _central(operators.tanh, x), rel=1e-4, abs=1e-6
    )


@given(st.floats(min_value=-30, max_value=30), small_floats)
def test_derivatives_from_the_output_are_the_derivatives(x: float, d: float) -> None:
    """``f_back(x, d)`` is ``f_out_back(f(x), d)``: one formula for each derivative."""
    assert operators.exp_back(x, d) == operators.exp_out_back(exp(x), d)
    assert operators.sigmoid_back(x, d) == operators.sigmoid_out_back(sigmoid(x), d)
    assert operators.tanh_back(x, d) == operators.tanh_out_back(math.tanh(x), d)
    for r in (
        operators.exp_out_back(exp(x), d),
        operators.sigmoid_out_back(sigmoid(x), d),
        operators.tanh_out_back(math.tanh(x), d),
    ):
        assert type(r) is float


@pytest.mark.parametrize(
    "fn",
    [
        log_back,
        inv_back,
        operators.exp_out_back,
        operators.sigmoid_out_back,
        operators.tanh_out_back,
    ],
)
def test_arithmetic_derivatives_work_elementwise_on_arrays_and_tensors(
    fn: Callable[..., Any],
) -> None:
    """The same function serves floats, NumPy arrays (the fast backend registers it as is)
    and Tensors (the tensor Functions' backward)."""
    xs = np.array([[0.3, -1.5], [2.0, 0.7]])
    ds = np.array([[1.0, -2.0], [0.5, 3.0]])
    want = np.array([[fn(float(x), float(d)) for x, d in zip(r, q)] for r, q in zip(xs, ds)])
    np.testing.assert_array_equal(fn(xs, ds), want)
    got = fn(minitorch.Tensor(xs), minitorch.Tensor(ds))
    np.testing.assert_array_equal(got.to_numpy(), want)
    for backend in (minitorch.FastBackend, minitorch.SimpleBackend):
        kernel = backend.ops.zip(fn)
        out = kernel(minitorch.Tensor(xs, backend=backend), minitorch.Tensor(ds, backend=backend))
        np.testing.assert_array_equal(out.to_numpy(), want)


# ---------------------------------------------------------------------------
# List helpers
# ---------------------------------------------------------------------------


def test_map_and_zipwith_and_reduce_basics() -> None:
    assert operators.map(neg)([1.0, 2.0]) == [-1.0, -2.0]
    assert operators.map(neg)(()) == []
    assert zipWith(add)([1.0, 2.0], [3.0, 4.0]) == [4.0, 6.0]
    assert zipWith(add)([], []) == []
    assert reduce(add, 0.0)([]) == 0.0
    assert reduce(add, 7.0)([]) == 7.0


def test_reduce_folds_left_from_start() -> None:
    # A non-commutative fn shows the order: ((0*10 + 1)*10 + 2)*10 + 3.
    assert reduce(lambda acc, x: acc * 10 + x, 0)([1, 2, 3]) == 123
    assert reduce(lambda acc, x: acc - x, 10.0)([1.0, 2.0]) == 7.0
    # Works on any iterable, e.g. a generator.
    assert reduce(add, 0.0)(x for x in [1.0, 2.0, 3.0]) == 6.0


def test_sum_and_prod_of_empty() -> None:
    assert op_sum([]) == 0.0
    assert op_sum(()) == 0.0
    assert prod(()) == 1.0
    assert prod([]) == 1.0


def test_prod_of_shape_tuple() -> None:
    assert int(prod((2, 3))) == 6
    assert int(prod((2, 3, 4))) == 24
    assert prod([1.5, 2.0]) == 3.0


@given(st.lists(small_floats, max_size=20))
def test_sum_matches_builtin(ls: list[float]) -> None:
    assert op_sum(ls) == pytest.approx(math.fsum(ls), abs=1e-9)


@given(st.lists(st.floats(min_value=-2, max_value=2), max_size=10))
def test_prod_matches_math_prod(ls: list[float]) -> None:
    assert prod(ls) == pytest.approx(math.prod(ls), abs=1e-9)


@given(st.lists(small_floats, max_size=20))
def test_neglist(ls: list[float]) -> None:
    out = negList(ls)
    assert out == [-x for x in ls]
    assert op_sum(out) == pytest.approx(-op_sum(ls), abs=1e-9)


@given(
    st.lists(st.tuples(small_floats, small_floats), max_size=20),
)
def test_addlists(pairs: list[tuple[float, float]]) -> None:
    ls1 = [a for a, _ in pairs]
    ls2 = [b for _, b in pairs]
    assert addLists(ls1, ls2) == [a + b for a, b in pairs]


@given(st.lists(small_floats, max_size=10), st.lists(small_floats, max_size=10))
def test_sum_distributes_over_addlists(ls1: list[float], ls2: list[float]) -> None:
    n = min(len(ls1), len(ls2))
    ls1, ls2 = ls1[:n], ls2[:n]
    assert op_sum(addLists(ls1, ls2)) == pytest.approx(op_sum(ls1) + op_sum(ls2), abs=1e-9)


def test_shadowed_builtin_names_exist() -> None:
    # The contract names map/sum/max/id in operators (they shadow the builtins there).
    for name in ["map", "zipWith", "reduce", "negList", "addLists", "sum", "prod", "max", "id"]:
        assert callable(getattr(operators, name))

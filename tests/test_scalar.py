"""Contract §4: Scalar, ScalarHistory, ScalarFunction and derivative_check.

Also the MathTest table (§13) run on Scalars: every one- and two-argument function
passes ``derivative_check`` and agrees with its float version.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minitorch
from minitorch import (
    Context,
    GraphFreedError,
    MathTest,
    MathTestVariable,
    Scalar,
    ScalarFunction,
    ScalarHistory,
    derivative_check,
    operators,
)
from minitorch.scalar_functions import (
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

small_floats = st.floats(min_value=-10, max_value=10, allow_nan=False)


# ---------------------------------------------------------------------------
# Construction, identity, display
# ---------------------------------------------------------------------------


def test_scalar_history_defaults() -> None:
    h = ScalarHistory()
    assert h.last_fn is None
    assert h.ctx is None
    assert tuple(h.inputs) == ()


def test_scalar_attributes() -> None:
    s = Scalar(2)
    assert type(s.data) is float and s.data == 2.0
    assert s.derivative is None
    assert isinstance(s.history, ScalarHistory)
    assert isinstance(s.unique_id, int)


def test_unique_ids_are_unique_and_increasing() -> None:
    ids = [Scalar(0.0).unique_id for _ in range(100)]
    assert len(set(ids)) == 100
    assert ids == sorted(ids)


def test_name_defaults_to_unique_id_and_is_settable() -> None:
    s = Scalar(1.0)
    assert s.name == str(s.unique_id)
    s.name = "x_1"
    assert s.name == "x_1"
    assert Scalar(1.0, name="w").name == "w"
    assert Scalar(1.0, ScalarHistory(), "v").name == "v"


def test_repr_and_bool() -> None:
    assert repr(Scalar(1.5)) == "Scalar(1.500000)"
    assert repr(Scalar(-2)) == "Scalar(-2.000000)"
    assert bool(Scalar(0.0)) is False
    assert bool(Scalar(0.5)) is True
    assert bool(Scalar(-1.0)) is True


def test_leaf_constant_internal() -> None:
    leaf = Scalar(1.0)
    assert leaf.is_leaf() and not leaf.is_constant()
    assert tuple(leaf.parents) == ()

    const = Scalar(1.0, None)
    assert const.is_constant() and not const.is_leaf()
    assert const.history is None

    node = leaf * 2.0
    assert not node.is_leaf() and not node.is_constant()
    assert node.history is not None
    assert node.history.last_fn is Mul
    assert isinstance(node.history.ctx, Context)
    assert node.parents[0] is leaf
    assert len(node.parents) == 2


def test_scalars_are_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(Scalar(1.0))


# ---------------------------------------------------------------------------
# accumulate_derivative, chain_rule, backward
# ---------------------------------------------------------------------------


def test_accumulate_derivative_starts_at_zero() -> None:
    s = Scalar(1.0)
    s.accumulate_derivative(2.0)
    assert s.derivative == 2.0
    s.accumulate_derivative(0.5)
    assert s.derivative == 2.5


def test_chain_rule_includes_inputs_wrapped_from_numbers() -> None:
    s = Scalar(3.0)
    out = Mul.apply(2, s)
    pairs = list(out.chain_rule(1.0))
    assert len(pairs) == 2
    (first, d_first), (second, d_second) = pairs
    assert isinstance(first, Scalar)
    assert first.is_leaf() and not first.is_constant()
    assert first.data == 2.0
    assert d_first == s.data
    assert second is s
    assert d_second == 2.0


def test_chain_rule_scales_by_d_output_and_keeps_input_order() -> None:
    x, y = Scalar(2.0), Scalar(5.0)
    pairs = list((x * y).chain_rule(3.0))
    assert pairs[0][0] is x and pairs[1][0] is y
    assert [d for _, d in pairs] == [15.0, 6.0]


def test_backward_with_int_d_output() -> None:
    x = Scalar(2.0)
    y = x * x
    y.backward(d_output=3)
    assert x.derivative == pytest.approx(3 * 2 * 2.0)
    assert type(x.derivative) is float


def test_backward_default_d_output_is_one() -> None:
    x = Scalar(2.0)
    (x * 4.0).backward()
    assert x.derivative == 4.0


def test_grad_aliases_derivative() -> None:
    x = Scalar(2.0)
    (x * 4.0).backward()
    assert x.grad == 4.0
    x.grad = None
    assert x.derivative is None


# ---------------------------------------------------------------------------
# ScalarFunction.apply and the provided Functions
# ---------------------------------------------------------------------------

UNARY: list[type[ScalarFunction]] = [Inv, Neg, Log, Exp, Sigmoid, ReLU, Tanh]
BINARY: list[type[ScalarFunction]] = [Add, Mul, LT, EQ, Pow]


@pytest.mark.parametrize("fn", UNARY)
@pytest.mark.parametrize("x", [2, 3.0, -1, 0.5])
def test_unary_forward_returns_float(fn: type[ScalarFunction], x: float) -> None:
    if fn is Log and x <= 0:
        return
    assert type(fn.forward(Context(), x)) is float
    out = fn.apply(x)
    assert type(out.data) is float


@pytest.mark.parametrize("fn", BINARY)
@pytest.mark.parametrize(("x", "y"), [(2, 3), (3.0, 2), (-1, 0), (0.5, 0.25)])
def test_binary_forward_returns_float(fn: type[ScalarFunction], x: float, y: float) -> None:
    assert type(fn.forward(Context(), x, y)) is float
    assert type(fn.apply(x, y).data) is float


def test_forward_values() -> None:
    assert Add.apply(2, 3).data == 5.0
    assert Mul.apply(2, 3).data == 6.0
    assert Inv.apply(4).data == 0.25
    assert Neg.apply(2).data == -2.0
    assert Log.apply(2).data == operators.log(2.0)
    assert Exp.apply(1).data == math.e
    assert Sigmoid.apply(0).data == 0.5
    assert ReLU.apply(-3).data == 0.0 and ReLU.apply(3).data == 3.0
    assert LT.apply(1, 2).data == 1.0 and LT.apply(2, 1).data == 0.0
    assert EQ.apply(2, 2).data == 1.0 and EQ.apply(2, 3).data == 0.0
    assert Pow.apply(2, 3).data == 8.0
    assert Tanh.apply(0.5).data == math.tanh(0.5)


def test_apply_wraps_numbers_as_fresh_leaves() -> None:
    out = Add.apply(1.0, 2)
    assert not out.is_constant()
    inputs = out.history.inputs  # type: ignore[union-attr]
    assert all(isinstance(i, Scalar) and i.is_leaf() for i in inputs)
    assert [i.data for i in inputs] == [1.0, 2.0]


def test_forward_receives_raw_numbers() -> None:
    seen: list[tuple[Any, ...]] = []

    class Record(ScalarFunction):
        @staticmethod
        def forward(ctx: Context, *xs: Any) -> float:
            seen.append(xs)
            return 0.0

        @staticmethod
        def backward(ctx: Context, d: float) -> tuple[float, ...]:
            return (0.0, 0.0)

    Record.apply(Scalar(1.5), 7)
    assert seen == [(1.5, 7)]
    assert type(seen[0][1]) is int  # passed as-is, not converted


def test_apply_on_constants_only_gives_a_constant() -> None:
    c = Scalar(2.0, None)
    assert (c * c).is_constant()
    assert not (c * Scalar(1.0)).is_constant()


def test_private_forward_backward_hooks() -> None:
    ctx = Context()
    assert Neg._forward(ctx, 2.0) == -2.0
    assert Neg._backward(ctx, 3.0) == (-3.0,)  # a single value becomes a 1-tuple
    ctx = Context()
    Mul._forward(ctx, 2.0, 5.0)
    assert tuple(Mul._backward(ctx, 1.0)) == (5.0, 2.0)


# ---------------------------------------------------------------------------
# Operators on Scalars
# ---------------------------------------------------------------------------


def _fn(s: Scalar) -> type[ScalarFunction] | None:
    return None if s.history is None else s.history.last_fn


def test_arithmetic_operators() -> None:
    a, b = Scalar(6.0), Scalar(3.0)
    assert (a + b).data == 9.0
    assert (a - b).data == 3.0
    assert (a * b).data == 18.0
    assert (a / b).data == 2.0
    assert (-a).data == -6.0
    assert (2 + a).data == 8.0
    assert (a + 2).data == 8.0
    assert (2 * a).data == 12.0
    assert (12 / a).data == 2.0
    assert (a / 2).data == 3.0
    assert (10 - a).data == 4.0
    assert (a - 10).data == -4.0
    for s in [a + b, a - b, a * b, a / b, -a, 2 + a, 2 * a, 12 / a, 10 - a]:
        assert isinstance(s, Scalar)


def test_comparison_operators_give_floats() -> None:
    a, b = Scalar(1.0), Scalar(2.0)
    for s, expected in [(a < b, 1.0), (b < a, 0.0), (a > b, 0.0), (b > a, 1.0)]:
        assert isinstance(s, Scalar)
        assert type(s.data) is float and s.data == expected
    assert (a == a).data == 1.0
    assert (a == b).data == 0.0
    assert (a < 5).data == 1.0
    assert (a > 5).data == 0.0
    assert (5 > a).data == 1.0  # noqa: SIM300 - the reflected form: a.__lt__(5)
    assert (a == 1).data == 1.0


def test_gt_is_lt_with_swapped_arguments() -> None:
    a, b = Scalar(1.0), Scalar(2.0)
    g = a > b
    assert _fn(g) is LT
    inputs = g.history.inputs  # type: ignore[union-attr]
    assert inputs[0] is b and inputs[1] is a
    assert _fn(a < b) is LT
    assert _fn(a == b) is EQ


def test_div_is_mul_of_inv() -> None:
    a, b = Scalar(1.0), Scalar(4.0)
    q = a / b
    assert _fn(q) is Mul
    first, second = q.history.inputs  # type: ignore[union-attr]
    assert first is a
    assert _fn(second) is Inv
    assert second.history.inputs[0] is b  # type: ignore[union-attr]
    q.backward()
    assert a.derivative == pytest.approx(0.25)
    assert b.derivative == pytest.approx(-1 / 16)


def test_sub_derivatives() -> None:
    a, b = Scalar(5.0), Scalar(3.0)
    (a - b).backward()
    assert a.derivative == 1.0 and b.derivative == -1.0
    c = Scalar(2.0)
    (10 - c).backward()
    assert c.derivative == -1.0


def test_methods() -> None:
    x = Scalar(2.0)
    assert x.log().data == pytest.approx(math.log(2.0), abs=1e-6)
    assert x.exp().data == pytest.approx(math.exp(2.0))
    assert x.sigmoid().data == pytest.approx(1 / (1 + math.exp(-2.0)))
    assert x.relu().data == 2.0 and Scalar(-2.0).relu().data == 0.0
    assert _fn(x.log()) is Log and _fn(x.exp()) is Exp
    assert _fn(x.sigmoid()) is Sigmoid and _fn(x.relu()) is ReLU


def test_pow_with_a_number() -> None:
    x = Scalar(3.0)
    y = x**2
    assert y.data == 9.0
    y.backward()
    assert x.derivative == pytest.approx(6.0)

    x = Scalar(4.0)
    (x**0.5).backward()
    assert x.derivative == pytest.approx(0.25)

    x = Scalar(3.0)
    z = 2**x
    assert z.data == pytest.approx(8.0)
    z.backward()
    assert x.derivative == pytest.approx(8.0 * math.log(2.0))


def test_tanh() -> None:
    x = Scalar(0.5)
    t = x.tanh()
    assert t.data == pytest.approx(math.tanh(0.5))
    t.backward()
    assert x.derivative == pytest.approx(1 - math.tanh(0.5) ** 2)


@pytest.mark.parametrize(
    ("name", "f", "domain"),
    [
        ("add", lambda a, b: a + b, (-10, 10)),
        ("sub", lambda a, b: a - b, (-10, 10)),
        ("mul", lambda a, b: a * b, (-10, 10)),
        ("div", lambda a, b: a / b, (0.5, 10)),
        ("rdiv", lambda a, b: 3.0 / (a * b), (0.5, 10)),
        ("pow", lambda a, b: a**b, (0.5, 3)),
        ("log", lambda a, b: (a * b).log(), (0.5, 10)),
        ("exp", lambda a, b: (a - b).exp(), (-3, 3)),
        ("sigmoid", lambda a, b: (a * b).sigmoid(), (-3, 3)),
        ("tanh", lambda a, b: (a + b).tanh(), (-2, 2)),
    ],
)
@given(data=st.data())
def test_each_op_passes_derivative_check(
    name: str, f: Callable[[Scalar, Scalar], Scalar], domain: tuple[float, float], data: Any
) -> None:
    lo, hi = domain
    a = data.draw(st.floats(min_value=lo, max_value=hi))
    b = data.draw(st.floats(min_value=lo, max_value=hi))
    derivative_check(f, Scalar(a), Scalar(b))


@given(st.floats(min_value=-10, max_value=10))
def test_relu_derivative(a: float) -> None:
    assume(abs(a) > 1e-3)
    derivative_check(lambda x: x.relu(), Scalar(a))


def test_derivative_check_catches_a_wrong_backward() -> None:
    class WrongSquare(ScalarFunction):
        @staticmethod
        def forward(ctx: Context, x: float) -> float:
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx: Context, d: float) -> float:
            (x,) = ctx.saved_values
            return x * d  # should be 2 * x * d

    with pytest.raises(AssertionError):
        derivative_check(WrongSquare.apply, Scalar(3.0))


# ---------------------------------------------------------------------------
# The MathTest table on Scalars
# ---------------------------------------------------------------------------

one_arg, two_arg, _ = MathTestVariable._comp_testing()


def test_mathtest_table_shape() -> None:
    one, two, red = MathTest._tests()
    assert len(one) == 14 and len(two) == 6 and len(red) == 3
    assert [n for n, _ in one] == sorted(n for n, _ in one)
    assert [n for n, _, _ in one_arg] == [n for n, _ in one]


def _one_arg_ok(name: str, a: float) -> bool:
    """Stay away from poles and kinks, where a central difference is meaningless."""
    if name == "inv":
        return abs(a + 3.5) > 0.5
    if name == "relu":
        return abs(a + 5.5) > 1e-3
    if name == "complex":
        return abs(10 * a + 7) > 1e-3
    return True


def _two_arg_ok(name: str, a: float, b: float) -> bool:
    if name == "div2":
        return abs(b + 5.5) > 0.5
    if name in ("gt2", "lt2"):
        return abs(a + 1.2 - b) > 1e-3
    if name == "eq2":
        return abs(a - b - 5.5) > 1e-3
    return True


@pytest.mark.parametrize("fn", one_arg, ids=[n for n, _, _ in one_arg])
@given(small_floats)
def test_one_arg_forward_matches_float_version(
    fn: tuple[str, Callable[..., Any], Callable[..., Any]], a: float
) -> None:
    name, base_fn, scalar_fn = fn
    assume(name != "inv" or a != -3.5)
    assert scalar_fn(Scalar(a)).data == pytest.approx(base_fn(a), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("fn", two_arg, ids=[n for n, _, _ in two_arg])
@given(small_floats, small_floats)
def test_two_arg_forward_matches_float_version(
    fn: tuple[str, Callable[..., Any], Callable[..., Any]], a: float, b: float
) -> None:
    name, base_fn, scalar_fn = fn
    assume(name != "div2" or b != -5.5)
    assert scalar_fn(Scalar(a), Scalar(b)).data == pytest.approx(base_fn(a, b), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("fn", one_arg, ids=[n for n, _, _ in one_arg])
@given(small_floats)
def test_one_arg_derivative(
    fn: tuple[str, Callable[..., Any], Callable[..., Any]], a: float
) -> None:
    name, _, scalar_fn = fn
    assume(_one_arg_ok(name, a))
    derivative_check(scalar_fn, Scalar(a))


@pytest.mark.parametrize("fn", two_arg, ids=[n for n, _, _ in two_arg])
@given(small_floats, small_floats)
def test_two_arg_derivative(
    fn: tuple[str, Callable[..., Any], Callable[..., Any]], a: float, b: float
) -> None:
    name, _, scalar_fn = fn
    assume(_two_arg_ok(name, a, b))
    derivative_check(scalar_fn, Scalar(a), Scalar(b))


# ---------------------------------------------------------------------------
# Helpful errors, each checked by its message
# ---------------------------------------------------------------------------


class TwoInputsOneGrad(ScalarFunction):
    @staticmethod
    def forward(ctx: Context, x: float, y: float) -> float:
        return x + y

    @staticmethod
    def backward(ctx: Context, d: float) -> float:
        return d  # should be (d, d)


class NonNumberGrad(ScalarFunction):
    @staticmethod
    def forward(ctx: Context, x: float) -> float:
        return x

    @staticmethod
    def backward(ctx: Context, d: float) -> str:
        return "one"


class TupleForward(ScalarFunction):
    @staticmethod
    def forward(ctx: Context, x: float) -> tuple[float, float]:
        return (x, x)

    @staticmethod
    def backward(ctx: Context, d: float) -> float:
        return d


class StrForward(ScalarFunction):
    @staticmethod
    def forward(ctx: Context, x: float) -> str:
        return "x"

    @staticmethod
    def backward(ctx: Context, d: float) -> float:
        return d


class NoneForward(ScalarFunction):
    @staticmethod
    def forward(ctx: Context, x: float) -> None:
        x * 2  # forgot to return


def test_backward_returning_too_few_values_names_the_function() -> None:
    out = TwoInputsOneGrad.apply(Scalar(1.0), Scalar(2.0))
    with pytest.raises(TypeError) as info:
        out.backward()
    msg = str(info.value)
    assert "TwoInputsOneGrad" in msg
    assert "2 input" in msg


def test_backward_returning_too_many_values_names_the_function() -> None:
    class ThreeGrads(ScalarFunction):
        @staticmethod
        def forward(ctx: Context, x: float) -> float:
            return x

        @staticmethod
        def backward(ctx: Context, d: float) -> tuple[float, float, float]:
            return d, d, d

    with pytest.raises(TypeError, match="ThreeGrads") as info:
        ThreeGrads.apply(Scalar(1.0)).chain_rule(1.0)
    assert "3 value" in str(info.value)


def test_backward_returning_a_non_number() -> None:
    out = NonNumberGrad.apply(Scalar(1.0))
    with pytest.raises(TypeError) as info:
        out.backward()
    msg = str(info.value)
    assert "NonNumberGrad" in msg
    assert "str" in msg and "number" in msg


def test_backward_returning_an_int_is_accepted() -> None:
    class IntGrad(ScalarFunction):
        @staticmethod
        def forward(ctx: Context, x: float) -> float:
            return 5 * x

        @staticmethod
        def backward(ctx: Context, d: float) -> int:
            return 5

    x = Scalar(1.0)
    IntGrad.apply(x).backward()
    assert x.derivative == 5.0 and type(x.derivative) is float


@pytest.mark.parametrize(
    ("fn", "shown"), [(TupleForward, "tuple"), (StrForward, "str"), (NoneForward, "None")]
)
def test_forward_returning_a_non_number(fn: type[ScalarFunction], shown: str) -> None:
    with pytest.raises(TypeError) as info:
        fn.apply(Scalar(1.0))
    msg = str(info.value)
    assert fn.__name__ in msg
    assert shown in msg
    assert "number" in msg


def test_forward_returning_an_int_is_accepted() -> None:
    class IntForward(ScalarFunction):
        @staticmethod
        def forward(ctx: Context, x: float) -> int:
            return 3

        @staticmethod
        def backward(ctx: Context, d: float) -> float:
            return 0.0

    out = IntForward.apply(Scalar(1.0))
    assert type(out.data) is float and out.data == 3.0


def test_scalar_of_a_string() -> None:
    with pytest.raises(TypeError, match="number") as info:
        Scalar("abc")  # type: ignore[arg-type]
    assert "str" in str(info.value)
    with pytest.raises(TypeError, match="number"):
        Mul.apply("abc", Scalar(1.0))  # type: ignore[arg-type]


def test_scalar_of_a_scalar() -> None:
    with pytest.raises(TypeError) as info:
        Scalar(Scalar(1.0))  # type: ignore[arg-type]
    msg = str(info.value)
    assert "Scalar" in msg
    assert ".data" in msg  # the way out


def test_backward_twice_through_a_freed_graph() -> None:
    x = Scalar(2.0)
    out = x.exp()
    out.backward()
    with pytest.raises(GraphFreedError) as info:
        out.backward()
    msg = str(info.value)
    assert "Exp" in msg
    assert "retain_graph=True" in msg


def test_backward_on_a_constant() -> None:
    with pytest.raises(RuntimeError, match="constant"):
        Scalar(1.0, None).backward()
    with minitorch.no_grad():
        c = Scalar(1.0) * 2.0
    with pytest.raises(RuntimeError, match="constant"):
        c.backward()


def test_backward_returning_none_names_the_function() -> None:
    class ForgotReturn(ScalarFunction):
        @staticmethod
        def forward(ctx: Context, x: float) -> float:
            return x

        @staticmethod
        def backward(ctx: Context, d: float) -> None:
            d * 2  # forgot to return

    with pytest.raises(TypeError) as info:
        ForgotReturn.apply(Scalar(1.0)).backward()
    msg = str(info.value)
    assert "ForgotReturn" in msg and "None" in msg and "number" in msg


# ---------------------------------------------------------------------------
# §0: the Scalar half's top-level names
# ---------------------------------------------------------------------------

TOP_LEVEL = [
    "operators",
    "scalar_functions",
    "Module",
    "Parameter",
    "MathTest",
    "MathTestVariable",
    "Scalar",
    "ScalarHistory",
    "ScalarFunction",
    "Context",
    "Variable",
    "central_difference",
    "derivative_check",
    "backpropagate",
    "topological_sort",
    "prod",
    "Optimizer",
    "SGD",
    "datasets",
    "version",
]


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_top_level_name(name: str) -> None:
    assert hasattr(minitorch, name)


def test_top_level_prod_works_on_shapes() -> None:
    assert int(minitorch.prod((2, 3, 4))) == 24
    assert minitorch.prod(()) == 1.0


def test_submodules_are_importable() -> None:
    import importlib

    for name in ["operators", "autodiff", "module", "scalar", "scalar_functions", "optim"]:
        assert importlib.import_module(f"minitorch.{name}") is not None
    assert isinstance(minitorch.version, str)
    from minitorch.datasets import simple  # the submodule still works behind the dict

    assert minitorch.datasets["Simple"] is simple

"""The lectures' code samples and worked numbers, run on our minitorch.

Seeds 000/002 (Backprop) and 004 (Derivatives): every code sample, verbatim. The
lecture classes are kept exactly as printed (no type hints) on purpose: students paste
them. Seed 001 (computational graphs): every worked number, recomputed with Scalars
and checked by hand. Seed 003's Tensor example is covered by the tensor tests.
"""

from __future__ import annotations

import math

import pytest

import minitorch
from minitorch import Module, Scalar, ScalarFunction, central_difference

# ---------------------------------------------------------------------------
# Seeds 000 / 002: Backprop
# ---------------------------------------------------------------------------


def test_times_five_forward_only() -> None:
    class TimesFive(ScalarFunction):
        @staticmethod
        def forward(ctx, x):
            return x * 5

    # "Use `apply` for the above Functions"
    x = minitorch.Scalar(10.0)
    z = TimesFive.apply(x)
    out = TimesFive.apply(z)
    # "x is unwrapped (python number) and return is a number"
    assert isinstance(z, Scalar) and isinstance(out, Scalar)
    assert z.data == 50.0
    assert out.data == 250.0
    assert out.history is not None and out.history.last_fn is TimesFive
    assert out.history.inputs[0] is z


def test_backward_on_a_forward_only_function_names_it() -> None:
    class TimesFive(ScalarFunction):
        @staticmethod
        def forward(ctx, x):
            return x * 5

    out = TimesFive.apply(minitorch.Scalar(10.0))
    with pytest.raises((AttributeError, NotImplementedError, TypeError)) as info:
        out.backward()
    assert "TimesFive" in str(info.value) and "backward" in str(info.value)


def test_mul_forward_only() -> None:
    class Mul(ScalarFunction):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

    out = Mul.apply(minitorch.Scalar(3.0), minitorch.Scalar(4.0))
    assert out.data == 12.0
    assert [i.data for i in out.history.inputs] == [3.0, 4.0]  # type: ignore[union-attr]


class Square(ScalarFunction):
    # Seed 000, "Context", verbatim: note the slip `x = ctx.saved_values`.
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, d_out):
        x = ctx.saved_values
        f_prime = 2 * x
        return f_prime * d_out


class SquareFixed(ScalarFunction):
    # The same Function with the fix.
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, d_out):
        (x,) = ctx.saved_values
        f_prime = 2 * x
        return f_prime * d_out


def test_square_slip_forward_still_works() -> None:
    assert Square.apply(minitorch.Scalar(3.0)).data == 9.0


def test_square_slip_gives_a_helpful_error() -> None:
    x = minitorch.Scalar(3.0)
    out = Square.apply(x)
    with pytest.raises(TypeError) as info:
        out.backward()
    msg = str(info.value)
    assert "Square" in msg
    assert "(x,) = ctx.saved_values" in msg


def test_square_slip_with_an_int_d_out_gives_the_same_hint() -> None:
    # Here the slip returns a tuple instead of raising inside backward.
    out = Square.apply(minitorch.Scalar(3.0))
    with pytest.raises(TypeError) as info:
        out.chain_rule(3)
    msg = str(info.value)
    assert "Square" in msg
    assert "(x,) = ctx.saved_values" in msg


def test_square_fixed() -> None:
    x = minitorch.Scalar(3.0)
    out = SquareFixed.apply(x)
    assert out.data == 9.0
    out.backward()
    assert x.derivative == 6.0


def test_chained_apply_log_squared() -> None:
    # "Chaining" with the lecture's example f(z) = z^2, g(x) = log(x).
    G = minitorch.scalar_functions.Log
    F = SquareFixed

    x = minitorch.Scalar(10.0, name="x")
    g_x = G.apply(x)
    f_g_x = F.apply(g_x)

    assert x.name == "x"
    assert f_g_x.data == pytest.approx(math.log(10.0) ** 2, rel=1e-6)
    f_g_x.backward()
    # f'_x(g(x)) = g'(x) * f'(g(x)) = (1/x) * 2 log(x)
    assert x.derivative == pytest.approx(2 * math.log(10.0) / 10.0, rel=1e-6)


@pytest.mark.parametrize("x0", [0.5, 1.0, 2.0, 7.0, 100.0])
def test_log_squared_derivative(x0: float) -> None:
    x = minitorch.Scalar(x0)
    (x.log() * x.log()).backward()
    # Log computes log(x + 1e-6) (contract §1), with derivative 1/(x + 1e-6).
    u = x0 + 1e-6
    assert x.derivative == pytest.approx(2 * math.log(u) / u, rel=1e-9, abs=1e-12)
    assert x.derivative == pytest.approx(2 * math.log(x0) / x0, rel=1e-5, abs=1e-5)


@pytest.mark.parametrize(("x0", "y0"), [(2.0, 3.0), (-1.5, 0.5), (0.0, 4.0)])
def test_xy_squared_derivative(x0: float, y0: float) -> None:
    # f(z) = z^2, g(x, y) = x * y: f'_x = 2 z y, f'_y = 2 z x.
    x, y = minitorch.Scalar(x0), minitorch.Scalar(y0)
    z = x * y
    SquareFixed.apply(z).backward()
    assert x.derivative == pytest.approx(2 * (x0 * y0) * y0)
    assert y.derivative == pytest.approx(2 * (x0 * y0) * x0)


@pytest.mark.parametrize(("x0", "y0"), [(1.0, 2.0), (0.5, 0.5), (3.0, 0.25)])
def test_full_graph_log_plus_exp(x0: float, y0: float) -> None:
    # "Full Graph": z = x * y, h(x, y) = log(z) + exp(z).
    x, y = minitorch.Scalar(x0), minitorch.Scalar(y0)
    z = x * y
    h = z.log() + z.exp()
    zv = x0 * y0
    assert h.data == pytest.approx(math.log(zv + 1e-6) + math.exp(zv), rel=1e-9)
    h.backward()
    dz = 1 / (zv + 1e-6) + math.exp(zv)  # log's derivative is 1/(z + 1e-6)
    assert x.derivative == pytest.approx(dz * y0, rel=1e-9)
    assert y.derivative == pytest.approx(dz * x0, rel=1e-9)
    assert z.derivative is None  # an internal node: derivatives pass through it


def test_multivariable_chain() -> None:
    # f(g(x), h(x)): the derivative is the sum over both paths.
    x = minitorch.Scalar(1.5)
    g, h = x.log(), x.exp()
    (g * h).backward()
    expected = (1 / 1.5) * math.exp(1.5) + math.exp(1.5) * math.log(1.5)
    assert x.derivative == pytest.approx(expected, rel=1e-5)


def test_network_parameters_are_leaves_and_get_derivatives() -> None:
    # "Math View (Alt)": lin(x; w, b) = x1 w1 + x2 w2 + b, two ReLU hidden units.
    class Network(Module):
        def __init__(self) -> None:
            super().__init__()
            names = ["w0_1", "w0_2", "b0", "w1_1", "w1_2", "b1", "w_1", "w_2", "b"]
            values = [0.5, -0.2, 0.1, -0.3, 0.8, 0.05, 1.2, -0.7, 0.3]
            for n, v in zip(names, values):
                self.add_parameter(n, minitorch.Scalar(v))

        def forward(self, x1: Scalar, x2: Scalar) -> Scalar:
            p = self._parameters

            def lin(a: Scalar, b: Scalar, w1: str, w2: str, bias: str) -> Scalar:
                return a * p[w1].value + b * p[w2].value + p[bias].value

            h1 = lin(x1, x2, "w0_1", "w0_2", "b0").relu()
            h2 = lin(x1, x2, "w1_1", "w1_2", "b1").relu()
            return lin(h1, h2, "w_1", "w_2", "b")

    model = Network()
    named = model.named_parameters()
    assert len(named) == 9
    assert all(p.value.is_leaf() for _, p in named)
    loss = model(minitorch.Scalar(1.0), minitorch.Scalar(2.0))
    # h1 = relu(0.5 - 0.4 + 0.1) = 0.2, h2 = relu(-0.3 + 1.6 + 0.05) = 1.35
    assert loss.data == pytest.approx(0.2 * 1.2 + 1.35 * -0.7 + 0.3)
    loss.backward()
    d = {n: p.value.derivative for n, p in named}
    assert d["w_1"] == pytest.approx(0.2)
    assert d["w_2"] == pytest.approx(1.35)
    assert d["b"] == pytest.approx(1.0)
    assert d["w0_1"] == pytest.approx(1.2 * 1.0)
    assert d["w0_2"] == pytest.approx(1.2 * 2.0)
    assert d["b1"] == pytest.approx(-0.7)


# ---------------------------------------------------------------------------
# Seed 004: Derivatives
# ---------------------------------------------------------------------------


class TimesFive(ScalarFunction):
    @staticmethod
    def forward(ctx, x):
        return x * 5

    @staticmethod
    def backward(ctx, d_out):
        f_prime = 5
        return f_prime * d_out


class AddTimes2(ScalarFunction):
    @staticmethod
    def forward(ctx, x, y):
        return x + 2 * y

    @staticmethod
    def backward(ctx, d_out):
        return d_out, 2 * d_out


def test_python_details_and_operator_overloading() -> None:
    x = minitorch.Scalar(10.0, name="x")
    y = minitorch.Scalar(5.0, name="y")
    z = TimesFive.apply(x)
    out = TimesFive.apply(z)
    assert out.data == 250.0
    out.backward()
    assert x.derivative == 25.0
    assert y.derivative is None

    # "Tricks": operator overloading
    out2 = x * y
    assert isinstance(out2, Scalar)
    assert out2.data == 50.0
    out2.backward()
    assert x.derivative == 25.0 + 5.0
    assert y.derivative == 10.0


def test_add_times_2() -> None:
    x, y = minitorch.Scalar(1.0), minitorch.Scalar(3.0)
    out = AddTimes2.apply(x, y)
    assert out.data == 7.0
    out.backward()
    assert x.derivative == 1.0
    assert y.derivative == 2.0


def test_how_to_make_and_update_a_variable() -> None:
    f = TimesFive
    x_1 = 3.0

    x_1 = minitorch.Scalar(x_1)
    x_1.name = "x_1"

    z = f.apply(x_1)

    assert x_1.name == "x_1"
    assert z.data == 15.0
    assert z.history is not None and z.history.inputs[0] is x_1


def test_symbolic_numeric_and_autodiff_roughly_match() -> None:
    # "Derivative Checks: All three of these should roughly match."
    def f(x: float) -> float:
        return math.sin(2 * x)

    def f_prime(x: float) -> float:  # symbolic: 2 cos(2x)
        return 2 * math.cos(2 * x)

    for x in [-1.0, 0.0, 0.3, 2.0]:
        assert central_difference(f, x) == pytest.approx(f_prime(x), abs=1e-6)

    # With a function we have Functions for: f(x) = x^2 + e^x (autodiff too).
    def g(x: Scalar) -> Scalar:
        return x * x + x.exp()

    x = minitorch.Scalar(0.7)
    g(x).backward()
    numeric = central_difference(g, minitorch.Scalar(0.7)).data
    symbolic = 2 * 0.7 + math.exp(0.7)
    assert x.derivative == pytest.approx(symbolic)
    assert numeric == pytest.approx(symbolic, abs=1e-5)


def test_multiple_args_difference() -> None:
    # f'_y(x, y) ~ (f(x, y + eps) - f(x, y - eps)) / 2 eps
    def f(x: float, y: float) -> float:
        return x * y * y

    assert central_difference(f, 3.0, 2.0, arg=1) == pytest.approx(12.0, abs=1e-5)


# ---------------------------------------------------------------------------
# Seed 001: computational graphs, every worked number
# ---------------------------------------------------------------------------


def _f_lecture(x, y):
    # The lecture's composition, verbatim; it runs on Scalars by operator overloading.
    a = -x
    b = math.e**a
    c = y + b
    d = 1 / c
    return d


def test_one_over_y_plus_exp_minus_x() -> None:
    x, y = minitorch.Scalar(0.0), minitorch.Scalar(1.0)
    d = _f_lecture(x, y)
    assert d.data == pytest.approx(0.5)  # c = 2
    d.backward()
    # df/dy = -1/c^2 = -1/4 (the lecture's answer).
    assert y.derivative == pytest.approx(-0.25)
    # df/dx by hand: e^-x / (y + e^-x)^2 = 1 / 4 at (0, 1).
    # (The lecture's solution code computes dbdx but multiplies by an undefined dbda.)
    assert x.derivative == pytest.approx(0.25)


def test_one_over_y_plus_exp_minus_x_with_methods() -> None:
    x, y = minitorch.Scalar(0.0), minitorch.Scalar(1.0)
    d = 1 / (y + (-x).exp())
    d.backward()
    assert y.derivative == pytest.approx(-0.25)
    assert x.derivative == pytest.approx(0.25)
    # And against the hand formulas at another point.
    x0, y0 = 0.7, 2.0
    x, y = minitorch.Scalar(x0), minitorch.Scalar(y0)
    (1 / (y + (-x).exp())).backward()
    c = y0 + math.exp(-x0)
    assert y.derivative == pytest.approx(-1 / c**2)
    assert x.derivative == pytest.approx(math.exp(-x0) / c**2)


def _e(a, b):
    c = a + b
    d = b + 1
    e = c * d
    return e


def test_a_plus_b_times_b_plus_1() -> None:
    a, b = minitorch.Scalar(2.0), minitorch.Scalar(1.0)
    e = _e(a, b)
    assert e.data == 6.0
    e.backward()
    assert a.derivative == 2.0  # de/da = b + 1
    assert b.derivative == 5.0  # de/db = (a + b) + (b + 1)


def test_a_plus_b_times_b_plus_1_second_evaluation() -> None:
    # The lecture says a=3, b=6 "evaluates to e=126"; that is a slip:
    # (3 + 6) * (6 + 1) = 9 * 7 = 63.
    e = _e(minitorch.Scalar(3.0), minitorch.Scalar(6.0))
    assert e.data == 63.0
    assert e.data != 126.0


def df_lecture(x, y, z, w=3):
    # In-Class Exercise 2's solution, verbatim.
    p = x * w
    q = max(p, 0)
    r = q - y
    s = r**2
    t = s + z  # noqa: F841 - unused in the lecture too

    dt = 1
    ds, dz = 1 * dt, 1 * dt
    dr = 2 * r * ds
    dq, dy = 1 * dr, -1 * dr
    dp = (p > 0) * dq
    dx, dw = w * dp, x * dp

    return dx, dw, dy, dz


def test_exercise_2_lecture_solution() -> None:
    assert df_lecture(1, 0, -2, w=3) == (18, 6, -6, 1)


def test_exercise_2_with_autodiff() -> None:
    # f(x, y, z) = [max(wx, 0) - y]^2 + z at (1, 0, -2), w = 3.
    # By hand: p = 3, q = 3, r = 3, s = 9, t = 7; dr = 2r = 6, so
    # dx = w*6 = 18, dw = x*6 = 6, dy = -6, dz = 1.
    x, y, z, w = (minitorch.Scalar(v) for v in (1.0, 0.0, -2.0, 3.0))
    t = ((w * x).relu() - y) ** 2 + z
    assert t.data == 7.0
    t.backward()
    assert (x.derivative, w.derivative, y.derivative, z.derivative) == (18.0, 6.0, -6.0, 1.0)


def test_exercise_2_max_branch_inactive() -> None:
    # With wx < 0 the max passes nothing back: only dy and dz are non-zero.
    x, y, z, w = (minitorch.Scalar(v) for v in (-1.0, 0.5, -2.0, 3.0))
    t = ((w * x).relu() - y) ** 2 + z
    t.backward()
    assert t.data == pytest.approx(0.25 - 2.0)
    assert (x.derivative, w.derivative) == (0.0, 0.0)
    assert y.derivative == pytest.approx(1.0)  # -2 r with r = -0.5
    assert z.derivative == 1.0


@pytest.mark.parametrize("x0", [-3.0, -1.5, 0.0, 0.5, 2.0, 10.0])
def test_x_squared_plus_3x(x0: float) -> None:
    # Exercise 3: w = x^2 + 3x, x used on two paths: grad = 2x + 3.
    x = minitorch.Scalar(x0)
    w = x * x + 3 * x
    assert w.data == pytest.approx(x0**2 + 3 * x0)
    w.backward()
    assert x.derivative == pytest.approx(2 * x0 + 3)

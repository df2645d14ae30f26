"""Contract §3 (and §14's no_grad / retain_graph): the shared autodiff engine.

``central_difference``, ``Context``, ``topological_sort`` and ``backpropagate`` are
tested on Scalars and, to show the engine knows nothing about Scalars, on a tiny
stand-alone implementation of the Variable protocol.
"""

from __future__ import annotations

import gc
import importlib
import math
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch
from minitorch import (
    Context,
    GraphFreedError,
    Scalar,
    ScalarFunction,
    backpropagate,
    central_difference,
    topological_sort,
)
from minitorch.scalar_functions import Add, Neg

# ---------------------------------------------------------------------------
# central_difference
# ---------------------------------------------------------------------------


def test_central_difference_on_floats() -> None:
    def square(x: float) -> float:
        return x * x

    d = central_difference(square, 3.0)
    assert isinstance(d, float)
    assert d == pytest.approx(6.0, abs=1e-5)


def test_central_difference_picks_the_argument() -> None:
    def f(x: float, y: float, z: float) -> float:
        return x * y * y + 10 * z

    assert central_difference(f, 2.0, 3.0, 4.0, arg=0) == pytest.approx(9.0, abs=1e-5)
    assert central_difference(f, 2.0, 3.0, 4.0, arg=1) == pytest.approx(12.0, abs=1e-5)
    assert central_difference(f, 2.0, 3.0, 4.0, arg=2) == pytest.approx(10.0, abs=1e-5)


def test_central_difference_is_the_formula() -> None:
    # Exactly (f(x + eps) - f(x - eps)) / (2 eps), with the given epsilon.
    def cube(x: float) -> float:
        return x**3

    eps = 0.1
    expected = (cube(2.0 + eps) - cube(2.0 - eps)) / (2 * eps)
    assert central_difference(cube, 2.0, epsilon=eps) == pytest.approx(expected, rel=1e-12)
    # Central differences are exact up to the eps^2 term: 3x^2 + eps^2.
    assert central_difference(cube, 2.0, epsilon=eps) == pytest.approx(12.0 + eps**2, rel=1e-9)


def test_central_difference_on_scalars_returns_a_scalar() -> None:
    def f(x: Scalar, y: Scalar) -> Scalar:
        return x * y + x.exp()

    x, y = Scalar(0.5), Scalar(2.0)
    dx = central_difference(f, x, y, arg=0)
    dy = central_difference(f, x, y, arg=1)
    assert isinstance(dx, Scalar)
    assert isinstance(dy, Scalar)
    assert dx.data == pytest.approx(2.0 + math.exp(0.5), abs=1e-5)
    assert dy.data == pytest.approx(0.5, abs=1e-5)


@given(st.floats(min_value=-10, max_value=10))
def test_central_difference_matches_known_derivatives(x: float) -> None:
    assert central_difference(math.sin, x) == pytest.approx(math.cos(x), abs=1e-6)
    assert central_difference(math.exp, x) == pytest.approx(math.exp(x), rel=1e-5, abs=1e-5)


# ---------------------------------------------------------------------------
# Context
# ---------------------------------------------------------------------------


def test_context_saves_a_tuple() -> None:
    ctx = Context()
    assert ctx.no_grad is False
    assert ctx.saved_values == ()
    ctx.save_for_backward(1.0)
    assert ctx.saved_values == (1.0,)
    ctx.save_for_backward(1.0, 2.0)
    assert ctx.saved_values == (1.0, 2.0)
    assert ctx.saved_tensors == (1.0, 2.0)


def test_context_under_no_grad_saves_nothing() -> None:
    ctx = Context(no_grad=True)
    ctx.save_for_backward(1.0, 2.0)
    assert ctx.saved_values == ()
    assert Context(False, (3.0,)).saved_values == (3.0,)


# ---------------------------------------------------------------------------
# topological_sort
# ---------------------------------------------------------------------------


def _check_order(order: Sequence[Any], output: Any) -> None:
    """Each node once, output first, every node before its (non-constant) parents."""
    ids = [v.unique_id for v in order]
    assert len(ids) == len(set(ids)), "a variable appears twice"
    assert ids[0] == output.unique_id
    position = {uid: i for i, uid in enumerate(ids)}
    for v in order:
        assert not v.is_constant()
        if v.is_leaf():
            continue
        for p in v.parents:
            if p.is_constant():
                assert p.unique_id not in position
            else:
                assert position[v.unique_id] < position[p.unique_id]


def _reachable(v: Any) -> set[int]:
    """Independent (recursive: only for small graphs) reachability of non-constants."""
    out: set[int] = set()

    def visit(n: Any) -> None:
        if n.is_constant() or n.unique_id in out:
            return
        out.add(n.unique_id)
        if not n.is_leaf():
            for p in n.parents:
                visit(p)

    visit(v)
    return out


def test_topological_sort_diamond_with_constant() -> None:
    x = Scalar(2.0, name="x")
    c = Scalar(10.0, None, name="c")  # a constant
    a = x * c
    b = x + 1.0
    out = a * b + a
    order = topological_sort(out)
    _check_order(order, out)
    ids = {v.unique_id for v in order}
    assert ids == _reachable(out)
    assert c.unique_id not in ids
    assert x.unique_id in ids
    # out, the inner (a*b), a, b, x and the leaf wrapped from 1.0.
    assert len(order) == 6


def test_topological_sort_of_a_leaf_and_of_a_constant() -> None:
    x = Scalar(1.0)
    assert [v.unique_id for v in topological_sort(x)] == [x.unique_id]
    assert topological_sort(Scalar(1.0, None)) == []


# Random programs: each step applies an op to two earlier nodes (fan-out everywhere).
_OPS = ["add", "mul", "sub", "sigmoid"]
programs = st.lists(
    st.tuples(st.sampled_from(_OPS), st.integers(0, 100), st.integers(0, 100)),
    min_size=1,
    max_size=8,
)
leaf_values = st.lists(st.floats(min_value=-1.5, max_value=1.5), min_size=3, max_size=3)


class Dual:
    """Forward-mode dual number: an independent oracle for derivatives."""

    def __init__(self, v: float, d: float) -> None:
        self.v, self.d = v, d

    def __add__(self, o: Dual) -> Dual:
        return Dual(self.v + o.v, self.d + o.d)

    def __sub__(self, o: Dual) -> Dual:
        return Dual(self.v - o.v, self.d - o.d)

    def __mul__(self, o: Dual) -> Dual:
        return Dual(self.v * o.v, self.d * o.v + self.v * o.d)

    def sigmoid(self) -> Dual:
        s = 1.0 / (1.0 + math.exp(-self.v))
        return Dual(s, self.d * s * (1 - s))


def _run(program: list[tuple[str, int, int]], inputs: list[Any]) -> Any:
    nodes = list(inputs)
    for op, i, j in program:
        a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
        if op == "add":
            nodes.append(a + b)
        elif op == "mul":
            nodes.append(a * b)
        elif op == "sub":
            nodes.append(a - b)
        else:
            nodes.append(a.sigmoid())
    return nodes[-1]


@given(programs, leaf_values)
def test_topological_sort_random_graphs(
    program: list[tuple[str, int, int]], values: list[float]
) -> None:
    leaves = [Scalar(v) for v in values[:2]] + [Scalar(values[2], None)]
    out = _run(program, leaves)
    order = topological_sort(out)
    if out.is_constant():
        assert order == []
        return
    _check_order(order, out)
    assert {v.unique_id for v in order} == _reachable(out)


@given(programs, leaf_values)
def test_backpropagate_random_graphs_match_forward_mode(
    program: list[tuple[str, int, int]], values: list[float]
) -> None:
    leaves = [Scalar(v) for v in values]
    out = _run(program, leaves)
    out.backward()
    for k, leaf in enumerate(leaves):
        duals = [Dual(v, 1.0 if i == k else 0.0) for i, v in enumerate(values)]
        expected = _run(program, duals).d
        got = 0.0 if leaf.derivative is None else leaf.derivative
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)
        if leaf.derivative is None:
            assert leaf.unique_id not in _reachable(out)


# ---------------------------------------------------------------------------
# backpropagate
# ---------------------------------------------------------------------------


def test_backpropagate_sums_fan_out() -> None:
    x = Scalar(3.0)
    out = x * x + x  # x reached along three paths
    backpropagate(out, 1.0)
    assert x.derivative == pytest.approx(2 * 3.0 + 1)


def test_backpropagate_scales_by_the_starting_derivative() -> None:
    x = Scalar(3.0)
    backpropagate(x * x, 5.0)
    assert x.derivative == pytest.approx(30.0)


class CountingIdentity(ScalarFunction):
    """f(x) = x; counts how often its backward runs."""

    calls = 0

    @staticmethod
    def forward(ctx: Context, x: float) -> float:
        return x

    @staticmethod
    def backward(ctx: Context, d: float) -> float:
        CountingIdentity.calls += 1
        return d


def test_backpropagate_processes_each_node_once() -> None:
    CountingIdentity.calls = 0
    x = Scalar(2.0)
    m = CountingIdentity.apply(x)  # one node, used four times below
    a = m * 2.0
    b = m * 3.0
    out = a + b + m * m
    out.backward()
    assert CountingIdentity.calls == 1
    # d/dx (2x + 3x + x^2) = 5 + 2x: the node got its full derivative in one go.
    assert x.derivative == pytest.approx(5 + 2 * 2.0)


def test_unreached_leaves_and_internal_nodes_keep_none() -> None:
    x, y, unused = Scalar(1.0), Scalar(2.0), Scalar(3.0)
    side = unused * 2.0  # a separate graph
    mid = x * y
    out = mid.log() + x
    out.backward()
    assert x.derivative == pytest.approx(1.0 + 1.0)
    assert y.derivative == pytest.approx(0.5)
    assert unused.derivative is None
    assert side.derivative is None
    assert mid.derivative is None
    assert out.derivative is None


def test_backpropagate_skips_constants() -> None:
    x = Scalar(2.0)
    c = Scalar(5.0, None)
    out = x * c + c
    out.backward()
    assert x.derivative == pytest.approx(5.0)
    assert c.derivative is None


def test_backward_accumulates_across_calls() -> None:
    x = Scalar(2.0)
    (x * x).backward()
    (x * 3.0).backward()
    assert x.derivative == pytest.approx(4.0 + 3.0)


class _Node:
    """A minimal Variable (not a Scalar): y = sum of weight * parent."""

    _ids = 0
    __hash__ = None  # type: ignore[assignment]  # like Scalar and Tensor: unhashable

    def __init__(self, parents: Iterable[tuple[_Node, float]] = (), constant: bool = False):
        _Node._ids += 1
        self.unique_id = 1000 + _Node._ids
        self._inputs = list(parents)
        self._constant = constant
        self.derivative: float | None = None
        self.chain_calls = 0

    def __eq__(self, other: object) -> bool:  # overloaded, as Scalar's is
        raise AssertionError("the engine must not compare variables with ==")

    def is_leaf(self) -> bool:
        return not self._inputs and not self._constant

    def is_constant(self) -> bool:
        return self._constant

    @property
    def parents(self) -> list[_Node]:
        return [p for p, _ in self._inputs]

    def chain_rule(self, d: float) -> list[tuple[_Node, float]]:
        self.chain_calls += 1
        return [(p, w * d) for p, w in self._inputs]

    def accumulate_derivative(self, x: float) -> None:
        assert self.is_leaf()
        self.derivative = (self.derivative or 0.0) + x


def test_engine_works_on_any_variable() -> None:
    a, b = _Node(), _Node()
    k = _Node(constant=True)
    m = _Node([(a, 2.0), (b, 3.0), (k, 7.0)])
    out = _Node([(m, 5.0), (a, 1.0)])
    assert isinstance(out, minitorch.Variable)
    order = topological_sort(out)
    assert order[0].unique_id == out.unique_id
    assert all(v is not k for v in order)
    backpropagate(out, 1.0)
    assert a.derivative == pytest.approx(5 * 2 + 1)
    assert b.derivative == pytest.approx(15.0)
    assert k.derivative is None
    assert m.chain_calls == 1 and out.chain_calls == 1


def test_a_million_node_chain_needs_no_recursion() -> None:
    # One test on purpose: it takes a few seconds. Neg.apply chains one node per step.
    n = 1_000_000
    x = Scalar(1.0)
    y = x
    for _ in range(n):
        y = Neg.apply(y)
    y = Add.apply(y, 1.0)  # and a wrapped leaf at the end
    order = topological_sort(y)
    assert len(order) == n + 3
    del order
    y.backward()
    assert x.derivative == 1.0  # (-1)^n with n even
    del y  # deallocating the deep chain must not overflow the C stack either


# ---------------------------------------------------------------------------
# Memory: the graph holds no reference cycles
# ---------------------------------------------------------------------------


def _count_scalars() -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, Scalar))


class Square(ScalarFunction):
    @staticmethod
    def forward(ctx: Context, x: float) -> float:
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx: Context, d: float) -> float:
        (x,) = ctx.saved_values
        return 2 * x * d


@pytest.mark.parametrize("retain_graph", [False, True])
def test_graph_has_no_reference_cycles(retain_graph: bool) -> None:
    gc.collect()
    before = _count_scalars()
    gc.disable()
    try:
        x, y = Scalar(2.0), Scalar(3.0)
        z = x * y
        out = (z.log() + z.exp()) / (Square.apply(x) - y.sigmoid() * y.relu() + 2**x)
        out = out + (x > y) + (x == y) + x.tanh() ** 2.0
        out.backward(retain_graph=retain_graph)
        assert x.derivative is not None and y.derivative is not None
        del x, y, z, out
        # Everything was freed by reference counting: nothing left for the cyclic GC.
        assert gc.collect() == 0
        assert _count_scalars() == before
    finally:
        gc.enable()


def test_no_cycles_after_helpful_errors_and_no_grad() -> None:
    gc.collect()
    gc.disable()
    try:
        x = Scalar(2.0)
        with minitorch.no_grad():
            c = x * 3.0
        out = x * c
        out.backward()
        with pytest.raises(GraphFreedError):
            out.backward()
        del x, c, out
        gc.collect()  # the caught exception's traceback may form a frame cycle
        x = Scalar(2.0)
        out = x * x
        out.backward()
        del x, out
        assert gc.collect() == 0
    finally:
        gc.enable()


# ---------------------------------------------------------------------------
# no_grad
# ---------------------------------------------------------------------------


def test_no_grad_results_are_constants() -> None:
    x = Scalar(2.0)
    assert minitorch.is_grad_enabled()
    with minitorch.no_grad():
        assert not minitorch.is_grad_enabled()
        y = x * x + 1.0
        z = y.exp()
    assert minitorch.is_grad_enabled()
    assert y.is_constant() and z.is_constant()
    assert y.data == 5.0
    # Operations on constants and leaves outside no_grad record again.
    w = x * y
    assert not w.is_constant()
    w.backward()
    assert x.derivative == 5.0
    assert y.derivative is None


def test_no_grad_context_saves_nothing() -> None:
    seen: list[Context] = []

    class Spy(ScalarFunction):
        @staticmethod
        def forward(ctx: Context, x: float) -> float:
            ctx.save_for_backward(x)
            seen.append(ctx)
            return x

        @staticmethod
        def backward(ctx: Context, d: float) -> float:
            return d

    with minitorch.no_grad():
        Spy.apply(Scalar(1.0))
    Spy.apply(Scalar(1.0))
    assert seen[0].no_grad is True and seen[0].saved_values == ()
    assert seen[1].no_grad is False and seen[1].saved_values == (1.0,)


def test_no_grad_restores_mode_after_exceptions() -> None:
    with pytest.raises(ValueError, match="boom"), minitorch.no_grad():
        raise ValueError("boom")
    assert minitorch.is_grad_enabled()
    # Nested: the inner exit restores the outer (off) mode, not "on".
    with minitorch.no_grad():
        with pytest.raises(KeyError), minitorch.no_grad():
            raise KeyError("x")
        assert not minitorch.is_grad_enabled()
        with minitorch.enable_grad():
            assert minitorch.is_grad_enabled()
            assert not (Scalar(1.0) * 2.0).is_constant()
        assert not minitorch.is_grad_enabled()
    assert minitorch.is_grad_enabled()


def test_no_grad_as_decorator() -> None:
    @minitorch.no_grad()
    def f(x: Scalar) -> Scalar:
        return x * 2.0

    assert f(Scalar(1.0)).is_constant()
    assert minitorch.is_grad_enabled()
    assert f.__name__ == "f"


def test_set_grad_enabled_as_a_call_sets_the_mode() -> None:
    try:
        minitorch.set_grad_enabled(False)
        assert not minitorch.is_grad_enabled()
        assert (Scalar(1.0) * 2.0).is_constant()
        minitorch.set_grad_enabled(True)
        assert minitorch.is_grad_enabled()
    finally:
        minitorch.set_grad_enabled(True)


def test_set_grad_enabled_as_a_context_manager_restores_the_previous_mode() -> None:
    with minitorch.set_grad_enabled(False):
        assert not minitorch.is_grad_enabled()
        with minitorch.set_grad_enabled(True):
            assert minitorch.is_grad_enabled()
        assert not minitorch.is_grad_enabled()
        with pytest.raises(KeyError), minitorch.set_grad_enabled(True):
            raise KeyError("x")
        assert not minitorch.is_grad_enabled()
    assert minitorch.is_grad_enabled()


@pytest.mark.parametrize("mode", [False, True])
def test_set_grad_enabled_as_a_decorator(mode: bool) -> None:
    @minitorch.set_grad_enabled(mode)
    def f(x: Scalar) -> tuple[Scalar, bool]:
        return x * 2.0, minitorch.is_grad_enabled()

    assert minitorch.is_grad_enabled()  # decorating does not switch the mode
    with minitorch.no_grad():
        y, seen = f(Scalar(1.0))
        assert not minitorch.is_grad_enabled()
    assert seen is mode and y.is_constant() is not mode
    assert f.__name__ == "f"


def test_grad_mode_is_per_thread() -> None:
    """As in PyTorch: ``no_grad`` in one thread leaves the others recording (a web app
    serving two sessions, say), and a new thread starts with recording on."""
    entered, checked = threading.Event(), threading.Event()
    seen: list[bool] = []

    def quiet() -> None:
        with minitorch.no_grad():
            seen.append(minitorch.is_grad_enabled())
            entered.set()
            checked.wait(10)

    other = threading.Thread(target=quiet)
    other.start()
    assert entered.wait(10)
    x = Scalar(2.0)
    y = x * x  # recorded here while the other thread sits in no_grad
    y.backward()
    checked.set()
    other.join(10)
    assert seen == [False] and not y.is_constant() and x.derivative == 4.0

    fresh: list[bool] = []
    with minitorch.no_grad():
        t = threading.Thread(target=lambda: fresh.append(minitorch.is_grad_enabled()))
        t.start()
        t.join(10)
        assert not minitorch.is_grad_enabled()
    assert fresh == [True] and minitorch.is_grad_enabled()


def test_grad_mode_api_is_exported_from_autodiff() -> None:
    for name in ("is_grad_enabled", "no_grad", "enable_grad", "set_grad_enabled"):
        assert getattr(minitorch, name) is getattr(minitorch.autodiff, name)
        assert name in minitorch.autodiff.__all__


def test_one_history_class_for_scalar_and_tensor() -> None:
    assert minitorch.History is minitorch.ScalarHistory is minitorch.autodiff.History
    tensor_module = importlib.import_module("minitorch.tensor")  # minitorch.tensor: a function
    assert tensor_module.History is importlib.import_module("minitorch.scalar").ScalarHistory
    h = minitorch.ScalarHistory()
    assert (h.last_fn, h.ctx, tuple(h.inputs)) == (None, None, ())
    assert type(Scalar(1.0).history) is type(minitorch.Tensor([1.0], requires_grad=True).history)


# ---------------------------------------------------------------------------
# retain_graph
# ---------------------------------------------------------------------------


def test_second_backward_through_a_freed_graph_raises() -> None:
    x, y = Scalar(2.0), Scalar(3.0)
    out = x * y
    out.backward()
    with pytest.raises(GraphFreedError, match=r"retain_graph=True") as info:
        out.backward()
    assert "Mul" in str(info.value)
    assert isinstance(info.value, RuntimeError)


def test_shared_subgraph_is_freed_too() -> None:
    x = Scalar(2.0)
    z = x * x
    a = z + 1.0
    b = z * 2.0
    a.backward()
    with pytest.raises(GraphFreedError):
        b.backward()


def test_retain_graph_allows_a_second_backward_that_accumulates() -> None:
    x, y = Scalar(2.0), Scalar(3.0)
    out = x * y + x.exp()
    out.backward(retain_graph=True)
    first = (x.derivative, y.derivative)
    out.backward(retain_graph=True)
    assert x.derivative == pytest.approx(2 * first[0])  # type: ignore[operator]
    assert y.derivative == pytest.approx(2 * first[1])  # type: ignore[operator]
    out.backward()  # a last one without retain_graph still works, then frees
    assert y.derivative == pytest.approx(3 * 2.0)
    with pytest.raises(GraphFreedError):
        out.backward()


def test_leaf_backward() -> None:
    x = Scalar(4.0)
    x.backward()
    assert x.derivative == 1.0
    x.backward(d_output=2.5)
    assert x.derivative == 3.5

"""A recorded graph holds only what backward needs (issue 11).

A non-leaf input is recorded by its graph node (``minitorch.tensor.node_of``): the same
``unique_id``, history and shape, but not the values unless the Function that made it reads
them in backward (``uses_output``). So an intermediate no user code holds is freed while
the graph lives on, as in PyTorch.
"""

from __future__ import annotations

import gc
import weakref
from typing import Any

import numpy as np
import pytest

import minitorch
from minitorch import FreedValuesError, Function, Tensor
from minitorch.tensor import node_of


def _x(*shape: int) -> Tensor:
    rng = np.random.default_rng(0)
    return Tensor(rng.random(shape) + 0.5, requires_grad=True)


def test_an_intermediate_no_one_holds_is_freed_while_the_graph_lives() -> None:
    x = _x(3, 4)
    y = x * 2.0
    ref = weakref.ref(y._tensor._array)
    z = (y + 1.0) * 3.0
    del y
    assert ref() is None  # freed, though z's graph still reaches y's node
    z.sum().backward()
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.to_numpy(), np.full((3, 4), 6.0))


def test_leaves_are_recorded_as_themselves_and_nodes_share_the_id() -> None:
    x = _x(2)
    y = x * 2.0
    z = y + 1.0
    assert z.history is not None
    node, c = z.history.inputs
    assert y.history is not None and y.history.inputs[0] is x  # the user's own leaf
    assert node is not y and node.unique_id == y.unique_id and node.history is y.history
    assert node.shape == y.shape and node.dtype == y.dtype and not node.is_leaf()
    assert tuple(z.parents) == tuple(z.history.inputs)
    assert node_of(y) is node  # made once, cached
    assert c.is_constant() and c.to_numpy().tolist() == [1.0]
    pairs = z.chain_rule(minitorch.tensor([1.0, 1.0]))
    assert [(p.unique_id, g.shape) for p, g in pairs] == [(y.unique_id, (2,))]


def test_reading_a_nodes_freed_values_gives_a_clear_error() -> None:
    x = _x(2, 2)
    y = x * 2.0
    z = y + 1.0
    assert z.history is not None
    node = z.history.inputs[0]
    np.testing.assert_array_equal(y.to_numpy(), x.to_numpy() * 2.0)  # the tensor itself
    del y
    for read in (node.to_numpy, node.tolist, lambda: node[0, 0], lambda: str(node)):
        with pytest.raises(FreedValuesError, match=r"were freed.*Keep a reference"):
            read()
    assert "values freed" in repr(node) and "shape=(2, 2)" in repr(node)
    assert node.shape == (2, 2) and node.dtype == np.float64 and node.size == 4


@pytest.mark.parametrize(
    ("op", "keeps"),
    [
        (lambda t: t.exp(), True),
        (lambda t: t.sigmoid(), True),
        (lambda t: t.tanh(), True),
        (lambda t: t.sqrt(), True),
        (lambda t: t.max(0), True),
        (lambda t: t.prod(0), True),
        (lambda t: t**2.0, True),
        (lambda t: t + 1.0, False),
        (lambda t: t * 2.0, False),
        (lambda t: t.relu(), False),
        (lambda t: t.sum(0), False),
        (lambda t: t.permute(1, 0), False),
    ],
)
def test_results_are_kept_exactly_where_backward_reads_them(op: Any, keeps: bool) -> None:
    x = _x(3, 2)
    y = op(x * 1.0)
    ref = weakref.ref(y._tensor._array)
    out = (y * 3.0).sum()
    del y
    assert (ref() is not None) == keeps
    out.backward()  # and the gradient is right: compare with the graph kept whole
    x2 = Tensor(x.to_numpy(), requires_grad=True)
    y2 = op(x2 * 1.0)
    (y2 * 3.0).sum().backward()
    assert x.grad is not None and x2.grad is not None
    np.testing.assert_allclose(x.grad.to_numpy(), x2.grad.to_numpy())


def test_saved_inputs_are_kept_and_unsaved_ones_are_not() -> None:
    x, w = _x(2, 3), _x(3, 2)
    a = x * 1.0  # saved by the matmul (its gradient needs it)
    b = w * 1.0
    ref_a, ref_b = weakref.ref(a._tensor._array), weakref.ref(b._tensor._array)
    out = a @ b
    c = x + 0.0  # added to a constant: nothing saved
    ref_c = weakref.ref(c._tensor._array)
    out2 = c + 5.0
    del a, b, c
    assert ref_a() is not None and ref_b() is not None and ref_c() is None
    (out.sum() + out2.sum()).backward()
    assert x.grad is not None and w.grad is not None


def test_uses_output_is_found_in_backward_or_set_by_hand() -> None:
    class Cube(Function):
        @staticmethod
        def forward(ctx: Any, a: Tensor) -> Tensor:
            ctx.save_for_backward(a)
            return a.f.mul_zip(a, a.f.mul_zip(a, a))

        @staticmethod
        def backward(ctx: Any, grad: Tensor) -> Tensor:
            (a,) = ctx.saved_values
            return grad * a * a * 3.0

    class ExpOut(Function):
        @staticmethod
        def forward(ctx: Any, a: Tensor) -> Tensor:
            return a.f.exp_map(a)

        @staticmethod
        def backward(ctx: Any, grad: Tensor) -> Tensor:
            return grad * ctx.output

    def helper(ctx: Any) -> Any:
        return ctx.output

    class ExpHelper(Function):
        uses_output = True

        @staticmethod
        def forward(ctx: Any, a: Tensor) -> Tensor:
            return a.f.exp_map(a)

        @staticmethod
        def backward(ctx: Any, grad: Tensor) -> Tensor:
            return grad * helper(ctx)

    assert not Cube.uses_output and ExpOut.uses_output and ExpHelper.uses_output
    assert minitorch.Exp.uses_output and not minitorch.Add.uses_output
    for fn in (ExpOut, ExpHelper):
        x = _x(2)
        y = fn.apply(x * 1.0)
        out = (y * 1.0).sum()
        del y
        out.backward()
        assert x.grad is not None
        np.testing.assert_allclose(x.grad.to_numpy(), np.exp(x.to_numpy()))


def test_retain_grad_and_hooks_reach_the_users_tensor() -> None:
    x = _x(2)
    y = x * 2.0
    y.retain_grad()
    seen: list[Any] = []
    y.register_hook(lambda g: seen.append(g.to_numpy().tolist()))
    (y * 3.0).sum().backward()
    assert y.grad is not None and y.grad.to_numpy().tolist() == [3.0, 3.0]
    assert seen == [[3.0, 3.0]]
    x2 = _x(2)
    h = x2 * 2.0
    out = (h * 3.0).sum()
    out.backward(inputs=[h])
    assert h.grad is not None and h.grad.to_numpy().tolist() == [3.0, 3.0]


def test_a_hook_on_a_dropped_intermediate_still_runs() -> None:
    x = _x(2)
    y = x * 2.0
    seen: list[Any] = []
    y.register_hook(lambda g: seen.append(g.to_numpy().tolist()))
    out = (y * 3.0).sum()
    del y
    out.backward()
    assert seen == [[3.0, 3.0]]


def test_no_reference_cycles_after_backward() -> None:
    gc.collect()
    gc.disable()
    try:
        x = _x(4, 3)
        y = x
        for _ in range(20):
            y = (y * 1.1).sigmoid() + 0.5
        ref = weakref.ref(y)
        y.sum().backward()
        assert x.grad is not None
        del y
        assert ref() is None
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_100k_op_chain_runs_backward() -> None:
    x = _x(2, 2)
    y = x
    for i in range(100_000):
        y = y + 1e-6 if i % 2 else y * 1.0
    y.sum().backward()
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.to_numpy(), np.ones((2, 2)))


def test_in_place_on_a_view_of_a_node_without_values_is_refused() -> None:
    x = _x(3)
    y = x * 2.0
    v = y[0:2]
    w = (y * 3.0)[0:2]
    assert v.history is not None and type(v.history.inputs[0]._tensor).__name__ == "_FreedData"
    del y
    with pytest.raises(RuntimeError, match="in place on a view"):
        v.add_(1.0)
    v2 = (x * 1.0) + 0.0  # not a view: allowed
    v2.add_(1.0)
    with pytest.raises(RuntimeError, match="in place on a view"):
        w.mul_(2.0)


def test_names_reach_the_graph_node() -> None:
    x = _x(2)
    y = x * 2.0
    z = y + 1.0
    y.name = "y"
    assert z.history is not None and z.history.inputs[0].name == "y"

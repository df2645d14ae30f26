"""The per-op fast paths keep the contract: gradients never alias, constants are safe.

Speed comes from the shortcuts of ``minitorch/_fastpath.py`` (shared number constants,
gradient buffers kept without a copy when nothing else can see them), NumPy scalars for
shape-(1,) operands and the fused backward kernels. Each test pins a way one of them
could leak.
"""

from __future__ import annotations

import gc
import math
import weakref
from typing import Any

import numpy as np
import pytest

import minitorch
from minitorch import Context, FastBackend, Function, SimpleBackend, Tensor


def _grads_alias(*ts: Tensor) -> bool:
    arrays = [t.grad.to_numpy() if t.grad is None else t.grad._tensor._array for t in ts]
    return any(
        np.shares_memory(arrays[i], arrays[j])
        for i in range(len(arrays))
        for j in range(i + 1, len(arrays))
    )


def test_leaf_gradients_never_share_memory() -> None:
    a = Tensor(np.ones((3, 4)), requires_grad=True)
    b = Tensor(np.ones((3, 4)), requires_grad=True)
    c = Tensor(np.ones((4,)), requires_grad=True)
    (a + b + c).sum().backward()  # Add's backward hands the same gradient to both inputs
    assert not _grads_alias(a, b, c)
    assert a.grad is not None and a.grad.to_numpy().tolist() == [[1.0] * 4] * 3
    a.grad[0, 0] = 5.0  # writing one gradient leaves the others alone
    assert b.grad is not None and b.grad[0, 0] == 1.0


def test_gradient_is_not_a_view_of_the_output_gradient() -> None:
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    g = Tensor(np.full((2, 3), 2.0))
    x.backward(g)  # x is its own output: its gradient is the seed
    assert x.grad is not None and x.grad is not g
    assert not np.shares_memory(x.grad._tensor._array, g._tensor._array)
    (x * 1.0).backward(g)
    assert not np.shares_memory(x.grad._tensor._array, g._tensor._array)


class _Keep(Function):
    """Identity whose backward also keeps the gradient it returns (a user holding it)."""

    kept: list[Tensor] = []

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        return a.f.id_map(a)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        out = grad.f.mul_zip(grad, grad._ensure_tensor(3.0))
        _Keep.kept.append(out)
        return out


def test_gradient_held_elsewhere_is_copied() -> None:
    x = Tensor(np.ones((2, 2)), requires_grad=True)
    _Keep.apply(x).sum().backward()
    held = _Keep.kept.pop()
    assert x.grad is not None and x.grad.to_numpy().tolist() == [[3.0, 3.0], [3.0, 3.0]]
    assert not np.shares_memory(x.grad._tensor._array, held._tensor._array)


class _Fresh(Function):
    """Identity whose backward makes a fresh gradient and remembers it only weakly."""

    made: list[Any] = []

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        return a.f.id_map(a)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        out = grad.f.mul_zip(grad, grad._ensure_tensor(2.0))
        _Fresh.made.append(weakref.ref(out._tensor._array))
        return out


def test_fresh_gradient_is_kept_without_a_copy() -> None:
    x = Tensor(np.ones((50, 40)), requires_grad=True)
    _Fresh.apply(x).sum().backward()
    ref = _Fresh.made.pop()
    assert x.grad is not None and ref() is x.grad._tensor._array
    assert x.grad.to_numpy().min() == 2.0 and x.grad.history is None


def test_direct_accumulate_derivative_copies() -> None:
    x = Tensor(np.zeros((2, 2)), requires_grad=True)
    d = Tensor(np.ones((2, 2)))
    x.accumulate_derivative(d)
    assert x.grad is not None and x.grad is not d
    assert not np.shares_memory(x.grad._tensor._array, d._tensor._array)
    x.accumulate_derivative(d)
    assert x.grad.to_numpy().tolist() == [[2.0, 2.0], [2.0, 2.0]]


def test_gradients_accumulate_across_backward_calls() -> None:
    w = Tensor(np.ones((3,)), requires_grad=True)
    (w * 2.0).sum().backward()
    first = w.grad
    (w * 3.0).sum().backward()
    assert first is not None and first.to_numpy().tolist() == [2.0, 2.0, 2.0]  # unchanged
    assert w.grad is not None and w.grad.to_numpy().tolist() == [5.0, 5.0, 5.0]


def test_number_constants_are_read_only_and_signed() -> None:
    x = Tensor([1.0, -2.0], requires_grad=True)
    y = x * 2.0
    assert y.history is not None
    c = y.history.inputs[1]
    assert c.is_constant() and c.to_numpy().tolist() == [2.0]
    with pytest.raises(ValueError):
        c._tensor._array[0] = 3.0
    assert (x * 2.0).to_numpy().tolist() == [2.0, -4.0]
    assert [math.copysign(1.0, v) for v in (x * -0.0).to_numpy()] == [-1.0, 1.0]
    assert [math.copysign(1.0, v) for v in (x * 0.0).to_numpy()] == [1.0, -1.0]
    assert np.isnan((x * math.nan).to_numpy()).all()
    assert (x * 2).dtype == np.float64
    x32 = Tensor(np.array([1.5], dtype=np.float32))
    assert (x32 * 2.0).dtype == np.float32 and (2.0 - x32).dtype == np.float32


def test_one_element_operands_broadcast_like_numpy() -> None:
    a = Tensor(np.arange(3.0))
    for b in (np.array([2.0]), np.array([[2.0]]), np.array([2.0], dtype=np.float32)):
        want = a.to_numpy() * b
        got = a * Tensor(b)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got.to_numpy(), want)
        got = Tensor(b) - a
        np.testing.assert_array_equal(got.to_numpy(), b - a.to_numpy())
    empty = Tensor(np.zeros((0,)))
    assert (empty * 2.0).shape == (0,) and (2.0 * empty).shape == (0,)


def test_relu_matches_the_reference_at_the_edges() -> None:
    vals = [-0.0, 0.0, math.nan, -1.0, 2.0, math.inf, -math.inf]
    for backend in (FastBackend, SimpleBackend):
        out = minitorch.tensor(vals, backend=backend).relu().to_numpy()
        assert out.tolist() == [0.0, 0.0, 0.0, 0.0, 2.0, math.inf, 0.0]
        assert all(math.copysign(1.0, v) == 1.0 for v in out)


@pytest.mark.parametrize("op", ["sigmoid", "tanh", "exp", "log"])
def test_second_derivatives_still_recorded(op: str) -> None:
    torch = pytest.importorskip("torch")
    vals = np.array([0.3, 1.2, 2.5])
    x = Tensor(vals, requires_grad=True)
    getattr(x, op)().sum().backward(create_graph=True)
    assert x.grad is not None and x.grad.history is not None
    g = x.grad
    x.zero_grad()
    g.sum().backward()
    tx = torch.tensor(vals, requires_grad=True)
    (tg,) = torch.autograd.grad(getattr(tx, op)().sum(), tx, create_graph=True)
    (tgg,) = torch.autograd.grad(tg.sum(), tx)
    np.testing.assert_allclose(g.to_numpy(), tg.detach().numpy(), rtol=1e-5, atol=1e-8)
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.to_numpy(), tgg.numpy(), rtol=1e-5, atol=1e-8)


def test_backward_of_long_chain_frees_the_graph() -> None:
    x = Tensor([0.5], requires_grad=True)
    y = x
    for i in range(20_000):
        y = y * 1.0001 if i % 2 == 0 else y + 1e-4
    assert y.history is not None
    ref = weakref.ref(y.history.inputs[0])  # an intermediate node
    y.backward()
    assert x.grad is not None and x.grad.item() == pytest.approx(1.0001**10_000)
    del y
    gc.collect()
    assert ref() is None


@pytest.mark.parametrize(
    "fn",
    [
        minitorch.operators.sigmoid_back,
        minitorch.operators.tanh_back,
        minitorch.operators.exp_back,
        minitorch.operators.relu_back,
        minitorch.operators.max,
    ],
)
def test_zip_kernels_take_a_one_element_operand_on_either_side(fn: Any) -> None:
    fast = minitorch.FastOps.zip(fn)
    simple = minitorch.SimpleOps.zip(fn)
    one = np.array([0.7])
    many = np.array([[-1.5, 0.0, 2.0]])
    for a, b in ((one, many), (many, one), (one, one)):
        got = fast(Tensor(a), Tensor(b)).to_numpy()
        want = simple(Tensor(a, backend=SimpleBackend), Tensor(b, backend=SimpleBackend))
        np.testing.assert_allclose(got, want.to_numpy(), rtol=1e-12)
        assert got.shape == np.broadcast_shapes(a.shape, b.shape)


def test_backward_pauses_the_collector_and_restores_it() -> None:
    seen: list[bool] = []
    x = minitorch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    y.register_hook(lambda g: seen.append(gc.isenabled()))
    assert gc.isenabled()
    y.sum().backward()
    assert seen == [False] and gc.isenabled()

    class Boom(minitorch.Function):
        @staticmethod
        def forward(ctx: Any, a: Any) -> Any:
            return a.f.id_map(a)

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        Boom.apply(x).sum().backward()
    assert gc.isenabled()
    gc.disable()
    try:
        (x * 2.0).sum().backward()
        assert not gc.isenabled()  # a collector the user switched off stays off
    finally:
        gc.enable()

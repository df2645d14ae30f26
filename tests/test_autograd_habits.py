"""PyTorch autograd habits (issue 10): they work as in PyTorch, or fail loudly.

Graph release frees only saved data (a view used by two graphs works), the output a
backward started from is used up, ``requires_grad_(True)`` on a non-leaf warns, ``is_leaf``
reads as a bool and calls as a method, user Functions get hints, and ``retain_grad``,
``register_hook``, ``backward(gradient=, inputs=)`` and ``.grad`` assignment behave as in
PyTorch.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from minitorch import Function, GraphFreedError, Tensor

W = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


def _torch() -> Any:
    return pytest.importorskip("torch")


# ---------------------------------------------------------------------------
# Graph release
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_view", "rows"),
    [
        (lambda w: w.permute(1, 0), 2),
        (lambda w: w[0:1, ...], 1),
        (lambda w: w.contiguous().view(6), 2),
    ],
    ids=["permute", "slice", "view"],
)
def test_a_view_used_by_two_graphs(make_view: Any, rows: int) -> None:
    w = Tensor(W, requires_grad=True)
    v = make_view(w)
    (v * 2.0).sum().backward()
    (v * 3.0).sum().backward()  # the view's node saved no tensor: still usable
    assert w.grad is not None
    expected = np.zeros((2, 3))
    expected[:rows] = 5.0
    np.testing.assert_allclose(w.grad.to_numpy(), expected)


def test_second_backward_from_the_same_output_raises() -> None:
    """Seed 003: ``d.backward()`` twice (no Function in the graph saved anything)."""
    a = Tensor(1.0, requires_grad=True)
    b = Tensor(2.0, requires_grad=True)
    c = a + b
    d = c + a
    d.backward()
    with pytest.raises(GraphFreedError, match=r"Add a second time.*retain_graph=True"):
        d.backward()


def test_a_node_that_saved_tensors_is_still_freed() -> None:
    a = Tensor([1.0, 2.0], requires_grad=True)
    y = a * a
    (y + 1.0).sum().backward()
    with pytest.raises(GraphFreedError, match="Mul"):
        (y * 2.0).sum().backward()


def test_retain_graph_keeps_the_output_usable() -> None:
    a = Tensor([1.0, 2.0], requires_grad=True)
    d = a + a
    d.sum().backward(retain_graph=True)
    s = d.sum()
    s.backward(retain_graph=True)
    s.backward()
    assert a.grad is not None and a.grad.to_numpy().tolist() == [6.0, 6.0]


# ---------------------------------------------------------------------------
# requires_grad_ and is_leaf
# ---------------------------------------------------------------------------


def test_requires_grad_on_a_non_leaf_warns_and_cuts() -> None:
    x = Tensor([1.0], requires_grad=True)
    y = x * 2.0
    with pytest.warns(UserWarning) as record:
        out = y.requires_grad_(True)
    assert out is y and y.is_leaf() and y.requires_grad
    msg = str(record[0].message)
    assert "Mul" in msg and "leaf" in msg and "y.detach().requires_grad_()" in msg
    assert record[0].filename == __file__  # points at the caller's line


def test_requires_grad_on_leaves_and_constants_is_silent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = Tensor([1.0])
        t.requires_grad_(True)
        t.requires_grad_(True)
        t.requires_grad_()
        y = t * 2.0
        y.requires_grad_(False)  # to a constant: silent (the contract)
        assert y.is_constant()
        y.detach().requires_grad_()


def test_is_leaf_reads_as_a_bool_and_calls_as_a_method() -> None:
    torch = _torch()
    c = Tensor([1.0])
    x = Tensor([1.0], requires_grad=True)
    y = x * 2.0
    assert c.is_leaf and c.is_leaf() is True  # constants are leaves, as in PyTorch
    assert x.is_leaf and x.is_leaf() is True
    assert not y.is_leaf and y.is_leaf() is False
    assert y.is_leaf == False  # noqa: E712
    assert repr(y.is_leaf) == "False"
    tc, tx = torch.tensor([1.0]), torch.tensor([1.0], requires_grad=True)
    assert (bool(c.is_leaf), bool(x.is_leaf), bool(y.is_leaf)) == (
        tc.is_leaf,
        tx.is_leaf,
        (tx * 2.0).is_leaf,
    )


# ---------------------------------------------------------------------------
# User Functions: hints instead of bare AttributeErrors
# ---------------------------------------------------------------------------


class _UnpackSlip(Function):
    @staticmethod
    def forward(ctx: Any, a: Tensor) -> Tensor:
        ctx.save_for_backward(a)
        return a.f.mul_zip(a, a)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        a = ctx.saved_values  # the slip: a tuple
        return grad * a * 2.0  # type: ignore[no-any-return]


class _UnpackSlipAttr(_UnpackSlip):
    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        a = ctx.saved_values
        return a.f.mul_zip(grad, a)  # type: ignore[no-any-return]


class _NoBackward(Function):
    @staticmethod
    def forward(ctx: Any, a: Tensor) -> Tensor:
        return a.f.neg_map(a)


class _NoForward(Function):
    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad


@pytest.mark.parametrize("fn", [_UnpackSlip, _UnpackSlipAttr])
def test_saved_values_slip_gets_the_unpack_hint(fn: type[Function]) -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises((TypeError, AttributeError)) as info:
        fn.apply(x).sum().backward()
    msg = str(info.value)
    assert fn.__name__ in msg and "(x,) = ctx.saved_values" in msg


def test_a_function_without_backward_or_forward_is_named() -> None:
    x = Tensor([1.0], requires_grad=True)
    out = _NoBackward.apply(x)
    with pytest.raises(NotImplementedError, match=r"_NoBackward defines no backward.*staticmethod"):
        out.backward()
    with pytest.raises(NotImplementedError, match=r"_NoForward defines no forward"):
        _NoForward.apply(x)


# ---------------------------------------------------------------------------
# retain_grad, hooks, backward(gradient=, inputs=), .grad assignment
# ---------------------------------------------------------------------------


def test_retain_grad_matches_torch_and_accumulates() -> None:
    torch = _torch()
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    y.retain_grad()
    assert y.retains_grad and not x.retains_grad
    z = (y * y).sum()
    z.backward(retain_graph=True)
    z.backward()
    xt = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    yt = xt * 3.0
    yt.retain_grad()
    zt = (yt * yt).sum()
    zt.backward(retain_graph=True)
    zt.backward()
    assert y.grad is not None and x.grad is not None
    assert y.grad.to_numpy().tolist() == yt.grad.tolist()
    assert x.grad.to_numpy().tolist() == xt.grad.tolist()
    other = x * 2.0
    other.sum().backward()
    assert other.grad is None  # not retained


def test_retain_grad_needs_a_gradient() -> None:
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        Tensor([1.0]).retain_grad()
    x = Tensor([1.0], requires_grad=True)
    x.retain_grad()  # a leaf keeps its grad anyway: nothing to do
    (x * 2.0).sum().backward()
    assert x.grad is not None and x.grad.item() == 2.0


def test_hooks_match_torch() -> None:
    torch = _torch()
    seen: list[list[float]] = []
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: seen.append(g.to_numpy().tolist()))  # type: ignore[func-returns-value]
    hx = x.register_hook(lambda g: g * 10.0)  # a leaf's hook runs before accumulation
    y = x * x
    y.retain_grad()
    y.register_hook(lambda g: g + 1.0)  # replaces the gradient flowing on (and retained)
    y.sum().backward()
    xt = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    xt.register_hook(lambda g: g * 10.0)
    yt = xt * xt
    yt.retain_grad()
    yt.register_hook(lambda g: g + 1.0)
    yt.sum().backward()
    assert seen == [[4.0, 8.0]]
    assert x.grad is not None and y.grad is not None
    assert x.grad.to_numpy().tolist() == xt.grad.tolist()
    assert y.grad.to_numpy().tolist() == yt.grad.tolist()
    hx.remove()
    hx.remove()  # twice: nothing
    x.grad = None
    (x * 1.0).sum().backward()
    assert x.grad.to_numpy().tolist() == [1.0, 1.0]


def test_hook_errors() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).register_hook(lambda g: g)
    with pytest.raises(TypeError, match="function"):
        x.register_hook(3)  # type: ignore[arg-type]
    bad = lambda g: [1.0, 2.0]  # noqa: E731
    with x.register_hook(bad), pytest.raises(TypeError, match=r"returned a list.*Tensor"):  # type: ignore[arg-type]
        (x * 2.0).sum().backward()
    x.register_hook(lambda g: Tensor([1.0]))
    with pytest.raises(RuntimeError, match=r"shape \(1,\).*\(2,\)"):
        (x * 2.0).sum().backward()


def test_backward_gradient_keyword() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).backward(gradient=Tensor([1.0, 0.5]))
    assert x.grad is not None and x.grad.to_numpy().tolist() == [3.0, 1.5]
    with pytest.raises(TypeError, match="not both"):
        (x * 3.0).backward(Tensor([1.0, 1.0]), gradient=Tensor([1.0, 1.0]))


def test_backward_inputs_accumulates_only_there() -> None:
    torch = _torch()
    x = Tensor([1.0, 2.0], requires_grad=True)
    w = Tensor([3.0, 4.0], requires_grad=True)
    h = x * w
    (h * h).sum().backward(inputs=[x, h])
    assert w.grad is None
    xt = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    wt = torch.tensor([3.0, 4.0], dtype=torch.float64, requires_grad=True)
    ht = xt * wt
    (ht * ht).sum().backward(inputs=[xt, ht])
    assert x.grad is not None and h.grad is not None
    assert x.grad.to_numpy().tolist() == xt.grad.tolist()
    assert h.grad.to_numpy().tolist() == ht.grad.tolist()
    assert not h.retains_grad
    with pytest.raises(RuntimeError, match="inputs"):
        (x * 2.0).sum().backward(inputs=[Tensor([1.0])])


def test_grad_assignment_is_checked() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.grad = Tensor([0.5, 0.5])
    x.grad = None
    with pytest.raises(RuntimeError, match=r"shape \(3,\).*\(2,\)"):
        x.grad = Tensor([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match=r"Tensor.*minitorch.tensor"):
        x.grad = np.zeros(2)  # type: ignore[assignment]

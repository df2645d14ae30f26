"""In-place operations (issue 10): PyTorch's semantics and safety rules.

``add_ sub_ mul_ div_ pow_ neg_ zero_ fill_ copy_ exp_ log_ sigmoid_ relu_ tanh_``, the
augmented assignments ``+= -= *= /= @=`` and ``t[key] = v`` write into the tensor's storage:
a leaf that requires grad refuses under grad mode, a version counter catches saved values
modified before ``backward()``, and a tensor of a graph is rebased onto the op (checked
against PyTorch).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import minitorch
from minitorch import Tensor, _versions

# name -> (minitorch call, torch call); each takes (tensor, other) and modifies tensor.
INPLACE: dict[str, tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any]]] = {
    "add_": (lambda t, o: t.add_(o), lambda t, o: t.add_(o)),
    "add_alpha": (lambda t, o: t.add_(o, alpha=0.5), lambda t, o: t.add_(o, alpha=0.5)),
    "sub_": (lambda t, o: t.sub_(o), lambda t, o: t.sub_(o)),
    "sub_alpha": (lambda t, o: t.sub_(o, alpha=2.0), lambda t, o: t.sub_(o, alpha=2.0)),
    "mul_": (lambda t, o: t.mul_(o), lambda t, o: t.mul_(o)),
    "div_": (lambda t, o: t.div_(o), lambda t, o: t.div_(o)),
    "pow_": (lambda t, o: t.pow_(2.0), lambda t, o: t.pow_(2.0)),
    "neg_": (lambda t, o: t.neg_(), lambda t, o: t.neg_()),
    "zero_": (lambda t, o: t.zero_(), lambda t, o: t.zero_()),
    "fill_": (lambda t, o: t.fill_(1.5), lambda t, o: t.fill_(1.5)),
    "copy_": (lambda t, o: t.copy_(o), lambda t, o: t.copy_(o)),
    "exp_": (lambda t, o: t.exp_(), lambda t, o: t.exp_()),
    "log_": (lambda t, o: t.log_(), lambda t, o: t.add_(1e-6).log_()),
    "sigmoid_": (lambda t, o: t.sigmoid_(), lambda t, o: t.sigmoid_()),
    "relu_": (lambda t, o: t.relu_(), lambda t, o: t.relu_()),
    "tanh_": (lambda t, o: t.tanh_(), lambda t, o: t.tanh_()),
}


def _iadd(t: Any, o: Any) -> Any:
    t += o
    return t


def _isub(t: Any, o: Any) -> Any:
    t -= o
    return t


def _imul(t: Any, o: Any) -> Any:
    t *= o
    return t


def _idiv(t: Any, o: Any) -> Any:
    t /= o
    return t


INPLACE.update(
    {
        "+=": (_iadd, _iadd),
        "-=": (_isub, _isub),
        "*=": (_imul, _imul),
        "/=": (_idiv, _idiv),
    }
)

A = [[0.5, 1.5, 2.0], [1.0, 0.25, 3.0]]
B = [0.5, 2.0, 4.0]


def _torch() -> Any:
    return pytest.importorskip("torch")


# ---------------------------------------------------------------------------
# Values: the storage is written, views and the user's reference see it
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(INPLACE))
def test_values_match_torch_and_write_the_storage(name: str) -> None:
    torch = _torch()
    ours, theirs = INPLACE[name]
    t = Tensor(A)
    arr = t._tensor._array
    row = t[0, ...]  # a view: sees the write
    out = ours(t, Tensor(B))
    assert out is t and t._tensor._array is arr
    ref = torch.tensor(A, dtype=torch.float64)
    theirs(ref, torch.tensor(B, dtype=torch.float64))
    np.testing.assert_allclose(t.to_numpy(), ref.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(row.to_numpy(), ref.numpy()[0], rtol=1e-12, atol=1e-12)


def test_numbers_and_float32() -> None:
    t = Tensor([1.0, 2.0], dtype=np.float32)
    t.add_(1).mul_(2.5).sub_(0.5).div_(2)
    assert t.dtype == np.float32
    assert t.to_numpy().tolist() == [2.25, 3.5]
    t.add_(Tensor([1.0, 1.0]))  # a float64 operand is cast
    assert t.dtype == np.float32 and t.to_numpy().tolist() == [3.25, 4.5]


def test_matmul_assign() -> None:
    t = Tensor([[1.0, 2.0], [3.0, 4.0]])
    arr = t._tensor._array
    m = Tensor([[0.0, 1.0], [1.0, 0.0]])
    t @= m
    assert t._tensor._array is arr
    assert t.to_numpy().tolist() == [[2.0, 1.0], [4.0, 3.0]]


def test_no_grad_update_changes_the_users_parameter() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    held = w
    (w * w).sum().backward()
    assert w.grad is not None
    with minitorch.no_grad():
        w -= 0.1 * w.grad
    assert held is w and w.is_leaf() and w.requires_grad
    np.testing.assert_allclose(w.to_numpy(), [0.8, 1.6])


def test_sub_alpha_writes_without_copying_the_tensor(monkeypatch: pytest.MonkeyPatch) -> None:
    """The optimiser form ``p.sub_(g, alpha=lr)`` and ``t[i] = v`` write into the storage."""
    p = Tensor(np.ones((50, 40)), requires_grad=True)
    g = Tensor(np.full((50, 40), 2.0))
    arr = p._tensor._array
    copies = []
    real = np.array

    def spy(obj: Any, *args: Any, **kwargs: Any) -> Any:
        if obj is arr:
            copies.append(1)
        return real(obj, *args, **kwargs)

    monkeypatch.setattr(np, "array", spy)
    with minitorch.no_grad():
        p.sub_(g, alpha=0.25)
        p[0, 0] = 7.0
        p[1:3, :] = 3.0
    monkeypatch.undo()
    assert copies == []
    assert p._tensor._array is arr
    assert p[0, 0] == 7.0 and p[1, 5] == 3.0 and p[4, 4] == 0.5


def test_broadcast_operand_must_fit() -> None:
    t = Tensor([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match=r"add_.*\(2, 3\).*\(3,\).*out-of-place"):
        t.add_(Tensor(A))
    t2 = Tensor(A)
    t2.add_(Tensor([[1.0], [2.0]]))  # broadcasts into (2, 3): fine
    assert t2.to_numpy()[1].tolist() == [3.0, 2.25, 5.0]
    with pytest.raises(RuntimeError, match="does not fit"):
        t2 @= Tensor([[1.0], [1.0], [1.0]])


def test_read_only_and_expanded_memory_refuse() -> None:
    t = Tensor([1.0, 2.0])
    c = t._ensure_tensor(2.0)  # a shared read-only number constant
    with pytest.raises(RuntimeError, match=r"read-only.*clone"):
        c.add_(1)
    e = minitorch.BroadcastTo.apply(Tensor([1.0]), (3,))
    with pytest.raises(RuntimeError, match=r"share one memory location.*clone"):
        e.mul_(2)


# ---------------------------------------------------------------------------
# Safety: leaves, saved tensors, outputs
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(INPLACE))
def test_leaf_that_requires_grad_refuses_at_once(name: str) -> None:
    ours, _ = INPLACE[name]
    w = Tensor(A, requires_grad=True)
    before = w.to_numpy()
    with pytest.raises(RuntimeError, match=r"leaf tensor that requires grad.*no_grad\(\)"):
        ours(w, Tensor(B))
    assert (w.to_numpy() == before).all()  # nothing written
    with minitorch.no_grad():
        ours(w, Tensor(B))  # fine under no_grad
    assert w.is_leaf() and w.requires_grad


def test_leaf_message_names_the_op() -> None:
    w = Tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^mul_: "):
        w *= 2


def test_saved_tensor_modified_raises_at_backward() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y * y  # Mul saves y
    y.add_(1)
    with pytest.raises(RuntimeError) as info:
        z.sum().backward()
    msg = str(info.value)
    for part in ("modified by an in-place operation", "Mul", "(2,)", "version 1", "version 0"):
        assert part in msg
    assert "out-of-place" in msg and ".clone()" in msg


def test_modified_through_a_view_or_detach_is_caught() -> None:
    a = Tensor([1.0, 2.0, 3.0])
    w = Tensor([1.0, 1.0, 1.0], requires_grad=True)
    out = (a * w).sum()  # Mul saves a
    a.detach()[0:1].fill_(5.0)  # a view of a detached alias: the same storage
    with pytest.raises(RuntimeError, match=r"saved tensor 0 of Mul"):
        out.backward()


def test_modified_under_no_grad_is_caught() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    s = x.sigmoid()  # sigmoid's backward reads its output
    with minitorch.no_grad():
        s.zero_()
    with pytest.raises(RuntimeError, match=r"output of Sigmoid.*version"):
        s.sum().backward()


def test_output_modified_is_fine_when_backward_does_not_need_it() -> None:
    torch = _torch()
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    with minitorch.no_grad():
        y.zero_()
    y.sum().backward()
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    yt = xt * 3.0
    with torch.no_grad():
        yt.zero_()
    yt.sum().backward()
    assert x.grad is not None
    assert x.grad.to_numpy().tolist() == xt.grad.tolist()


def test_in_place_on_a_view_of_a_graph_tensor_is_refused() -> None:
    x = Tensor(A, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"view \(made by GetItem\).*clone"):
        y[0, ...].add_(1)
    with pytest.raises(RuntimeError, match=r"view \(made by Permute\)"):
        y.permute(1, 0).mul_(2)


# ---------------------------------------------------------------------------
# A tensor of a graph is rebased onto the op (against PyTorch)
# ---------------------------------------------------------------------------


def _scenario(lib: Any, name: str) -> tuple[Any, ...]:
    """y = x * 2 + 1, consumers before and after ``y.<op>``; gradients of x and w."""
    if lib is minitorch:
        x = Tensor(A, requires_grad=True)
        w = Tensor(B, requires_grad=True)
        ours = INPLACE[name][0]
    else:
        x = lib.tensor(A, dtype=lib.float64, requires_grad=True)
        w = lib.tensor(B, dtype=lib.float64, requires_grad=True)
        ours = INPLACE[name][1]
    y = x * 2.0 + 1.0
    before = y + 3.0  # recorded before the write: must see the old y
    ours(y, w)
    after = y * w
    loss = (before * before).sum() + (after * after).sum() + (y * 0.5).sum()
    loss.backward()
    return y, x.grad, w.grad


@pytest.mark.parametrize("name", list(INPLACE))
def test_rebased_graph_gradients_match_torch(name: str) -> None:
    torch = _torch()
    y, gx, gw = _scenario(minitorch, name)
    yt, gxt, gwt = _scenario(torch, name)
    rtol = 1e-5 if name == "log_" else 1e-10  # minitorch's log' is 1/x, not 1/(x + 1e-6)
    np.testing.assert_allclose(y.to_numpy(), yt.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(gx.to_numpy(), gxt.numpy(), rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(gw.to_numpy(), gwt.numpy(), rtol=rtol, atol=1e-12)
    assert y.grad_fn is not None and not y.is_leaf()


def test_rebased_twice_and_consumers_between() -> None:
    torch = _torch()

    def run(lib: Any) -> list[Any]:
        x = (
            Tensor(B, requires_grad=True)
            if lib is minitorch
            else lib.tensor(B, dtype=lib.float64, requires_grad=True)
        )
        y = x * x
        c0 = y + 1.0
        y.mul_(3.0)
        c1 = y + 2.0
        y.mul_(x)
        c2 = y.exp()
        (c0.sum() + (c1 * c1).sum() + c2.sum()).backward()
        return [x.grad]

    (ours,) = run(minitorch)
    (theirs,) = run(torch)
    np.testing.assert_allclose(ours.to_numpy(), theirs.numpy(), rtol=1e-10)


def test_constant_becomes_a_node_when_written_with_a_gradient() -> None:
    torch = _torch()
    acc = minitorch.zeros((3,))
    w = Tensor(B, requires_grad=True)
    acc += w * w
    acc *= w  # Mul needs the old acc: it keeps a copy of it
    acc.sum().backward()
    wt = torch.tensor(B, dtype=torch.float64, requires_grad=True)
    acct = torch.zeros(3, dtype=torch.float64)
    acct += wt * wt
    acct *= wt
    acct.sum().backward()
    assert acc.requires_grad and not acc.is_leaf()
    np.testing.assert_allclose(w.grad.to_numpy(), wt.grad.numpy())


def test_self_as_operand_and_second_derivatives() -> None:
    torch = _torch()
    x = Tensor(B, requires_grad=True)
    y = x * x
    y.add_(y)  # the operand is y itself: no cycle
    y.sum().backward(create_graph=True)
    assert x.grad is not None
    gx = x.grad
    x.grad = None
    gx.sum().backward()
    xt = torch.tensor(B, dtype=torch.float64, requires_grad=True)
    yt = xt * xt
    yt.add_(yt)
    (gxt,) = torch.autograd.grad(yt.sum(), xt, create_graph=True)
    (ggt,) = torch.autograd.grad(gxt.sum(), xt)
    np.testing.assert_allclose(gx.to_numpy(), gxt.detach().numpy())
    np.testing.assert_allclose(x.grad.to_numpy(), ggt.numpy())


# ---------------------------------------------------------------------------
# No cost until used
# ---------------------------------------------------------------------------


def test_nothing_is_recorded_before_the_first_in_place_write() -> None:
    code = (
        "import minitorch\n"
        "from minitorch import Tensor, _versions\n"
        "x = Tensor([1.0, 2.0], requires_grad=True)\n"
        "y = (x * x).sigmoid()\n"
        "y.sum().backward()\n"
        "assert not _versions.on and not _versions.rebased\n"
        "assert not hasattr(y.history.ctx, 'output_version')\n"
        "z = x * x\n"
        "assert not hasattr(z.history.ctx, 'saved_versions')\n"
        "with minitorch.no_grad():\n"
        "    x.add_(1)\n"
        "assert _versions.on and not _versions.rebased\n"
        "z = x * x\n"
        "assert z.history.ctx.saved_versions == (1, 1)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_version_counter_is_shared_by_views() -> None:
    t = Tensor(A)
    v = t.permute(1, 0)
    d = t.detach()
    before = _versions.version(t._tensor._array)
    v.mul_(2)
    assert _versions.version(t._tensor._array) == before + 1
    assert _versions.version(d._tensor._array) == before + 1
    other = Tensor(A)
    assert _versions.version(other._tensor._array) == 0


# ---------------------------------------------------------------------------
# t[key] = value
# ---------------------------------------------------------------------------

SET_CASES: list[tuple[Any, Any]] = [
    ((0, 1), 9.0),
    ((slice(0, 1), Ellipsis), 5.0),
    ((Ellipsis, 1), [7.0, 8.0]),
    ((slice(None), slice(1, 3)), [[1.0, 2.0]]),  # broadcast over rows
    ((None, 1, slice(None)), 4.0),
    (Ellipsis, [0.5, 1.5, 2.5]),
]


@pytest.mark.parametrize(("key", "value"), SET_CASES)
def test_setitem_values_match_numpy(key: Any, value: Any) -> None:
    t = Tensor(A)
    arr = t._tensor._array
    t[key] = value if isinstance(value, float) else Tensor(value)
    ref = np.array(A)
    ref[key] = value
    assert t._tensor._array is arr
    np.testing.assert_array_equal(t.to_numpy(), ref)


def test_setitem_value_gets_its_gradient() -> None:
    torch = _torch()

    def run(lib: Any) -> tuple[Any, ...]:
        if lib is minitorch:
            x, w = Tensor(A, requires_grad=True), Tensor(B, requires_grad=True)
            c = minitorch.zeros((2, 3))
        else:
            x = lib.tensor(A, dtype=lib.float64, requires_grad=True)
            w = lib.tensor(B, dtype=lib.float64, requires_grad=True)
            c = lib.zeros((2, 3), dtype=lib.float64)
        c[0:1, ...] = w * 2.0  # a constant becomes a node
        y = x * 2.0
        before = y * 1.0
        y[:, 1:2] = w[0:1] * 3.0  # a graph tensor is rebased
        loss = (c * c).sum() + (y * y).sum() + (before * before).sum()
        loss.backward()
        return x.grad, w.grad

    ours, theirs = run(minitorch), run(torch)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.to_numpy(), b.numpy())


def test_setitem_errors() -> None:
    w = Tensor(A, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"t\[key\] = value: a leaf tensor.*no_grad"):
        w[0, 0] = 1.0
    t = Tensor(A)
    with pytest.raises(minitorch.IndexingError, match="Negative index"):
        t[-1, 0] = 1.0
    with pytest.raises(minitorch.IndexingError, match="out of range"):
        t[2, 0] = 1.0
    with pytest.raises(minitorch.IndexingError, match=r"t\[1, \.\.\.\] = value"):
        t[1] = 1.0
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*selection of shape \(3,\)"):
        t[0, ...] = Tensor([1.0, 2.0])


def test_rebased_graphs_are_freed_by_reference_counting() -> None:
    import gc
    import weakref

    gc.collect()
    gc.disable()
    try:
        x = Tensor(B, requires_grad=True)
        y = x * 2.0
        c = y + 1.0
        y.mul_(x)
        y.register_hook(lambda g: None)
        y.retain_grad()
        (y.sum() + c.sum()).backward()
        old = _versions.OLD_NODES[y.unique_id][0]
        refs = [weakref.ref(t) for t in (y, c, old)]
        uid = y.unique_id
        del y, c, old
        assert all(r() is None for r in refs)
        assert uid not in _versions.OLD_NODES and uid not in _versions.HOOKS
        assert uid not in _versions.RETAINS
    finally:
        gc.enable()


def test_abs_sqrt_clamp_in_place_match_their_out_of_place_ops() -> None:
    t = minitorch.tensor([-1.0, 4.0, 9.0])
    assert t.abs_().sqrt_().clamp_(max=2.5).tolist() == [1.0, 2.0, 2.5]
    x = minitorch.tensor([-1.0, 4.0, 9.0], requires_grad=True)
    y = x * 1.0
    y.clamp_(0.0, 5.0)
    y.sum().backward()
    assert x.grad is not None and x.grad.tolist() == [0.0, 1.0, 0.0]

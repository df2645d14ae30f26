"""nn functions (contract §10): convolutions, pooling, max/argmax, softmax, dropout, losses.

Each op is grad-checked element by element (``minitorch.gradcheck``, float64) and its
second derivatives too (``minitorch.gradgradcheck``: each backward is written once, in
Tensor operations or Function applications, so ``create_graph`` differentiates it); the fast
convolutions are cross-checked against the loop-by-loop reference kernels of
``minitorch.fast_conv``; when PyTorch is installed, values and gradients are compared with
its functional ops where the semantics match (convolutions with explicit right/bottom
padding, pooling, softmax, losses).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

import minitorch
from minitorch import Tensor, gradcheck, gradgradcheck, nn
from minitorch.fast_conv import tensor_conv1d, tensor_conv2d

RNG = np.random.default_rng(1234)


def _t(*shape: int, requires_grad: bool = False) -> Tensor:
    return Tensor(RNG.normal(size=shape), requires_grad=requires_grad)


def _np(t: Any) -> np.ndarray:
    return np.asarray(t.detach().numpy() if hasattr(t, "detach") else t)


# ---------------------------------------------------------------------------
# Reference convolutions through the fast_conv kernels
# ---------------------------------------------------------------------------


def _ref_conv(inp: Tensor, w: Tensor, reverse: bool = False, out_shape: Any = None) -> np.ndarray:
    """Run tensor_conv1d / tensor_conv2d on (possibly strided) tensors."""
    kernel = tensor_conv1d if inp.dims == 3 else tensor_conv2d
    shape = out_shape or (inp.shape[0], w.shape[0], *inp.shape[2:])
    out = minitorch.zeros(shape)
    ti, tw, to = inp._tensor, w._tensor, out._tensor
    kernel(
        to._storage,
        to._shape,
        to._strides,
        to.size,
        ti._storage,
        ti._shape,
        ti._strides,
        tw._storage,
        tw._shape,
        tw._strides,
        reverse,
    )
    return out.to_numpy()


def test_conv1d_contract_example() -> None:
    x = minitorch.tensor([0, 1, 2, 3]).view(1, 1, 4)
    w = minitorch.tensor([1, 2, 3]).view(1, 1, 3)
    assert nn.conv1d(x, w).to_numpy().reshape(-1).tolist() == [8, 14, 8, 3]
    assert nn.Conv1dFun.apply(x, w).shape == (1, 1, 4)
    assert _ref_conv(x, w).reshape(-1).tolist() == [8, 14, 8, 3]


def test_reference_kernel_reverse_anchors_on_the_left() -> None:
    x = minitorch.tensor([0, 1, 2, 3]).view(1, 1, 4)
    w = minitorch.tensor([1, 2, 3]).view(1, 1, 3)
    # out[x] = Σ_k in[x - k] w[k]: [0, 1·1+0·2, 2+2+0, 3+4+3]
    assert _ref_conv(x, w, reverse=True).reshape(-1).tolist() == [0, 1, 4, 10]
    img = minitorch.tensor([[1, 2], [3, 4]]).view(1, 1, 2, 2)
    k = minitorch.tensor([[1, 10], [100, 1000]]).view(1, 1, 2, 2)
    assert _ref_conv(img, k).reshape(-1).tolist() == [4321, 402, 43, 4]
    assert _ref_conv(img, k, reverse=True).reshape(-1).tolist() == [1, 12, 103, 1234]


@pytest.mark.parametrize(
    ("shape", "wshape"),
    [
        ((2, 3, 7), (4, 3, 3)),
        ((1, 1, 3), (2, 1, 5)),  # kernel wider than the input
        ((2, 2, 5, 6), (3, 2, 2, 3)),
        ((1, 3, 4, 4), (2, 3, 4, 1)),
    ],
)
def test_conv_matches_reference_kernels(shape: tuple[int, ...], wshape: tuple[int, ...]) -> None:
    x, w = _t(*shape, requires_grad=True), _t(*wshape, requires_grad=True)
    conv = nn.conv1d if len(shape) == 3 else nn.conv2d
    out = conv(x, w)
    np.testing.assert_allclose(out.to_numpy(), _ref_conv(x, w), atol=1e-12)
    g = _t(*out.shape)
    out.backward(g)
    # ∂L/∂in: reverse convolution of g with the channel-swapped weight.
    perm = (1, 0, *range(2, len(shape)))
    np.testing.assert_allclose(x.grad.to_numpy(), _ref_conv(g, w.permute(*perm), True), atol=1e-12)
    # ∂L/∂w: convolve the batch-swapped input with the batch-swapped gradient.
    dw = _ref_conv(x.permute(*perm), g.permute(*perm), False, (shape[1], wshape[0], *wshape[2:]))
    np.testing.assert_allclose(w.grad.to_numpy(), dw.transpose(perm), atol=1e-12)


def test_conv_gradcheck_including_non_contiguous_inputs() -> None:
    assert gradcheck(nn.conv1d, _t(2, 3, 6), _t(4, 3, 3))
    assert gradcheck(nn.conv2d, _t(2, 2, 4, 5), _t(3, 2, 2, 3))
    x = _t(5, 2, 3).permute(1, 2, 0)  # (2, 3, 5), strided
    w = _t(3, 4, 2).permute(1, 0, 2)  # (4, 3, 2), strided
    assert not x.is_contiguous() and not w.is_contiguous()
    assert gradcheck(nn.conv1d, x, w)
    xi = _t(4, 5, 2, 2).permute(2, 3, 0, 1)  # (2, 2, 4, 5)
    assert gradcheck(nn.conv2d, xi, _t(1, 2, 3, 2))


def test_conv_matches_pytorch_with_right_bottom_padding() -> None:
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for shape, wshape in [((3, 2, 9), (5, 2, 4)), ((2, 3, 6, 5), (4, 3, 3, 2))]:
        xa, wa = RNG.normal(size=shape), RNG.normal(size=wshape)
        x, w = Tensor(xa, requires_grad=True), Tensor(wa, requires_grad=True)
        tx = torch.tensor(xa, requires_grad=True)
        tw = torch.tensor(wa, requires_grad=True)
        if len(shape) == 3:
            out, tout = nn.conv1d(x, w), F.conv1d(F.pad(tx, (0, wshape[2] - 1)), tw)
        else:
            pad = (0, wshape[3] - 1, 0, wshape[2] - 1)
            out, tout = nn.conv2d(x, w), F.conv2d(F.pad(tx, pad), tw)
        np.testing.assert_allclose(out.to_numpy(), tout.detach().numpy(), atol=1e-10)
        ga = RNG.normal(size=out.shape)
        out.backward(Tensor(ga))
        tout.backward(torch.tensor(ga))
        np.testing.assert_allclose(x.grad.to_numpy(), tx.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(w.grad.to_numpy(), tw.grad.numpy(), atol=1e-10)


def test_conv_second_order_matches_pytorch() -> None:
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    xa, wa = RNG.normal(size=(2, 2, 4, 4)), RNG.normal(size=(3, 2, 2, 2))
    x, w = Tensor(xa, requires_grad=True), Tensor(wa, requires_grad=True)
    (nn.conv2d(x, w) ** 2).sum().backward(create_graph=True)
    gx, gw = x.grad, w.grad
    x.grad = w.grad = None
    ((gx * gx).sum() + (gw * gw).sum()).backward()
    tx, tw = torch.tensor(xa, requires_grad=True), torch.tensor(wa, requires_grad=True)
    tout = (F.conv2d(F.pad(tx, (0, 1, 0, 1)), tw) ** 2).sum()
    tgx, tgw = torch.autograd.grad(tout, (tx, tw), create_graph=True)
    ((tgx * tgx).sum() + (tgw * tgw).sum()).backward()
    np.testing.assert_allclose(x.grad.to_numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(w.grad.to_numpy(), tw.grad.numpy(), rtol=1e-9, atol=1e-9)


def test_conv_errors_name_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(2, 3, 5\).*\(4, 2, 3\)"):
        nn.conv1d(_t(2, 3, 5), _t(4, 2, 3))
    with pytest.raises(ValueError, match=r"\(1, 2, 4, 4\).*\(1, 3, 2, 2\)"):
        nn.conv2d(_t(1, 2, 4, 4), _t(1, 3, 2, 2))
    with pytest.raises(ValueError, match=r"\(B, Cin, H, W\)"):
        nn.conv2d(_t(2, 4, 4), _t(1, 2, 2, 2))


def test_conv_keeps_float32() -> None:
    x = Tensor(RNG.normal(size=(1, 2, 5)), dtype=np.float32)
    w = Tensor(RNG.normal(size=(3, 2, 2)), dtype=np.float32)
    assert nn.conv1d(x, w).dtype == np.float32


def test_unfold_and_fold_are_adjoint() -> None:
    x, kernel = _t(2, 3, 4, 5), (2, 3)
    cols = nn.unfold(x, kernel)
    assert cols.shape == (2, 3 * 6, 20)
    y = _t(*cols.shape)
    lhs = float((cols * y).sum().item())
    rhs = float((x * nn.fold(y, x.shape, kernel)).sum().item())
    assert lhs == pytest.approx(rhs, rel=1e-12)
    assert gradcheck(lambda a: nn.unfold(a, kernel), _t(1, 2, 3, 3))
    assert gradcheck(lambda c: nn.fold(c, (1, 2, 3, 3), kernel), _t(1, 12, 9))


# ---------------------------------------------------------------------------
# tile and pooling
# ---------------------------------------------------------------------------


def test_tile_layout_and_gradient() -> None:
    x = _t(2, 3, 4, 6)
    t, nh, nw = nn.tile(x, (2, 3))
    assert (t.shape, nh, nw) == ((2, 3, 2, 2, 6), 2, 2)
    a, b = x.to_numpy(), t.to_numpy()
    for i, j, p, q in np.ndindex(2, 2, 2, 3):
        assert b[1, 2, i, j, p * 3 + q] == a[1, 2, i * 2 + p, j * 3 + q]
    assert gradcheck(lambda v: nn.tile(v, (2, 2))[0], _t(1, 2, 4, 2))
    with pytest.raises(ValueError, match="divide"):
        nn.tile(_t(1, 1, 5, 4), (2, 2))


def test_pools_match_pytorch_and_gradcheck() -> None:
    x = _t(2, 3, 4, 6)
    assert nn.avgpool2d(x, (2, 3)).shape == (2, 3, 2, 2)
    assert nn.maxpool2d(x, (2, 2)).shape == (2, 3, 2, 3)
    assert gradcheck(lambda v: nn.avgpool2d(v, (2, 2)), _t(1, 2, 4, 4))
    assert gradcheck(lambda v: nn.maxpool2d(v, (2, 2)), _t(1, 2, 4, 4))
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x.to_numpy())
    np.testing.assert_allclose(
        nn.avgpool2d(x, (2, 3)).to_numpy(), torch.nn.functional.avg_pool2d(tx, (2, 3)).numpy()
    )
    np.testing.assert_allclose(
        nn.maxpool2d(x, (2, 2)).to_numpy(), torch.nn.functional.max_pool2d(tx, (2, 2)).numpy()
    )


def test_maxpool_gradient_goes_to_every_tied_max() -> None:
    x = minitorch.tensor([[1.0, 3.0], [3.0, 0.0]], requires_grad=True)
    nn.maxpool2d(x.view(1, 1, 2, 2), (2, 2)).sum().backward()
    assert x.grad.to_numpy().tolist() == [[0.0, 1.0], [1.0, 0.0]]


# ---------------------------------------------------------------------------
# max, argmax
# ---------------------------------------------------------------------------


def test_max_keeps_dim_and_backward_is_argmax() -> None:
    x = minitorch.tensor([[1.0, 5.0, 5.0], [7.0, 2.0, 3.0]], requires_grad=True)
    m = nn.max(x, 1)
    assert m.shape == (2, 1) and m.to_numpy().tolist() == [[5.0], [7.0]]
    assert nn.max(x, 0).shape == (1, 3)
    assert nn.max(x).shape == (1,)
    m.sum().backward()
    assert x.grad.to_numpy().tolist() == [[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]
    # The contract's form, with the dim as a tensor.
    assert nn.Max.apply(x, x._ensure_tensor(0)).to_numpy().tolist() == [[7.0, 5.0, 5.0]]
    assert gradcheck(lambda v: nn.max(v, 1), _t(3, 4))


def test_argmax_marks_every_tie_and_max_reduce() -> None:
    x = minitorch.tensor([[1.0, 5.0, 5.0], [7.0, 2.0, 3.0]])
    assert nn.argmax(x, 1).to_numpy().tolist() == [[0, 1, 1], [1, 0, 0]]
    assert nn.argmax(x, 0).to_numpy().tolist() == [[0, 1, 1], [1, 0, 0]]
    assert nn.argmax(x, -1).shape == x.shape
    assert nn.max_reduce(x, 0).to_numpy().tolist() == [[7.0, 5.0, 5.0]]


# ---------------------------------------------------------------------------
# softmax, logsoftmax
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_logsoftmax(dim: int) -> None:
    x = _t(3, 4) * 3.0
    s = nn.softmax(x, dim=dim)
    assert s.shape == x.shape
    np.testing.assert_allclose(s.sum(dim).to_numpy(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(nn.logsoftmax(x, dim=dim).exp().to_numpy(), s.to_numpy())
    assert gradcheck(lambda v: nn.softmax(v, dim), _t(3, 4))
    assert gradcheck(lambda v: nn.logsoftmax(v, dim), _t(3, 4))
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x.to_numpy())
    np.testing.assert_allclose(s.to_numpy(), torch.softmax(tx, dim).numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        nn.logsoftmax(x, dim).to_numpy(), torch.log_softmax(tx, dim).numpy(), rtol=1e-12
    )


def test_softmax_is_finite_for_large_inputs() -> None:
    x = minitorch.tensor([[1000.0, 0.0, -1000.0], [-5000.0, -5000.0, -5000.0]])
    ls = nn.logsoftmax(x, 1).to_numpy()
    assert np.isfinite(ls).all()
    np.testing.assert_allclose(ls[0], [0.0, -1000.0, -2000.0])
    np.testing.assert_allclose(nn.softmax(x, 1).to_numpy()[1], [1 / 3] * 3)
    assert gradcheck(lambda v: nn.logsoftmax(v, 1), x * 1.0)


def test_logsoftmax_second_order() -> None:
    torch = pytest.importorskip("torch")
    xa = RNG.normal(size=(2, 3))
    x = Tensor(xa, requires_grad=True)
    w = Tensor(RNG.normal(size=(2, 3)))
    (nn.logsoftmax(x, 1) * w).sum().backward(create_graph=True)
    g = x.grad
    x.grad = None
    (g * g).sum().backward()
    tx = torch.tensor(xa, requires_grad=True)
    (tg,) = torch.autograd.grad(
        (torch.log_softmax(tx, 1) * torch.tensor(w.to_numpy())).sum(), tx, create_graph=True
    )
    (tg * tg).sum().backward()
    np.testing.assert_allclose(x.grad.to_numpy(), tx.grad.numpy(), atol=1e-12)


# ---------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------


def test_dropout_contract() -> None:
    x = _t(20, 30) + 5.0
    assert nn.dropout(x, 0.0).to_numpy().tolist() == x.to_numpy().tolist()
    assert nn.dropout(x, 0.7, ignore=True).to_numpy().tolist() == x.to_numpy().tolist()
    z = nn.dropout(x, 1.0).to_numpy()
    assert (z == 0.0).all() and not np.isnan(z).any()
    d = nn.dropout(x, 0.3).to_numpy()
    kept = d != 0
    np.testing.assert_array_equal(d[kept], x.to_numpy()[kept])  # no 1/(1 - rate) rescaling
    assert 0.6 < kept.mean() < 0.8


def test_dropout_is_reproducible_after_random_seed() -> None:
    x = _t(10, 10)
    random.seed(3)
    a = nn.dropout(x, 0.5).to_numpy()
    random.seed(3)
    b = nn.dropout(x, 0.5).to_numpy()
    c = nn.dropout(x, 0.5).to_numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


def test_dropout_gradient_is_the_mask() -> None:
    x = _t(4, 5, requires_grad=True)
    out = nn.dropout(x, 0.5)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.to_numpy(), (out.to_numpy() != 0).astype(float))

    def seeded(v: Tensor) -> Tensor:
        random.seed(0)  # the same mask on every call
        return nn.dropout(v, 0.5)

    assert gradcheck(seeded, _t(3, 4))


# ---------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_and_nll_match_pytorch(reduction: str) -> None:
    logits, target = _t(5, 4), [0, 3, 1, 1, 2]
    assert gradcheck(lambda v: nn.cross_entropy(v, target, reduction=reduction), logits)
    assert gradcheck(lambda v: nn.nll_loss(v, target, reduction=reduction), logits)
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for ours, theirs in [(nn.cross_entropy, F.cross_entropy), (nn.nll_loss, F.nll_loss)]:
        x = Tensor(logits.to_numpy(), requires_grad=True)
        tx = torch.tensor(logits.to_numpy(), requires_grad=True)
        out = ours(x, Tensor([float(t) for t in target]), reduction=reduction)
        tout = theirs(tx, torch.tensor(target), reduction=reduction)
        np.testing.assert_allclose(out.to_numpy().reshape(-1), tout.detach().numpy().reshape(-1))
        out.sum().backward()
        tout.sum().backward()
        np.testing.assert_allclose(x.grad.to_numpy(), tx.grad.numpy(), atol=1e-12)


def test_class_index_errors() -> None:
    with pytest.raises(IndexError, match=r"target class 4 at position 1 .* 4 classes"):
        nn.cross_entropy(_t(2, 4), [0, 4])
    with pytest.raises(IndexError, match="-1"):
        nn.nll_loss(_t(2, 4), np.array([-1, 0]))
    with pytest.raises(ValueError, match="integer"):
        nn.cross_entropy(_t(2, 4), [0.5, 1])
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        nn.cross_entropy(_t(2, 4), [0, 1, 2])
    with pytest.raises(ValueError, match="reduction"):
        nn.cross_entropy(_t(2, 4), [0, 1], reduction="avg")


def test_cross_entropy_is_finite_for_huge_logits() -> None:
    x = minitorch.tensor([[1e4, -1e4, 0.0]], requires_grad=True)
    loss = nn.cross_entropy(x, [1])
    assert loss.item() == pytest.approx(2e4)
    loss.backward()
    assert np.isfinite(x.grad.to_numpy()).all()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropies_and_mse_match_pytorch(reduction: str) -> None:
    p = Tensor(RNG.uniform(0.05, 0.95, size=(3, 4)))
    z = _t(3, 4) * 3.0
    y = Tensor(RNG.uniform(0.0, 1.0, size=(3, 4)))
    assert gradcheck(lambda a, b: nn.binary_cross_entropy(a, b, reduction), p, y)
    assert gradcheck(lambda a, b: nn.binary_cross_entropy_with_logits(a, b, reduction), z, y)
    assert gradcheck(lambda a, b: nn.mse_loss(a, b, reduction), z, y)
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    cases = [
        (nn.binary_cross_entropy, F.binary_cross_entropy, p),
        (nn.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits, z),
        (nn.mse_loss, F.mse_loss, z),
    ]
    for ours, theirs, inp in cases:
        a = Tensor(inp.to_numpy(), requires_grad=True)
        b = Tensor(y.to_numpy(), requires_grad=True)
        ta = torch.tensor(inp.to_numpy(), requires_grad=True)
        tb = torch.tensor(y.to_numpy(), requires_grad=True)
        out, tout = ours(a, b, reduction), theirs(ta, tb, reduction=reduction)
        np.testing.assert_allclose(out.to_numpy().reshape(-1), tout.detach().numpy().reshape(-1))
        out.sum().backward()
        tout.sum().backward()
        np.testing.assert_allclose(a.grad.to_numpy(), ta.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(b.grad.to_numpy(), tb.grad.numpy(), atol=1e-12)


def test_bce_with_logits_is_stable_and_bce_checks_its_input() -> None:
    z = minitorch.tensor([1000.0, -1000.0, 0.0], requires_grad=True)
    y = minitorch.tensor([0.0, 1.0, 1.0])
    loss = nn.binary_cross_entropy_with_logits(z, y, reduction="none")
    np.testing.assert_allclose(loss.to_numpy(), [1000.0, 1000.0, np.log(2.0)])
    loss.sum().backward()
    np.testing.assert_allclose(z.grad.to_numpy(), [1.0, -1.0, -0.5])
    p = minitorch.tensor([0.0, 1.0])
    np.testing.assert_allclose(
        nn.binary_cross_entropy(p, minitorch.tensor([1.0, 0.0]), "none").to_numpy(), [100, 100]
    )
    with pytest.raises(ValueError, match="probabilities"):
        nn.binary_cross_entropy(minitorch.tensor([1.5]), minitorch.tensor([1.0]))
    with pytest.raises(ValueError, match=r"\(3,\).*\(3, 1\)"):
        nn.mse_loss(_t(3), _t(3, 1))


# ---------------------------------------------------------------------------
# embedding
# ---------------------------------------------------------------------------


def test_embedding_gathers_rows_and_scatters_gradients() -> None:
    w = _t(5, 3, requires_grad=True)
    idx = [[0, 2, 2], [4, 0, 1]]
    out = nn.embedding(idx, w)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.to_numpy(), w.to_numpy()[np.array(idx)])
    assert gradcheck(lambda v: nn.embedding(idx, v), _t(5, 3))
    out.sum().backward()
    assert w.grad.to_numpy()[:, 0].tolist() == [2.0, 1.0, 2.0, 0.0, 1.0]
    with pytest.raises(IndexError, match="5 rows"):
        nn.embedding([5], w)


# ---------------------------------------------------------------------------
# Second derivatives of every differentiable op (small shapes)
# ---------------------------------------------------------------------------

TARGET = [0, 3, 1]


def _seeded_dropout(v: Tensor) -> Tensor:
    random.seed(0)  # the same mask on every call
    return nn.dropout(v, 0.5)


SECOND_ORDER: list[tuple[str, Any, list[tuple[int, ...]]]] = [
    ("conv1d", nn.conv1d, [(2, 2, 5), (3, 2, 3)]),
    ("conv1d_squared", lambda x, w: nn.conv1d(x, w) ** 2, [(2, 2, 5), (3, 2, 3)]),
    ("conv2d", nn.conv2d, [(2, 2, 3, 4), (2, 2, 2, 3)]),
    ("conv2d_squared", lambda x, w: nn.conv2d(x, w) ** 2, [(1, 2, 3, 3), (2, 2, 2, 2)]),
    ("conv2d_of_conv2d", lambda x, w: nn.conv2d(nn.conv2d(x, w), w), [(1, 2, 3, 3), (2, 2, 2, 2)]),
    ("unfold", lambda x: nn.unfold(x, (2, 2)) ** 2, [(1, 2, 3, 3)]),
    ("fold", lambda c: nn.fold(c, (1, 2, 3, 3), (2, 2)) ** 2, [(1, 8, 9)]),
    ("tile", lambda x: nn.tile(x, (2, 2))[0] ** 2, [(1, 2, 4, 2)]),
    ("avgpool2d", lambda x: nn.avgpool2d(x, (2, 2)) ** 2, [(1, 2, 4, 4)]),
    ("maxpool2d", lambda x: nn.maxpool2d(x, (2, 3)) ** 2, [(2, 2, 4, 6)]),
    ("max", lambda x: nn.max(x, 1) * x, [(3, 4)]),
    ("softmax", lambda x: nn.softmax(x, 1), [(3, 4)]),
    ("softmax_dim0", lambda x: nn.softmax(x, 0), [(3, 4)]),
    ("logsoftmax", lambda x: nn.logsoftmax(x, 1), [(3, 4)]),
    ("logsoftmax_squared", lambda x: nn.logsoftmax(x, -1) ** 2, [(3, 4)]),
    ("dropout", _seeded_dropout, [(3, 4)]),
    ("cross_entropy", lambda x: nn.cross_entropy(x, TARGET), [(3, 4)]),
    (
        "cross_entropy_smoothed",
        lambda x: nn.cross_entropy(x, TARGET, reduction="sum", label_smoothing=0.1),
        [(3, 4)],
    ),
    (
        "cross_entropy_weighted_ignored_spatial",
        lambda x: nn.cross_entropy(
            x, [[0, 3], [-100, 1]], [0.5, 1.0, 2.0, 1.5], label_smoothing=0.2
        ),
        [(2, 4, 2)],
    ),
    ("cross_entropy_probabilities", lambda x, p: nn.cross_entropy(x, p), [(3, 4), (3, 4)]),
    ("nll_loss", lambda x: nn.nll_loss(x, TARGET, reduction="none") ** 2, [(3, 4)]),
    (
        "conv2d_stride_padding_dilation_bias",
        lambda x, w, b: nn.conv2d(x, w, b, stride=2, padding=1, dilation=(1, 2)) ** 2,
        [(1, 2, 5, 5), (2, 2, 2, 2), (2,)],
    ),
    (
        "conv1d_groups",
        lambda x, w: nn.conv1d(x, w, padding=1, groups=2) ** 2,
        [(1, 4, 5), (2, 2, 3)],
    ),
    ("max_pool2d_overlapping", lambda x: nn.max_pool2d(x, 3, 2, 1) ** 2, [(1, 2, 5, 6)]),
    (
        "avg_pool2d_padded",
        lambda x: nn.avg_pool2d(x, 3, 2, 1, count_include_pad=False) ** 2,
        [(1, 1, 5, 4)],
    ),
    ("mse_loss", nn.mse_loss, [(3, 4), (3, 4)]),
    ("bce_with_logits", nn.binary_cross_entropy_with_logits, [(3, 4), (3, 4)]),
    ("embedding", lambda w: nn.embedding([[0, 2], [2, 1]], w) ** 2, [(3, 2)]),
]


@pytest.mark.parametrize(("name", "f", "shapes"), SECOND_ORDER, ids=[c[0] for c in SECOND_ORDER])
def test_second_derivatives(name: str, f: Any, shapes: list[tuple[int, ...]]) -> None:
    assert gradgradcheck(f, *[_t(*s) for s in shapes])


def test_second_derivatives_of_conv_with_strided_inputs() -> None:
    x = _t(5, 2, 3).permute(1, 2, 0)  # (2, 3, 5), strided
    w = _t(3, 4, 2).permute(1, 0, 2)  # (4, 3, 2), strided
    assert gradgradcheck(lambda a, b: nn.conv1d(a, b) ** 2, x, w)


def test_second_derivatives_of_binary_cross_entropy() -> None:
    # ∂²/∂p∂y = −1/(p(1 − p)) as well: the target's gradient log(1 − p) − log p is recorded.
    p = Tensor(RNG.uniform(0.1, 0.9, size=(2, 3)))
    y = Tensor(RNG.uniform(0.0, 1.0, size=(2, 3)))
    assert gradgradcheck(nn.binary_cross_entropy, p, y)
    assert gradgradcheck(lambda a, b: nn.binary_cross_entropy(a, b, "none") ** 2, p, y)


def test_conv_third_derivative_goes_through_the_conv_functions() -> None:
    # The recorded gradients are made of Conv2dFun, _ConvBackwardInput and
    # _ConvBackwardWeight, and so is every higher derivative.
    x, w = _t(1, 2, 3, 3, requires_grad=True), _t(2, 2, 2, 2, requires_grad=True)
    v = _t(1, 2, 3, 3)
    (nn.conv2d(x, w) ** 2).sum().backward(create_graph=True)
    fns = set()
    stack = [x.grad, w.grad]
    while stack:
        t = stack.pop()
        if t.history is not None and t.history.last_fn is not None:
            fns.add(t.history.last_fn.__name__)
            stack.extend(i for i in t.history.inputs if isinstance(i, Tensor))
    assert {"Conv2dFun", "_ConvBackwardInput", "_ConvBackwardWeight"} <= fns

    def third(a: Tensor, b: Tensor) -> Tensor:
        g = minitorch.grad(lambda u: (nn.conv2d(u, b) ** 2).sum())(a)
        return (g * v).sum() * (g * v).sum()  # gradgradcheck: 3rd and 4th derivatives of conv²

    assert gradgradcheck(third, _t(1, 2, 3, 3), _t(2, 2, 2, 2))


def test_nn_ops_do_not_read_the_grad_mode_and_fast_conv_sits_below_nn() -> None:
    import ast
    import inspect

    for mod in (nn, minitorch.fast_conv, minitorch.functional):
        tree = ast.parse(inspect.getsource(mod))
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        imported = {
            a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names
        }
        assert not ({"_GRAD_MODE", "is_grad_enabled"} & (names | imported)), mod.__name__
    tree = ast.parse(inspect.getsource(minitorch.fast_conv))
    sources = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    below = {
        "__future__",
        "collections.abc",
        "typing",
        None,  # `from . import _trace`: minitorch.compile's hooks
        "autodiff",
        "devices",  # the array namespace of a tensor's device
        "tensor",
        "tensor_data",
    }
    assert sources <= below | {"tensor_functions"}, sources


# ---------------------------------------------------------------------------
# Top-level names (contract §0)
# ---------------------------------------------------------------------------

CONTRACT_NAMES = [
    "Conv1dFun",
    "Conv2dFun",
    "conv1d",
    "conv2d",
    "tile",
    "avgpool2d",
    "maxpool2d",
    "max",
    "Max",
    "argmax",
    "softmax",
    "logsoftmax",
    "dropout",
]


def test_contract_names_are_exported_from_nn() -> None:
    for name in CONTRACT_NAMES:
        assert getattr(minitorch, name) is getattr(nn, name), name
        assert name in minitorch.__all__
    assert minitorch.max is nn.max  # the nn reduction, not the builtin
    assert minitorch.fast_conv.conv2d is nn.conv2d  # the course's module name works too
    for name in ["cross_entropy", "nll_loss", "binary_cross_entropy", "mse_loss"]:
        assert getattr(minitorch, name) is getattr(nn, name)
    for name in ["Linear", "Conv2d", "Sequential", "DataLoader", "Adam", "AdamW", "StepLR"]:
        assert hasattr(minitorch, name) and name in minitorch.__all__
    assert minitorch.ReLU is minitorch.tensor_functions.ReLU  # the layer is layers.ReLU


def test_recorded_nn_graphs_hold_no_reference_cycles() -> None:
    """A graph that is dropped without backward is freed by reference counting alone
    (a Function that saved its own output would keep itself alive in a cycle)."""
    import gc

    rng = np.random.default_rng(0)
    x = minitorch.Tensor(rng.normal(size=(2, 1, 4, 4)), requires_grad=True)
    w = minitorch.Tensor(rng.normal(size=(2, 1, 3, 3)), requires_grad=True)
    gc.collect()
    gc.disable()
    try:
        z = minitorch.conv2d(x, w)
        z = minitorch.maxpool2d(z, (2, 2)).view(2, 8)
        out = minitorch.logsoftmax(z, 1) + minitorch.softmax(z, 1)
        loss = minitorch.nn.cross_entropy(z, [1, 3]) + out.sum()
        del z, out, loss
        assert gc.collect() == 0
    finally:
        gc.enable()

"""PyTorch's options on the nn functions and layers (issue 10), checked against PyTorch.

Convolutions with bias, stride, padding, dilation and groups; pooling with int kernels,
stride, padding (and dilation for max); cross_entropy / nll_loss with weight,
ignore_index, reductions, probability targets and (N, C, d…) inputs; inverted dropout;
the functional names and the extra layers. Values and gradients are compared with
PyTorch (float64, exact to 1e-12), gradients also with ``minitorch.gradcheck``; the
course's forms (``conv2d(x, w)``, ``maxpool2d(x, (2, 2))``, ``dropout``) keep the contract.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch
from minitorch import Tensor, gradcheck, layers, nn

torch = pytest.importorskip("torch", reason="PyTorch is the oracle of these tests")
F = torch.nn.functional
RNG = np.random.default_rng(10)


def _t(*shape: int, requires_grad: bool = False) -> Tensor:
    return Tensor(RNG.normal(size=shape), requires_grad=requires_grad)


def _same(ours: Tensor, theirs: Any, inputs: list[tuple[Tensor, Any]], atol: float = 1e-12) -> None:
    """Equal values, then equal gradients of every input after one random output gradient."""
    assert ours.shape == (tuple(theirs.shape) or (1,))
    np.testing.assert_allclose(
        ours.to_numpy().reshape(-1), theirs.detach().numpy().reshape(-1), atol=atol
    )
    g = RNG.normal(size=ours.shape)
    ours.backward(Tensor(g))
    theirs.backward(torch.tensor(g).reshape(theirs.shape))
    for mine, tv in inputs:
        np.testing.assert_allclose(mine.grad.to_numpy(), tv.grad.numpy(), atol=atol)


def _pair(a: np.ndarray) -> tuple[Tensor, Any]:
    return Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


# ---------------------------------------------------------------------------
# Convolutions
# ---------------------------------------------------------------------------


@st.composite
def conv_cases(draw: Any) -> dict[str, Any]:
    n = draw(st.sampled_from([1, 2]))
    groups = draw(st.sampled_from([1, 2]))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(n))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(n))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(n))
    padding: Any = draw(
        st.one_of(
            st.integers(0, 2),
            st.tuples(*(st.integers(0, 2) for _ in range(n))),
            st.sampled_from(["valid", "same"]),
        )
    )
    if padding == "same":
        stride = (1,) * n
    spatial = tuple(
        draw(st.integers(d * (k - 1) + 1, d * (k - 1) + 5)) for k, d in zip(kernel, dilation)
    )
    return {
        "n": n,
        "x": (draw(st.integers(1, 2)), 2 * groups, *spatial),
        "w": (2 * groups, 2, *kernel),
        "bias": draw(st.booleans()),
        "kw": {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups},
    }


@given(conv_cases())
def test_conv_options_match_pytorch(case: dict[str, Any]) -> None:
    ours_fn, theirs_fn = (nn.conv1d, F.conv1d) if case["n"] == 1 else (nn.conv2d, F.conv2d)
    (x, tx), (w, tw) = _pair(RNG.normal(size=case["x"])), _pair(RNG.normal(size=case["w"]))
    inputs = [(x, tx), (w, tw)]
    b = tb = None
    if case["bias"]:
        b, tb = _pair(RNG.normal(size=case["w"][0]))
        inputs.append((b, tb))
    _same(ours_fn(x, w, b, **case["kw"]), theirs_fn(tx, tw, tb, **case["kw"]), inputs)


def test_conv_options_gradcheck_and_strided_inputs() -> None:
    x = _t(6, 3, 2).permute(2, 1, 0)  # (2, 3, 6), strided
    w = _t(3, 4, 2).permute(1, 0, 2)  # (4, 3, 2), strided
    assert gradcheck(lambda a, b: nn.conv1d(a, b, stride=2, padding=1, dilation=2), x, w)
    assert gradcheck(
        lambda a, b, c: nn.conv2d(a, b, c, stride=(2, 1), padding=(1, 2), groups=2),
        _t(1, 4, 5, 4),
        _t(2, 2, 3, 2),
        _t(2),
    )


def test_course_conv_with_stride_and_dilation_pads_right_only() -> None:
    """No padding argument: the course's right/bottom padding, d·(K − 1) zeros, then the
    stride: W_out = ⌈W / s⌉ (the same windows as the stride-1 output, every s-th)."""
    xa, wa = RNG.normal(size=(2, 3, 9)), RNG.normal(size=(4, 3, 3))
    x, w = Tensor(xa), Tensor(wa)
    full = nn.conv1d(x, w).to_numpy()
    np.testing.assert_allclose(nn.conv1d(x, w, stride=2).to_numpy(), full[:, :, ::2], atol=1e-12)
    assert nn.conv1d(x, w, stride=4).shape == (2, 4, 3)
    (x2, tx), (w2, tw) = _pair(xa), _pair(wa)
    _same(
        nn.conv1d(x2, w2, dilation=2, stride=3),
        F.conv1d(F.pad(tx, (0, 4)), tw, dilation=2, stride=3),
        [(x2, tx), (w2, tw)],
    )
    img, k = _t(1, 2, 5, 6), _t(3, 2, 2, 3)
    np.testing.assert_allclose(
        nn.conv2d(img, k, stride=(2, 3)).to_numpy(), nn.conv2d(img, k).to_numpy()[:, :, ::2, ::3]
    )
    # Bias on the course's form, and the contract's call is still Conv2dFun.apply exactly.
    bias = _t(3)
    np.testing.assert_allclose(
        nn.conv2d(img, k, bias).to_numpy(),
        nn.Conv2dFun.apply(img, k).to_numpy() + bias.to_numpy().reshape(1, 3, 1, 1),
    )
    assert nn.conv2d(img, k).shape == (1, 3, 5, 6)
    assert nn.conv2d(img, k, padding=0).shape == (1, 3, 4, 4)


def test_conv_padding_same_puts_the_odd_zero_on_the_right() -> None:
    x = minitorch.tensor([1.0, 2.0, 3.0]).view(1, 1, 3)
    w = minitorch.tensor([1.0, 10.0]).view(1, 1, 2)
    # total padding 1: none on the left, one zero on the right.
    assert nn.conv1d(x, w, padding="same").to_numpy().reshape(-1).tolist() == [21.0, 32.0, 3.0]


def test_conv_keeps_float32_with_options() -> None:
    x = Tensor(RNG.normal(size=(1, 2, 6, 6)), dtype=np.float32)
    w = Tensor(RNG.normal(size=(4, 1, 3, 3)), dtype=np.float32)
    assert nn.conv2d(x, w, stride=2, padding=1, groups=2).dtype == np.float32


def test_conv_option_errors_name_the_problem() -> None:
    x, w = _t(1, 2, 5, 5), _t(3, 2, 3, 3)
    with pytest.raises(ValueError, match="'valid' or 'same', got 'full'"):
        nn.conv2d(x, w, padding="full")
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        nn.conv2d(x, w, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"padding must be >= 0"):
        nn.conv2d(x, w, padding=-1)
    with pytest.raises(TypeError, match="stride must be an int or a tuple of 2 ints"):
        nn.conv2d(x, w, stride=(1, 2, 3))
    with pytest.raises(ValueError, match="dilation must be >= 1"):
        nn.conv1d(_t(1, 2, 5), _t(3, 2, 2), dilation=0)
    with pytest.raises(ValueError, match=r"spatial size \(5, 5\) is too small .* output would"):
        nn.conv2d(x, w, dilation=3, padding=0)
    with pytest.raises(ValueError, match=r"expects Cin=4 \(2 per group, groups=2\)"):
        nn.conv2d(x, w, groups=2, padding=1)
    with pytest.raises(ValueError, match="not divisible by groups=2"):
        nn.conv2d(_t(1, 4, 5, 5), _t(3, 2, 3, 3), groups=2, padding=1)
    with pytest.raises(ValueError, match="groups must be a positive int"):
        nn.conv2d(x, w, groups=0)
    with pytest.raises(ValueError, match=r"bias must be a Tensor of shape \(3,\).*got \(2,\)"):
        nn.conv2d(x, w, _t(2))


# ---------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------

POOL_GRID = list(itertools.product([1, 2, 3, (2, 3)], [None, 1, 2, 3], [0, 1], [1, 2]))


@pytest.mark.parametrize(("kernel", "stride", "padding", "dilation"), POOL_GRID)
def test_pooling_matches_pytorch(kernel: Any, stride: Any, padding: int, dilation: int) -> None:
    xa = RNG.normal(size=(2, 3, 7, 8))
    ks = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    if 2 * padding > dilation * (min(ks) - 1) + 1:
        with pytest.raises(ValueError, match="at most half of the kernel"):
            nn.max_pool2d(Tensor(xa), kernel, stride, padding, dilation)
        return
    cases: list[tuple[Any, Any, Any]] = [
        (nn.max_pool2d, F.max_pool2d, (kernel, stride, padding, dilation)),
        (nn.maxpool2d, F.max_pool2d, (kernel, stride or kernel, padding, dilation)),
    ]
    if dilation == 1 and 2 * padding <= min(ks):
        cases += [
            (nn.avg_pool2d, F.avg_pool2d, (kernel, stride, padding)),
            (nn.avgpool2d, F.avg_pool2d, (kernel, stride or kernel, padding)),
            (
                lambda v, *a: nn.avg_pool2d(v, *a, count_include_pad=False),
                lambda v, *a: F.avg_pool2d(v, *a, count_include_pad=False),
                (kernel, stride, padding),
            ),
        ]
    if not isinstance(kernel, tuple):
        cases.append((nn.max_pool1d, F.max_pool1d, (kernel, stride, padding, dilation)))
        if dilation == 1 and 2 * padding <= kernel:
            cases.append((nn.avg_pool1d, F.avg_pool1d, (kernel, stride, padding)))
    for ours, theirs, args in cases:
        a = xa[:, :, 0] if ours in (nn.max_pool1d, nn.avg_pool1d) else xa
        x, tx = _pair(a)
        _same(ours(x, *args), theirs(tx, *args), [(x, tx)])


def test_pooling_unbatched_inputs_and_divisor_override() -> None:
    xa = RNG.normal(size=(3, 6, 7))
    for ours, theirs in [(nn.max_pool2d, F.max_pool2d), (nn.avg_pool2d, F.avg_pool2d)]:
        x, tx = _pair(xa)
        _same(ours(x, 3, 2, 1), theirs(tx, 3, 2, 1), [(x, tx)])
    x, tx = _pair(xa[0])  # (C, W)
    _same(nn.max_pool1d(x, 2), F.max_pool1d(tx, 2), [(x, tx)])
    x, tx = _pair(xa[None])
    _same(
        nn.avg_pool2d(x, 2, divisor_override=3), F.avg_pool2d(tx, 2, divisor_override=3), [(x, tx)]
    )


def test_pooling_gradcheck_with_overlapping_windows() -> None:
    assert gradcheck(lambda v: nn.max_pool2d(v, 3, 1, 1), _t(1, 2, 4, 5))
    assert gradcheck(lambda v: nn.avg_pool2d(v, 3, 2, 1, count_include_pad=False), _t(1, 2, 5, 4))
    assert gradcheck(lambda v: nn.max_pool1d(v, 2, 1, dilation=2), _t(2, 1, 6))


def test_overlapping_max_pool_sends_the_gradient_once_per_window() -> None:
    x = minitorch.tensor([[0.0, 5.0, 1.0, 2.0]], requires_grad=True)
    nn.max_pool1d(x.view(1, 1, 4), 2, 1).sum().backward()  # windows [0,5], [5,1], [1,2]
    assert x.grad.to_numpy().tolist() == [[0.0, 2.0, 0.0, 1.0]]


def test_course_pooling_forms_keep_the_contract() -> None:
    x = _t(2, 3, 4, 6)
    np.testing.assert_array_equal(nn.maxpool2d(x, 2).to_numpy(), nn.maxpool2d(x, (2, 2)).to_numpy())
    with pytest.raises(ValueError, match=r"must divide .* pass stride=\(3, 3\)"):
        nn.maxpool2d(x, 3)
    with pytest.raises(ValueError, match="must divide"):
        nn.avgpool2d(x, (3, 4))
    assert nn.maxpool2d(x, 3, stride=3).shape == (2, 3, 1, 2)  # PyTorch's floor
    assert nn.avgpool2d(x, 3, 3).shape == (2, 3, 1, 2)
    assert nn.max_pool2d(x, 3).shape == (2, 3, 1, 2)


def test_pooling_errors() -> None:
    x = _t(1, 1, 4, 4)
    with pytest.raises(NotImplementedError, match="ceil_mode=True is not supported"):
        nn.max_pool2d(x, 2, ceil_mode=True)
    with pytest.raises(NotImplementedError, match="return_indices=True"):
        nn.max_pool1d(_t(1, 1, 4), 2, return_indices=True)
    with pytest.raises(ValueError, match=r"shape \(B, C, H, W\), got shape \(1, 1, 1, 4, 4\)"):
        nn.max_pool2d(_t(1, 1, 1, 4, 4), 2)
    with pytest.raises(ValueError, match=r"\(B, C, W\) or \(C, W\), got \(4,\)"):
        nn.avg_pool1d(_t(4), 2)
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        nn.max_pool2d(x, 0)
    with pytest.raises(ValueError, match="too small"):
        nn.max_pool2d(x, 5)
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=2.*at most half"):
        layers.MaxPool2d(2, padding=2)(x)


# ---------------------------------------------------------------------------
# cross_entropy and nll_loss
# ---------------------------------------------------------------------------

LOSS_GRID = [
    c
    for c in itertools.product(
        [(5, 4), (3, 4, 2, 3), (4,)],
        ["mean", "sum", "none"],
        [False, True],
        [-100, 1],
        [0.0, 0.2],
        ["indices", "probabilities", "nll"],
    )
    if not (c[5] == "nll" and c[4]) and not (c[5] == "probabilities" and c[3] != -100)
]


@pytest.mark.parametrize(
    ("shape", "reduction", "weighted", "ignore", "smoothing", "kind"), LOSS_GRID
)
def test_losses_match_pytorch(
    shape: tuple[int, ...], reduction: str, weighted: bool, ignore: int, smoothing: float, kind: str
) -> None:
    c = shape[0] if len(shape) == 1 else shape[1]
    target: Any = RNG.integers(0, c, size=() if len(shape) == 1 else (shape[0], *shape[2:]))
    if target.size > 2:
        target.reshape(-1)[1] = ignore if ignore != 1 else target.reshape(-1)[1]
    ttarget = torch.tensor(target)
    if kind == "probabilities":
        p = RNG.random(size=shape)
        target = p / p.sum(axis=0 if len(shape) == 1 else 1, keepdims=True)
        ttarget = torch.tensor(target)
        target = Tensor(target)
    elif len(shape) == 1:
        target = int(target)
    w = RNG.random(c) + 0.5 if weighted else None
    x, tx = _pair(RNG.normal(size=shape))
    kw: dict[str, Any] = {"ignore_index": ignore, "reduction": reduction}
    tw = None if w is None else torch.tensor(w)
    ow = None if w is None else Tensor(w)
    if kind == "nll":
        ours, theirs = nn.nll_loss(x, target, ow, **kw), F.nll_loss(tx, ttarget, tw, **kw)
    else:
        kw["label_smoothing"] = smoothing
        ours = nn.cross_entropy(x, target, ow, **kw)
        theirs = F.cross_entropy(tx, ttarget, tw, **kw)
    _same(ours, theirs, [(x, tx)])


def test_cross_entropy_gradients_reach_probability_targets() -> None:
    (x, tx), (p, tp) = _pair(RNG.normal(size=(3, 4, 2))), _pair(RNG.random(size=(3, 4, 2)))
    ours = nn.cross_entropy(x, p, label_smoothing=0.1, reduction="sum")
    _same(ours, F.cross_entropy(tx, tp, label_smoothing=0.1, reduction="sum"), [(x, tx), (p, tp)])
    assert gradcheck(lambda a, b: nn.cross_entropy(a, b), _t(2, 3), _t(2, 3))
    arr = RNG.random(size=(2, 3))  # a float NumPy array of the input's shape: probabilities
    np.testing.assert_allclose(
        nn.cross_entropy(Tensor(arr), arr).item(),
        F.cross_entropy(torch.tensor(arr), torch.tensor(arr)).item(),
    )


def test_loss_targets_from_lists_arrays_and_tensors_agree() -> None:
    x = _t(4, 3)
    ref = nn.cross_entropy(x, [0, 2, 1, 2]).item()
    for target in (
        np.array([0, 2, 1, 2]),
        np.array([0, 2, 1, 2], dtype=np.int32),
        Tensor([0.0, 2.0, 1.0, 2.0]),
        (0, 2, 1, 2),
    ):
        assert nn.cross_entropy(x, target).item() == ref
    assert nn.cross_entropy(_t(3), 2).shape == (1,)  # unbatched (C,) input, one class


def test_all_ignored_mean_is_nan_as_in_pytorch() -> None:
    x = _t(2, 3, requires_grad=True)
    loss = nn.cross_entropy(x, [-100, -100])
    assert np.isnan(loss.item())
    loss.backward()
    assert (x.grad.to_numpy() == 0).all()  # PyTorch's gradient here is zero too
    assert nn.cross_entropy(_t(2, 3), [-100, -100], reduction="sum").item() == 0.0


def test_loss_target_errors_name_shapes_and_positions() -> None:
    x4 = _t(2, 3, 4)
    with pytest.raises(IndexError, match=r"target class 3 at position \(1, 2\) .* 3 classes"):
        nn.cross_entropy(x4, [[0, 1, 2, 0], [0, 1, 3, 0]])
    with pytest.raises(ValueError, match=r"class indices of shape \(2, 4\) or the input's shape"):
        nn.cross_entropy(x4, [0, 1])
    with pytest.raises(ValueError, match=r"shape \(2, 4\) for input of shape \(2, 3, 4\); got"):
        nn.nll_loss(x4, _t(2, 3, 4))
    with pytest.raises(ValueError, match=r"integer class indices, got 1.5 at position 1"):
        nn.nll_loss(_t(2, 3), Tensor([0.0, 1.5]))
    with pytest.raises(ValueError, match=r"integer class indices, got nan"):
        nn.cross_entropy(_t(2, 3), np.array([0.0, np.nan]))
    with pytest.raises(IndexError, match="or ignore_index=-100"):
        nn.cross_entropy(_t(2, 3), [-1, 0])
    with pytest.raises(TypeError, match="pass reduction='sum' by keyword"):
        nn.cross_entropy(_t(2, 3), [0, 1], "sum")
    with pytest.raises(ValueError, match=r"one number per class, shape \(3,\); got shape \(2,\)"):
        nn.cross_entropy(_t(2, 3), [0, 1], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"weight is used as a constant .* weight.detach\(\)"):
        nn.cross_entropy(_t(2, 3), [0, 1], Tensor([1.0, 2.0, 3.0], requires_grad=True))
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.nll_loss(_t(2, 3), [0, 1], reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        nn.cross_entropy(_t(2, 3), [0, 1], label_smoothing=-0.1)


# ---------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------


def test_inverted_dropout_rescales_and_layer_uses_it() -> None:
    x = Tensor(np.full((200, 50), 2.0), requires_grad=True)
    out = nn.inverted_dropout(x, 0.25)
    values = set(np.unique(out.to_numpy()).tolist())
    assert values == {0.0, 2.0 / 0.75}
    assert abs(out.to_numpy().mean() - 2.0) < 0.05  # expected value kept
    out.sum().backward()
    assert set(np.unique(x.grad.to_numpy()).tolist()) == {0.0, 1.0 / 0.75}
    assert nn.inverted_dropout(x, 0.3, training=False) is x
    assert nn.inverted_dropout(x, 0.0) is x
    zeros = nn.inverted_dropout(x, 1.0).to_numpy()
    assert not np.isnan(zeros).any() and (zeros == 0).all()
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        nn.inverted_dropout(x, 1.5)
    layer = layers.Dropout(0.5)
    random.seed(3)
    a = layer(x).to_numpy()
    random.seed(3)
    np.testing.assert_array_equal(a, nn.inverted_dropout(x, 0.5).to_numpy())
    assert set(np.unique(a).tolist()) == {0.0, 4.0}
    assert (layers.Dropout(1.0)(x).to_numpy() == 0).all()
    layer.eval()
    assert layer(x) is x
    assert repr(layer) == repr(torch.nn.Dropout(0.5))
    with pytest.raises(NotImplementedError, match="inplace=True"):
        layers.Dropout(0.5, inplace=True)
    # The course's nn.dropout keeps its values (contract §10).
    random.seed(3)
    kept = nn.dropout(x, 0.5).to_numpy()
    assert set(np.unique(kept).tolist()) == {0.0, 2.0}


# ---------------------------------------------------------------------------
# Functional names and layers
# ---------------------------------------------------------------------------


def test_functional_names() -> None:
    x = _t(3, 4)
    np.testing.assert_array_equal(nn.log_softmax(x, -1).to_numpy(), nn.logsoftmax(x, 1).to_numpy())
    np.testing.assert_allclose(
        nn.softmax(x, -1).to_numpy(), F.softmax(torch.tensor(x.to_numpy()), -1).numpy()
    )
    for name in ("relu", "sigmoid", "tanh"):
        np.testing.assert_allclose(
            getattr(nn, name)(x).to_numpy(),
            getattr(torch, name)(torch.tensor(x.to_numpy())).numpy(),
        )
    for name in ("max_pool2d", "avg_pool2d", "max_pool1d", "avg_pool1d", "log_softmax"):
        assert getattr(minitorch, name) is getattr(nn, name) and name in minitorch.__all__
    for name in (
        "CrossEntropyLoss",
        "NLLLoss",
        "MSELoss",
        "BCELoss",
        "BCEWithLogitsLoss",
        "Identity",
        "MaxPool1d",
        "AvgPool1d",
    ):
        assert getattr(minitorch, name) is getattr(layers, name) and name in minitorch.__all__


@pytest.mark.parametrize(
    ("ours", "theirs", "shape"),
    [
        (layers.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1), (2, 3, 7, 6)),
        (layers.MaxPool2d(2), torch.nn.MaxPool2d(2), (2, 3, 5, 5)),
        (layers.AvgPool2d(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1), (2, 3, 7, 6)),
        (
            layers.AvgPool2d(2, count_include_pad=False, padding=1),
            torch.nn.AvgPool2d(2, count_include_pad=False, padding=1),
            (1, 2, 5, 4),
        ),
        (layers.MaxPool1d(3, 2, 1), torch.nn.MaxPool1d(3, 2, 1), (2, 3, 9)),
        (layers.AvgPool1d(3), torch.nn.AvgPool1d(3), (2, 3, 10)),
        (layers.Softmax(1), torch.nn.Softmax(1), (3, 4)),
        (layers.LogSoftmax(-1), torch.nn.LogSoftmax(-1), (3, 4)),
        (layers.Identity(), torch.nn.Identity(), (3, 4)),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, tuple) else str(v),
)
def test_layers_match_torch_layers(ours: Any, theirs: Any, shape: tuple[int, ...]) -> None:
    x, tx = _pair(RNG.normal(size=shape))
    _same(ours(x), theirs(tx), [(x, tx)])
    if not isinstance(ours, (layers.Softmax, layers.Identity)):
        assert repr(ours) == repr(theirs)


def test_loss_modules_match_torch() -> None:
    x, tx = _pair(RNG.normal(size=(4, 3)))
    y = [0, 2, -100, 1]
    w = np.array([1.0, 2.0, 0.5])
    _same(
        layers.CrossEntropyLoss(Tensor(w), label_smoothing=0.1)(x, y),
        torch.nn.CrossEntropyLoss(torch.tensor(w), label_smoothing=0.1)(tx, torch.tensor(y)),
        [(x, tx)],
    )
    x, tx = _pair(RNG.normal(size=(4, 3)))
    _same(
        layers.NLLLoss(reduction="sum")(x, y),
        torch.nn.NLLLoss(reduction="sum")(tx, torch.tensor(y)),
        [(x, tx)],
    )
    p = RNG.random(size=(4, 3))
    for ours, theirs, inp in [
        (layers.MSELoss(), torch.nn.MSELoss(), RNG.normal(size=(4, 3))),
        (layers.BCELoss(), torch.nn.BCELoss(), RNG.random(size=(4, 3))),
        (
            layers.BCEWithLogitsLoss("sum"),
            torch.nn.BCEWithLogitsLoss(reduction="sum"),
            RNG.normal(size=(4, 3)),
        ),
    ]:
        x, tx = _pair(inp)
        _same(ours(x, Tensor(p)), theirs(tx, torch.tensor(p)), [(x, tx)])


def test_linear_on_extra_leading_dims_matches_torch() -> None:
    lin = layers.Linear(4, 3)
    tl = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        tl.weight.copy_(torch.tensor(lin.weight.value.to_numpy()))
        tl.bias.copy_(torch.tensor(lin.bias.value.to_numpy()))
    x, tx = _pair(RNG.normal(size=(2, 3, 5, 4)))
    _same(lin(x), tl(tx), [(x, tx)])
    np.testing.assert_allclose(lin.weight.value.grad.to_numpy(), tl.weight.grad.numpy(), atol=1e-12)


def test_digits_cnn_keeps_its_sizes() -> None:
    from minitorch.apps.models import cnn

    random.seed(0)
    model = cnn((1, 8, 8), 4, 10)
    assert model(_t(5, 1, 8, 8)).shape == (5, 10)
    assert model[0].padding == (1, 1) and model[3].padding == (1, 1)

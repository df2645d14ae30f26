"""Layers (PyTorch names): shapes, maths, initialisation, errors, train/eval, Sequential."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

import minitorch
from minitorch import Tensor, gradcheck, gradgradcheck, nn
from minitorch.layers import (
    AvgPool2d,
    Conv1d,
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    kaiming_uniform,
    xavier_uniform,
)

RNG = np.random.default_rng(7)


def _t(*shape: int) -> Tensor:
    return Tensor(RNG.normal(size=shape))


def test_linear_maths_shapes_and_parameters() -> None:
    lin = Linear(4, 3)
    assert [n for n, _ in lin.named_parameters()] == ["weight", "bias"]
    w, b = lin.weight.value, lin.bias.value
    assert w.shape == (3, 4) and b.shape == (3,)
    assert w.requires_grad and w.is_leaf()
    x = _t(5, 4)
    expected = x.to_numpy() @ w.to_numpy().T + b.to_numpy()
    np.testing.assert_allclose(lin(x).to_numpy(), expected, atol=1e-12)
    assert lin(_t(2, 5, 4)).shape == (2, 5, 3)
    assert lin(_t(4)).shape == (3,)
    assert Linear(4, 3, bias=False).bias is None
    assert repr(lin) == "Linear(in_features=4, out_features=3, bias=True)"


def test_linear_gradients() -> None:
    lin = Linear(3, 2)
    w, b = lin.weight.value, lin.bias.value

    def f(x: Tensor, w_: Tensor, b_: Tensor) -> Tensor:
        lin.weight.update(w_)
        lin.bias.update(b_)
        return lin(x)

    assert gradcheck(f, _t(4, 3), w, b)


def test_second_derivatives_through_layers() -> None:
    """A gradient penalty needs ∂²: input gradients of a small CNN are differentiable."""
    random.seed(1)
    cnn = Sequential(
        Conv2d(1, 2, 3, padding=1), Tanh(), MaxPool2d(2), Flatten(), Linear(8, 3), Sigmoid()
    )
    assert gradgradcheck(cnn, _t(2, 1, 4, 4))
    seq = Sequential(Conv1d(2, 3, 2), Tanh(), Flatten(), Linear(9, 2))
    assert gradgradcheck(lambda x: nn.cross_entropy(seq(x), [1, 0]), _t(2, 2, 4))


def test_linear_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    lin = Linear(6, 4)
    tlin = torch.nn.Linear(6, 4).double()
    with torch.no_grad():
        tlin.weight.copy_(torch.tensor(lin.weight.value.to_numpy()))
        tlin.bias.copy_(torch.tensor(lin.bias.value.to_numpy()))
    xa = RNG.normal(size=(3, 6))
    out = lin(Tensor(xa))
    tout = tlin(torch.tensor(xa))
    np.testing.assert_allclose(out.to_numpy(), tout.detach().numpy(), atol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(lin.weight.value.grad.to_numpy(), tlin.weight.grad.numpy())
    np.testing.assert_allclose(lin.bias.value.grad.to_numpy(), tlin.bias.grad.numpy())


def test_state_dict_names_load_into_a_torch_sequential() -> None:
    torch = pytest.importorskip("torch")
    model = Sequential(Linear(4, 8), ReLU(), Linear(8, 2))
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    tmodel = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)
    ).double()
    tmodel.load_state_dict({k: torch.tensor(v.to_numpy()) for k, v in state.items()})
    xa = RNG.normal(size=(5, 4))
    np.testing.assert_allclose(
        model(Tensor(xa)).to_numpy(), tmodel(torch.tensor(xa)).detach().numpy(), atol=1e-12
    )


def test_default_init_is_documented_and_seeded() -> None:
    random.seed(5)
    a = Linear(50, 40)
    random.seed(5)
    b = Linear(50, 40)
    np.testing.assert_array_equal(a.weight.value.to_numpy(), b.weight.value.to_numpy())
    w = a.weight.value.to_numpy()
    bound = 1 / math.sqrt(50)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.mean()) < 0.1 * bound
    c = Conv2d(3, 4, (2, 5)).weight.value.to_numpy()
    assert c.shape == (4, 3, 2, 5) and np.abs(c).max() <= 1 / math.sqrt(30)
    x = xavier_uniform((200, 100), 100, 200)
    assert np.abs(x).max() <= math.sqrt(6 / 300) and x.std() == pytest.approx(
        math.sqrt(6 / 300) / math.sqrt(3), rel=0.05
    )
    assert np.abs(kaiming_uniform((10,), 4)).max() <= 0.5
    e = Embedding(1000, 8).weight.value.to_numpy()
    assert abs(e.std() - 1.0) < 0.05


def test_conv_layers_add_bias_per_channel_and_match_torch() -> None:
    conv1, conv2 = Conv1d(2, 3, 4), Conv2d(2, 3, (2, 3))
    x1, x2 = _t(2, 2, 7), _t(2, 2, 5, 6)
    out1, out2 = conv1(x1), conv2(x2)
    # padding=0 is PyTorch's valid convolution: the output shrinks by K − 1.
    assert out1.shape == (2, 3, 4) and out2.shape == (2, 3, 4, 4)
    bias = conv2.bias.value.to_numpy().reshape(1, 3, 1, 1)
    valid = nn.conv2d(x2, conv2.weight.value, padding=0).to_numpy()
    np.testing.assert_allclose(out2.to_numpy(), valid + bias, atol=1e-12)
    assert Conv2d(2, 3, 3, padding=1)(x2).shape == (2, 3, 5, 6)
    assert Conv2d(2, 3, 3, padding="same")(x2).shape == (2, 3, 5, 6)
    assert Conv1d(2, 3, 4, bias=False).bias is None
    torch = pytest.importorskip("torch")
    t1 = torch.nn.Conv1d(2, 3, 4).double()
    with torch.no_grad():
        t1.weight.copy_(torch.tensor(conv1.weight.value.to_numpy()))
        t1.bias.copy_(torch.tensor(conv1.bias.value.to_numpy()))
    np.testing.assert_allclose(
        out1.to_numpy(), t1(torch.tensor(x1.to_numpy())).detach().numpy(), atol=1e-12
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"stride": 2},
        {"padding": 1},
        {"padding": (2, 0), "stride": (1, 2)},
        {"padding": "same", "dilation": 2},
        {"padding": "valid"},
        {"dilation": (2, 1), "padding": 1, "stride": 3},
        {"groups": 2, "padding": 1},
        {"groups": 4, "bias": False},
    ],
)
def test_conv2d_layer_matches_torch_layer(kwargs: dict[str, object]) -> None:
    """Same weights, same options: values and all three gradients equal torch.nn.Conv2d's."""
    torch = pytest.importorskip("torch")
    ours = Conv2d(4, 8, 3, **kwargs)  # type: ignore[arg-type]
    theirs = torch.nn.Conv2d(4, 8, 3, **kwargs).double()
    assert repr(ours) == repr(theirs)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.value.to_numpy()))
        if ours.bias is not None:
            theirs.bias.copy_(torch.tensor(ours.bias.value.to_numpy()))
    xa = RNG.normal(size=(2, 4, 7, 8))
    x, tx = Tensor(xa, requires_grad=True), torch.tensor(xa, requires_grad=True)
    out, tout = ours(x), theirs(tx)
    np.testing.assert_allclose(out.to_numpy(), tout.detach().numpy(), atol=1e-12)
    g = RNG.normal(size=out.shape)
    out.backward(Tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.to_numpy(), tx.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(
        ours.weight.value.grad.to_numpy(), theirs.weight.grad.numpy(), atol=1e-12
    )
    if ours.bias is not None:
        np.testing.assert_allclose(
            ours.bias.value.grad.to_numpy(), theirs.bias.grad.numpy(), atol=1e-12
        )
    # Unbatched (C, H, W) input, as in PyTorch.
    np.testing.assert_allclose(
        ours(Tensor(xa[0])).to_numpy(), theirs(torch.tensor(xa[0])).detach().numpy(), atol=1e-12
    )


def test_conv_layer_option_errors() -> None:
    with pytest.raises(ValueError, match="divisible by groups=2"):
        Conv2d(3, 4, 3, groups=2)
    with pytest.raises(NotImplementedError, match="padding_mode='reflect'"):
        Conv2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"too small for kernel \(3, 3\)"):
        Conv2d(1, 1, 3)(_t(1, 1, 2, 5))
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        Conv2d(1, 1, 3, stride=2, padding="same")(_t(1, 1, 5, 5))
    with pytest.raises(ValueError, match="stride must be >= 1"):
        Conv1d(1, 1, 3, stride=0)(_t(1, 1, 5))
    with pytest.raises(ValueError, match="kernel_size must be an int or a tuple of 2"):
        Conv2d(1, 1, (3, 3, 3))


def test_layers_name_themselves_and_the_shapes_in_errors() -> None:
    with pytest.raises(ValueError, match=r"Linear\(in_features=4.*\(2, 5\)"):
        Linear(4, 3)(_t(2, 5))
    with pytest.raises(ValueError, match=r"Conv2d\(3, 4.*\(B, 3, H, W\).*\(2, 1, 8, 8\)"):
        Conv2d(3, 4, 3)(_t(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"Conv2d.*\(B, 3, H, W\) or \(3, H, W\).*\(8, 8\)"):
        Conv2d(3, 4, 3)(_t(8, 8))
    with pytest.raises(ValueError, match=r"Conv1d\(2, 4.*\(1, 3, 5\)"):
        Conv1d(2, 4, 3)(_t(1, 3, 5))
    with pytest.raises(ValueError, match=r"MaxPool2d.*\(4, 4\)"):
        MaxPool2d(2)(_t(4, 4))
    with pytest.raises(ValueError, match=r"AvgPool2d.*\(4, 4\)"):
        AvgPool2d(2)(_t(4, 4))
    with pytest.raises(IndexError, match=r"Embedding\(3, 2\).*out of range"):
        Embedding(3, 2)([0, 3])
    with pytest.raises(TypeError, match="argument 1"):
        Sequential(Linear(2, 2), "relu")  # type: ignore[arg-type]


def test_pooling_and_activation_layers() -> None:
    x = _t(2, 3, 4, 4)
    np.testing.assert_array_equal(MaxPool2d(2)(x).to_numpy(), nn.maxpool2d(x, (2, 2)).to_numpy())
    np.testing.assert_array_equal(
        AvgPool2d((2, 4))(x).to_numpy(), nn.avgpool2d(x, (2, 4)).to_numpy()
    )
    y = _t(3, 4)
    np.testing.assert_array_equal(ReLU()(y).to_numpy(), np.maximum(y.to_numpy(), 0))
    np.testing.assert_allclose(Sigmoid()(y).to_numpy(), 1 / (1 + np.exp(-y.to_numpy())))
    np.testing.assert_allclose(Tanh()(y).to_numpy(), np.tanh(y.to_numpy()))


def test_flatten() -> None:
    x = _t(2, 3, 4, 5)
    assert Flatten()(x).shape == (2, 60)
    assert Flatten(0)(x).shape == (120,)
    assert Flatten(1, 2)(x).shape == (2, 12, 5)
    assert Flatten()(x.permute(0, 2, 1, 3)).shape == (2, 60)  # non-contiguous input
    np.testing.assert_array_equal(Flatten()(x).to_numpy(), x.to_numpy().reshape(2, 60))
    assert gradcheck(lambda v: Flatten()(v), _t(2, 2, 3))


def test_dropout_respects_train_and_eval() -> None:
    model = Sequential(Linear(10, 10), Dropout(0.5))
    x = _t(4, 10)
    assert (model(x).to_numpy() == 0).any()
    model.eval()
    assert not model[1].training
    np.testing.assert_array_equal(model(x).to_numpy(), model[0](x).to_numpy())
    model.train()
    assert (model(x).to_numpy() == 0).any()
    with pytest.raises(ValueError):
        Dropout(1.5)


def test_sequential_container() -> None:
    model = Sequential(Conv2d(1, 4, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(16, 10))
    assert len(model) == 5 and isinstance(model[4], Linear)
    assert [type(m).__name__ for m in model][:2] == ["Conv2d", "ReLU"]
    assert [n for n, _ in model.named_parameters()] == [
        "0.weight",
        "0.bias",
        "4.weight",
        "4.bias",
    ]
    assert model(_t(3, 1, 4, 4)).shape == (3, 10)
    assert repr(model).startswith(
        "Sequential(\n  (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    )
    assert isinstance(model[-1], Linear) and isinstance(model[-5], Conv2d)
    head = model[:3]
    assert isinstance(head, Sequential) and len(head) == 3 and head[0] is model[0]
    assert model[3:](_t(3, 4, 2, 2)).shape == (3, 10)
    with pytest.raises(IndexError, match="index 5 is out of range for 5 layers"):
        model[5]
    grown = Sequential(Flatten()).append(Linear(4, 2))
    assert len(grown) == 2 and [n for n, _ in grown.named_parameters()] == ["1.weight", "1.bias"]
    with pytest.raises(TypeError, match="not a Module"):
        grown.append("relu")  # type: ignore[arg-type]


def test_embedding_layer() -> None:
    emb = Embedding(6, 3)
    idx = Tensor([[0.0, 5.0], [2.0, 2.0]])
    out = emb(idx)
    assert out.shape == (2, 2, 3)
    out.sum().backward()
    assert emb.weight.value.grad.to_numpy()[:, 0].tolist() == [1, 0, 2, 0, 0, 1]


def test_a_small_cnn_learns_a_toy_problem() -> None:
    """Bright top half vs bright bottom half: Conv2d + pool + Linear, trained with Adam."""
    random.seed(0)
    model = Sequential(
        Conv2d(1, 2, 2, padding="same"), ReLU(), AvgPool2d(2), Flatten(), Linear(8, 2)
    )
    opt = minitorch.optim.Adam(model.parameters(), lr=0.05)
    n = 32
    y = np.arange(n) % 2
    xa = RNG.uniform(0, 0.2, size=(n, 1, 4, 4))
    xa[y == 0, :, :2, :] += 1.0
    xa[y == 1, :, 2:, :] += 1.0
    for _ in range(40):
        opt.zero_grad()
        loss = nn.cross_entropy(model(Tensor(xa)), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.1

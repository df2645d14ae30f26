"""The tensor backend: TensorNetwork, its SGD step (the scalar backend's maths), minibatches,
the defaults fitting the toy datasets, and ``minitorch train --backend tensor``."""

from __future__ import annotations

import math
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minitorch import SGD, Tensor
from minitorch.apps.cli import main
from minitorch.apps.scalar_model import ScalarNetwork
from minitorch.apps.tensor_model import TensorLinear, TensorNetwork
from minitorch.apps.training import (
    BACKENDS,
    TrainConfig,
    make_dataset,
    scalar_epoch,
    scalar_inputs,
    tensor_evaluate,
    tensor_inputs,
    tensor_step,
    train,
    train_tensor,
)

ROOT = Path(__file__).resolve().parent.parent
FINAL_LINE = re.compile(r"^final accuracy: (\d+\.\d)% \((\d+)/(\d+)\) on (\w+)$")


def _arrays(net: TensorNetwork) -> list[np.ndarray]:
    return [p.value.to_numpy() for p in net.parameters()]


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------


def test_named_parameters_and_shapes() -> None:
    net = TensorNetwork(3, depth=2, seed=0)
    named = net.named_parameters()
    assert [name for name, _ in named] == [
        "layer1.weights",
        "layer1.bias",
        "layer2.weights",
        "layer2.bias",
        "layer3.weights",
        "layer3.bias",
    ]
    assert [p.value.shape for _, p in named] == [(2, 3), (3,), (3, 3), (3,), (3, 1), (1,)]
    assert [p for _, p in named] == list(net.parameters())
    for name, p in named:
        assert isinstance(p.value, Tensor)
        assert p.value.is_leaf() and p.value.requires_grad()
        assert p.value.name == name.split(".")[-1]


def test_linear_is_matmul_plus_bias() -> None:
    lin = TensorLinear(2, 4, rng=random.Random(3), init_scale=0.5)
    x = np.array([[0.3, -1.2], [0.5, 0.25], [-1.0, 0.0]])
    out = lin(Tensor(x))
    w, b = lin.weights.value.to_numpy(), lin.bias.value.to_numpy()
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out.to_numpy(), x @ w + b, rtol=1e-12)
    assert np.all((w >= -0.5) & (w < 0.5))
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, 2\)"):
        lin(Tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="positive sizes"):
        TensorLinear(0, 3)


def test_same_rng_gives_the_scalar_networks_weights() -> None:
    """W[i, j] is the scalar network's weight_{i}_{j}, b[j] its bias_{j}, draw for draw."""
    t_net = TensorNetwork(4, depth=2, rng=random.Random("init:5"))
    s_net = ScalarNetwork(4, depth=2, rng=random.Random("init:5"))
    for t_layer, s_layer in zip(t_net.layers, s_net.layers, strict=True):
        w = [[p.value.data for p in row] for row in s_layer.weights]
        b = [p.value.data for p in s_layer.bias]
        assert t_layer.weights.value.to_numpy().tolist() == w
        assert t_layer.bias.value.to_numpy().tolist() == b
    # ... so the two networks compute the same scores.
    data = make_dataset("Circle", 7, seed=1)
    X, _ = tensor_inputs(data)
    scores = t_net.score(X).to_numpy()[:, 0]
    expected = [s_net.score(x).data for x in scalar_inputs(data)]
    np.testing.assert_allclose(scores, expected, rtol=1e-12, atol=1e-12)
    probs = t_net(X).to_numpy()[:, 0]
    np.testing.assert_allclose(probs, 1.0 / (1.0 + np.exp(-scores)), rtol=1e-12)


def test_inputs_are_centred_and_signed() -> None:
    data = make_dataset("Xor", 5, seed=0)
    X, signs = tensor_inputs(data)
    assert X.shape == (5, 2) and signs.shape == (5, 1)
    assert not X.requires_grad() and not signs.requires_grad()
    np.testing.assert_allclose(X.to_numpy(), 2 * np.array(data.X) - 1)
    assert signs.to_numpy()[:, 0].tolist() == [2.0 * y - 1.0 for y in data.y]


# ---------------------------------------------------------------------------
# One SGD step
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "depth"), [("Xor", 1), ("Spiral", 2)])
def test_one_step_matches_the_scalar_backend(name: str, depth: int) -> None:
    """Identical initial weights: same loss, same count, same updated weights."""
    data = make_dataset(name, 12, seed=2)
    lr = 0.7
    s_net = ScalarNetwork(3, depth=depth, rng=random.Random(11))
    t_net = TensorNetwork(3, depth=depth, rng=random.Random(11))
    s_loss, s_correct = scalar_epoch(
        s_net, scalar_inputs(data), data.y, SGD(s_net.parameters(), lr=lr)
    )
    X, signs = tensor_inputs(data)
    t_params = t_net.parameters()
    t_loss, t_correct = tensor_step(t_net, X, signs, SGD(t_params, lr=lr))
    assert t_loss == pytest.approx(s_loss, rel=1e-12)
    assert t_correct == s_correct
    for t_layer, s_layer in zip(t_net.layers, s_net.layers, strict=True):
        w = [[p.value.data for p in row] for row in s_layer.weights]
        b = [p.value.data for p in s_layer.bias]
        np.testing.assert_allclose(t_layer.weights.value.to_numpy(), w, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(t_layer.bias.value.to_numpy(), b, rtol=1e-10, atol=1e-12)
    for p in t_params:
        assert p.value.grad is None and p.value.is_leaf()  # zero_grad ran; fresh leaves


def test_step_gradient_matches_torch() -> None:
    """The loss -mean log σ(s·m) and its gradient agree with PyTorch's logsigmoid."""
    torch = pytest.importorskip("torch")
    data = make_dataset("Diag", 16, seed=4)
    net = TensorNetwork(5, depth=2, seed=9)
    before = [torch.tensor(a, requires_grad=True) for a in _arrays(net)]
    X, signs = tensor_inputs(data)
    loss, _ = tensor_step(net, X, signs, SGD(net.parameters(), lr=1.0))

    h = torch.tensor(X.to_numpy())
    for k in range(0, len(before) - 2, 2):
        h = torch.relu(h @ before[k] + before[k + 1])
    m = h @ before[-2] + before[-1]
    ref = -torch.nn.functional.logsigmoid(torch.tensor(signs.to_numpy()) * m).mean()
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-4)  # log adds EPS = 1e-6
    for p, b in zip(net.parameters(), before, strict=True):
        expected = (b - b.grad).detach().numpy()  # lr = 1
        np.testing.assert_allclose(p.value.to_numpy(), expected, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------------------
# The training loop
# ---------------------------------------------------------------------------


def test_callbacks_history_and_evaluation() -> None:
    seen: list[int] = []
    logged: list[int] = []
    data = make_dataset("Simple", 20, seed=0)
    result = train_tensor(
        data,
        TrainConfig(hidden=3, epochs=7, lr=1.0, log_every=3),
        on_epoch=lambda s: seen.append(s.epoch),
        on_log=lambda s: logged.append(s.epoch),
    )
    assert seen == list(range(1, 8)) and logged == [3, 6, 7]
    assert [s.epoch for s in result.history] == seen
    assert all(s.total == 20 for s in result.history)
    assert result.history[-1].loss < result.history[0].loss
    assert isinstance(result.model, TensorNetwork)
    X, signs = tensor_inputs(data)
    assert (result.final_loss, result.correct) == tensor_evaluate(result.model, X, signs)
    assert math.isfinite(result.final_loss) and result.seconds > 0


def test_full_batch_follows_the_scalar_backend() -> None:
    """Same seed, same hyperparameters: the two backends take the same steps."""
    s_hist = train("Split", 15, backend="scalar", epochs=6, hidden=4, lr=2.5).history
    t_hist = train("Split", 15, backend="tensor", epochs=6, hidden=4, lr=2.5).history
    assert [s.correct for s in t_hist] == [s.correct for s in s_hist]
    np.testing.assert_allclose([s.loss for s in t_hist], [s.loss for s in s_hist], rtol=1e-9)


def test_minibatches_are_seeded_and_cover_every_point() -> None:
    a = train("Circle", 23, backend="tensor", epochs=4, batch_size=5)
    b = train("Circle", 23, backend="tensor", epochs=4, batch_size=5)
    c = train("Circle", 23, backend="tensor", epochs=4, batch_size=5, seed=1)
    assert [s.loss for s in a.history] == [s.loss for s in b.history]
    assert [s.loss for s in a.history] != [s.loss for s in c.history]
    assert all(s.total == 23 and 0 <= s.correct <= 23 for s in a.history)
    # Five steps per epoch (4 x 5 points + 3): different from one full-batch step.
    full = train("Circle", 23, backend="tensor", epochs=4)
    assert [s.loss for s in full.history] != [s.loss for s in a.history]
    # A batch at least as large as the dataset is the full batch.
    whole = train("Circle", 23, backend="tensor", epochs=4, batch_size=100)
    assert [s.loss for s in whole.history] == [s.loss for s in full.history]


def test_step_count_per_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    """ceil(N / batch_size) steps per epoch: 23 points in batches of 5 take 5 steps."""
    steps: list[int] = []
    original = SGD.step

    def counting(self: SGD) -> None:
        steps.append(len(self.parameters))
        original(self)

    monkeypatch.setattr(SGD, "step", counting)
    data = make_dataset("Xor", 23, seed=0)
    train_tensor(data, TrainConfig(hidden=2, epochs=3, batch_size=5))
    assert len(steps) == 3 * 5
    train_tensor(data, TrainConfig(hidden=2, epochs=3))
    assert len(steps) == 3 * 5 + 3


def test_batch_size_is_validated() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="full batch only"):
        train("Xor", 10, backend="scalar", epochs=1, batch_size=5)
    assert BACKENDS["tensor"].minibatch and not BACKENDS["scalar"].minibatch


@pytest.mark.slow
@pytest.mark.parametrize("batch_size", [None, 10])
@pytest.mark.parametrize("name", ["Simple", "Diag", "Split", "Xor"])
def test_defaults_reach_full_training_accuracy(name: str, batch_size: int | None) -> None:
    if batch_size is None:
        result = train(name, 50, backend="tensor")
    else:
        result = train(name, 50, backend="tensor", batch_size=batch_size)
    assert (result.correct, result.total) == (50, 50), result.history[-1]
    assert len(result.history) == BACKENDS["tensor"].defaults.epochs


@pytest.mark.slow
def test_larger_dataset_trains() -> None:
    result = train("Xor", 500, backend="tensor")
    assert result.final_accuracy >= 0.98, result.history[-1]


# ---------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------


def test_cli_tensor_backend(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["train", "--backend", "tensor", "--dataset", "diag", "--points", "12"]
    rc = main([*argv, "--epochs", "4", "--log-every", "2"])
    out = capsys.readouterr().out.strip().splitlines()
    assert rc == 0
    assert out[0] == (
        "training tensor backend on Diag (12 points): hidden 10, depth 1, lr 1.0, 4 epochs, seed 0"
    )
    assert [line.split()[1] for line in out if line.startswith("epoch")] == ["2/4", "4/4"]
    match = FINAL_LINE.match(out[-1])
    assert match is not None, out[-1]
    assert match.group(3, 4) == ("12", "Diag")


def test_cli_minibatches(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["train", "--backend", "tensor", "--points", "12", "--epochs", "3", "--batch-size", "5"]
    assert main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert "3 epochs, batch size 5, seed 0" in out[0]
    assert FINAL_LINE.match(out[-1]), out[-1]


def test_cli_batch_size_needs_a_minibatch_backend(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--backend", "scalar", "--batch-size", "5"]) == 2
    assert "the scalar backend trains on the full batch only" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--backend", "tensor", "--batch-size", "0"])
    assert "must be positive" in capsys.readouterr().err


def test_cli_help_lists_the_tensor_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    d = BACKENDS["tensor"].defaults
    for fragment in (f"tensor: {d.epochs}", f"tensor: {d.lr}", "--batch-size N", "tensor   "):
        assert fragment in text


def test_python_dash_m_minitorch_tensor_defaults() -> None:
    """The documented defaults, end to end in a fresh interpreter: 100% on Xor."""
    res = subprocess.run(
        [sys.executable, "-m", "minitorch", "train", "--backend", "tensor", "--dataset", "Xor"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("training tensor backend on Xor (50 points)")
    assert sum(line.startswith("epoch") for line in lines) == 10  # every 100 of 1000
    assert lines[-1] == "final accuracy: 100.0% (50/50) on Xor"
    assert "epoch" in res.stderr  # the progress bar

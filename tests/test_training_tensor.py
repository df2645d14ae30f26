"""The tensor backend: TensorNetwork, its SGD step (the scalar backend's maths), minibatches,
the defaults fitting the toy datasets, and ``minitorch train --backend tensor``."""

from __future__ import annotations

import math
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from minitorch import SGD, Scalar, Tensor, _trace
from minitorch.apps.cli import main
from minitorch.apps.models import ScalarNetwork, TensorLinear, TensorNetwork
from minitorch.apps.train import TrainConfig, default_config, evaluate, fit, load_data

ROOT = Path(__file__).resolve().parent.parent
FINAL_LINE = re.compile(r"^final accuracy: (\d+\.\d)% \((\d+)/(\d+)\) on (\w+)$")


def _arrays(net: TensorNetwork) -> list[np.ndarray]:
    return [p.value.to_numpy() for p in net.parameters()]


def train(dataset: str, points: int, model: str = "scalar", **given: Any) -> dict[str, Any]:
    """The metrics of a quiet run of the lecture's network with ``given`` options."""
    config = default_config(model, dataset, points=points, **given)
    return fit(config, progress=False, log=None)


def _losses(metrics: dict[str, Any]) -> list[float]:
    return [r["train_loss"] for r in metrics["history"]]


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
    x = load_data(default_config("tensor", "Circle", points=7, seed=1)).x_train
    X = Tensor(x)
    scores = t_net.score(X).to_numpy()[:, 0]
    expected = [s_net.score([Scalar(a), Scalar(b)]).data for a, b in x.tolist()]
    np.testing.assert_allclose(scores, expected, rtol=1e-12, atol=1e-12)
    probs = t_net(X).to_numpy()[:, 0]
    np.testing.assert_allclose(probs, 1.0 / (1.0 + np.exp(-scores)), rtol=1e-12)


def test_inputs_are_centred_and_the_test_set_is_the_training_set() -> None:
    import minitorch

    data = load_data(default_config("tensor", "Xor", points=5))
    random.seed(0)
    graph = minitorch.datasets["Xor"](5)
    assert data.x_train.shape == (5, 2) and data.x_train.dtype == np.float64
    np.testing.assert_allclose(data.x_train, 2 * np.array(graph.X) - 1)
    assert data.y_train.tolist() == graph.y and data.classes == 2
    np.testing.assert_array_equal(data.x_test, data.x_train)
    np.testing.assert_array_equal(data.y_test, data.y_train)


# ---------------------------------------------------------------------------
# One SGD step
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "depth"), [("Xor", 1), ("Spiral", 2)])
def test_one_step_matches_the_scalar_backend(name: str, depth: int) -> None:
    """Identical initial weights: same loss, same count, same updated weights."""
    s_net = ScalarNetwork(3, depth=depth, rng=random.Random(11))
    t_net = TensorNetwork(3, depth=depth, rng=random.Random(11))
    records = [
        fit(
            default_config(model, name, points=12, seed=2, epochs=1, lr=0.7, hidden=3, depth=depth),
            model=net,
            progress=False,
            log=None,
        )["history"][0]
        for model, net in (("scalar", s_net), ("tensor", t_net))
    ]
    assert records[1]["train_loss"] == pytest.approx(records[0]["train_loss"], rel=1e-12)
    assert records[1]["train_accuracy"] == records[0]["train_accuracy"]
    t_params = t_net.parameters()
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
    config = default_config("tensor", "Diag", points=16, seed=4, epochs=1, lr=1.0)
    data = load_data(config)
    net = TensorNetwork(5, depth=2, seed=9)
    before = [torch.tensor(a, requires_grad=True) for a in _arrays(net)]
    loss = fit(config, model=net, progress=False, log=None)["history"][0]["train_loss"]

    h = torch.tensor(data.x_train)
    signs = 2.0 * data.y_train.reshape(-1, 1) - 1.0
    for k in range(0, len(before) - 2, 2):
        h = torch.relu(h @ before[k] + before[k + 1])
    m = h @ before[-2] + before[-1]
    ref = -torch.nn.functional.logsigmoid(torch.tensor(signs) * m).mean()
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
    logged: list[str] = []
    config = default_config("tensor", "Simple", points=20, hidden=3, epochs=7, lr=1.0, log_every=3)
    net = TensorNetwork(3, rng=random.Random("init:0"))
    metrics = fit(
        config,
        model=net,
        progress=False,
        on_epoch=lambda r: seen.append(r["epoch"]),
        log=logged.append,
    )
    assert seen == list(range(1, 8))
    assert [line.split()[1] for line in logged] == ["3/7", "6/7", "7/7"]
    history = metrics["history"]
    assert [r["epoch"] for r in history] == seen
    assert all(line.endswith("/20)") for line in logged)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    data = load_data(config)
    final = metrics["final"]
    assert (final["test_loss"], final["test_accuracy"]) == evaluate(
        config, net, data.x_test, data.y_test
    )
    assert math.isfinite(final["test_loss"]) and metrics["train_seconds"] > 0


def test_full_batch_follows_the_scalar_backend() -> None:
    """Same seed, same hyperparameters: the two backends take the same steps."""
    s_hist = train("Split", 15, "scalar", epochs=6, hidden=4, lr=2.5)["history"]
    t_hist = train("Split", 15, "tensor", epochs=6, hidden=4, lr=2.5)["history"]
    accuracy = [r["train_accuracy"] for r in s_hist]
    assert [r["train_accuracy"] for r in t_hist] == accuracy
    np.testing.assert_allclose(
        [r["train_loss"] for r in t_hist], [r["train_loss"] for r in s_hist], rtol=1e-9
    )


def test_minibatches_are_seeded_and_cover_every_point() -> None:
    a = train("Circle", 23, "tensor", epochs=4, batch_size=5)
    b = train("Circle", 23, "tensor", epochs=4, batch_size=5)
    c = train("Circle", 23, "tensor", epochs=4, batch_size=5, seed=1)
    assert _losses(a) == _losses(b) != _losses(c)
    assert all(0 <= 23 * r["train_accuracy"] <= 23 for r in a["history"])
    assert a["train_size"] == 23
    # Five steps per epoch (4 x 5 points + 3): different from one full-batch step.
    full = train("Circle", 23, "tensor", epochs=4)
    assert _losses(full) != _losses(a)
    # A batch at least as large as the dataset is the full batch.
    assert _losses(train("Circle", 23, "tensor", epochs=4, batch_size=100)) == _losses(full)


def test_step_count_per_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    """ceil(N / batch_size) steps per epoch: 23 points in batches of 5 take 5 steps."""
    steps: list[int] = []
    original = SGD.step

    def counting(self: SGD) -> None:
        steps.append(len(self.parameters))
        original(self)

    # `live`: a compiled training step calls it again on every replay (plain Python side
    # effects would run at trace time only)
    monkeypatch.setattr(SGD, "step", _trace.live(counting))
    train("Xor", 23, "tensor", hidden=2, epochs=3, batch_size=5)
    assert len(steps) == 3 * 5
    train("Xor", 23, "tensor", hidden=2, epochs=3)
    assert len(steps) == 3 * 5 + 3


def test_batch_size_is_validated() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="full batch only"):
        train("Xor", 10, "scalar", epochs=1, batch_size=5)
    assert default_config("tensor", batch_size=5).batch_size == 5


@pytest.mark.slow
@pytest.mark.parametrize("batch_size", [None, 10])
@pytest.mark.parametrize("name", ["Simple", "Diag", "Split", "Xor"])
def test_defaults_reach_full_training_accuracy(name: str, batch_size: int | None) -> None:
    metrics = train(name, 50, "tensor", batch_size=batch_size)
    assert metrics["final"]["test_accuracy"] == 1.0, metrics["history"][-1]
    assert metrics["test_size"] == 50
    assert len(metrics["history"]) == default_config("tensor").epochs


@pytest.mark.slow
def test_larger_dataset_trains() -> None:
    metrics = train("Xor", 500, "tensor")
    assert metrics["final"]["test_accuracy"] >= 0.98, metrics["history"][-1]


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
    d = default_config("tensor")
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

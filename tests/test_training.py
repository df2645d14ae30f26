"""Training the lecture's Network: the defaults fit the toy datasets; the CLI runs end to end."""

from __future__ import annotations

import gc
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import minitorch
from minitorch import Scalar
from minitorch.apps.cli import build_parser, main, run_config
from minitorch.apps.models import ScalarLinear, ScalarNetwork
from minitorch.apps.train import (
    TrainConfig,
    default_config,
    fit,
    load_data,
    resolve_dataset,
)

ROOT = Path(__file__).resolve().parent.parent
FINAL_LINE = re.compile(r"^final accuracy: (\d+\.\d)% \((\d+)/(\d+)\) on (\w+)$")


def train(dataset: str, points: int, model: str = "scalar", **given: Any) -> dict[str, Any]:
    """The metrics of a quiet run of the lecture's network with ``given`` options."""
    config = default_config(model, dataset, points=points, **given)
    return fit(config, progress=False, log=None)


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------


def test_named_parameters_are_dotted_and_ordered() -> None:
    net = ScalarNetwork(3)
    names = [name for name, _ in net.named_parameters()]
    assert names == [
        *(f"layer1.weight_{i}_{j}" for i in range(2) for j in range(3)),
        *(f"layer1.bias_{j}" for j in range(3)),
        *(f"layer2.weight_{i}_0" for i in range(3)),
        "layer2.bias_0",
    ]
    assert [p for _, p in net.named_parameters()] == list(net.parameters())
    for _, p in net.named_parameters():
        assert isinstance(p.value, Scalar)
        assert p.value.is_leaf()


def test_depth_adds_hidden_layers() -> None:
    net = ScalarNetwork(4, depth=2)
    assert [name for name, _ in net.named_modules()] == ["", "layer1", "layer2", "layer3"]
    assert len(net.parameters()) == (2 * 4 + 4) + (4 * 4 + 4) + (4 + 1)


def test_linear_computes_bias_plus_weighted_sum() -> None:
    lin = ScalarLinear(2, 3, init_scale=0.5)
    x = [0.3, -1.2]
    out = lin(x)
    for j in range(3):
        expected = lin.bias[j].value.data + sum(
            x[i] * lin.weights[i][j].value.data for i in range(2)
        )
        assert out[j].data == pytest.approx(expected)
        assert -0.5 <= lin.weights[0][j].value.data < 0.5


def test_network_output_is_sigmoid_of_score() -> None:
    net = ScalarNetwork(5, seed=1)
    x = [Scalar(0.2, None), Scalar(-0.7, None)]
    m = net.score(x).data
    assert net(x).data == pytest.approx(1.0 / (1.0 + math.exp(-m)))


def test_seeded_initialisation_is_reproducible() -> None:
    a, b, c = ScalarNetwork(4, seed=7), ScalarNetwork(4, seed=7), ScalarNetwork(4, seed=8)
    values = [[p.value.data for p in net.parameters()] for net in (a, b, c)]
    assert values[0] == values[1] != values[2]


def test_epoch_takes_one_sgd_step_on_the_mean_nll() -> None:
    """The step equals -lr times the central-difference gradient of the mean NLL."""
    eps, lr = 1e-6, 0.5
    config = default_config("scalar", "Xor", points=6, epochs=1, lr=lr, hidden=2)
    data = load_data(config)
    X, y = data.x_train.tolist(), data.y_train.tolist()
    net = ScalarNetwork(2, seed=0)
    params = net.parameters()
    before = [p.value.data for p in params]

    def mean_nll(theta: list[float]) -> float:
        for p, v in zip(params, theta):
            p.update(Scalar(v))
        total = 0.0
        for (x1, x2), label in zip(X, y):
            m = net.score([x1, x2]).data
            prob = 1.0 / (1.0 + math.exp(-m))
            total -= math.log((prob if label == 1 else 1.0 - prob) + 1e-6)
        return total / len(y)

    grads = []
    for k in range(len(before)):
        up, down = list(before), list(before)
        up[k] += eps
        down[k] -= eps
        grads.append((mean_nll(up) - mean_nll(down)) / (2 * eps))
    loss0 = mean_nll(before)

    record = fit(config, model=net, progress=False, log=None)["history"][0]
    assert record["train_loss"] == pytest.approx(loss0, rel=1e-4)
    assert 0 <= record["train_accuracy"] <= 1
    for p, b, g in zip(params, before, grads):
        assert p.value.data == pytest.approx(b - lr * g, abs=1e-5)
        assert p.value.derivative is None  # zero_grad ran


# ---------------------------------------------------------------------------
# The training loop
# ---------------------------------------------------------------------------


def test_callbacks_and_history() -> None:
    seen: list[int] = []
    logged: list[str] = []
    config = default_config("scalar", "Simple", points=20, hidden=3, epochs=7, lr=1.0, log_every=3)
    metrics = fit(
        config,
        progress=False,
        on_epoch=lambda r: seen.append(r["epoch"]),
        log=logged.append,
    )
    assert seen == list(range(1, 8))
    assert [line.split()[1] for line in logged] == ["3/7", "6/7", "7/7"]
    history = metrics["history"]
    assert [r["epoch"] for r in history] == seen
    assert metrics["test_size"] == 20  # evaluated on its 20 training points
    final = metrics["final"]
    assert round(20 * final["test_accuracy"]) == pytest.approx(20 * final["test_accuracy"])
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert math.isfinite(final["test_loss"]) and metrics["train_seconds"] > 0


def test_training_is_reproducible() -> None:
    a = train("Diag", 20, epochs=5)
    b = train("Diag", 20, epochs=5)
    assert [r["train_loss"] for r in a["history"]] == [r["train_loss"] for r in b["history"]]


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=-1.0)
    with pytest.raises(ValueError, match="model must be one of"):
        default_config("nope")
    with pytest.raises(ValueError, match="2-D dataset"):
        default_config("scalar", "digits")


def test_dataset_names_are_case_insensitive() -> None:
    assert resolve_dataset("xOr") == "Xor"
    with pytest.raises(KeyError, match="Simple, Diag, Split, Xor, Circle, Spiral"):
        resolve_dataset("moons")


def _one_epoch() -> None:
    metrics = train("Xor", 10, epochs=1, hidden=3)
    assert metrics["train_size"] == 10


def test_training_leaves_no_cyclic_garbage() -> None:
    """Graphs are freed by reference counting alone: the collector finds nothing."""
    _one_epoch()  # warm up imports and caches
    gc.collect()
    gc.disable()
    try:
        _one_epoch()
        assert gc.collect() == 0
    finally:
        gc.enable()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["Simple", "Diag", "Split", "Xor"])
def test_defaults_reach_full_training_accuracy(name: str) -> None:
    metrics = train(name, 50)
    assert metrics["final"]["test_accuracy"] == 1.0, metrics["history"][-1]
    assert metrics["test_size"] == 50


# ---------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------


def test_cli_trains_and_reports(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        ["train", "--dataset", "split", "--points", "12", "--epochs", "4", "--log-every", "2"]
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert rc == 0
    assert out[0].startswith("training scalar backend on Split (12 points)")
    assert [line.split()[1] for line in out if line.startswith("epoch")] == ["2/4", "4/4"]
    match = FINAL_LINE.match(out[-1])
    assert match is not None, out[-1]
    assert match.group(3, 4) == ("12", "Split")


def test_cli_quiet_prints_only_the_final_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--quiet", "--points", "8", "--epochs", "2", "--hidden", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.strip().splitlines()
    assert len(lines) == 1 and FINAL_LINE.match(lines[0]), lines


def test_cli_defaults_of_the_lectures_network() -> None:
    config, out, resume = run_config(build_parser().parse_args(["train", "--points", "50"]))
    assert (config.model, config.dataset, config.points) == ("scalar", "Xor", 50)
    assert config == default_config("scalar")
    assert (out, resume) == (None, False)  # no files


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dataset", "Moons"], "unknown dataset 'Moons' (choose from Simple, Diag"),
        (["--backend", "quantum"], "unknown backend 'quantum' (choose from scalar"),
        (["--epochs", "0"], "must be positive"),
        (["--lr", "fast"], "expected a positive float"),
    ],
)
def test_cli_rejects_bad_options(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_help_documents_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    d = default_config("scalar")
    for fragment in (f"scalar: {d.hidden}", f"scalar: {d.epochs}", f"scalar: {d.lr}", "100%"):
        assert fragment in text


def test_cli_without_a_command_shows_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "train" in capsys.readouterr().err


def test_python_dash_m_minitorch() -> None:
    argv = ["train", "--dataset", "XOR", "--points", "10", "--epochs", "3"]
    res = subprocess.run(
        [sys.executable, "-m", "minitorch", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    last = res.stdout.strip().splitlines()[-1]
    match = FINAL_LINE.match(last)
    assert match is not None, res.stdout
    assert match.group(3, 4) == ("10", "Xor")
    assert "epoch" in res.stderr  # the progress bar


def test_cli_exit_status_for_bad_option_in_subprocess() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "minitorch", "train", "--backend", "quantum"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 2
    assert "unknown backend 'quantum'" in res.stderr
    assert minitorch.version  # the package imported fine in both processes

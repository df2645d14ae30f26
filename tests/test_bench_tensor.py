"""benchmarks/bench_tensor.py: every workload runs once, small, and agrees with PyTorch.

Behaviour only (never timing): both libraries start from the same numbers and must return
the same losses and gradients, step by step.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

pytest.importorskip("torch")

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_tensor.py"


def _bench() -> ModuleType:
    name = "bench_tensor"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, _PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["mlp128", "mlp16", "tiny", "elementwise", "chain"])
def test_workload_agrees_with_torch(name: str) -> None:
    bt = _bench()
    w = bt.workloads(scale=0.01)[name]
    result = bt.measure(w, repeats=2, block=2)  # raises AssertionError on disagreement
    assert len(result.values["minitorch"]) == len(result.values["torch"]) == 1 + 2 * 2
    assert all(s > 0 for s in result.seconds["minitorch"] + result.seconds["torch"])


def test_mlp_steps_lower_the_loss() -> None:
    bt = _bench()
    d = bt.make_mlp((2, 32, 2), 64, seed=0, lr=0.5)
    ours, theirs = bt.mlp_minitorch(d), bt.mlp_torch(d)
    a = [ours()[0] for _ in range(20)]
    b = [theirs()[0] for _ in range(20)]
    np.testing.assert_allclose(a, b, rtol=1e-4)
    assert a[-1] < a[0]


def test_cross_entropy_matches_torch() -> None:
    import torch

    import minitorch

    bt = _bench()
    rng = np.random.default_rng(3)
    z = rng.normal(size=(5, 4)) * 30.0  # large logits: the max-shift keeps it finite
    onehot = np.eye(4)[rng.integers(0, 4, 5)]
    ours_z = minitorch.Tensor(z, requires_grad=True)
    ours = bt.cross_entropy(ours_z, minitorch.Tensor(onehot))
    ours.backward()
    tz = torch.tensor(z, requires_grad=True)
    theirs = torch.nn.functional.cross_entropy(tz, torch.tensor(onehot.argmax(1)))
    theirs.backward()
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)
    assert ours_z.grad is not None and tz.grad is not None
    np.testing.assert_allclose(ours_z.grad.to_numpy(), tz.grad.numpy(), atol=1e-6)


def test_main_runs_a_subset(capsys: pytest.CaptureFixture[str]) -> None:
    bt = _bench()
    assert bt.main(["--workloads", "tiny", "--repeats", "1", "--block", "1"]) == 0
    out = capsys.readouterr().out
    assert "MLP 2-32-2" in out and "ratio" in out

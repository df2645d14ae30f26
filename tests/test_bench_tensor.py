"""benchmarks/bench_tensor.py: every workload runs once, small, and agrees with PyTorch.

Behaviour only (never timing): both libraries start from the same numbers and must return
the same losses and gradients, step by step.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

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


# -- the variants beyond minitorch and torch (issue 11) -----------------------------------


def test_numpy_floor_agrees_with_torch_on_every_workload() -> None:
    bt = _bench()
    for name, w in bt.workloads(scale=0.01).items():
        r = bt.measure(w, repeats=1, block=1, libs=("numpy",))
        assert "numpy" in r.seconds, (name, r.notes)
        assert r.ratio("numpy") > 0


def test_compiled_row_says_why_when_minitorch_has_no_compile(monkeypatch: Any) -> None:
    import minitorch

    bt = _bench()
    monkeypatch.delattr(minitorch, "compile", raising=False)
    w = bt.workloads(scale=0.01)["tiny"]
    r = bt.measure(w, repeats=1, block=1, libs=("minitorch compiled",))
    assert set(r.seconds) == {"minitorch", "torch"}
    assert "minitorch.compile does not exist" in r.notes["minitorch compiled"]
    assert any("minitorch compiled" in line and "does not exist" in line for line in bt.report(r))


def test_compiled_row_reports_an_error_and_the_benchmark_goes_on(monkeypatch: Any) -> None:
    import minitorch

    def broken(fn: Any) -> Any:
        def call(*args: Any) -> Any:
            raise RuntimeError("cannot trace this\nsecond line")

        return call

    bt = _bench()
    monkeypatch.setattr(minitorch, "compile", broken, raising=False)
    for name in ("tiny", "elementwise", "chain"):
        r = bt.measure(bt.workloads(scale=0.01)[name], repeats=1, block=1)
        assert r.notes["minitorch compiled"] == "RuntimeError: cannot trace this"
        assert "minitorch" in r.seconds and "minitorch compiled" not in r.seconds


def test_compiled_row_is_checked_against_eager(monkeypatch: Any) -> None:
    import minitorch

    bt = _bench()
    monkeypatch.setattr(minitorch, "compile", lambda fn: fn, raising=False)  # eager itself
    for name in ("tiny", "elementwise", "chain"):
        r = bt.measure(bt.workloads(scale=0.01)[name], repeats=2, block=1)
        assert r.values["minitorch compiled"] == r.values["minitorch"]
        assert r.ratio("minitorch compiled") > 0

    def off_by_a_bit(fn: Any) -> Any:
        def call(*args: Any) -> Any:
            return fn(*args) * 1.001

        return call

    monkeypatch.setattr(minitorch, "compile", off_by_a_bit, raising=False)
    r = bt.measure(bt.workloads(scale=0.01)["tiny"], repeats=1, block=1)
    assert r.notes["minitorch compiled"].startswith("DISAGREES")
    assert "minitorch compiled" not in r.seconds


def test_jax_row_is_skipped_with_a_note_when_jax_is_missing(monkeypatch: Any) -> None:
    bt = _bench()
    monkeypatch.setitem(sys.modules, "jax", None)  # `import jax` raises ImportError
    r = bt.measure(bt.workloads(scale=0.01)["tiny"], repeats=1, block=1, libs=("jax.jit",))
    assert "jax is not installed" in r.notes["jax.jit"]
    assert "no jax" in bt.machine()


def test_jax_agrees_with_torch_where_installed() -> None:
    pytest.importorskip("jax")
    bt = _bench()
    for name in ("tiny", "elementwise"):
        r = bt.measure(bt.workloads(scale=0.01)[name], repeats=1, block=1, libs=("jax.jit",))
        assert "jax.jit" in r.seconds, r.notes
    r = bt.measure(bt.workloads(scale=0.0001)["chain"], repeats=1, block=1, libs=("jax.jit",))
    assert r.notes["jax.jit"].startswith("not run")


def test_main_rejects_an_unknown_variant() -> None:
    bt = _bench()
    with pytest.raises(SystemExit):
        bt.main(["--workloads", "tiny", "--libs", "mxnet"])

"""benchmarks/bench_gpu.py runs end to end on fake_cupy (``--fake``), checks every variant's
numbers before timing, and without a GPU says why it skipped (behaviour, never timing)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import minitorch
from minitorch import devices

pytest.importorskip("torch")

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_gpu.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_gpu", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_gpu"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_fake_run_prints_every_workload_and_target(
    bench: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    before = devices._cuda
    assert bench.main(["--fake"]) == 0
    assert devices._cuda is before  # the fake namespace is uninstalled again
    out = capsys.readouterr().out
    assert out.startswith("GPU: fake_cupy")
    for title in ("MLP 12-16-16-10, batch 8", "LeNet", "12 elementwise ops on 3x3"):
        assert title in out
    for row in ("minitorch cuda", "minitorch cuda compiled", "torch cuda", "minitorch cpu"):
        assert out.count(f"  {row:24} ") == 4, row
    assert "--" not in out.split("--fake")[1]  # every variant ran and agreed
    targets = out.split("targets:\n")[1].splitlines()
    assert [t.split(":")[0].strip() for t in targets] == ["mlp", "mlp", "lenet"]
    assert "target <= 1.3x" in targets[0] and "target >= 20x" in targets[1]
    assert "target <= 1.5x" in targets[2]


def test_workloads_have_the_issue_sizes(bench: ModuleType) -> None:
    mlp, lenet, elementwise, big = bench.workloads("full")
    assert [tuple(v.shape) for v in mlp.setup.weights.values()] == [
        (4096, 784), (4096,), (4096, 4096), (4096,), (10, 4096), (10,)
    ]  # fmt: skip
    assert mlp.setup.x.shape == (1024, 784) and mlp.targets == {"torch": 1.3, "speedup": 20.0}
    assert lenet.setup.x.shape == (256, 1, 28, 28) and lenet.targets == {"torch": 1.5}
    assert elementwise.n_ops == 1000 and elementwise.data[0].shape == (10, 10)
    assert big.data[0].shape == (1000, 1000)
    assert all(a.dtype == "float32" for w in (elementwise, big) for a in w.data)


def test_a_disagreeing_variant_gets_a_note_and_exit_status_1(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def wrong(fn: Any) -> Any:
        return lambda *a: fn(*a) * 1.01

    monkeypatch.setattr(minitorch, "compile", wrong)
    assert bench.main(["--fake", "--workloads", "mlp"]) == 1
    out = capsys.readouterr().out
    assert f"  {'minitorch cuda compiled':24} -- DISAGREES with minitorch cuda" in out

    def broken(fn: Any) -> Any:
        raise RuntimeError("no tracing today")

    monkeypatch.setattr(minitorch, "compile", broken)
    assert bench.main(["--fake", "--workloads", "mlp"]) == 1
    assert "compiled  -- RuntimeError: no tracing today" in capsys.readouterr().out


def test_without_a_gpu_it_skips_with_the_reason(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)
    previous = devices.use_cuda(None)
    try:
        assert bench.main([]) == 0
    finally:
        devices.use_cuda(previous)
    out = capsys.readouterr().out
    assert out.startswith("bench_gpu: skipped, no GPU to benchmark on: minitorch: CUDA is not")
    assert "CuPy is not installed" in out


def test_unknown_workload(bench: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--fake", "--workloads", "mlp,resnet"]) == 2
    assert "unknown workloads ['resnet']" in capsys.readouterr().err

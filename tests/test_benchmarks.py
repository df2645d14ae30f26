"""The scalar benchmark's workloads compute the same numbers in both libraries (no timing)."""

from __future__ import annotations

import gc
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("micrograd")

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_scalar.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_scalar", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_scalar"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_workloads_agree_epoch_by_epoch(bench: ModuleType) -> None:
    X, y = bench.make_data(8, seed=1)
    w = bench.make_weights(3, seed=1)
    ours = bench.minitorch_epoch(X, y, w, 0.5)
    theirs = bench.micrograd_epoch(X, y, w, 0.5)
    losses = [(ours(), theirs()) for _ in range(3)]
    for a, b in losses:
        assert a == pytest.approx(b, abs=1e-9)
    assert losses[-1][0] != losses[0][0]  # the update changed the parameters


def test_measure_checks_agreement_and_restores_gc(bench: ModuleType) -> None:
    enabled = gc.isenabled()
    timing = bench.measure(
        epochs=1, repeats=2, points=6, hidden=2, lr=0.1, seed=0, gc_enabled=False
    )
    assert gc.isenabled() == enabled
    assert {len(v) for v in timing.seconds.values()} == {2}
    a, b = timing.final_losses["minitorch"], timing.final_losses["micrograd"]
    assert a == pytest.approx(b, abs=1e-9)


def test_main_prints_both_ratios(bench: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--epochs", "1", "--repeats", "1", "--points", "4", "--hidden", "2"]) == 0
    out = capsys.readouterr().out
    assert "Python" in out.splitlines()[0]
    assert out.count("ratio minitorch/micrograd") == 4  # mean and median, gc on and off
    assert "gc on" in out and "gc off" in out

"""benchmarks/bench_lenet.py's variants (issue 11): compiled minitorch and jax.jit rows.

Behaviour only (never timing): each variant's losses are checked against its reference,
and a variant that cannot run gets a note instead of a time.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import minitorch

pytest.importorskip("torch")

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_lenet.py"


def _bench() -> ModuleType:
    name = "bench_lenet"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _PATH)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _setup() -> Any:
    return _bench().make_setup(batch=2, size=8)


def test_variants_without_compile(monkeypatch: Any) -> None:
    monkeypatch.delattr(minitorch, "compile", raising=False)
    medians, notes = _bench().measure_all(_setup(), repeats=1, block=1)
    assert {"minitorch", "torch"} <= set(medians)
    assert "does not exist" in notes["minitorch compiled"]


def test_compiled_variant_is_checked_against_eager(monkeypatch: Any) -> None:
    monkeypatch.setattr(minitorch, "compile", lambda fn: fn, raising=False)
    medians, notes = _bench().measure_all(_setup(), repeats=1, block=1)
    assert "minitorch compiled" in medians and "minitorch compiled" not in notes

    def wrong(fn: Any) -> Any:
        return lambda *a: fn(*a) * 1.01

    monkeypatch.setattr(minitorch, "compile", wrong, raising=False)
    medians, notes = _bench().measure_all(_setup(), repeats=1, block=1)
    assert notes["minitorch compiled"].startswith("DISAGREES with minitorch")

    def broken(fn: Any) -> Any:
        raise RuntimeError("no tracing today")

    monkeypatch.setattr(minitorch, "compile", broken, raising=False)
    medians, notes = _bench().measure_all(_setup(), repeats=1, block=1)
    assert notes["minitorch compiled"] == "RuntimeError: no tracing today"


def test_jax_variant(monkeypatch: Any) -> None:
    bench = _bench()
    if importlib.util.find_spec("jax") is not None:
        medians, notes = bench.measure_all(_setup(), repeats=1, block=1)
        assert "jax.jit" in medians, notes  # its losses agreed with torch's
    monkeypatch.setitem(sys.modules, "jax", None)
    medians, notes = bench.measure_all(_setup(), repeats=1, block=1)
    assert "jax is not installed" in notes["jax.jit"]


def test_main_prints_a_row_per_variant(capsys: pytest.CaptureFixture[str]) -> None:
    assert _bench().main(["--batch", "2", "--size", "8", "--repeats", "1", "--block", "1"]) == 0
    out = capsys.readouterr().out
    assert "ratio ours/torch" in out
    for name in ("minitorch compiled", "jax.jit", "torch"):
        assert name in out

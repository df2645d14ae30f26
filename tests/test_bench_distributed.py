"""benchmarks/bench_distributed.py (issue 13): the script runs end to end under mpiexec and
prints its rows; a machine without MPI gets a message and exit 0. Behaviour only, never
timing: the figures of a --quick run are noise."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_distributed.py"


def _bench() -> ModuleType:
    name = "bench_distributed"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _PATH)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _needs_mpi() -> None:
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py is not installed (pip install 'minitorch[distributed]')")
    if _bench().missing() is not None:
        pytest.skip(f"cannot launch ranks here: {_bench().missing()}")


def test_quick_run_prints_every_row() -> None:
    _needs_mpi()
    done = subprocess.run(
        [sys.executable, str(_PATH), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=_PATH.parent.parent,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "samples/s" in out and "comm ms/step" in out and "ms/step" in out
    for batch in (32, 128):
        for ranks in (1, 2):
            row = re.search(rf"^\s*{batch} \|\s+{ranks} \|\s+(\d+) \|\s+([\d.]+) \|", out, re.M)
            assert row is not None, f"no row for batch {batch} at {ranks} ranks:\n{out}"
            assert int(row.group(1)) > 0 and float(row.group(2)) > 0
        assert re.search(rf"speed-up at global batch {batch}: [\d.]+x .* (ok|MISS)$", out, re.M)
        assert "without communication at most" in out


def test_two_ranks_time_the_all_reduce() -> None:
    _needs_mpi()
    args = _bench().parse(["--quick", "--batch", "8"])
    one = _bench().launch(1, args, timeout=120)
    two = _bench().launch(2, args, timeout=120)
    assert [r["batch"] for r in one["rows"]] == [8, 4]  # the 2-rank shard's size too
    (row,) = two["rows"]
    assert two["ranks"] == 2 and row["batch"] == 8 and row["steps"] == 3
    assert row["comm_ms"] > 0 and row["comm_ms_max_other"] > 0 and row["allreduce_alone_ms"] > 0
    assert one["rows"][0]["comm_ms"] == 0.0  # one process: no all-reduce at all


def test_a_failing_rank_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    _needs_mpi()
    assert _bench().main(["--quick", "--batch", "100000"]) == 1
    err = capsys.readouterr().err
    assert "1-rank run failed" in err and "larger than the" in err


@pytest.mark.parametrize("what", ["mpi4py", "mpiexec"])
def test_without_mpi_it_says_so_and_exits_0(
    what: str, monkeypatch: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = _bench()
    if what == "mpi4py":
        find = importlib.util.find_spec
        monkeypatch.setattr(
            importlib.util, "find_spec", lambda n, *a: None if n == "mpi4py" else find(n, *a)
        )
        expected = "mpi4py is not installed"
    else:
        monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
        expected = "mpiexec (Open MPI) is not on PATH"
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert expected in out and "minitorch[distributed]" in out


def test_report_marks_the_target() -> None:
    def row(batch: int, ranks: int, samples: float) -> dict[str, Any]:
        ms = 1000 * batch / samples
        return {
            "batch": batch,
            "ranks": ranks,
            "samples_per_s": samples,
            "ms_step": ms,
            "comm_ms": 0.1 * (ranks - 1),
            "comm_ms_max_other": 0.05 * (ranks - 1),
            "data_ms": 0.0,
            "step_ms": ms,
            "read_ms": 0.0,
            "allreduce_alone_ms": 0.0,
        }

    summary = [row(32, 1, 1000), row(32, 2, 1500), row(128, 1, 1000), row(128, 2, 1800)]
    lines = _bench().report([*summary, row(16, 1, 800), row(64, 1, 900)], [32, 128])
    text = "\n".join(lines)
    assert "speed-up at global batch 32: 1.50x" in text and text.count("MISS") == 1
    assert "speed-up at global batch 128: 1.80x" in text and "ok" in text
    assert "without communication at most 1.60x" in text  # 32 ms / 20 ms
    assert "0.100 ( 0.5 %), 0.050" in text  # comm on rank 0 (its share of 21.3 ms), rank 1


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--batch", "1"], "at least 2 examples"),
        (["--batch", "a,b"], "separated by commas"),
        (["--steps", "0"], "positive number"),
    ],
)
def test_bad_options_are_named(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        _bench().parse(argv)
    assert exit_.value.code == 2 and words in capsys.readouterr().err

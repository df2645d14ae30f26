"""The package is ruff- and mypy-clean (part of the test command, as the README promises)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_clean() -> None:
    res = _run(sys.executable, "-m", "ruff", "check", "minitorch", "tests", "benchmarks")
    assert res.returncode == 0, res.stdout + res.stderr


def test_ruff_format_clean() -> None:
    res = _run(
        sys.executable, "-m", "ruff", "format", "--check", "minitorch", "tests", "benchmarks"
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_mypy_strict_clean() -> None:
    res = _run(sys.executable, "-m", "mypy", "minitorch")
    assert res.returncode == 0, res.stdout + res.stderr

"""Shared test set-up: hypothesis profiles keep the suite fast on a 2-core machine.

Profiles: ``ci`` (default, bounded examples, no deadline) and ``thorough``
(select with ``HYPOTHESIS_PROFILE=thorough``).

The ``cuda`` fixture runs a device test twice: on ``fake_cupy`` (NumPy behind CuPy's
rules), on every machine, so the GPU code paths are tested in every run and in CI; and
(marker ``gpu``) on CuPy with a real NVIDIA GPU, skipped with the reason where there is
none (``benchmarks/gpu_check.sh`` runs them on a GPU machine).
"""

from __future__ import annotations

import importlib
import os
import random
from collections.abc import Iterator

import fake_cupy
import pytest
from hypothesis import HealthCheck, settings

from minitorch import devices

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _seeded() -> None:
    """Every test starts from the same Python random state."""
    random.seed(42)


def real_gpu() -> str | None:
    """None when CuPy and a GPU are there, else why not."""
    try:
        cp = importlib.import_module("cupy")
        if cp.cuda.runtime.getDeviceCount() < 1:
            return "CuPy finds no GPU"
    except Exception as e:  # ImportError, or a CUDA runtime error without a driver
        return f"no CuPy with a GPU here ({type(e).__name__}: {e})"
    return None


@pytest.fixture(params=["fake", pytest.param("gpu", marks=pytest.mark.gpu)])
def cuda(request: pytest.FixtureRequest) -> Iterator[str]:
    """``"fake"`` or ``"gpu"``: the namespace that ``device="cuda"`` uses in this test."""
    if request.param == "gpu":
        why = real_gpu()
        if why is not None:
            pytest.skip(f"needs an NVIDIA GPU with CuPy (pip install 'minitorch[gpu]'): {why}")
        previous = devices.use_cuda(None)
        devices.cuda_namespace()
    else:
        previous = devices.use_cuda(fake_cupy)
    try:
        yield request.param
    finally:
        devices.use_cuda(previous)

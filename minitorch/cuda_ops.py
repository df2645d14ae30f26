"""CudaOps: the GPU backend, the very kernels of ``FastOps`` run by CuPy on an NVIDIA GPU.

``minitorch.TensorBackend(minitorch.CudaOps)`` (the course's form) builds it; so does any
``device="cuda"``. Maps and zips are CuPy's elementwise kernels, reductions fold on the
device, ``matrix_multiply`` is cuBLAS (``cupy.matmul``) and the convolutions are the same
im2col GEMMs as on the CPU. Importing this module needs no CuPy: the namespace is looked
up when a backend is built, and without CuPy or a GPU that raises ``DeviceError`` saying
which is missing.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
from types import ModuleType
from typing import TYPE_CHECKING

from . import devices
from .fast_ops import FastOps
from .tensor_data import TensorData
from .tensor_ops import TensorBackend

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["CudaOps", "cuda_backend", "mm_practice", "sum_practice"]


class CudaOps(FastOps):
    """``FastOps`` over CuPy (``cuda = True``)."""

    cuda = True

    @classmethod
    def namespace(cls) -> ModuleType:
        """CuPy (``DeviceError`` when it or a GPU is missing)."""
        return devices.cuda_namespace()


# The course's scripts and app `import numba` and then ask `numba.cuda.is_available()`:
# they rely on the course library having imported `numba.cuda` (numba itself does not).
# minitorch never needs numba, but where it is installed, load that submodule as the course
# library does (about 0.3 s, paid only where numba is installed).
if "numba" in sys.modules or importlib.util.find_spec("numba") is not None:
    with contextlib.suppress(Exception):
        importlib.import_module("numba.cuda")

_BACKEND: TensorBackend | None = None


def cuda_backend() -> TensorBackend:
    """The one GPU backend that ``device="cuda"`` means, built on first use."""
    global _BACKEND
    if _BACKEND is None or _BACKEND.xp is not devices.cuda_namespace():
        _BACKEND = TensorBackend(CudaOps)
    return _BACKEND


def reset() -> None:
    """Forget the GPU backend (after ``devices.use_cuda`` swaps the namespace)."""
    global _BACKEND
    _BACKEND = None


def sum_practice(a: Tensor) -> TensorData:
    """The course's practice reduction: the sums of the first two 32-element blocks of the
    1-D ``a`` (a 2-cell TensorData; a block past the end sums to 0), on ``a``'s device."""
    x = a.contiguous()._tensor._array.reshape(-1)
    xp = a.backend.xp
    out = xp.zeros(2, dtype=x.dtype)
    for block in range(2):
        part = x[32 * block : 32 * (block + 1)]
        if part.size:
            out[block] = part.sum()
    return TensorData._from_array(out)


def mm_practice(a: Tensor, b: Tensor) -> TensorData:
    """The course's practice product of two square matrices of size < 32, on their device."""
    n = a.shape[0]
    if a.shape != (n, n) or b.shape != (n, n) or n >= 32:
        raise ValueError(
            f"mm_practice multiplies two square matrices of one size below 32, got shapes "
            f"{a.shape} and {b.shape}; use a @ b for any other product."
        )
    return (a @ b)._tensor

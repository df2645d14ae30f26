"""CudaOps: the GPU backend, the very kernels of ``FastOps`` run by CuPy on an NVIDIA GPU.

``minitorch.TensorBackend(minitorch.CudaOps)`` (the course's form) builds it; so does any
``device="cuda"``. Maps and zips are CuPy's elementwise kernels, reductions fold on the
device, ``matrix_multiply`` is cuBLAS (``cupy.matmul``) and the convolutions are the same
im2col GEMMs as on the CPU. Importing this module needs no CuPy: the namespace is looked
up when a backend is built, and without CuPy or a GPU that raises ``DeviceError`` saying
which is missing.
"""

from __future__ import annotations

from types import ModuleType

from . import devices
from .fast_ops import FastOps
from .tensor_ops import TensorBackend

__all__ = ["CudaOps", "cuda_backend"]


class CudaOps(FastOps):
    """``FastOps`` over CuPy (``cuda = True``)."""

    cuda = True

    @classmethod
    def namespace(cls) -> ModuleType:
        """CuPy (``DeviceError`` when it or a GPU is missing)."""
        return devices.cuda_namespace()


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

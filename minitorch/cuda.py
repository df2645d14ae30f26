"""``minitorch.cuda``: PyTorch's ``torch.cuda`` questions about the GPU.

``is_available()`` is True when CuPy is installed and sees an NVIDIA GPU;
``device_count()``; ``synchronize()`` waits for the GPU's queued work (use it around a
timer). None of them raise without CuPy.
"""

from __future__ import annotations

from .devices import cuda_namespace, device_count, is_available

__all__ = ["device_count", "get_device_name", "is_available", "synchronize"]


def synchronize() -> None:
    """Wait until every kernel queued on the GPU has run (nothing to do without one)."""
    if is_available():
        cuda_namespace().cuda.Device().synchronize()


def get_device_name() -> str:
    """The GPU's name, e.g. ``NVIDIA H200`` (``DeviceError`` without one)."""
    xp = cuda_namespace()
    props = xp.cuda.runtime.getDeviceProperties(xp.cuda.Device().id)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)

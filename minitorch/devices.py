"""Devices: where a tensor's numbers live, and the array namespace that computes on them.

``cpu`` arrays are NumPy arrays; ``cuda`` arrays are CuPy arrays on an NVIDIA GPU. NumPy
and CuPy share their API, so every kernel is written once over a namespace ``xp`` (the
module ``numpy`` or ``cupy``) and runs on either (see ``fast_ops``). CuPy is imported only
when a ``cuda`` device is first asked for; ``import minitorch`` never needs it.

``Device`` follows ``torch.device``: ``Device("cuda")``, ``Device("cuda:0")``,
``Device("cpu")``, ``str(d)``, ``d.type``, ``d.index``. minitorch drives one GPU, the
current CUDA device (``cuda`` and ``cuda:0`` name it).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "Device",
    "DeviceError",
    "cuda_namespace",
    "device_count",
    "is_available",
    "namespace",
    "same_device",
    "to_host",
]

Array = Any
"""A NumPy or CuPy array."""

GPU_EXTRA = "pip install 'minitorch[gpu]'"


class DeviceError(RuntimeError):
    """A device that is not there (no CuPy, no GPU) or tensors on different devices."""


class Device:
    """A device, as ``torch.device``: ``Device("cpu")``, ``Device("cuda")``, ``Device("cuda:0")``
    or ``Device("cuda", 0)``. Equal devices compare equal and hash alike; ``cuda`` and
    ``cuda:0`` are the same device."""

    __slots__ = ("index", "type")

    type: str
    index: int | None

    def __init__(self, spec: str | Device, index: int | None = None) -> None:
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise TypeError(f"A device is a string such as 'cpu' or 'cuda', got {spec!r}.")
        kind, _, num = spec.strip().partition(":")
        if num:
            if index is not None:
                raise ValueError(f"Device({spec!r}, {index}): give the index once.")
            try:
                index = int(num)
            except ValueError:
                raise ValueError(f"Device {spec!r}: the index after ':' must be an int.") from None
        if kind not in ("cpu", "cuda"):
            raise ValueError(
                f"Unknown device {spec!r}: minitorch computes on 'cpu' (NumPy) or 'cuda' "
                "(an NVIDIA GPU through CuPy)."
            )
        if index is not None and index < 0:
            raise ValueError(f"Device {spec!r}: the index must be >= 0.")
        if kind == "cpu" and index not in (None, 0):
            raise ValueError(f"Device {spec!r}: the CPU has no index but 0.")
        if kind == "cuda" and index not in (None, 0):
            raise DeviceError(
                f"Device {spec!r}: minitorch drives one GPU, the current CUDA device "
                "('cuda' or 'cuda:0'). Choose the card with CUDA_VISIBLE_DEVICES."
            )
        self.type = kind
        self.index = 0 if kind == "cuda" else None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = Device(other)
            except (ValueError, DeviceError):
                return False
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type={self.type!r}{idx})"


CPU = Device("cpu")

_cuda: ModuleType | None = None
"""The CuPy module once a GPU was found (tests may install a stand-in with ``use_cuda``)."""
_cuda_error: str | None = None


def _load_cupy() -> ModuleType:
    """Import CuPy and check that it sees a GPU; raise ``DeviceError`` saying what is missing."""
    try:
        cp = importlib.import_module("cupy")
    except ImportError as e:
        raise DeviceError(
            f"CUDA is not available: CuPy is not installed ({e}). Install it with {GPU_EXTRA} "
            "(CUDA 13; for CUDA 12 drivers: pip install cupy-cuda12x)."
        ) from None
    try:
        count = int(cp.cuda.runtime.getDeviceCount())
    except Exception as e:  # CUDARuntimeError without a driver, among others
        raise DeviceError(
            f"CUDA is not available: CuPy is installed but cannot reach a GPU ({e}). Check "
            "the NVIDIA driver (nvidia-smi) and that the CuPy wheel matches its CUDA version."
        ) from None
    if count < 1:
        raise DeviceError("CUDA is not available: CuPy finds no NVIDIA GPU on this machine.")
    return cp


def cuda_namespace() -> ModuleType:
    """The array namespace of the GPU (CuPy), loaded on first use.

    Raises ``DeviceError`` naming what is missing: CuPy (``pip install 'minitorch[gpu]'``)
    or a GPU it can reach.
    """
    global _cuda, _cuda_error
    if _cuda is not None:
        return _cuda
    if _cuda_error is not None:
        raise DeviceError(_cuda_error)
    try:
        _cuda = _load_cupy()
    except DeviceError as e:
        _cuda_error = str(e)
        raise
    return _cuda


def use_cuda(namespace: ModuleType | None) -> ModuleType | None:
    """Install ``namespace`` as the GPU's (``None``: forget it, look for CuPy again).

    Returns the previous one. For tests, which run the GPU code on a NumPy stand-in with
    CuPy's rules (``tests/fake_cupy.py``).
    """
    global _cuda, _cuda_error
    previous, _cuda, _cuda_error = _cuda, namespace, None
    from . import cuda_ops

    cuda_ops.reset()
    return previous


def is_available() -> bool:
    """True when CuPy is installed and sees a GPU (``torch.cuda.is_available()``)."""
    try:
        cuda_namespace()
    except DeviceError:
        return False
    return True


def device_count() -> int:
    """How many GPUs CuPy sees (0 without CuPy or a GPU)."""
    if not is_available():
        return 0
    return int(cuda_namespace().cuda.runtime.getDeviceCount())


def namespace(arr: Array) -> ModuleType:
    """The array namespace that computes on ``arr``: ``numpy`` or the GPU's (CuPy)."""
    if isinstance(arr, (np.ndarray, np.generic)):
        return np
    if _cuda is not None and isinstance(arr, _cuda.ndarray):
        return _cuda
    raise TypeError(f"Not an array of a known device: {type(arr).__name__}.")


def is_device_array(x: Any) -> bool:
    """True for an array in GPU memory (a CuPy array)."""
    return _cuda is not None and isinstance(x, _cuda.ndarray)


def on_host(arr: Array) -> bool:
    """True for a NumPy array (CPU memory)."""
    return isinstance(arr, (np.ndarray, np.generic))


def to_host(arr: Array) -> npt.NDArray[Any]:
    """``arr`` as a NumPy array: itself on the CPU, a copy from the GPU."""
    if isinstance(arr, np.ndarray):
        return arr
    if isinstance(arr, np.generic):
        return np.asarray(arr)
    return namespace(arr).asnumpy(arr)  # type: ignore[no-any-return]


def move(arr: Array, device: Device) -> Array:
    """``arr`` on ``device``: itself when already there, else a copy (host <-> GPU)."""
    if device.type == "cpu":
        return to_host(arr)
    xp = cuda_namespace()
    return arr if isinstance(arr, xp.ndarray) else xp.asarray(arr)


def device_of(arr: Array) -> Device:
    """The device holding ``arr``."""
    return CPU if on_host(arr) else CUDA


CUDA = Device("cuda")


def same_device(what: str, a: Any, b: Any) -> None:
    """Raise ``DeviceError`` when tensors ``a`` and ``b`` live on different devices."""
    da, db = a.backend.device, b.backend.device
    if da != db:
        raise DeviceError(
            f"{what}: expected all tensors on the same device, found {da} and {db}. Move one "
            f"with .to({str(da)!r}) or .to({str(db)!r})."
        )

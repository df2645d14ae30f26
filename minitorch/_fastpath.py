"""The speed shortcuts of the Tensor core, kept in one place.

Each one is kept only because a benchmark shows it pays (figures below, measured with
``benchmarks/bench_tensor.py``'s workloads, the shortcut on against off, interleaved in
one process), and each is pinned by tests (``tests/test_tensor_fastpaths.py``) that fail
if it ever changes what a user can observe.

1. **Shared number constants** (``number``): ``x * 2.0`` needs a shape-(1,) tensor for
   ``2.0``; the common ones are made once per (value, dtype, backend), read-only, and
   reused. Off, the ``chain`` workload (a number in every op) is ~40% slower per op.
   Pinned by ``test_number_constants_are_read_only_and_signed``.
2. **Gradient buffers taken without a copy** (``can_take``): a leaf's first gradient is
   stored as it is, not copied, when nothing else can ever see its buffer. That is
   decided with ``sys.getrefcount`` (an interpreter detail: the counts below hold for
   CPython's reference counting, and the tests check them on the running interpreter).
   Off (always copy), ``mlp128`` and ``mlp16`` are ~3% slower per step (the 784x256
   weight gradient is copied every step). Pinned by
   ``test_leaf_gradients_never_share_memory``, ``test_gradient_held_elsewhere_is_copied``,
   ``test_fresh_gradient_is_kept_without_a_copy`` and
   ``test_gradient_is_not_a_view_of_the_output_gradient``.
3. **The cyclic garbage collector paused during backward** (``BackwardPass``): a
   recorded graph has no reference cycles (it is freed by reference counting alone), so
   collections during the pass only rescan it. Off, the backward of the 100,000-op chain
   on a 100x100 tensor takes ~0.28 s instead of ~0.20 s. The collector's previous state
   is restored when the pass ends, also on an exception. Pinned by
   ``test_backward_pauses_the_collector_and_restores_it``.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable
from sys import getrefcount
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _trace
from .tensor_data import TensorData

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["BackwardPass", "can_take", "number"]

_CONSTANTS: dict[tuple[Any, ...], Tensor] = {}
"""Shape-(1,) read-only constants made from numbers, by (value, dtype, backend)."""


READ_ONLY: dict[int, Any] = {}
"""The GPU arrays of the shared constants, by id (GPU arrays have no read-only flag)."""


def writeable(arr: Any) -> bool:
    """False for a read-only array: a NumPy array so flagged, or a shared GPU constant."""
    flags = arr.flags
    return bool(flags.writeable) if hasattr(flags, "writeable") else id(arr) not in READ_ONLY


def number(like: Tensor, b: float) -> Tensor:
    """``b`` as a read-only shape-(1,) constant with ``like``'s dtype and backend (shared)."""
    key = (b, like._tensor._array.dtype, like.backend)
    c = _CONSTANTS.get(key)
    if c is None:
        if like.backend.xp is np:
            arr = np.array((b,), dtype=key[1])
            arr.flags.writeable = False
        else:  # GPU arrays have no read-only flag: in-place writes look the array up here
            arr = like.backend.xp.array((b,), dtype=key[1])
            READ_ONLY[id(arr)] = arr
        c = like._new(TensorData._from_c_array(arr))
        if b:  # zeros are not cached (0.0 == -0.0), nor NaNs (never found again)
            if len(_CONSTANTS) >= 256:
                _CONSTANTS.clear()
                READ_ONLY.clear()
            _CONSTANTS[key] = c
    if (
        tracer := _trace.STATE.active
    ) is not None:  # minitorch.compile: a constant, not traced data
        tracer.constant(c)
    return c


class BackwardPass:
    """Tells the tensors made by the backward pass now running (``Tensor.backward``).

    ``with BackwardPass(next_id):`` marks every tensor whose ``unique_id`` is above
    ``next_id()`` as made by this pass (nested passes restore the outer mark).
    """

    first_id: float = math.inf
    """The first ``unique_id`` of the tensors made by the running pass (inf: none runs)."""

    __slots__ = ("_collecting", "_previous")

    def __init__(self, next_id: Callable[[], int]) -> None:
        self._previous = BackwardPass.first_id
        BackwardPass.first_id = next_id() + 1
        self._collecting = gc.isenabled()

    def __enter__(self) -> None:
        if self._collecting:
            gc.disable()  # the graph is acyclic: collections would only rescan it

    def __exit__(self, *exc: object) -> None:
        BackwardPass.first_id = self._previous
        if self._collecting:
            gc.enable()


def can_take(x: Tensor, leaf: Tensor) -> bool:
    """True when ``leaf.grad`` may be ``x`` itself rather than a copy of it.

    ``x`` must have been made by the backward pass now running (so no user code held it
    before), own a fresh C-contiguous buffer of the leaf's dtype and backend, and be
    referenced only by its caller chain (the engine's loop variable and
    ``Tensor.accumulate_derivative``'s argument) and this call: then nothing else can
    ever see the buffer, and storing it instead of a copy changes nothing observable.
    """
    if x.unique_id < BackwardPass.first_id or x.backend is not leaf.backend:
        return False
    td = x._tensor
    arr = td._array
    return (
        arr.base is None
        and td._storage_arr is None
        and arr.dtype == leaf._tensor._array.dtype
        and arr.flags.c_contiguous
        and writeable(arr)
        # holders: the engine's variable, accumulate_derivative's x, this x, getrefcount's
        and getrefcount(x) <= 4
        # the Tensor's slot, the local td, getrefcount's argument
        and getrefcount(td) <= 3
        # the TensorData's slot, the local arr, getrefcount's argument
        and getrefcount(arr) <= 3
    )

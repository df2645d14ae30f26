"""Writing into a tensor's storage: the rules every in-place op follows, and ``SetItem``.

An in-place op (``t.add_(x)``, ``t += x``, ``t[key] = v``, ``t.zero_()``) goes through
``write``, which keeps PyTorch's safety rules:

* a **leaf that requires grad** cannot be modified while grad mode is on (its old value
  is what its gradient is for): RuntimeError at once, naming the op and the fix;
* every write **bumps the version** of the storage (``_versions``), shared by all views;
  a Function that saved the tensor then refuses to backward (``Tensor.chain_rule``);
* **nothing to record** (under ``no_grad``, or no tensor involved requires grad): the
  values are written straight into the storage (NumPy ``out=``), no copy of the tensor;
* **a tensor of a graph** (``y = x * 2; y.add_(1)``): the op is recorded, and ``y`` is
  *rebased* onto it: its old node lives on as a separate Tensor (holding a copy of the
  old values), ``y``'s history becomes the op applied to that old node, and consumers
  recorded before the write still reach the old node (``Tensor.parents``). In place on a
  view of a tensor that requires grad is not supported (a clear error names the fix).

``SetItem`` is the differentiable out-of-place form of ``t[key] = v``; ``fill_``,
``copy_`` and ``zero_`` record it too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _fastpath, _versions
from .autodiff import Context, is_grad_enabled
from .devices import same_device
from .indexing import for_array
from .tensor import Tensor, _FreedData, _next_id
from .tensor_data import TensorData
from .tensor_functions import Function, GetItem

__all__ = ["SetItem", "write"]

_new_object = object.__new__


class SetItem(Function):
    """f(a, v) = a with ``[key] = v`` (v broadcast to ``a[key]``'s shape); a new tensor.

    ∂f/∂a = 1 outside ``key``, 0 inside (``grad`` with ``[key] = 0``);  ∂f/∂v = ``grad[key]``
    (summed back to v's shape by the chain rule). ``key`` is a NumPy key.
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, v: Tensor, key: Any) -> Tensor:
        ctx.save_for_backward(key)
        arr = a._tensor._array
        out = a.backend.xp.array(arr, order="C")
        out[for_array(key, arr)] = v._tensor._array
        return a._new(TensorData._from_c_array(out))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, Any, float]:
        (key,) = ctx.saved_values
        needs = getattr(ctx, "needs_input_grad", (True, True, False))
        return (
            SetItem.apply(grad, grad._ensure_tensor(0.0), key) if needs[0] else 0.0,
            GetItem.apply(grad, key) if needs[1] else 0.0,
            0.0,
        )


def _leaf_message(op: str) -> str:
    return (
        f"{op}: a leaf tensor that requires grad cannot be modified in place while grad mode "
        "is on (its gradient is for the value it has now). For an update step, wrap it in "
        "`with minitorch.no_grad():`; otherwise use the out-of-place op (e.g. `t = t + x` "
        "instead of `t.add_(x)` or `t += x`)."
    )


def check_target(t: Tensor, op: str) -> None:
    """Raise a clear error when ``t`` may not be written in place (see the module doc)."""
    h = t.history
    if h is not None and is_grad_enabled():
        fn = h.last_fn
        if fn is None:
            raise RuntimeError(_leaf_message(op))
        root = id(_versions.root(t._tensor._array))
        rebased = t.unique_id in _versions.OLD_NODES  # its node is an op's, not a view
        for x in () if rebased else h.inputs:
            if isinstance(x, Tensor) and x.history is not None and _storage_root(x) == root:
                raise RuntimeError(
                    f"{op}: in place on a view (made by {fn.__name__}) of a tensor that "
                    "requires grad is not supported. Use the out-of-place op (e.g. "
                    "`y = y + x`), or .clone() the view first and modify the clone."
                )
    arr = t._tensor._array
    if not _fastpath.writeable(arr):
        raise RuntimeError(
            f"{op}: this tensor's memory is read-only (a shared constant or a broadcast "
            "view); .clone() it (or make a new tensor) and modify that."
        )
    if arr.size > 1 and any(s == 0 and n > 1 for s, n in zip(arr.strides, arr.shape)):
        raise RuntimeError(
            f"{op}: several elements of this tensor share one memory location (it was "
            "broadcast/expanded), so an in-place write is ambiguous. .clone() it first."
        )


def _storage_root(x: Tensor) -> int:
    """The id of the array owning ``x``'s memory, also for a graph node without values."""
    td = x._tensor
    if type(td) is _FreedData:
        return td._root_id
    return id(_versions.root(td._array))


def _requires_grad(others: Sequence[Any]) -> bool:
    return any(isinstance(o, Tensor) and o.history is not None for o in others)


def write(
    t: Tensor,
    op: str,
    others: Sequence[Any],
    direct: Callable[[npt.NDArray[Any]], None],
    recorded: Callable[..., Tensor],
) -> Tensor:
    """Run the in-place op ``op`` on ``t`` and return ``t``.

    ``direct(arr)`` writes the new values into ``t``'s NumPy array (nothing to record);
    ``recorded(old, *others)`` computes them out of place with recorded Tensor operations
    from the old node ``old`` (a graph is involved). ``others`` are the op's tensor/number
    arguments (checked for gradients, and ``t`` itself among them replaced by ``old``).
    """
    check_target(t, op)
    arr = t._tensor._array
    if not (is_grad_enabled() and (t.history is not None or _requires_grad(others))):
        direct(arr)
        _versions.bump(arr)
        return t
    old = _new_object(Tensor)  # the node t was until now, with a copy of its values
    old._tensor = TensorData._from_c_array(t.backend.xp.array(arr, order="C"))
    old.history = t.history
    old.backend = t.backend
    old._grad = None
    old.unique_id = _next_id()
    old._name = t._name
    old._node = None
    hooks = _versions.HOOKS.pop(t.unique_id, None)
    if hooks:  # hooks registered before the write see the gradient of the old value
        _versions.HOOKS[old.unique_id] = hooks
        _versions.watch(old)
    h = old.history
    if h is not None and h.ctx is not None and hasattr(h.ctx, "output_version"):
        h.ctx.output_version = 0  # old holds its own copy now
    r = recorded(old, *[old if o is t else o for o in others])
    if r.shape != t.shape:
        raise RuntimeError(
            f"{op}: the result has shape {r.shape}, which does not fit the tensor's shape "
            f"{t.shape} (an in-place op cannot change the shape); use the out-of-place op."
        )
    t.backend.xp.copyto(arr, r._tensor._array)
    n = _versions.bump(arr)
    _versions.switch_on(rebase=True)
    _versions.OLD_NODES.setdefault(t.unique_id, []).append(old)
    _versions.watch(t)
    t.history = r.history
    if r.history is not None and r.history.ctx is not None:
        r.history.ctx.output_version = n  # type: ignore[attr-defined]
    return t


def check_fits(t: Tensor, op: str, other: Any) -> None:
    """Raise when ``other`` does not broadcast to ``t``'s shape (the result must keep it)."""
    if isinstance(other, Tensor):
        same_device(op, t, other)
        shape = other.shape
    elif isinstance(other, np.ndarray):
        shape = other.shape
    else:
        return
    try:
        full = np.broadcast_shapes(t.shape, shape)
    except ValueError:
        full = None
    if full != t.shape:
        raise RuntimeError(
            f"{op}: an operand of shape {shape} does not broadcast to the tensor's shape "
            f"{t.shape} (an in-place op cannot change the shape); use the out-of-place op."
        )

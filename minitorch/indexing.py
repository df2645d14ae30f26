"""Tensor indexing keys: PyTorch's forms, checked, turned into keys NumPy can use.

``normalize_key(key, shape)`` validates ``t[key]`` (and ``t[key] = v``) for a tensor of
``shape`` and returns ``(numpy_key, basic)``: a tuple that indexes the tensor's NumPy
array, and whether it is *basic* (ints, slices, ``...``, ``None`` only: the result is a
view) or *advanced* (index arrays or masks: the result is a copy). Accepted entries:

* ints, negative ones counting from the end (``t[-1]`` on a 2-D tensor is its last row);
* slices with a positive step (PyTorch has no negative steps either: use ``flip``);
* ``...`` (at most one) and ``None`` (a new dim of size 1);
* index arrays: lists (nested lists, tuples inside the key) of ints, NumPy int arrays
  and minitorch Tensors with integral values; negatives count from the end. A list is
  never a full index: ``t[[0, 1]]`` selects rows 0 and 1, as in PyTorch;
* masks: lists of bools and NumPy bool arrays, whose shape must equal the dims they cover.

Tensors hold floats, so a Tensor used as an index is read by one rule: **it is a mask
when all its values are 0 or 1 and its shape equals the dims it covers** (this makes
``t[t > 0]`` work, as comparisons return 1.0/0.0); otherwise its values must be whole
numbers, used as indices. To index with 0/1 values where a mask would fit, pass a list
of ints or a NumPy int array instead.

The course contract keeps one form: a *full index of ints* (one int per dim, ``t[i]`` on
a 1-D tensor, ``t[i, j]`` on a 2-D one) reads a Python float, and a negative entry in it
raises ``IndexingError`` (``is_full_index`` recognises such a key).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .devices import namespace, to_host
from .tensor_data import IndexingError

__all__ = ["full_index", "is_full_index", "normalize_key"]

_INT = (int, np.integer)
_KINDS = (
    "ints, slices with a positive step, ..., None, lists of ints or bools, NumPy int or "
    "bool arrays and Tensors"
)


def _is_int(k: Any) -> bool:
    return isinstance(k, _INT) and not isinstance(k, (bool, np.bool_))


def _show(key: Any) -> str:
    s = " ".join(repr(key).split())
    return s if len(s) <= 80 else s[:77] + "..."


def full_index(key: Any, ndim: int) -> tuple[int, ...] | None:
    """``key`` as a tuple of ints when it is a full index of ints (one per dim), else None.

    ``t[i]`` on a 1-D tensor and ``t[i, j]`` on a 2-D one are full indices; a list is not
    (``t[[0, 1]]`` is advanced indexing). Range and sign are not checked here.
    """
    if _is_int(key):
        return (int(key),) if ndim == 1 else None
    if type(key) is tuple and len(key) == ndim and all(_is_int(k) for k in key):
        return tuple(int(k) for k in key)
    return None


def is_full_index(numpy_key: tuple[Any, ...], ndim: int) -> bool:
    """True when a key from ``normalize_key`` reads one element (a Python float)."""
    return len(numpy_key) == ndim and all(_is_int(k) for k in numpy_key)


def _check_full(key: Any, idx: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The contract's full index: every entry in ``0 … size-1`` of its dim."""
    for d, (i, n) in enumerate(zip(idx, shape)):
        if i < 0:
            fix = ", ".join(f"{n + i if j == d else k}" for j, k in enumerate(idx))
            cut = ", ".join(f"{i}:{i + 1 or ''}" if j == d else f"{k}" for j, k in enumerate(idx))
            raise IndexingError(
                f"Index {_show(key)}: negative entry {i} in dim {d} of a full index of "
                f"ints (shape {shape}). minitorch follows the course here: a full index of "
                f"ints reads one float and its entries must be in 0 … size-1. Count from "
                f"the start, t[{fix}] (size {n} {i}), or use a slice, "
                f"t[{cut}], to get a one-element tensor."
            )
        if i >= n:
            raise IndexingError(
                f"Index {_show(key)}: {i} is out of range for dim {d} of shape {shape} "
                f"(size {n}; valid: 0 … {n - 1})."
            )
    return idx


def _int_entry(key: Any, k: int, dim: int, shape: tuple[int, ...]) -> int:
    n = shape[dim]
    if not -n <= k < n:
        raise IndexingError(
            f"Index {_show(key)}: {k} is out of range for dim {dim} of shape {shape} "
            f"(size {n}; valid: {-n} … {n - 1})."
        )
    return k + n if k < 0 else k


def _slice_entry(key: Any, k: slice, dim: int, shape: tuple[int, ...]) -> slice:
    for part in (k.start, k.stop, k.step):
        if part is not None and not _is_int(part):
            raise IndexingError(
                f"Index {_show(key)}: slice bounds and steps must be ints or None, got "
                f"{type(part).__name__} in dim {dim} (shape {shape})."
            )
    if k.step is not None and k.step <= 0:
        raise IndexingError(
            f"Index {_show(key)}: slice step {k.step} in dim {dim} (shape {shape}) must be "
            "positive, as in PyTorch. To reverse, use t.flip(dim)."
        )
    return k


def _int_array(key: Any, arr: np.ndarray[Any, Any], dim: int, shape: tuple[int, ...]) -> Any:
    """An int index array checked against dim ``dim``; negatives made positive (a copy)."""
    n = shape[dim]
    if arr.size and (arr.min() < -n or arr.max() >= n):
        bad = arr[(arr < -n) | (arr >= n)].reshape(-1)[0]
        raise IndexingError(
            f"Index {_show(key)}: index {int(bad)} is out of range for dim {dim} of shape "
            f"{shape} (size {n}; valid: {-n} … {n - 1})."
        )
    out = arr.astype(np.intp)
    out[out < 0] += n
    return out


def _check_mask(key: Any, mask: np.ndarray[Any, Any], dim: int, shape: tuple[int, ...]) -> Any:
    covered = shape[dim : dim + mask.ndim]
    if mask.shape != covered:
        raise IndexingError(
            f"Index {_show(key)}: a mask of shape {mask.shape} at dim {dim} must have the "
            f"shape of the dims it covers, {covered} (dims {dim} … {dim + mask.ndim - 1} of "
            f"shape {shape})."
        )
    return mask


def _as_array(key: Any, k: Any) -> np.ndarray[Any, Any]:
    """A list / tuple / NumPy array entry as a NumPy int or bool array."""
    if isinstance(k, np.ndarray):
        arr = k
    else:
        if len(k) == 0:
            return np.zeros(0, dtype=np.intp)
        try:
            arr = np.array(k)
        except ValueError as err:
            raise IndexingError(
                f"Index {_show(key)}: the list {_show(k)} is not rectangular ({err})."
            ) from None
        if arr.dtype != np.bool_ and _holds_bool(k):
            raise IndexingError(
                f"Index {_show(key)}: the list {_show(k)} mixes bools and ints; use all "
                "bools (a mask) or all ints (indices)."
            )
    if arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.integer):
        return arr
    raise IndexingError(
        f"Index {_show(key)}: index arrays must hold ints or bools, got {arr.dtype} "
        f"({_show(k)}). Convert with int(...), or pass a Tensor (its values are read as "
        "indices when whole numbers)."
    )


def _holds_bool(k: Any) -> bool:
    """True when a (nested) list holds a bool anywhere."""
    if isinstance(k, (bool, np.bool_)):
        return True
    return isinstance(k, (list, tuple)) and any(_holds_bool(v) for v in k)


class _Entry:
    """One entry of a key, classified: how many dims it covers and its NumPy form."""

    __slots__ = ("dims", "kind", "value")

    def __init__(self, kind: str, value: Any, dims: int) -> None:
        self.kind = kind  # "none" "ellipsis" "int" "slice" "ints" "mask" "tensor" "bool"
        self.value = value
        self.dims = dims


def _classify(key: Any, k: Any) -> _Entry:
    if k is None:
        return _Entry("none", None, 0)
    if k is Ellipsis:
        return _Entry("ellipsis", Ellipsis, 0)
    if isinstance(k, (bool, np.bool_)):
        return _Entry("bool", bool(k), 0)
    if _is_int(k):
        return _Entry("int", int(k), 1)
    if isinstance(k, slice):
        return _Entry("slice", k, 1)
    if isinstance(k, (list, tuple, np.ndarray)):
        arr = _as_array(key, k)
        if arr.ndim == 0:
            return _classify(key, arr.item())
        if arr.dtype == np.bool_:
            return _Entry("mask", arr, arr.ndim)
        return _Entry("ints", arr, 1)
    from .tensor import Tensor  # here: tensor.py imports this module

    if isinstance(k, Tensor):  # covers dims decided by its position (_tensor_entry)
        return _Entry("tensor", to_host(k._tensor._array), -1)  # checked on the host
    raise IndexingError(
        f"Index {_show(key)}: {type(k).__name__} entries are not supported; a tensor index "
        f"is made of {_KINDS}."
    )


def _tensor_entry(key: Any, arr: np.ndarray[Any, Any], covered: tuple[int, ...]) -> _Entry:
    """A Tensor's values as a mask (0/1 values, shape == covered dims) or as indices."""
    if arr.shape == covered and bool(np.all((arr == 0) | (arr == 1))):
        return _Entry("mask", arr != 0, arr.ndim)
    finite = np.isfinite(arr)
    if not finite.all() or not np.all(arr == np.round(arr)):
        bad = arr[~finite | (arr != np.round(np.where(finite, arr, 0)))].reshape(-1)[0]
        raise IndexingError(
            f"Index {_show(key)}: a Tensor used as an index needs whole-number values "
            f"(indices) or 0/1 values with the shape of the dims it covers (a mask); it has "
            f"the value {bad}. Round it first, or compare (t > 0) for a mask."
        )
    return _Entry("ints", arr.astype(np.int64), 1)


def for_array(key: tuple[Any, ...], arr: Any) -> tuple[Any, ...]:
    """``key`` (checked, with NumPy index arrays) ready to index ``arr``: on a GPU its index
    arrays are copied to the device (CuPy indexes with device arrays only)."""
    if isinstance(arr, np.ndarray):
        return key
    xp = namespace(arr)
    return tuple(xp.asarray(k) if isinstance(k, np.ndarray) else k for k in key)


def normalize_key(key: Any, shape: tuple[int, ...]) -> tuple[tuple[Any, ...], bool]:
    """Validate a PyTorch-style index for a tensor of ``shape``: ``(numpy_key, basic)``.

    ``numpy_key`` is a tuple for the tensor's NumPy array: ints made non-negative, slices,
    ``...``, ``None``, int arrays (``np.intp``, non-negative) and bool masks. ``basic`` is
    True when it holds no arrays (``arr[numpy_key]`` is then a view). Raises
    ``IndexingError`` naming the entry, the dim, the shape and the fix. A full index of
    ints (``is_full_index``) must be non-negative (the course contract).
    """
    shape = tuple(shape)
    full = full_index(key, len(shape))
    if full is not None:
        return _check_full(key, full, shape), True
    parts = key if type(key) is tuple else (key,)
    entries = [_classify(key, k) for k in parts]
    ellipses = [i for i, e in enumerate(entries) if e.kind == "ellipsis"]
    if len(ellipses) > 1:
        raise IndexingError(f"Index {_show(key)}: an index can hold only one '...'.")
    split = ellipses[0] if ellipses else len(entries)
    # Entries before '...' cover dims from the left; entries after it, from the right.
    dim = 0
    for i in range(split):
        e = entries[i]
        if e.kind == "tensor":
            e = entries[i] = _tensor_entry(key, e.value, shape[dim : dim + e.value.ndim])
        dim += e.dims
    left = dim
    end = len(shape)
    for i in range(len(entries) - 1, split, -1):
        e = entries[i]
        if e.kind == "tensor":
            k = e.value.ndim
            e = entries[i] = _tensor_entry(key, e.value, shape[max(end - k, 0) : end])
        end -= e.dims
    used = left + (len(shape) - end)
    if used > len(shape):
        raise IndexingError(
            f"Index {_show(key)}: too many indices for a tensor of shape {shape} "
            f"({used} dims indexed, {len(shape)} present)."
        )
    out: list[Any] = []
    basic = True
    dim = 0
    for e in entries:
        if e.kind == "ellipsis":
            dim = end
            out.append(Ellipsis)
            continue
        if e.kind == "int":
            out.append(_int_entry(key, e.value, dim, shape))
        elif e.kind == "slice":
            out.append(_slice_entry(key, e.value, dim, shape))
        elif e.kind == "ints":
            out.append(_int_array(key, e.value, dim, shape))
            basic = False
        elif e.kind == "mask":
            out.append(_check_mask(key, e.value, dim, shape))
            basic = False
        elif e.kind == "bool":
            out.append(e.value)
            basic = False
        else:  # None
            out.append(None)
        dim += e.dims
    if not basic and any(e.kind == "int" for e in entries):
        _check_int_placement(key, entries, end - left)
    return tuple(out), basic


def _check_int_placement(key: Any, entries: list[_Entry], ellipsis_dims: int) -> None:
    """Refuse the one mix of ints and index arrays where NumPy and PyTorch differ.

    NumPy counts ints as index arrays, PyTorch applies them first. Both put the dims of
    the index arrays where the arrays stand when they are adjacent, else in front; an
    int cut off from the arrays by a slice, ``None`` or ``...`` makes NumPy put them in
    front where PyTorch keeps them in place (``t[0, :, [1, 2]]``).
    """
    arrays = {"ints", "mask", "bool"}

    def run(kinds: set[str]) -> list[int]:
        return [i for i, e in enumerate(entries) if e.kind in kinds]

    def adjacent(pos: list[int], skip: set[int]) -> bool:
        between = range(pos[0], pos[-1] + 1)
        return all(i in pos or i in skip for i in between)

    ints = set(run({"int"}))
    arr = run(arrays)
    numpy_adjacent = adjacent(sorted(set(arr) | ints), set())
    torch_adjacent = adjacent(arr, ints)
    before = entries[: arr[0]]
    torch_place = sum(
        ellipsis_dims if e.kind == "ellipsis" else 1 for e in before if e.kind != "int"
    )
    if not numpy_adjacent and torch_adjacent and torch_place > 0:
        raise IndexingError(
            f"Index {_show(key)}: an int cut off from the index arrays by a slice, None or "
            "'...' places the selected dims differently in NumPy (in front) and PyTorch (in "
            "place); minitorch refuses rather than guess. Index in two steps, the int "
            "first: t[0][:, [1, 2]] for t[0, :, [1, 2]]."
        )

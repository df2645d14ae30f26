"""Shape Functions: reshaping, reordering, repeating and joining tensors, PyTorch's way.

Each differentiable operation is one ``Function`` (``Reshape``, ``Flip``, ``Repeat``,
``Cat``); the rest are compositions of them with ``Permute``, ``BroadcastTo`` and
``GetItem`` (``tensor_functions``), so everything here has first and second derivatives.
The functions below are also the ``Tensor`` methods of the same names; dims may be
negative (counting from the end) and errors name the shapes and dims involved.

minitorch has no 0-d tensors: where PyTorch would return one (``squeeze`` of ``(1,)``,
``unbind`` of a 1-D tensor), the result has shape ``(1,)``.

Splitting (``split``, ``chunk``, ``unbind``, ``narrow``, ``select``) returns views
(``GetItem`` with slices), as PyTorch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np

from .autodiff import Context
from .devices import same_device
from .tensor import Tensor
from .tensor_data import IndexingError, TensorData
from .tensor_functions import BroadcastTo, Function, GetItem, Permute, Sum, _ints

__all__ = [
    "Cat",
    "Flip",
    "Pieces",
    "Repeat",
    "Reshape",
    "cat",
    "chunk",
    "expand",
    "flatten",
    "flip",
    "movedim",
    "narrow",
    "repeat",
    "reshape",
    "select",
    "split",
    "squeeze",
    "stack",
    "swapaxes",
    "swapdims",
    "transpose",
    "unbind",
    "unsqueeze",
]


Pieces: TypeAlias = tuple[Tensor, ...]
"""What ``split``, ``chunk`` and ``unbind`` return: a tuple of views."""


# ---------------------------------------------------------------------------
# Argument helpers
# ---------------------------------------------------------------------------


def norm_dim(dim: Any, ndim: int, what: str, shape: tuple[int, ...]) -> int:
    """``dim`` in ``0 … ndim-1`` (negatives count from the end); IndexingError otherwise."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{what}: dim must be an int, got {type(dim).__name__} ({dim!r}).")
    d = int(dim)
    if not -ndim <= d < ndim:
        raise IndexingError(
            f"{what}: dim {d} is out of range for shape {shape} (valid: {-ndim} … {ndim - 1})."
        )
    return d + ndim if d < 0 else d


def _dims(dims: Any, ndim: int, what: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """An int or a sequence of ints as distinct non-negative dims."""
    seq = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    out = tuple(norm_dim(d, ndim, what, shape) for d in seq)
    if len(set(out)) != len(out):
        raise IndexingError(f"{what}: dims {tuple(seq)} repeat a dim (shape {shape}).")
    return out


def size_args(sizes: Sequence[Any], what: str) -> tuple[int, ...]:
    """``f(2, 3)``, ``f((2, 3))`` or ``f([2, 3])`` as the tuple ``(2, 3)``."""
    if len(sizes) == 1 and not isinstance(sizes[0], (int, np.integer)):
        sizes = tuple(sizes[0])
    for s in sizes:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(
                f"{what}: sizes must be ints, got {type(s).__name__} ({s!r}); write "
                f"{what}(2, 3) or {what}((2, 3))."
            )
    return tuple(int(s) for s in sizes)


def infer_shape(
    shape: tuple[int, ...], size: int, what: str, old: tuple[int, ...]
) -> tuple[int, ...]:
    """``shape`` with one ``-1`` replaced by what makes the sizes match ``size``."""
    if shape.count(-1) > 1 or any(s < -1 for s in shape):
        raise IndexingError(
            f"{what}{shape}: sizes must be non-negative, with at most one -1 (inferred)."
        )
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or size % known:
            raise IndexingError(
                f"{what}: cannot infer the -1 in {shape} for shape {old} ({size} elements): "
                f"{size} is not a multiple of {known}."
            )
        shape = tuple(size // known if s == -1 else s for s in shape)
    if math.prod(shape) != size:
        raise IndexingError(
            f"{what}: shape {old} ({size} elements) cannot become {shape} "
            f"({math.prod(shape)} elements)."
        )
    return shape


def _key(dim: int, entry: Any) -> tuple[Any, ...]:
    """A NumPy key selecting ``entry`` (an int or a slice) in dim ``dim``."""
    return (slice(None),) * dim + (entry,)


# ---------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------


class Reshape(Function):
    """f(a) = a with another shape of the same size;  ∂f/∂a: grad reshaped back.

    A view when the layout allows (always for adding or removing size-1 dims), else a
    copy (PyTorch's ``reshape``; ``view`` is the one that never copies).
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, shape: Any) -> Tensor:
        ctx.save_for_backward(a.shape)
        return a._new(TensorData._from_array(a._tensor._array.reshape(_ints(shape))))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float]:
        (shape,) = ctx.saved_values
        return Reshape.apply(grad, shape), 0.0


class Flip(Function):
    """f(a) = a reversed along ``dims`` (a copy);  ∂f/∂a: grad flipped back (its own inverse)."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dims: Any) -> Tensor:
        ds = _ints(dims)
        ctx.save_for_backward(ds)
        key = tuple(slice(None, None, -1) if d in ds else slice(None) for d in range(a.dims))
        xp = a.backend.xp
        return a._new(TensorData._from_array(xp.ascontiguousarray(a._tensor._array[key])))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float]:
        (ds,) = ctx.saved_values
        return Flip.apply(grad, ds), 0.0


class Repeat(Function):
    """f(a) = a tiled ``sizes[i]`` times along dim i (a copy; PyTorch's ``repeat``).

    ``a`` of shape ``(s0, …)`` (left-padded with 1s to ``len(sizes)`` dims) gives shape
    ``(r0·s0, …)``;  ∂f/∂a: grad seen as ``(r0, s0, r1, s1, …)`` and summed over the r's.
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, sizes: Any) -> Tensor:
        reps = _ints(sizes)
        ctx.save_for_backward(a.shape, reps)
        return a._new(TensorData._from_array(a.backend.xp.tile(a._tensor._array, reps)))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float]:
        shape, reps = ctx.saved_values
        padded = (1,) * (len(reps) - len(shape)) + tuple(shape)
        split = tuple(n for pair in zip(reps, padded) for n in pair)
        g = Reshape.apply(grad, split)
        for i in range(len(reps)):
            if reps[i] != 1:
                g = Sum.apply(g, 2 * i)
        return Reshape.apply(g, shape), 0.0


class Cat(Function):
    """f(a1, …, ak) = the inputs joined along ``dim`` (the last argument; a copy).

    ∂f/∂ai: the slice of grad where ai was placed (a view).
    """

    @staticmethod
    def forward(ctx: Context, *args: Any) -> Tensor:
        ts: list[Tensor] = list(args[:-1])
        d = int(args[-1])
        ctx.save_for_backward(tuple(t.shape[d] for t in ts), d)
        for t in ts[1:]:
            same_device("cat", ts[0], t)
        arr = ts[0].backend.xp.concatenate([t._tensor._array for t in ts], axis=d)
        return ts[0]._new(TensorData._from_array(arr))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, ...]:
        sizes, d = ctx.saved_values
        out: list[Any] = []
        start = 0
        for n in sizes:
            out.append(GetItem.apply(grad, _key(d, slice(start, start + n))))
            start += n
        return (*out, 0.0)


# ---------------------------------------------------------------------------
# Reshaping
# ---------------------------------------------------------------------------


def reshape(t: Tensor, *shape: Any) -> Tensor:
    """``t`` with ``shape`` (one -1 is inferred): a view when the layout allows, else a copy."""
    new = infer_shape(size_args(shape, "reshape"), t.size, "reshape", t.shape)
    if new == t.shape:
        return t if t.history is None else Reshape.apply(t, new)
    return Reshape.apply(t, new)


def squeeze(t: Tensor, dim: Any = None) -> Tensor:
    """``t`` without its size-1 dims (all, or those of ``dim``: an int or a tuple); a view.

    Dims of other sizes are left as they are (PyTorch). A result with no dims is ``(1,)``.
    """
    if dim is None:
        ds = tuple(i for i, n in enumerate(t.shape) if n == 1)
    else:
        ds = tuple(d for d in _dims(dim, t.dims, "squeeze", t.shape) if t.shape[d] == 1)
    shape = tuple(n for i, n in enumerate(t.shape) if i not in ds) or (1,)
    return Reshape.apply(t, shape)


def unsqueeze(t: Tensor, dim: int) -> Tensor:
    """``t`` with a new dim of size 1 at ``dim`` (in ``-ndim-1 … ndim``); a view."""
    d = norm_dim(dim, t.dims + 1, "unsqueeze", t.shape)
    return Reshape.apply(t, (*t.shape[:d], 1, *t.shape[d:]))


def flatten(t: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """``t`` with dims ``start_dim … end_dim`` merged into one (a view when possible)."""
    s = norm_dim(start_dim, t.dims, "flatten", t.shape)
    e = norm_dim(end_dim, t.dims, "flatten", t.shape)
    if s > e:
        raise IndexingError(
            f"flatten: start_dim {start_dim} comes after end_dim {end_dim} (shape {t.shape})."
        )
    shape = (*t.shape[:s], math.prod(t.shape[s : e + 1]), *t.shape[e + 1 :])
    return Reshape.apply(t, shape)


# ---------------------------------------------------------------------------
# Reordering
# ---------------------------------------------------------------------------


def transpose(t: Tensor, dim0: int, dim1: int) -> Tensor:
    """``t`` with dims ``dim0`` and ``dim1`` swapped (a view)."""
    d0 = norm_dim(dim0, t.dims, "transpose", t.shape)
    d1 = norm_dim(dim1, t.dims, "transpose", t.shape)
    order = list(range(t.dims))
    order[d0], order[d1] = d1, d0
    return Permute.apply(t, tuple(order))


swapaxes = transpose
swapdims = transpose


def movedim(t: Tensor, source: Any, destination: Any) -> Tensor:
    """``t`` with the dims ``source`` moved to positions ``destination`` (a view).

    The other dims keep their order.
    """
    src = _dims(source, t.dims, "movedim", t.shape)
    dst = _dims(destination, t.dims, "movedim", t.shape)
    if len(src) != len(dst):
        raise IndexingError(
            f"movedim: source {source!r} and destination {destination!r} must name as many dims."
        )
    rest = iter(d for d in range(t.dims) if d not in src)
    placed = dict(zip(dst, src))
    order = tuple(placed[i] if i in placed else next(rest) for i in range(t.dims))
    return Permute.apply(t, order)


def flip(t: Tensor, dims: Any) -> Tensor:
    """``t`` reversed along ``dims`` (an int or a sequence); a copy, as in PyTorch."""
    return Flip.apply(t, _dims(dims, t.dims, "flip", t.shape))


# ---------------------------------------------------------------------------
# Repeating
# ---------------------------------------------------------------------------


def expand(t: Tensor, *sizes: Any) -> Tensor:
    """``t`` broadcast to ``sizes`` (a view: repeated dims get stride 0; PyTorch's expand).

    New dims may be added in front; ``-1`` keeps a dim's size; a dim can grow only from 1.
    """
    want = size_args(sizes, "expand")
    shape = t.shape
    lead = len(want) - len(shape)
    if lead < 0:
        raise IndexingError(
            f"expand{want}: {len(want)} sizes for a tensor of shape {shape}; give at least "
            f"one size per dim ({len(shape)})."
        )
    out = []
    for i, w in enumerate(want):
        if i < lead:
            if w < 0:
                raise IndexingError(
                    f"expand{want}: the new leading dim {i} needs a size, not {w} (shape {shape})."
                )
            out.append(w)
            continue
        n = shape[i - lead]
        if w == -1 or w == n:
            out.append(n)
        elif n == 1 and w >= 0:
            out.append(w)
        else:
            raise IndexingError(
                f"expand{want}: dim {i} of size {n} (shape {shape}) cannot become {w}; only "
                "dims of size 1 expand (-1 keeps a size). Use repeat to copy data."
            )
    target = tuple(out)
    return Reshape.apply(t, shape) if target == shape else BroadcastTo.apply(t, target)


def repeat(t: Tensor, *sizes: Any) -> Tensor:
    """``t`` tiled ``sizes[i]`` times along each dim (a copy); extra sizes add leading dims."""
    reps = size_args(sizes, "repeat")
    if len(reps) < t.dims:
        raise IndexingError(
            f"repeat{reps}: {len(reps)} sizes for a tensor of shape {t.shape}; give at least "
            f"one per dim ({t.dims})."
        )
    if any(r < 0 for r in reps):
        raise IndexingError(f"repeat{reps}: repeat counts must be non-negative.")
    return Repeat.apply(t, reps)


# ---------------------------------------------------------------------------
# Joining and splitting
# ---------------------------------------------------------------------------


def _tensors(tensors: Any, what: str) -> list[Tensor]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(
            f"{what}: expected a list or tuple of Tensors, got {type(tensors).__name__}; "
            f"write minitorch.{what}([a, b], dim=0)."
        )
    if not tensors:
        raise ValueError(f"{what}: expected a non-empty list of Tensors.")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{what}: element {i} is a {type(t).__name__}, not a Tensor (wrap it with "
                "minitorch.tensor(...))."
            )
    return list(tensors)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """The tensors joined along ``dim``: equal shapes except in ``dim``; a copy."""
    ts = _tensors(tensors, "cat")
    first = ts[0]
    d = norm_dim(dim, first.dims, "cat", first.shape)
    for i, t in enumerate(ts):
        if t.dims != first.dims or t.shape[:d] + t.shape[d + 1 :] != (
            first.shape[:d] + first.shape[d + 1 :]
        ):
            raise IndexingError(
                f"cat: tensor {i} has shape {t.shape} but tensor 0 has shape {first.shape}; "
                f"they must match in every dim but dim {d}."
            )
    return Cat.apply(*ts, d)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """The tensors (all of one shape) joined along a new dim ``dim``."""
    ts = _tensors(tensors, "stack")
    first = ts[0]
    for i, t in enumerate(ts):
        if t.shape != first.shape:
            raise IndexingError(
                f"stack: tensor {i} has shape {t.shape} but tensor 0 has shape {first.shape}; "
                "stack needs equal shapes."
            )
    d = norm_dim(dim, first.dims + 1, "stack", first.shape)
    return Cat.apply(*[unsqueeze(t, d) for t in ts], d)


def narrow(t: Tensor, dim: int, start: int, length: int) -> Tensor:
    """Elements ``start … start+length-1`` of ``dim`` (a view); ``start`` may be negative."""
    d = norm_dim(dim, t.dims, "narrow", t.shape)
    n = t.shape[d]
    s = int(start) + n if start < 0 else int(start)
    if not 0 <= s <= n or length < 0 or s + length > n:
        raise IndexingError(
            f"narrow: start {start} and length {length} do not fit dim {d} of size {n} "
            f"(shape {t.shape}); need 0 <= start (or -size <= start < 0) and "
            "start + length <= size."
        )
    return GetItem.apply(t, _key(d, slice(s, s + int(length))))


def select(t: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` of ``dim``, without ``dim`` (a view; ``(1,)`` if no dims left)."""
    d = norm_dim(dim, t.dims, "select", t.shape)
    n = t.shape[d]
    if not -n <= index < n:
        raise IndexingError(
            f"select: index {index} is out of range for dim {d} of shape {t.shape} "
            f"(valid: {-n} … {n - 1})."
        )
    return GetItem.apply(t, _key(d, int(index) % n))


def split(t: Tensor, split_size_or_sections: Any, dim: int = 0) -> Pieces:
    """Views of ``t`` along ``dim``: pieces of ``split_size`` (the last may be smaller), or
    of the sizes in a list (which must add up to the dim's size)."""
    d = norm_dim(dim, t.dims, "split", t.shape)
    n = t.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0 and not (size == 0 and n == 0):
            raise IndexingError(f"split: split_size must be positive, got {size}.")
        sizes = [min(size, n - s) for s in range(0, n, size)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise IndexingError(
                f"split: sections {sizes} must be non-negative and add up to {n}, the size of "
                f"dim {d} (shape {t.shape})."
            )
    out = []
    start = 0
    for s in sizes:
        out.append(GetItem.apply(t, _key(d, slice(start, start + s))))
        start += s
    return tuple(out)


def chunk(t: Tensor, chunks: int, dim: int = 0) -> Pieces:
    """``t`` split into at most ``chunks`` views of ``ceil(size / chunks)`` along ``dim``."""
    if not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise IndexingError(f"chunk: chunks must be a positive int, got {chunks!r}.")
    d = norm_dim(dim, t.dims, "chunk", t.shape)
    n = t.shape[d]
    if n == 0:
        return split(t, [0] * int(chunks), d)
    return split(t, -(-n // int(chunks)), d)


def unbind(t: Tensor, dim: int = 0) -> Pieces:
    """The slices of ``t`` along ``dim``, each without that dim (views)."""
    d = norm_dim(dim, t.dims, "unbind", t.shape)
    return tuple(GetItem.apply(t, _key(d, i)) for i in range(t.shape[d]))

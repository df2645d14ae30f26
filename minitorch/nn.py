"""Neural-network functions: convolutions, pooling, max/argmax, softmax, dropout, losses.

Shapes follow the course: images are ``(B, C, H, W)``, sequences ``(B, C, W)``.
Reductions keep the reduced dim with size 1 (``max(x, 1)`` of ``(3, 4)`` is ``(3, 1)``).

Convolutions pad on the right (and bottom) and keep the input's width (and height)::

    conv1d: out[b, o, x]    = Σ_c Σ_k   in[b, c, x + k]     · w[o, c, k]      (zero past W)
    conv2d: out[b, o, y, x] = Σ_c Σ_i Σ_j in[b, c, y + i, x + j] · w[o, c, i, j]

They run as im2col ("unfold": every window becomes a column, through NumPy's
``sliding_window_view``) followed by one batched BLAS product with the flattened
weight. Backward uses the same two pieces: ∂L/∂w = Σ_b g_b · colsᵀ and ∂L/∂in =
fold(wᵀ · g), where ``fold`` (scatter-add of columns back onto the image) is the adjoint
of ``unfold``. Both are Functions whose backward is the other, and the products are
``MatMul``, so ``backward(create_graph=True)`` works through convolutions too.
``minitorch.fast_conv`` keeps the course's loop-by-loop reference kernels, used by the
tests to cross-check this path.

Operations that need their own Function (convolution, unfold/fold, log-softmax, the
binary cross-entropies, the embedding gather) keep forward and backward side by side,
with backward written in Tensor operations; the rest are compositions of Tensor ops.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from .autodiff import Context, is_grad_enabled
from .tensor import Tensor
from .tensor_data import TensorData
from .tensor_functions import Function, Max

__all__ = [
    "Conv1dFun",
    "Conv2dFun",
    "LogSoftmax",
    "Max",
    "argmax",
    "avgpool2d",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv1d",
    "conv2d",
    "cross_entropy",
    "dropout",
    "embedding",
    "fold",
    "logsoftmax",
    "max",
    "max_reduce",
    "maxpool2d",
    "mse_loss",
    "nll_loss",
    "softmax",
    "tile",
    "unfold",
]

Array = npt.NDArray[Any]


# ---------------------------------------------------------------------------
# Helpers: raw arrays in and out
# ---------------------------------------------------------------------------


def _arr(t: Tensor) -> Array:
    """The NumPy view of a tensor's data (any layout; never written to)."""
    return t._tensor._array


def _wrap(like: Tensor, arr: Array) -> Tensor:
    """A constant tensor on ``like``'s backend holding ``arr`` (made C-contiguous)."""
    return like._new(TensorData._from_array(np.ascontiguousarray(arr)))


def _needs(ctx: Context, i: int) -> bool:
    """Whether input ``i`` of the Function wants a gradient (True when unknown)."""
    needs: tuple[bool, ...] = getattr(ctx, "needs_input_grad", ())
    return i >= len(needs) or needs[i]


def _norm_dim(t: Tensor, dim: Any, name: str) -> int:
    """``dim`` (an int or a one-element tensor; negatives count from the end) as 0..dims-1."""
    d = int(dim.item()) if isinstance(dim, Tensor) else int(dim)
    if d < 0:
        d += t.dims
    if not 0 <= d < t.dims:
        raise IndexError(f"{name}: dim {dim} is out of range for a tensor of shape {t.shape}.")
    return d


# ---------------------------------------------------------------------------
# im2col: unfold / fold (each the other's adjoint)
# ---------------------------------------------------------------------------


def _unfold(x: Array, kernel: tuple[int, ...]) -> Array:
    """``(B, C, *S)`` → ``(B, C·ΠK, ΠS)``: cols[b, (c, k), s] = x[b, c, s + k] (0 past the end)."""
    n = len(kernel)
    B, C, *S = x.shape
    xp = np.pad(x, [(0, 0), (0, 0)] + [(0, k - 1) for k in kernel])
    win = sliding_window_view(xp, kernel, axis=tuple(range(2, 2 + n)))  # (B, C, *S, *K)
    order = (0, 1, *range(2 + n, 2 + 2 * n), *range(2, 2 + n))
    cols: Array = win.transpose(order).reshape(B, C * math.prod(kernel), math.prod(S))
    return cols


def _fold(cols: Array, shape: tuple[int, ...], kernel: tuple[int, ...]) -> Array:
    """Adjoint of ``_unfold``: add every column entry back onto the position it came from."""
    B, C, *S = shape
    blocks = cols.reshape(B, C, *kernel, *S)
    out = np.zeros((B, C, *(s + k - 1 for s, k in zip(S, kernel))), dtype=cols.dtype)
    lead = (slice(None), slice(None))
    for offs in itertools.product(*(range(k) for k in kernel)):
        out[lead + tuple(slice(o, o + s) for o, s in zip(offs, S))] += blocks[lead + offs]
    return out[lead + tuple(slice(0, s) for s in S)]


class _Unfold(Function):
    """f(a) = unfold(a, kernel): ``(B, C, *S)`` → ``(B, C·ΠK, ΠS)``; linear, backward = fold."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, kernel: tuple[int, ...]) -> Tensor:
        ctx.save_for_backward(a.shape, kernel)
        return _wrap(a, _unfold(_arr(a), kernel))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float]:
        shape, kernel = ctx.saved_values
        return _Fold.apply(grad, shape, kernel), 0.0


class _Fold(Function):
    """f(c) = fold(c) onto ``shape`` (scatter-add of columns); linear, backward = unfold."""

    @staticmethod
    def forward(ctx: Context, c: Tensor, shape: tuple[int, ...], kernel: tuple[int, ...]) -> Tensor:
        ctx.save_for_backward(kernel)
        return _wrap(c, _fold(_arr(c), shape, kernel))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float, float]:
        (kernel,) = ctx.saved_values
        return _Unfold.apply(grad, kernel), 0.0, 0.0


def unfold(input: Tensor, kernel: Sequence[int]) -> Tensor:
    """im2col with right/bottom zero padding: ``(B, C, *S)`` → ``(B, C·ΠK, ΠS)``.

    cols[b, c·ΠK + k, s] = in[b, c, s + k] (flattened row-major over ``k`` and ``s``).
    Differentiable (backward is ``fold``).
    """
    return _Unfold.apply(input, tuple(int(k) for k in kernel))


def fold(cols: Tensor, shape: Sequence[int], kernel: Sequence[int]) -> Tensor:
    """The adjoint of ``unfold``: ``(B, C·ΠK, ΠS)`` → ``shape = (B, C, *S)``, overlaps summed."""
    return _Fold.apply(cols, tuple(int(s) for s in shape), tuple(int(k) for k in kernel))


# ---------------------------------------------------------------------------
# Convolutions
# ---------------------------------------------------------------------------


def _check_conv(name: str, input: Tensor, weight: Tensor, n: int) -> None:
    dims = ("W",) if n == 1 else ("H", "W")
    if input.dims != n + 2:
        raise ValueError(
            f"{name}: input must have shape (B, Cin, {', '.join(dims)}), got shape {input.shape}."
        )
    if weight.dims != n + 2:
        kd = ("K",) if n == 1 else ("KH", "KW")
        raise ValueError(
            f"{name}: weight must have shape (Cout, Cin, {', '.join(kd)}), got shape "
            f"{weight.shape}."
        )
    if input.shape[1] != weight.shape[1]:
        raise ValueError(
            f"{name}: input of shape {input.shape} has Cin={input.shape[1]} channels but weight "
            f"of shape {weight.shape} expects Cin={weight.shape[1]}."
        )


def _unfold_cm(x: Array, kernel: tuple[int, ...]) -> Array:
    """Channel-major im2col: ``(B, C, *S)`` → ``(C·ΠK, B·ΠS)``, cols[(c, k), (b, s)] =
    x[b, c, s + k] (0 past the end): the whole batch in one matrix, for one GEMM.

    Built by one shifted block copy per kernel offset (no padded copy of the input).
    """
    B, C, *S = x.shape
    cols = np.zeros((C, *kernel, B, *S), dtype=x.dtype)
    xt = x.swapaxes(0, 1)  # (C, B, *S), a view
    every = slice(None)
    for offs in itertools.product(*(range(k) for k in kernel)):
        if any(o >= n for o, n in zip(offs, S)):
            continue  # this offset only ever reads the zero padding
        dst: tuple[Any, ...] = (every, *offs, every, *(slice(0, n - o) for o, n in zip(offs, S)))
        src: tuple[Any, ...] = (every, every, *(slice(o, None) for o in offs))
        cols[dst] = xt[src]
    return cols.reshape(C * math.prod(kernel), B * math.prod(S))


def _fold_cm(cols: Array, shape: tuple[int, ...], kernel: tuple[int, ...]) -> Array:
    """Adjoint of ``_unfold_cm``: ``(C·ΠK, B·ΠS)`` → ``shape = (B, C, *S)``, overlaps summed."""
    B, C, *S = shape
    blocks = cols.reshape(C, *kernel, B, *S)
    out = np.zeros((C, B, *S), dtype=cols.dtype)
    every = slice(None)
    for offs in itertools.product(*(range(k) for k in kernel)):
        if any(o >= n for o, n in zip(offs, S)):
            continue
        src: tuple[Any, ...] = (every, *offs, every, *(slice(0, n - o) for o, n in zip(offs, S)))
        dst: tuple[Any, ...] = (every, every, *(slice(o, None) for o in offs))
        out[dst] += blocks[src]
    folded: Array = out.swapaxes(0, 1)
    return folded


def _conv_forward(ctx: Context, input: Tensor, weight: Tensor) -> Tensor:
    """out = W_flat @ cols, one GEMM for the batch: ``(Cout, Cin·ΠK) @ (Cin·ΠK, B·ΠS)``,
    then laid out as ``(B, Cout, *S)``."""
    kernel = weight.shape[2:]
    x = _arr(input)
    B, S = x.shape[0], x.shape[2:]
    cols = _unfold_cm(x, kernel)
    w = _arr(weight)
    out = np.matmul(w.reshape(w.shape[0], -1), cols).reshape(w.shape[0], B, *S)
    ctx.save_for_backward(input, weight, cols if _needs(ctx, 1) else None)
    return _wrap(input, out.swapaxes(0, 1))


def _conv_backward(ctx: Context, grad: Tensor) -> tuple[Any, Any]:
    """∂L/∂W = g_flat · colsᵀ;  ∂L/∂in = fold(W_flatᵀ · g_flat), g_flat = g as (Cout, B·ΠS).

    Plain backward runs on the saved NumPy columns (two GEMMs); under ``create_graph``
    the same maths is recorded in Tensor operations (``MatMul``, ``_Unfold``, ``_Fold``).
    """
    if is_grad_enabled():
        return _conv_backward_recorded(ctx, grad)
    input, weight, cols = ctx.saved_values
    kernel = weight.shape[2:]
    Cout = grad.shape[1]
    g = np.ascontiguousarray(_arr(grad).swapaxes(0, 1)).reshape(Cout, -1)  # (Cout, B·ΠS)
    d_in: Any = 0.0
    d_w: Any = 0.0
    if _needs(ctx, 1):
        d_w = _wrap(grad, (g @ cols.T).reshape(weight.shape))
    if _needs(ctx, 0):
        w_flat = _arr(weight).reshape(Cout, -1)
        d_in = _wrap(grad, _fold_cm(w_flat.T @ g, input.shape, kernel))
    return d_in, d_w


def _conv_backward_recorded(ctx: Context, grad: Tensor) -> tuple[Any, Any]:
    """The same gradients in Tensor operations (for ``backward(create_graph=True)``)."""
    input, weight, _ = ctx.saved_values
    kernel = weight.shape[2:]
    B, Cout = grad.shape[0], grad.shape[1]
    g = grad.contiguous().view(B, Cout, math.prod(grad.shape[2:]))
    d_in: Any = 0.0
    d_w: Any = 0.0
    if _needs(ctx, 1):
        cols = _Unfold.apply(input, kernel)  # depends on the input: second derivatives
        d_w = (g @ cols.permute(0, 2, 1)).sum(0).view(*weight.shape)
    if _needs(ctx, 0):
        w_flat = weight.contiguous().view(Cout, math.prod(weight.shape[1:]))
        d_in = _Fold.apply(w_flat.permute(1, 0) @ g, input.shape, kernel)
    return d_in, d_w


class Conv1dFun(Function):
    """1-D convolution, right-padded: ``(B, Cin, W)``, ``(Cout, Cin, K)`` → ``(B, Cout, W)``.

    out[b, o, x] = Σ_c Σ_k in[b, c, x + k] · w[o, c, k] (terms with x + k ≥ W are 0).
    ∂L/∂w[o, c, k] = Σ_b Σ_x g[b, o, x] · in[b, c, x + k];
    ∂L/∂in[b, c, p] = Σ_o Σ_k g[b, o, p − k] · w[o, c, k] (0 ≤ p − k).
    """

    @staticmethod
    def forward(ctx: Context, input: Tensor, weight: Tensor) -> Tensor:
        _check_conv("conv1d", input, weight, 1)
        return _conv_forward(ctx, input, weight)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, Any]:
        return _conv_backward(ctx, grad)


class Conv2dFun(Function):
    """2-D convolution, bottom/right-padded: ``(B, Cin, H, W)``, ``(Cout, Cin, KH, KW)`` →
    ``(B, Cout, H, W)``.

    out[b, o, y, x] = Σ_c Σ_i Σ_j in[b, c, y + i, x + j] · w[o, c, i, j] (0 past the edges).
    ∂L/∂w[o, c, i, j] = Σ_b Σ_y Σ_x g[b, o, y, x] · in[b, c, y + i, x + j];
    ∂L/∂in[b, c, p, q] = Σ_o Σ_i Σ_j g[b, o, p − i, q − j] · w[o, c, i, j].
    """

    @staticmethod
    def forward(ctx: Context, input: Tensor, weight: Tensor) -> Tensor:
        _check_conv("conv2d", input, weight, 2)
        return _conv_forward(ctx, input, weight)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, Any]:
        return _conv_backward(ctx, grad)


def conv1d(input: Tensor, weight: Tensor) -> Tensor:
    """``Conv1dFun.apply``: ``(B, Cin, W)`` * ``(Cout, Cin, K)`` → ``(B, Cout, W)``."""
    return Conv1dFun.apply(input, weight)


def conv2d(input: Tensor, weight: Tensor) -> Tensor:
    """``Conv2dFun.apply``: ``(B, Cin, H, W)`` * ``(Cout, Cin, KH, KW)`` → ``(B, Cout, H, W)``."""
    return Conv2dFun.apply(input, weight)


# ---------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------


def tile(input: Tensor, kernel: tuple[int, int]) -> tuple[Tensor, int, int]:
    """Cut ``(B, C, H, W)`` into non-overlapping ``kh × kw`` tiles.

    Returns ``(t, H // kh, W // kw)`` with ``t`` of shape ``(B, C, H/kh, W/kw, kh·kw)`` and
    t[b, c, i, j, p·kw + q] = in[b, c, i·kh + p, j·kw + q]. Needs ``H % kh == 0`` and
    ``W % kw == 0``. Built from view/permute/copy, so differentiable (gradient: the inverse
    rearrangement).
    """
    if input.dims != 4:
        raise ValueError(f"tile: input must have shape (B, C, H, W), got shape {input.shape}.")
    B, C, H, W = input.shape
    kh, kw = (int(k) for k in kernel)
    if kh <= 0 or kw <= 0 or H % kh or W % kw:
        raise ValueError(
            f"tile: kernel {(kh, kw)} must divide the height and width of input shape "
            f"{input.shape} (H % kh == 0 and W % kw == 0)."
        )
    nh, nw = H // kh, W // kw
    t = input.contiguous().view(B, C, nh, kh, nw, kw).permute(0, 1, 2, 4, 3, 5)
    return t.contiguous().view(B, C, nh, nw, kh * kw), nh, nw


def avgpool2d(input: Tensor, kernel: tuple[int, int]) -> Tensor:
    """Mean over each ``kh × kw`` tile: ``(B, C, H, W)`` → ``(B, C, H/kh, W/kw)``.

    ∂out/∂in = 1/(kh·kw) for every element of the tile.
    """
    t, nh, nw = tile(input, kernel)
    return t.mean(4).view(input.shape[0], input.shape[1], nh, nw)


class _MaxPool2d(Function):
    """f(x) = max over each ``kh × kw`` tile; ∂f/∂x = 1 at every element equal to its tile's
    max (``argmax`` semantics, ties included), else 0.

    Forward takes the elementwise maximum of the kh·kw strided sub-grids and keeps the 0/1
    mask; backward multiplies the gradient, broadcast over each tile, by the mask (in
    Tensor operations under ``create_graph``).
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, kernel: tuple[int, int]) -> Tensor:
        kh, kw = kernel
        x = _arr(a)
        out = x[:, :, 0::kh, 0::kw]
        for i, j in itertools.product(range(kh), range(kw)):
            if i or j:
                out = np.maximum(out, x[:, :, i::kh, j::kw])
        B, C, nh, nw = out.shape
        mask = x.reshape(B, C, nh, kh, nw, kw) == out.reshape(B, C, nh, 1, nw, 1)
        ctx.save_for_backward(a, mask)
        return _wrap(a, out)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float]:
        a, mask = ctx.saved_values
        B, C, nh, nw = grad.shape
        if not is_grad_enabled():
            g = _arr(grad).reshape(B, C, nh, 1, nw, 1) * mask
            return _wrap(grad, g.reshape(a.shape)), 0.0
        m = _wrap(a, mask.astype(a.dtype))
        return (grad.contiguous().view(B, C, nh, 1, nw, 1) * m).view(*a.shape), 0.0


def maxpool2d(input: Tensor, kernel: tuple[int, int]) -> Tensor:
    """Max over each ``kh × kw`` tile: ``(B, C, H, W)`` → ``(B, C, H/kh, W/kw)``.

    The gradient goes to every element equal to its tile's max (``argmax`` semantics).
    Same tiles as ``tile`` (``H % kh == 0`` and ``W % kw == 0`` required).
    """
    if input.dims != 4:
        raise ValueError(f"maxpool2d: input must have shape (B, C, H, W), got {input.shape}.")
    kh, kw = (int(k) for k in kernel)
    if kh <= 0 or kw <= 0 or input.shape[2] % kh or input.shape[3] % kw:
        raise ValueError(
            f"maxpool2d: kernel {(kh, kw)} must divide the height and width of input shape "
            f"{input.shape} (H % kh == 0 and W % kw == 0)."
        )
    return _MaxPool2d.apply(input, (kh, kw))


# ---------------------------------------------------------------------------
# max / argmax
# ---------------------------------------------------------------------------


def max_reduce(input: Tensor, dim: int) -> Tensor:
    """The backend's raw max-reduction along ``dim`` (kept with size 1); no graph."""
    return input.f.max_reduce(input, _norm_dim(input, dim, "max_reduce"))


def max(input: Tensor, dim: int | Tensor | None = None) -> Tensor:
    """``Max.apply``: max along ``dim``, kept with size 1 (no dim: of everything, shape (1,)).

    ∂out/∂in = ``argmax(input, dim)``: 1 at every element equal to the max, else 0.
    """
    if dim is None:
        return Max.apply(input)
    return Max.apply(input, dim)


def argmax(input: Tensor, dim: int) -> Tensor:
    """1.0 where the element equals the max along ``dim`` (every tie), else 0.0.

    Shape: ``input.shape``. A constant (piecewise constant function: no gradient).
    """
    return input.f.eq_zip(input, max_reduce(input, dim))


# ---------------------------------------------------------------------------
# softmax / logsoftmax
# ---------------------------------------------------------------------------


class LogSoftmax(Function):
    """f(x) = x − log Σ_dim e^x, computed as (x − m) − log Σ e^(x − m) with m = max_dim x.

    ∂L/∂x = g − softmax(x) · Σ_dim g  (softmax = e^f).
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: int) -> Tensor:
        x = _arr(a)
        m = x.max(axis=dim, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        s = x - m
        with np.errstate(divide="ignore"):
            out = _wrap(a, s - np.log(np.exp(s).sum(axis=dim, keepdims=True)))
        ctx.save_for_backward(a, dim, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float]:
        a, dim, out = ctx.saved_values
        if is_grad_enabled():  # create_graph: recompute so that out depends on a
            out = LogSoftmax.apply(a, dim)
        return grad - out.exp() * grad.sum(dim), 0.0


def logsoftmax(input: Tensor, dim: int) -> Tensor:
    """log softmax along ``dim`` (input's shape); finite for large-magnitude inputs."""
    return LogSoftmax.apply(input, _norm_dim(input, dim, "logsoftmax"))


def softmax(input: Tensor, dim: int) -> Tensor:
    """e^x / Σ_dim e^x (input's shape; slices along ``dim`` sum to 1), as exp(logsoftmax).

    ∂L/∂x = s ⊙ (g − Σ_dim g ⊙ s).
    """
    return logsoftmax(input, dim).exp()


# ---------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------


def dropout(input: Tensor, rate: float, ignore: bool = False) -> Tensor:
    """Zero each element with probability ``rate``; kept values are unchanged (no rescaling).

    ``rate <= 0`` or ``ignore=True`` return ``input`` itself; ``rate >= 1`` gives exact
    zeros. The mask comes from a NumPy generator seeded by Python's ``random``, so results
    are reproducible after ``random.seed(n)``. ∂out/∂in = mask.
    """
    if ignore or rate <= 0.0:
        return input
    if rate >= 1.0:
        keep = np.zeros(input.shape, dtype=input.dtype)
    else:
        rng = np.random.default_rng(random.getrandbits(64))
        keep = (rng.random(input.shape) >= rate).astype(input.dtype)
    return input * input._new(TensorData._from_array(keep))


# ---------------------------------------------------------------------------
# Losses (reduction: "mean" (default, shape (1,)), "sum" (shape (1,)) or "none")
# ---------------------------------------------------------------------------

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: Tensor, reduction: str, name: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}.")


def _class_indices(target: Any, n: int, classes: int, name: str) -> npt.NDArray[np.intp]:
    """Targets (a Tensor, array or list of N class indices) as ints in [0, classes)."""
    raw = np.asarray(_arr(target) if isinstance(target, Tensor) else target)
    if raw.size != n or raw.ndim > 2 or (raw.ndim == 2 and raw.shape[1] != 1):
        raise ValueError(
            f"{name}: target must hold one class index per row, shape ({n},); got shape "
            f"{raw.shape}."
        )
    flat = raw.reshape(-1)
    idx = flat.astype(np.intp)
    if not np.array_equal(idx, flat):
        raise ValueError(f"{name}: target must hold integer class indices, got {flat[:5]}...")
    bad = np.flatnonzero((idx < 0) | (idx >= classes))
    if bad.size:
        i = int(bad[0])
        raise IndexError(
            f"{name}: target class {int(idx[i])} at position {i} is out of range for "
            f"{classes} classes (valid: 0..{classes - 1})."
        )
    return idx


def _nll(logp: Tensor, target: Any, reduction: str, name: str, smoothing: float = 0.0) -> Tensor:
    """−Σ_c q[n, c]·logp[n, c] per row, reduced, with q = (1 − ε)·onehot(target) + ε/C
    (ε = ``smoothing``; ε = 0: −logp[n, target_n]); checks shapes and targets under ``name``."""
    if logp.dims != 2:
        raise ValueError(f"{name}: input must have shape (N, C), got shape {logp.shape}.")
    if not 0.0 <= smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {smoothing}.")
    n, c = logp.shape
    idx = _class_indices(target, n, c, name)
    onehot = np.full((n, c), smoothing / c if c else 0.0, dtype=logp.dtype)
    onehot[np.arange(n), idx] += 1.0 - smoothing
    picked = (logp * logp._new(TensorData._from_array(onehot))).sum(1)
    return _reduce(-picked.view(n), reduction, name)


def nll_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood: loss_n = −input[n, target_n] for log-probabilities ``(N, C)``.

    ``target``: N class indices (Tensor, array or list). ∂loss_n/∂input[n, c] = −[c = t_n].
    """
    return _nll(input, target, reduction, "nll_loss")


def cross_entropy(
    input: Tensor, target: Any, reduction: str = "mean", label_smoothing: float = 0.0
) -> Tensor:
    """Softmax cross-entropy from logits ``(N, C)`` and N class indices.

    loss_n = −logsoftmax(x)[n, t_n] = log Σ_c e^x[n, c] − x[n, t_n];
    ∂loss_n/∂x[n, c] = softmax(x)[n, c] − [c = t_n].
    ``label_smoothing`` ε (PyTorch's): the target becomes (1 − ε)·onehot + ε/C, so
    loss_n = −Σ_c q[n, c]·logsoftmax(x)[n, c] and ∂loss_n/∂x = softmax(x) − q.
    """
    if input.dims != 2:
        raise ValueError(f"cross_entropy: input must have shape (N, C), got shape {input.shape}.")
    return _nll(logsoftmax(input, 1), target, reduction, "cross_entropy", label_smoothing)


def _same_shape(name: str, input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        raise ValueError(
            f"{name}: input of shape {input.shape} and target of shape {target.shape} must "
            "have the same shape."
        )


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Squared error (x − y)², averaged by default; ∂/∂x = 2(x − y), ∂/∂y = −2(x − y)."""
    target = input._ensure_tensor(target)
    _same_shape("mse_loss", input, target)
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


class _BCE(Function):
    """f(p, y) = −(y·log p + (1 − y)·log(1 − p)) elementwise, logs clamped at −100.

    ∂f/∂p = (p − y) / max(p(1 − p), 1e-12);  ∂f/∂y = log(1 − p) − log p (a constant:
    its own derivative is not recorded under ``create_graph``).
    """

    @staticmethod
    def forward(ctx: Context, p: Tensor, y: Tensor) -> Tensor:
        x, t = _arr(p), _arr(y)
        if np.any((x < 0.0) | (x > 1.0)):
            raise ValueError(
                "binary_cross_entropy: input must hold probabilities in [0, 1] (use "
                "binary_cross_entropy_with_logits for raw scores)."
            )
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(x), -100.0)
            log_q = np.maximum(np.log1p(-x), -100.0)
        ctx.save_for_backward(p, y, log_q - log_p)
        return _wrap(p, -(t * log_p + (1.0 - t) * log_q))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, Any]:
        p, y, dlogit = ctx.saved_values
        d_p: Any = 0.0
        d_y: Any = 0.0
        if _needs(ctx, 0):
            den = p * (1.0 - p)
            den = den + (den < 1e-12) * (1e-12 - den)  # clamp (the mask has zero gradient)
            d_p = grad * (p - y) / den
        if _needs(ctx, 1):
            d_y = grad * _wrap(p, dlogit)
        return d_p, d_y


def binary_cross_entropy(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """−(y·log p + (1 − y)·log(1 − p)) for probabilities ``p`` and targets ``y`` (same shape).

    Logs are clamped at −100 (as PyTorch does); ∂/∂p = (p − y) / (p(1 − p)).
    """
    target = input._ensure_tensor(target)
    _same_shape("binary_cross_entropy", input, target)
    return _reduce(_BCE.apply(input, target), reduction, "binary_cross_entropy")


class _BCEWithLogits(Function):
    """f(z, y) = max(z, 0) − z·y + log(1 + e^−|z|)  (= BCE(σ(z), y), stable for any z).

    ∂f/∂z = σ(z) − y;  ∂f/∂y = −z.
    """

    @staticmethod
    def forward(ctx: Context, z: Tensor, y: Tensor) -> Tensor:
        x, t = _arr(z), _arr(y)
        ctx.save_for_backward(z, y)
        return _wrap(z, np.maximum(x, 0.0) - x * t + np.log1p(np.exp(-np.abs(x))))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, Any]:
        z, y = ctx.saved_values
        d_z = grad * (z.sigmoid() - y) if _needs(ctx, 0) else 0.0
        d_y = -(grad * z) if _needs(ctx, 1) else 0.0
        return d_z, d_y


def binary_cross_entropy_with_logits(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """BCE of σ(z) against ``y`` straight from logits ``z``, without overflow or log(0).

    loss = max(z, 0) − z·y + log(1 + e^−|z|);  ∂/∂z = σ(z) − y.
    """
    target = input._ensure_tensor(target)
    _same_shape("binary_cross_entropy_with_logits", input, target)
    return _reduce(
        _BCEWithLogits.apply(input, target), reduction, "binary_cross_entropy_with_logits"
    )


# ---------------------------------------------------------------------------
# Embedding lookup (gather rows; backward scatter-adds them)
# ---------------------------------------------------------------------------


class _Gather(Function):
    """f(w) = w[idx] (rows of ``w``): shape ``idx.shape + w.shape[1:]``; backward scatter-adds."""

    @staticmethod
    def forward(ctx: Context, w: Tensor, idx: npt.NDArray[np.intp]) -> Tensor:
        ctx.save_for_backward(w.shape[0], idx)
        return _wrap(w, _arr(w)[idx])

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float]:
        rows, idx = ctx.saved_values
        return _ScatterRows.apply(grad, idx, rows), 0.0


class _ScatterRows(Function):
    """f(g) = zeros(rows, …) with g's entries added at rows ``idx`` (adjoint of ``_Gather``)."""

    @staticmethod
    def forward(ctx: Context, g: Tensor, idx: npt.NDArray[np.intp], rows: int) -> Tensor:
        ctx.save_for_backward(idx)
        x = _arr(g)
        out = np.zeros((rows, *x.shape[idx.ndim :]), dtype=x.dtype)
        np.add.at(out, idx, x)
        return _wrap(g, out)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float, float]:
        (idx,) = ctx.saved_values
        return _Gather.apply(grad, idx), 0.0, 0.0


def embedding(input: Any, weight: Tensor) -> Tensor:
    """Rows of ``weight`` ``(N, D)`` picked by integer indices: shape ``input.shape + (D,)``.

    ∂L/∂weight[r] = Σ of the output gradients at the positions where ``input == r``.
    """
    raw = np.asarray(_arr(input) if isinstance(input, Tensor) else input)
    idx = raw.astype(np.intp)
    if not np.array_equal(idx, raw):
        raise ValueError("embedding: indices must be integers.")
    rows = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= rows):
        raise IndexError(
            f"embedding: index {int(idx.min() if idx.min() < 0 else idx.max())} is out of "
            f"range for a table of {rows} rows (valid: 0..{rows - 1})."
        )
    return _Gather.apply(weight, idx)

"""Convolutions: the course's reference kernels and the fast Functions built on im2col.

Shapes follow the course: sequences ``(B, C, W)``, images ``(B, C, H, W)``; the kernel is
anchored on the left/top and the input is zero-padded on the right/bottom, so the output
is as wide (and high) as the input::

    conv1d: out[b, o, x]    = Σ_c Σ_k     in[b, c, x + k]     · w[o, c, k]      (0 past W)
    conv2d: out[b, o, y, x] = Σ_c Σ_i Σ_j in[b, c, y + i, x + j] · w[o, c, i, j]

**Reference kernels** (contract §10). ``tensor_conv1d`` and ``tensor_conv2d`` fill ``out``
position by position in pure Python loops over strided storage. ``reverse=False`` is the
formula above; ``reverse=True`` anchors the kernel on the right/bottom, zero before the
left/top: out[b, o, x] = Σ_c Σ_k in[b, c, x − k] · w[o, c, k] (terms with x − k < 0
dropped; 2-D: (y − i, x − j)). Outputs loop over ``out_shape``, kernel offsets over
``weight_shape`` (which may be wider than the output, as when the weight gradient is
computed as a convolution), and every element is addressed through the strides, so
permuted inputs work. They define the semantics; the tests cross-check the fast path
against them. With them the gradients of ``out = conv(in, w)`` are convolutions too (1-D):
∂L/∂in = ``tensor_conv1d(…, g, w.permute(1, 0, 2), reverse=True)`` and ∂L/∂w =
``tensor_conv1d(…, in.permute(1, 0, 2), g.permute(1, 0, 2), reverse=False)`` permuted
back with ``(1, 0, 2)``.

**Fast Functions** (``Conv1dFun``, ``Conv2dFun``, ``conv1d``, ``conv2d``). In matrix form,
with ``U`` the channel-major im2col (every window of the whole batch becomes a column)
and ``F`` its adjoint (scatter-add the columns back, "fold")::

    out = W · U(x)            W: (Cout, Cin·ΠK),  U(x): (Cin·ΠK, B·ΠS)
    ∂L/∂x = F(Wᵀ · G)         G: the output gradient as (Cout, B·ΠS)
    ∂L/∂W = G · U(x)ᵀ

Each line is one Function whose forward is one BLAS product for the whole batch
(``Conv*Fun``, ``_ConvBackwardInput``, ``_ConvBackwardWeight``). The three are bilinear and
their adjoints are each other, so each backward is written once as applications of the
three, and ``backward(create_graph=True)`` differentiates the same formula training runs
(to any order). The fused kernels pay on ``benchmarks/bench_lenet.py`` (batch 64, one
thread): the step costs 72.5 M instructions (callgrind; best time 16.7 ms) against 75.1 M
(22.1 ms) with conv2d written as ``unfold`` + ``MatMul`` Tensor operations.

This module imports nothing above the tensor layer; ``minitorch.nn`` re-exports the
convolutions with the other nn functions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .autodiff import Context
from .tensor import Tensor
from .tensor_data import (
    Index,
    Shape,
    Storage,
    Strides,
    TensorData,
    UserShape,
    UserStrides,
    index_to_position,
    to_index,
)
from .tensor_functions import Function

__all__ = [
    "Conv1dFun",
    "Conv2dFun",
    "conv1d",
    "conv2d",
    "fold",
    "tensor_conv1d",
    "tensor_conv2d",
    "unfold",
]

Array = npt.NDArray[Any]


# ---------------------------------------------------------------------------
# Reference kernels (the course's loops)
# ---------------------------------------------------------------------------


def _check(
    out_shape: Shape | UserShape,
    input_shape: Shape | UserShape,
    weight_shape: Shape | UserShape,
    name: str,
) -> None:
    if int(out_shape[0]) != int(input_shape[0]):
        raise ValueError(
            f"{name}: output batch {int(out_shape[0])} != input batch {int(input_shape[0])}."
        )
    if int(input_shape[1]) != int(weight_shape[1]):
        raise ValueError(
            f"{name}: input has {int(input_shape[1])} channels but the weight expects "
            f"{int(weight_shape[1])}."
        )
    if int(out_shape[1]) != int(weight_shape[0]):
        raise ValueError(
            f"{name}: output has {int(out_shape[1])} channels but the weight makes "
            f"{int(weight_shape[0])}."
        )


def tensor_conv1d(
    out: Storage,
    out_shape: Shape | UserShape,
    out_strides: Strides | UserStrides,
    out_size: int,
    input: Storage,
    input_shape: Shape | UserShape,
    input_strides: Strides | UserStrides,
    weight: Storage,
    weight_shape: Shape | UserShape,
    weight_strides: Strides | UserStrides,
    reverse: bool,
) -> None:
    """Fill ``out`` ``(B, Cout, W_out)`` with the 1-D convolution of ``input`` ``(B, Cin, W)``
    and ``weight`` ``(Cout, Cin, K)`` (see the module docstring for ``reverse``)."""
    _check(out_shape, input_shape, weight_shape, "tensor_conv1d")
    in_channels, width = int(input_shape[1]), int(input_shape[2])
    k_width = int(weight_shape[2])
    out_index: Index = np.zeros(3, dtype=np.int32)
    for ordinal in range(int(out_size)):
        to_index(ordinal, out_shape, out_index)
        b, o, x = (int(i) for i in out_index)
        acc = 0.0
        for c in range(in_channels):
            for k in range(k_width):
                pos = x - k if reverse else x + k
                if 0 <= pos < width:
                    acc += (
                        input[index_to_position((b, c, pos), input_strides)]
                        * weight[index_to_position((o, c, k), weight_strides)]
                    )
        out[index_to_position(out_index, out_strides)] = acc


def tensor_conv2d(
    out: Storage,
    out_shape: Shape | UserShape,
    out_strides: Strides | UserStrides,
    out_size: int,
    input: Storage,
    input_shape: Shape | UserShape,
    input_strides: Strides | UserStrides,
    weight: Storage,
    weight_shape: Shape | UserShape,
    weight_strides: Strides | UserStrides,
    reverse: bool,
) -> None:
    """Fill ``out`` ``(B, Cout, H_out, W_out)`` with the 2-D convolution of ``input``
    ``(B, Cin, H, W)`` and ``weight`` ``(Cout, Cin, KH, KW)`` (``reverse``: see above)."""
    _check(out_shape, input_shape, weight_shape, "tensor_conv2d")
    in_channels, height, width = (int(s) for s in input_shape[1:4])
    kh, kw = int(weight_shape[2]), int(weight_shape[3])
    out_index: Index = np.zeros(4, dtype=np.int32)
    for ordinal in range(int(out_size)):
        to_index(ordinal, out_shape, out_index)
        b, o, y, x = (int(i) for i in out_index)
        acc = 0.0
        for c in range(in_channels):
            for i in range(kh):
                py = y - i if reverse else y + i
                if not 0 <= py < height:
                    continue
                for j in range(kw):
                    px = x - j if reverse else x + j
                    if 0 <= px < width:
                        acc += (
                            input[index_to_position((b, c, py, px), input_strides)]
                            * weight[index_to_position((o, c, i, j), weight_strides)]
                        )
        out[index_to_position(out_index, out_strides)] = acc


# ---------------------------------------------------------------------------
# Raw arrays in and out (shared with minitorch.nn's fused Functions)
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


# ---------------------------------------------------------------------------
# im2col: unfold and its adjoint fold (channel-major: the whole batch in one matrix)
# ---------------------------------------------------------------------------


def _unfold(x: Array, kernel: tuple[int, ...]) -> Array:
    """``(B, C, *S)`` → ``(C·ΠK, B·ΠS)``: cols[(c, k), (b, s)] = x[b, c, s + k] (0 past the
    end), rows ordered (c, k) and columns (b, s) row-major.

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


def _fold(cols: Array, shape: tuple[int, ...], kernel: tuple[int, ...]) -> Array:
    """Adjoint of ``_unfold``: ``(C·ΠK, B·ΠS)`` → ``shape = (B, C, *S)``, every column entry
    added back onto the position it came from (overlaps summed)."""
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


def _batch_major(cols: Array, batch: int) -> Array:
    """``(C·ΠK, B·ΠS)`` → ``(B, C·ΠK, ΠS)`` (a view)."""
    rows = cols.shape[0]
    out: Array = cols.reshape(rows, batch, -1).swapaxes(0, 1)
    return out


def _channel_major(a: Array) -> Array:
    """``(B, C, *S)`` → ``(C, B·ΠS)``, C-contiguous (a copy): the layout of ``_unfold``."""
    return np.ascontiguousarray(a.swapaxes(0, 1)).reshape(a.shape[1], -1)


class _Unfold(Function):
    """f(a) = unfold(a, kernel): ``(B, C, *S)`` → ``(B, C·ΠK, ΠS)``; linear, backward = fold."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, kernel: tuple[int, ...]) -> Tensor:
        ctx.save_for_backward(a.shape, kernel)
        return _wrap(a, _batch_major(_unfold(_arr(a), kernel), a.shape[0]))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float]:
        shape, kernel = ctx.saved_values
        return _Fold.apply(grad, shape, kernel), 0.0


class _Fold(Function):
    """f(c) = fold(c) onto ``shape`` (scatter-add of columns); linear, backward = unfold."""

    @staticmethod
    def forward(ctx: Context, c: Tensor, shape: tuple[int, ...], kernel: tuple[int, ...]) -> Tensor:
        ctx.save_for_backward(kernel)
        cols = _channel_major(_arr(c))  # (B, C·ΠK, ΠS) → (C·ΠK, B·ΠS)
        return _wrap(c, _fold(cols, shape, kernel))

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
# The fast convolution Functions: out = W·U(x), ∂x = F(Wᵀ·G), ∂W = G·U(x)ᵀ
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


def _conv_forward(ctx: Context, input: Tensor, weight: Tensor) -> Tensor:
    """out = W_flat · U(x), one GEMM for the batch: ``(Cout, Cin·ΠK) @ (Cin·ΠK, B·ΠS)``,
    laid out as ``(B, Cout, *S)``. Saves the columns for ∂L/∂W when the weight needs it."""
    x, w = _arr(input), _arr(weight)
    cols = _unfold(x, weight.shape[2:])
    out = np.matmul(w.reshape(w.shape[0], -1), cols).reshape(w.shape[0], x.shape[0], *x.shape[2:])
    ctx.save_for_backward(input, weight, cols if _needs(ctx, 1) else None)
    return _wrap(input, out.swapaxes(0, 1))


class _Conv(Function):
    """Shared backward of ``Conv1dFun`` and ``Conv2dFun``:
    ∂L/∂in = ``_ConvBackwardInput(g, w)``, ∂L/∂w = ``_ConvBackwardWeight(in, g)``."""

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, Any]:
        input, weight, cols = ctx.saved_values
        d_in: Any = _ConvBackwardInput.apply(grad, weight) if _needs(ctx, 0) else 0.0
        d_w: Any = 0.0
        if _needs(ctx, 1):
            d_w = _ConvBackwardWeight.apply(input, grad, weight.shape[2:], cols)
        return d_in, d_w


class Conv1dFun(_Conv):
    """1-D convolution, right-padded: ``(B, Cin, W)``, ``(Cout, Cin, K)`` → ``(B, Cout, W)``.

    out[b, o, x] = Σ_c Σ_k in[b, c, x + k] · w[o, c, k] (terms with x + k ≥ W are 0).
    ∂L/∂w[o, c, k] = Σ_b Σ_x g[b, o, x] · in[b, c, x + k];
    ∂L/∂in[b, c, p] = Σ_o Σ_k g[b, o, p − k] · w[o, c, k] (0 ≤ p − k).
    """

    @staticmethod
    def forward(ctx: Context, input: Tensor, weight: Tensor) -> Tensor:
        _check_conv("conv1d", input, weight, 1)
        return _conv_forward(ctx, input, weight)


class Conv2dFun(_Conv):
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


def _conv(input: Tensor, weight: Tensor) -> Tensor:
    """The convolution Function for ``input``'s rank (1-D or 2-D)."""
    return (Conv1dFun if input.dims == 3 else Conv2dFun).apply(input, weight)


class _ConvBackwardInput(Function):
    """f(g, w) = F(W_flatᵀ · G): the input gradient ``(B, Cin, *S)`` of a convolution from its
    output gradient ``g`` ``(B, Cout, *S)`` and weight ``w`` ``(Cout, Cin, *K)``.

    Bilinear; with h the incoming gradient (input-shaped), ⟨h, f⟩ = ⟨W·U(h), G⟩, so
    ∂/∂g = conv(h, w) and ∂/∂w = ``_ConvBackwardWeight(h, g)``.
    """

    @staticmethod
    def forward(ctx: Context, grad: Tensor, weight: Tensor) -> Tensor:
        ctx.save_for_backward(grad, weight)
        w = _arr(weight)
        shape = (grad.shape[0], w.shape[1], *grad.shape[2:])
        cols = w.reshape(w.shape[0], -1).T @ _channel_major(_arr(grad))  # (Cin·ΠK, B·ΠS)
        return _wrap(grad, _fold(cols, shape, weight.shape[2:]))

    @staticmethod
    def backward(ctx: Context, h: Tensor) -> tuple[Any, Any]:
        grad, weight = ctx.saved_values
        d_g: Any = _conv(h, weight) if _needs(ctx, 0) else 0.0
        d_w: Any = 0.0
        if _needs(ctx, 1):
            d_w = _ConvBackwardWeight.apply(h, grad, weight.shape[2:], None)
        return d_g, d_w


class _ConvBackwardWeight(Function):
    """f(x, g) = G · U(x)ᵀ: the weight gradient ``(Cout, Cin, *kernel)`` of a convolution
    from its input ``x`` ``(B, Cin, *S)`` and output gradient ``g`` ``(B, Cout, *S)``.

    ``cols`` is U(x) when the forward already has it (else None: computed here).
    Bilinear; with k the incoming gradient (weight-shaped), ⟨k, f⟩ = ⟨K_flat·U(x), G⟩, so
    ∂/∂x = ``_ConvBackwardInput(g, k)`` and ∂/∂g = conv(x, k).
    """

    @staticmethod
    def forward(
        ctx: Context, input: Tensor, grad: Tensor, kernel: tuple[int, ...], cols: Array | None
    ) -> Tensor:
        ctx.save_for_backward(input, grad)
        if cols is None:
            cols = _unfold(_arr(input), kernel)
        d_w = _channel_major(_arr(grad)) @ cols.T  # (Cout, Cin·ΠK)
        return _wrap(grad, d_w.reshape(grad.shape[1], input.shape[1], *kernel))

    @staticmethod
    def backward(ctx: Context, k: Tensor) -> tuple[Any, Any, float, float]:
        input, grad = ctx.saved_values
        d_x: Any = _ConvBackwardInput.apply(grad, k) if _needs(ctx, 0) else 0.0
        d_g: Any = _conv(input, k) if _needs(ctx, 1) else 0.0
        return d_x, d_g, 0.0, 0.0


def conv1d(input: Tensor, weight: Tensor) -> Tensor:
    """``Conv1dFun.apply``: ``(B, Cin, W)`` * ``(Cout, Cin, K)`` → ``(B, Cout, W)``."""
    return Conv1dFun.apply(input, weight)


def conv2d(input: Tensor, weight: Tensor) -> Tensor:
    """``Conv2dFun.apply``: ``(B, Cin, H, W)`` * ``(Cout, Cin, KH, KW)`` → ``(B, Cout, H, W)``."""
    return Conv2dFun.apply(input, weight)

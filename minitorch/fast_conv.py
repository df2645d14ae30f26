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

**PyTorch's options.** A ``Geometry`` (stride, dilation, zero padding before and after,
groups) says where each window lies: output o and kernel offset k read input position
o·stride + k·dilation − pad_lo. ``conv1d``/``conv2d`` take ``bias``, ``stride``,
``padding``, ``dilation`` and ``groups``: with no ``padding`` (None) the padding is the
course's (right/bottom only), with ``padding`` given it is PyTorch's (symmetric; "valid",
"same"). ``Conv1dFun.apply(x, w)`` and ``Conv2dFun.apply(x, w)`` stay the course's.

This module imports nothing above the tensor layer; ``minitorch.nn`` re-exports the
convolutions with the other nn functions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from . import _trace
from .autodiff import Context
from .devices import namespace
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
    "Geometry",
    "conv1d",
    "conv2d",
    "course_geometry",
    "fold",
    "geometry",
    "tensor_conv1d",
    "tensor_conv2d",
    "unfold",
]

Array = Any
"""A NumPy array, or a CuPy array on a GPU."""


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
    """The array view of a tensor's data (NumPy, or CuPy on a GPU; any layout; never
    written to)."""
    _trace.check_read(t, "reading a tensor's values into NumPy")
    return t._tensor._array


def _wrap(like: Tensor, arr: Array) -> Tensor:
    """A constant tensor on ``like``'s backend holding ``arr`` (made C-contiguous)."""
    return like._new(TensorData._from_array(namespace(arr).ascontiguousarray(arr)))


def _constant(like: Tensor, arr: Array) -> Tensor:
    """A constant tensor on ``like``'s backend and device holding the host array ``arr``
    (copied to the GPU when ``like`` is there)."""
    xp = like.backend.xp
    return _wrap(like, arr if xp is np else xp.asarray(arr))


def _kernel(like: Tensor, fn: Callable[..., Array], *arrays: Array) -> Tensor:
    """``fn(*arrays)`` (a C-contiguous float array) wrapped like ``_wrap``, and told to
    ``minitorch.compile`` as an array kernel it may replay on new arrays."""
    r = fn(*arrays)
    td = TensorData._from_array(r)
    if (kernels := _trace.STATE.kernels) is not None and td._array is r:
        kernels.append((fn, arrays, r))
    return like._new(td)


def _needs(ctx: Context, i: int) -> bool:
    """Whether input ``i`` of the Function wants a gradient (True when unknown)."""
    needs: tuple[bool, ...] = getattr(ctx, "needs_input_grad", ())
    return i >= len(needs) or needs[i]


# ---------------------------------------------------------------------------
# Geometry: where each output reads its window (stride, dilation, padding, groups)
# ---------------------------------------------------------------------------


class Geometry(NamedTuple):
    """Where a convolution's windows lie, per spatial dim, and how channels are grouped.

    Output position o and kernel offset k read input position
    ``o·stride + k·dilation − pad_lo`` (zero outside ``[0, S)``), so the output has
    O = ⌊(S + pad_lo + pad_hi − dilation·(K − 1) − 1) / stride⌋ + 1 positions. ``groups``
    splits the channels into that many independent convolutions (weight
    ``(Cout, Cin/groups, *K)``). The course's convolution is stride 1, dilation 1,
    ``pad_lo = 0``, ``pad_hi = K − 1``: the output is as wide as the input.
    """

    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pad_lo: tuple[int, ...]
    pad_hi: tuple[int, ...]
    groups: int = 1

    def out_size(self, spatial: Sequence[int], kernel: Sequence[int]) -> tuple[int, ...]:
        """O per spatial dim (see the class docstring)."""
        return tuple(
            (n + lo + hi - d * (k - 1) - 1) // s + 1
            for n, k, s, d, lo, hi in zip(
                spatial, kernel, self.stride, self.dilation, self.pad_lo, self.pad_hi
            )
        )


def course_geometry(kernel: Sequence[int], stride: int = 1, dilation: int = 1) -> Geometry:
    """The course's padding (none on the left/top, dilation·(K − 1) on the right/bottom):
    with stride 1 the output is as wide as the input, with stride s it has ⌈S/s⌉ positions."""
    n = len(kernel)
    return Geometry(
        (stride,) * n, (dilation,) * n, (0,) * n, tuple(dilation * (k - 1) for k in kernel)
    )


def _windows(
    kernel: Sequence[int], spatial: Sequence[int], geom: Geometry
) -> list[tuple[tuple[int, ...], tuple[slice, ...], tuple[slice, ...]]]:
    """For each kernel offset that reads some input: (offset, output slices, input slices).

    Output positions ``dst`` of that offset read the input positions ``src`` (same count,
    input step = stride); every other output position of the offset reads zero padding.
    """
    out = geom.out_size(spatial, kernel)
    found = []
    for offs in itertools.product(*(range(k) for k in kernel)):
        dst, src = [], []
        for o, n, m, s, d, lo in zip(offs, spatial, out, geom.stride, geom.dilation, geom.pad_lo):
            start = o * d - lo  # the input position output 0 reads
            j0 = max(0, -(start // s))  # first output reading inside the input: ⌈−start/s⌉
            j1 = min(m, (n - 1 - start) // s + 1)  # one past the last
            if j1 <= j0:
                break  # this offset only ever reads the zero padding
            dst.append(slice(j0, j1))
            src.append(slice(start + j0 * s, start + (j1 - 1) * s + 1, s))
        else:
            found.append((offs, tuple(dst), tuple(src)))
    return found


# ---------------------------------------------------------------------------
# im2col: unfold and its adjoint fold (channel-major: the whole batch in one matrix)
# ---------------------------------------------------------------------------


def _unfold(x: Array, kernel: Sequence[int], geom: Geometry) -> Array:
    """``(B, C, *S)`` → ``(C·ΠK, B·ΠO)``: cols[(c, k), (b, o)] = x[b, c, o·s + k·d − lo]
    (0 outside the input), rows ordered (c, k) and columns (b, o) row-major.

    Built by one strided block copy per kernel offset (no padded copy of the input).
    """
    B, C, *S = x.shape
    out = geom.out_size(S, kernel)
    cols = namespace(x).zeros((C, *kernel, B, *out), dtype=x.dtype)
    xt = x.swapaxes(0, 1)  # (C, B, *S), a view
    every = slice(None)
    for offs, dst, src in _windows(kernel, S, geom):
        to: tuple[Any, ...] = (every, *offs, every, *dst)
        frm: tuple[Any, ...] = (every, every, *src)
        cols[to] = xt[frm]
    return cols.reshape(C * math.prod(kernel), B * math.prod(out))


def _fold(cols: Array, shape: Sequence[int], kernel: Sequence[int], geom: Geometry) -> Array:
    """Adjoint of ``_unfold``: ``(C·ΠK, B·ΠO)`` → ``shape = (B, C, *S)``, every column
    entry added back onto the input position it came from (overlaps summed)."""
    B, C, *S = shape
    blocks = cols.reshape(C, *kernel, B, *geom.out_size(S, kernel))
    out = namespace(cols).zeros((C, B, *S), dtype=cols.dtype)
    every = slice(None)
    for offs, dst, src in _windows(kernel, S, geom):
        to: tuple[Any, ...] = (every, every, *src)
        frm: tuple[Any, ...] = (every, *offs, every, *dst)
        out[to] += blocks[frm]
    folded: Array = out.swapaxes(0, 1)
    return folded


def _batch_major(cols: Array, batch: int) -> Array:
    """``(C·ΠK, B·ΠS)`` → ``(B, C·ΠK, ΠS)`` (a view)."""
    rows = cols.shape[0]
    out: Array = cols.reshape(rows, batch, -1).swapaxes(0, 1)
    return out


def _channel_major(a: Array) -> Array:
    """``(B, C, *S)`` → ``(C, B·ΠS)``, C-contiguous (a copy): the layout of ``_unfold``."""
    return namespace(a).ascontiguousarray(a.swapaxes(0, 1)).reshape(a.shape[1], -1)


def _gemm(a: Array, b: Array, groups: int, ta: bool = False, tb: bool = False) -> Array:
    """The block-diagonal product of ``groups`` row blocks: block g of the result is
    op(a_g) · op(b_g), with a_g, b_g the g-th of ``groups`` equal row blocks of a and b and
    op the transpose where ``ta``/``tb``. One BLAS product when ``groups == 1``."""
    if groups == 1:
        out: Array = (a.T if ta else a) @ (b.T if tb else b)
        return out
    ab = a.reshape(groups, a.shape[0] // groups, a.shape[1])
    bb = b.reshape(groups, b.shape[0] // groups, b.shape[1])
    prod: Array = (ab.swapaxes(1, 2) if ta else ab) @ (bb.swapaxes(1, 2) if tb else bb)
    return prod.reshape(-1, prod.shape[2])


class _Unfold(Function):
    """f(a) = unfold(a, kernel): ``(B, C, *S)`` → ``(B, C·ΠK, ΠS)``; linear, backward = fold."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, kernel: tuple[int, ...]) -> Tensor:
        ctx.save_for_backward(a.shape, kernel)
        return _wrap(a, _batch_major(_unfold(_arr(a), kernel, course_geometry(kernel)), a.shape[0]))

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
        return _wrap(c, _fold(cols, shape, kernel, course_geometry(kernel)))

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


def _check_conv(name: str, input: Tensor, weight: Tensor, n: int, groups: int = 1) -> None:
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
    if input.shape[1] != weight.shape[1] * groups:
        expects = f"Cin={weight.shape[1]}"
        if groups != 1:
            per = f"{weight.shape[1]} per group, groups={groups}"
            expects = f"Cin={weight.shape[1] * groups} ({per})"
        raise ValueError(
            f"{name}: input of shape {input.shape} has Cin={input.shape[1]} channels but weight "
            f"of shape {weight.shape} expects {expects}."
        )
    if weight.shape[0] % groups:
        raise ValueError(
            f"{name}: weight of shape {weight.shape} has Cout={weight.shape[0]} output channels, "
            f"not divisible by groups={groups}."
        )


def _conv_forward(
    ctx: Context, name: str, n: int, input: Tensor, weight: Tensor, geom: Geometry | None
) -> Tensor:
    """out = W_flat · U(x), one GEMM for the batch: ``(Cout, Cin·ΠK) @ (Cin·ΠK, B·ΠO)``
    (block-diagonal with groups), laid out as ``(B, Cout, *O)``. Saves the columns for
    ∂L/∂W when the weight needs it. ``geom`` None: the course's geometry (and the
    Function was applied to two inputs)."""
    given = geom is not None
    kernel = weight.shape[2:]
    if geom is None:
        geom = course_geometry(kernel)
    _check_conv(name, input, weight, n, geom.groups)
    x, w = _arr(input), _arr(weight)
    cols = _unfold(x, kernel, geom)
    out = _gemm(w.reshape(w.shape[0], -1), cols, geom.groups)
    out = out.reshape(w.shape[0], x.shape[0], *geom.out_size(x.shape[2:], kernel))
    ctx.save_for_backward(input, weight, cols if _needs(ctx, 1) else None, geom, given)
    return _wrap(input, out.swapaxes(0, 1))


class _Conv(Function):
    """Shared backward of ``Conv1dFun`` and ``Conv2dFun``:
    ∂L/∂in = ``_ConvBackwardInput(g, w)``, ∂L/∂w = ``_ConvBackwardWeight(in, g)``."""

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, ...]:
        input, weight, cols, geom, given = ctx.saved_values
        d_in: Any = 0.0
        if _needs(ctx, 0):
            d_in = _ConvBackwardInput.apply(grad, weight, geom, input.shape[2:])
        d_w: Any = 0.0
        if _needs(ctx, 1):
            d_w = _ConvBackwardWeight.apply(input, grad, geom, weight.shape[2:], cols)
        return (d_in, d_w, 0.0) if given else (d_in, d_w)


class Conv1dFun(_Conv):
    """1-D convolution: ``(B, Cin, W)``, ``(Cout, Cin, K)`` → ``(B, Cout, W_out)``.

    ``Conv1dFun.apply(x, w)`` is the course's, right-padded (W_out = W):
    out[b, o, x] = Σ_c Σ_k in[b, c, x + k] · w[o, c, k] (terms with x + k ≥ W are 0);
    ∂L/∂w[o, c, k] = Σ_b Σ_x g[b, o, x] · in[b, c, x + k];
    ∂L/∂in[b, c, p] = Σ_o Σ_k g[b, o, p − k] · w[o, c, k] (0 ≤ p − k).
    A third argument, a ``Geometry``, generalises x + k to x·s + k·d − pad_lo.
    """

    @staticmethod
    def forward(
        ctx: Context, input: Tensor, weight: Tensor, geom: Geometry | None = None
    ) -> Tensor:
        return _conv_forward(ctx, "conv1d", 1, input, weight, geom)


class Conv2dFun(_Conv):
    """2-D convolution: ``(B, Cin, H, W)``, ``(Cout, Cin, KH, KW)`` → ``(B, Cout, H_out, W_out)``.

    ``Conv2dFun.apply(x, w)`` is the course's, bottom/right-padded (same H, W):
    out[b, o, y, x] = Σ_c Σ_i Σ_j in[b, c, y + i, x + j] · w[o, c, i, j] (0 past the edges);
    ∂L/∂w[o, c, i, j] = Σ_b Σ_y Σ_x g[b, o, y, x] · in[b, c, y + i, x + j];
    ∂L/∂in[b, c, p, q] = Σ_o Σ_i Σ_j g[b, o, p − i, q − j] · w[o, c, i, j].
    A third argument, a ``Geometry``, generalises (y + i, x + j) as in ``Conv1dFun``.
    """

    @staticmethod
    def forward(
        ctx: Context, input: Tensor, weight: Tensor, geom: Geometry | None = None
    ) -> Tensor:
        return _conv_forward(ctx, "conv2d", 2, input, weight, geom)


def _conv(input: Tensor, weight: Tensor, geom: Geometry) -> Tensor:
    """The convolution Function for ``input``'s rank (1-D or 2-D) with geometry ``geom``."""
    return (Conv1dFun if input.dims == 3 else Conv2dFun).apply(input, weight, geom)


class _ConvBackwardInput(Function):
    """f(g, w) = F(W_flatᵀ · G): the input gradient ``(B, Cin, *S)`` of a convolution from its
    output gradient ``g`` ``(B, Cout, *O)`` and weight ``w`` ``(Cout, Cin, *K)``.

    Bilinear; with h the incoming gradient (input-shaped), ⟨h, f⟩ = ⟨W·U(h), G⟩, so
    ∂/∂g = conv(h, w) and ∂/∂w = ``_ConvBackwardWeight(h, g)``.
    """

    @staticmethod
    def forward(
        ctx: Context, grad: Tensor, weight: Tensor, geom: Geometry, spatial: tuple[int, ...]
    ) -> Tensor:
        ctx.save_for_backward(grad, weight, geom)
        w = _arr(weight)
        shape = (grad.shape[0], w.shape[1] * geom.groups, *spatial)
        cols = _gemm(w.reshape(w.shape[0], -1), _channel_major(_arr(grad)), geom.groups, ta=True)
        return _wrap(grad, _fold(cols, shape, weight.shape[2:], geom))

    @staticmethod
    def backward(ctx: Context, h: Tensor) -> tuple[Any, Any, float, float]:
        grad, weight, geom = ctx.saved_values
        d_g: Any = _conv(h, weight, geom) if _needs(ctx, 0) else 0.0
        d_w: Any = 0.0
        if _needs(ctx, 1):
            d_w = _ConvBackwardWeight.apply(h, grad, geom, weight.shape[2:], None)
        return d_g, d_w, 0.0, 0.0


class _ConvBackwardWeight(Function):
    """f(x, g) = G · U(x)ᵀ: the weight gradient ``(Cout, Cin, *kernel)`` of a convolution
    from its input ``x`` ``(B, Cin, *S)`` and output gradient ``g`` ``(B, Cout, *O)``.

    ``cols`` is U(x) when the forward already has it (else None: computed here).
    Bilinear; with k the incoming gradient (weight-shaped), ⟨k, f⟩ = ⟨K_flat·U(x), G⟩, so
    ∂/∂x = ``_ConvBackwardInput(g, k)`` and ∂/∂g = conv(x, k).
    """

    @staticmethod
    def forward(
        ctx: Context,
        input: Tensor,
        grad: Tensor,
        geom: Geometry,
        kernel: tuple[int, ...],
        cols: Array | None,
    ) -> Tensor:
        ctx.save_for_backward(input, grad, geom)
        if cols is None:
            cols = _unfold(_arr(input), kernel, geom)
        d_w = _gemm(_channel_major(_arr(grad)), cols, geom.groups, tb=True)  # (Cout, Cin·ΠK/G)
        cin = input.shape[1] // geom.groups
        return _wrap(grad, d_w.reshape(grad.shape[1], cin, *kernel))

    @staticmethod
    def backward(ctx: Context, k: Tensor) -> tuple[Any, Any, float, float, float]:
        input, grad, geom = ctx.saved_values
        d_x: Any = 0.0
        if _needs(ctx, 0):
            d_x = _ConvBackwardInput.apply(grad, k, geom, input.shape[2:])
        d_g: Any = _conv(input, k, geom) if _needs(ctx, 1) else 0.0
        return d_x, d_g, 0.0, 0.0, 0.0


# ---------------------------------------------------------------------------
# conv1d / conv2d: the course's form and PyTorch's options
# ---------------------------------------------------------------------------

Padding = int | Sequence[int] | str | None


def _ints(name: str, what: str, value: Any, n: int, least: int) -> tuple[int, ...]:
    """``value`` (an int or n ints, each ≥ ``least``) as a tuple of n ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        out: tuple[int, ...] = (int(value),) * n
    elif (
        isinstance(value, Sequence)
        and len(value) == n
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    ):
        out = tuple(int(v) for v in value)
    else:
        raise TypeError(f"{name}: {what} must be an int or a tuple of {n} ints, got {value!r}.")
    if any(v < least for v in out):
        raise ValueError(f"{name}: {what} must be >= {least}, got {value!r}.")
    return out


def _check_groups(name: str, groups: Any) -> None:
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{name}: groups must be a positive int, got {groups!r}.")


def geometry(
    name: str,
    spatial: Sequence[int],
    kernel: Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: Padding = None,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
) -> Geometry:
    """The ``Geometry`` of a convolution (or pooling) called ``name`` from PyTorch-style
    arguments, checked against the input's spatial size (errors name every argument).

    ``padding``: None → the course's (right/bottom, ``dilation·(K − 1)``); an int or tuple
    p → p zeros on both sides; ``"valid"`` → 0; ``"same"`` → ``dilation·(K − 1)`` in all,
    the odd one on the right/bottom (stride 1 only, as in PyTorch).
    """
    n = len(kernel)
    s = _ints(name, "stride", stride, n, 1)
    d = _ints(name, "dilation", dilation, n, 1)
    _check_groups(name, groups)
    total = tuple(di * (k - 1) for di, k in zip(d, kernel))
    if padding is None:
        lo, hi = (0,) * n, total
    elif isinstance(padding, str):
        if padding == "valid":
            lo = hi = (0,) * n
        elif padding == "same":
            if any(v != 1 for v in s):
                raise ValueError(
                    f"{name}: padding='same' needs stride 1 (as in PyTorch), got stride={stride}; "
                    "give the padding as numbers instead."
                )
            lo = tuple(t // 2 for t in total)
            hi = tuple(t - t // 2 for t in total)
        else:
            raise ValueError(
                f"{name}: padding must be an int, a tuple of {n} ints, 'valid' or 'same', "
                f"got {padding!r}."
            )
    else:
        lo = hi = _ints(name, "padding", padding, n, 0)
    geom = Geometry(s, d, lo, hi, int(groups))
    out = geom.out_size(spatial, kernel)
    if padding is not None and any(o < 1 for o in out):
        raise ValueError(
            f"{name}: input of spatial size {tuple(spatial)} is too small for kernel "
            f"{tuple(kernel)} with stride {s}, padding {padding!r} and dilation {d}: the output "
            f"would have size {out}. Pad the input or use a smaller kernel."
        )
    return geom


def _convnd(
    name: str,
    n: int,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: int | Sequence[int],
    padding: Padding,
    dilation: int | Sequence[int],
    groups: int,
) -> Tensor:
    fn = Conv1dFun if n == 1 else Conv2dFun
    if padding is None and stride == 1 and dilation == 1 and groups == 1:
        out = fn.apply(input, weight)  # the course's convolution, exactly
    else:
        if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
            raise TypeError(f"{name}: input and weight must be Tensors.")
        _check_groups(name, groups)
        _check_conv(name, input, weight, n, int(groups))
        geom = geometry(name, input.shape[2:], weight.shape[2:], stride, padding, dilation, groups)
        out = fn.apply(input, weight, geom)
    if bias is None:
        return out
    if not isinstance(bias, Tensor) or bias.shape != (weight.shape[0],):
        got = bias.shape if isinstance(bias, Tensor) else type(bias).__name__
        raise ValueError(
            f"{name}: bias must be a Tensor of shape ({weight.shape[0]},) (one per output "
            f"channel of weight {weight.shape}), got {got}."
        )
    return out + bias.contiguous().view(1, weight.shape[0], *(1,) * n)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: Padding = None,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution ``(B, Cin, W)`` * ``(Cout, Cin/groups, K)`` (+ bias ``(Cout,)``) →
    ``(B, Cout, W_out)``: out[b, o, x] = Σ_c Σ_k in[b, c, x·s + k·d − p_lo] · w[o, c, k] + bias[o].

    ``padding=None`` (the default) is the course's convolution: zeros on the right only,
    W_out = ⌈W / stride⌉ (= W with stride 1, so ``conv1d(x, w)`` is ``Conv1dFun.apply``).
    ``padding`` given follows PyTorch: p zeros on each side (``"valid"``: 0; ``"same"``:
    W_out = W, stride 1), W_out = ⌊(W + 2p − d(K − 1) − 1)/s⌋ + 1. Gradients: see
    ``Conv1dFun``.
    """
    return _convnd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: Padding = None,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution ``(B, Cin, H, W)`` * ``(Cout, Cin/groups, KH, KW)`` (+ bias
    ``(Cout,)``) → ``(B, Cout, H_out, W_out)``, each spatial dim as in ``conv1d``.

    ``padding=None`` (the default) is the course's convolution: zeros on the bottom/right
    only, H_out = ⌈H / stride⌉ (= H with stride 1: ``Conv2dFun.apply``). ``padding`` given
    (an int, a pair, ``"valid"`` or ``"same"``) follows PyTorch: symmetric zeros,
    H_out = ⌊(H + 2p − d(KH − 1) − 1)/s⌋ + 1. Gradients: see ``Conv2dFun``.
    """
    return _convnd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)

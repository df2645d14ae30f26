"""Neural-network functions: convolutions, pooling, max/argmax, softmax, dropout, losses.

Shapes follow the course: images are ``(B, C, H, W)``, sequences ``(B, C, W)``.
Reductions keep the reduced dim with size 1 (``max(x, 1)`` of ``(3, 4)`` is ``(3, 1)``).

The course's functions keep the contract: ``conv2d(x, w)`` pads right/bottom (the output
as large as the input), ``maxpool2d(x, (kh, kw))`` needs the kernel to divide the sizes,
``dropout`` does not rescale. Their PyTorch options follow PyTorch: ``conv2d(x, w, b,
stride, padding, dilation, groups)`` with a ``padding`` given pads symmetrically;
pooling with a ``stride``/``padding`` drops the windows that do not fit (floor).
PyTorch's ``torch.nn.functional`` names sit beside them: ``max_pool2d``, ``avg_pool2d``,
``max_pool1d``, ``avg_pool1d``, ``log_softmax``, ``relu``, ``sigmoid``, ``tanh``, and
``inverted_dropout`` (PyTorch's ``F.dropout``, rescaling by 1/(1 − p)).

The convolutions (``conv1d``, ``conv2d``, ``Conv1dFun``, ``Conv2dFun``, ``unfold``,
``fold``) live in ``minitorch.fast_conv`` with the course's reference kernels and are
re-exported here.

Every derivative is written once. Most functions here are compositions of Tensor
operations (their gradients come from those; average pooling is a convolution with a
ones kernel). An op that has a Function of its own (max-pooling, log-softmax, the binary
cross-entropies, the embedding gather) computes its forward in one fused NumPy pass and
writes its backward in Tensor operations or Function applications, so
``backward(create_graph=True)`` differentiates that same formula.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _trace
from .autodiff import Context
from .devices import namespace, to_host
from .fast_conv import (
    Array,
    Conv1dFun,
    Conv2dFun,
    Geometry,
    _arr,
    _constant,
    _conv,
    _ints,
    _kernel,
    _needs,
    _wrap,
    conv1d,
    conv2d,
    fold,
    geometry,
    unfold,
)
from .tensor import Tensor
from .tensor_functions import Function, Max, TensorContext

__all__ = [
    "Conv1dFun",
    "Conv2dFun",
    "LogSoftmax",
    "Max",
    "argmax",
    "avg_pool1d",
    "avg_pool2d",
    "avgpool2d",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv1d",
    "conv2d",
    "cross_entropy",
    "dropout",
    "embedding",
    "fold",
    "inverted_dropout",
    "log_softmax",
    "logsoftmax",
    "max",
    "max_pool1d",
    "max_pool2d",
    "max_reduce",
    "maxpool2d",
    "mse_loss",
    "nll_loss",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
    "tile",
    "unfold",
]

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _norm_dim(t: Tensor, dim: Any, name: str) -> int:
    """``dim`` (an int or a one-element tensor; negatives count from the end) as 0..dims-1."""
    d = int(dim.item()) if isinstance(dim, Tensor) else int(dim)
    if d < 0:
        d += t.dims
    if not 0 <= d < t.dims:
        raise IndexError(f"{name}: dim {dim} is out of range for a tensor of shape {t.shape}.")
    return d


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


_PoolSpec = tuple[tuple[int, int], Geometry, tuple[int, int]]
"""(kernel, geometry, input (H, W)) of a 2-D pooling."""


def _subgrid(spec: _PoolSpec, i: int, j: int) -> tuple[Any, ...]:
    """The slices of the padded input that kernel offset (i, j) reads, one per output."""
    _, g, _ = spec
    (oh, ow), (dh, dw), (sh, sw) = _out_hw(spec), g.dilation, g.stride
    every = slice(None)
    return (
        every,
        every,
        slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
        slice(j * dw, j * dw + sw * (ow - 1) + 1, sw),
    )


def _out_hw(spec: _PoolSpec) -> tuple[int, ...]:
    kernel, g, hw = spec
    return g.out_size(hw, kernel)


def _pad(x: Array, g: Geometry, value: float) -> Array:
    """x with g's padding on the last two dims, filled with ``value`` (x itself if none)."""
    if not any(g.pad_lo) and not any(g.pad_hi):
        return x
    widths = ((0, 0), (0, 0), *zip(g.pad_lo, g.pad_hi))
    return namespace(x).pad(x, widths, constant_values=value)


def _offsets(kernel: tuple[int, int]) -> list[tuple[int, int]]:
    """The kh·kw positions (i, j) inside a window, row-major."""
    return list(itertools.product(range(kernel[0]), range(kernel[1])))


def _tiles_exactly(spec: _PoolSpec) -> bool:
    """Whether the windows are the non-overlapping tiles of the whole, unpadded input."""
    kernel, g, hw = spec
    return (
        g.dilation == (1, 1)
        and g.stride == kernel
        and not any(g.pad_lo + g.pad_hi)
        and all(h == k * o for h, k, o in zip(hw, kernel, _out_hw(spec)))
    )


class _MaxPool2d(Function):
    """f(x) = max over each window; ∂f/∂x = 1 at every element equal to its window's max
    (``argmax`` semantics, ties included), else 0 (summed where windows overlap).

    Forward takes the elementwise maximum of the kh·kw strided sub-grids of the input
    (padded with −inf), one per kernel offset (i, j), and keeps the 0/1 masks
    M_ij = [sub-grid ij == max] (constants: f is piecewise linear); backward is
    ``_PoolScatter(g, M)``. Whole sub-grids pay against one (…, kh, …, kw) broadcast mask
    with the backward in Tensor operations: the ``benchmarks/bench_lenet.py`` step costs
    72.5 M instructions (callgrind; best time 16.7 ms) against 90.6 M (20.1 ms).
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, spec: _PoolSpec) -> Tensor:
        x = _pad(_arr(a), spec[1], -np.inf)
        xp = a.backend.xp
        subs = [x[_subgrid(spec, i, j)] for i, j in _offsets(spec[0])]
        out = subs[0]
        for sub in subs[1:]:
            out = xp.maximum(out, sub)
        mask = xp.empty((len(subs), *out.shape), dtype=bool)
        for k, sub in enumerate(subs):
            xp.equal(sub, out, out=mask[k])
        ctx.save_for_backward(mask, spec)
        return _wrap(a, out)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float]:
        mask, spec = ctx.saved_values
        return _PoolScatter.apply(grad, mask, spec), 0.0


class _PoolScatter(Function):
    """f(g) = the ``(B, C, H, W)`` input-shaped sum over offsets ij of g ⊙ M_ij placed on
    sub-grid ij (padding cropped): each pooled value sent to the positions its mask marks.
    Linear in g; backward = ``_PoolGather``.
    """

    @staticmethod
    def forward(ctx: Context, g: Tensor, mask: npt.NDArray[np.bool_], spec: _PoolSpec) -> Tensor:
        ctx.save_for_backward(mask, spec)
        kernel, geom, (H, W) = spec
        gv = _arr(g)
        xp = g.backend.xp
        B, C = gv.shape[:2]
        shape = (B, C, H + geom.pad_lo[0] + geom.pad_hi[0], W + geom.pad_lo[1] + geom.pad_hi[1])
        pairs = zip(_offsets(kernel), mask)
        if _tiles_exactly(spec):  # every position written once
            out = xp.empty(shape, dtype=gv.dtype)
            for (i, j), m in pairs:
                xp.multiply(gv, m, out=out[_subgrid(spec, i, j)])
        else:
            out = xp.zeros(shape, dtype=gv.dtype)
            for (i, j), m in pairs:
                out[_subgrid(spec, i, j)] += gv * m
        top, left = geom.pad_lo
        return _wrap(g, out[:, :, top : top + H, left : left + W])

    @staticmethod
    def backward(ctx: Context, h: Tensor) -> tuple[Any, float, float]:
        mask, spec = ctx.saved_values
        return _PoolGather.apply(h, mask, spec), 0.0, 0.0


class _PoolGather(Function):
    """f(h) = Σ_ij (sub-grid ij of h, zero-padded) ⊙ M_ij: ``(B, C, H, W)`` → the pooled
    shape, the adjoint of ``_PoolScatter``. Linear in h; backward = ``_PoolScatter``.
    """

    @staticmethod
    def forward(ctx: Context, h: Tensor, mask: npt.NDArray[np.bool_], spec: _PoolSpec) -> Tensor:
        ctx.save_for_backward(mask, spec)
        hv = _pad(_arr(h), spec[1], 0.0)
        out = h.backend.xp.zeros(mask.shape[1:], dtype=hv.dtype)
        for (i, j), m in zip(_offsets(spec[0]), mask):
            out += hv[_subgrid(spec, i, j)] * m
        return _wrap(h, out)

    @staticmethod
    def backward(ctx: Context, g: Tensor) -> tuple[Any, float, float]:
        mask, spec = ctx.saved_values
        return _PoolScatter.apply(g, mask, spec), 0.0, 0.0


Size2 = int | Sequence[int]


def _pool_spec(
    name: str,
    input: Tensor,
    kernel: Size2,
    stride: Size2 | None,
    padding: Size2,
    dilation: Size2,
    course: bool,
) -> _PoolSpec:
    """Check a 2-D pooling's arguments (PyTorch's rules) and return its spec.

    ``course``: the contract's form (no stride, no padding), where the kernel must divide
    the height and width; otherwise windows that do not fit are dropped (PyTorch's floor).
    """
    if input.dims != 4:
        raise ValueError(f"{name}: input must have shape (B, C, H, W), got shape {input.shape}.")
    k = _ints(name, "kernel_size", kernel, 2, 1)
    hw = (input.shape[2], input.shape[3])
    if course and stride is None and padding == 0 and (hw[0] % k[0] or hw[1] % k[1]):
        raise ValueError(
            f"{name}: kernel {k} must divide the height and width of input shape "
            f"{input.shape} (H % kh == 0 and W % kw == 0); pass stride={k} to drop the "
            "windows that do not fit, as PyTorch does."
        )
    s = k if stride is None else _ints(name, "stride", stride, 2, 1)
    p = _ints(name, "padding", padding, 2, 0)
    d = _ints(name, "dilation", dilation, 2, 1)
    if any(2 * pi > di * (ki - 1) + 1 for pi, di, ki in zip(p, d, k)):
        raise ValueError(
            f"{name}: padding {p} must be at most half of the kernel {k} (as in PyTorch)."
        )
    geom = geometry(name, hw, k, s, p, d)
    return (k[0], k[1]), geom, hw


def _maxpool(input: Tensor, spec: _PoolSpec) -> Tensor:
    return _MaxPool2d.apply(input, spec)


def _avgpool(
    input: Tensor, spec: _PoolSpec, count_include_pad: bool, divisor_override: int | None
) -> Tensor:
    """Window sums as a convolution of every channel with a ones kernel, divided by the
    window size (or the count of real elements, or ``divisor_override``)."""
    kernel, geom, (H, W) = spec
    B, C = input.shape[:2]
    ones = _wrap(input, input.backend.xp.ones((1, 1, *kernel), dtype=input.dtype))
    flat = input.contiguous().view(B * C, 1, H, W)
    sums = _conv(flat, ones, geom)
    oh, ow = geom.out_size((H, W), kernel)
    sums = sums.view(B, C, oh, ow)
    if divisor_override is not None:
        return sums * (1.0 / divisor_override)
    if count_include_pad or not any(geom.pad_lo):
        return sums * (1.0 / (kernel[0] * kernel[1]))
    counts = [
        np.array(
            [sum(0 <= o * s + i - lo < n for i in range(k)) for o in range(m)], dtype=np.float64
        )
        for n, k, s, lo, m in zip((H, W), kernel, geom.stride, geom.pad_lo, (oh, ow))
    ]
    inv = (1.0 / np.outer(*counts)).astype(input.dtype)
    return sums * _constant(input, inv)


def maxpool2d(
    input: Tensor,
    kernel: Size2,
    stride: Size2 | None = None,
    padding: Size2 = 0,
    dilation: Size2 = 1,
) -> Tensor:
    """Max over each window: ``(B, C, H, W)`` → ``(B, C, H_out, W_out)``.

    The contract's form ``maxpool2d(t, (kh, kw))`` pools non-overlapping tiles and needs
    ``H % kh == 0`` and ``W % kw == 0`` (H_out = H/kh). With ``stride`` (default: the
    kernel) or ``padding`` (−inf, at most half the kernel) given it is PyTorch's
    ``max_pool2d``: H_out = ⌊(H + 2p − d(kh − 1) − 1)/s⌋ + 1. The gradient goes to every
    element equal to its window's max (``argmax`` semantics; PyTorch picks one of ties).
    """
    return _maxpool(input, _pool_spec("maxpool2d", input, kernel, stride, padding, dilation, True))


def avgpool2d(
    input: Tensor,
    kernel: Size2,
    stride: Size2 | None = None,
    padding: Size2 = 0,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over each window: ``(B, C, H, W)`` → ``(B, C, H_out, W_out)``.

    The contract's form ``avgpool2d(t, (kh, kw))`` needs ``H % kh == 0`` and
    ``W % kw == 0``; with ``stride``/``padding`` it is PyTorch's ``avg_pool2d`` (sizes as
    in ``maxpool2d``; padded zeros count in the mean unless ``count_include_pad=False``).
    ∂out/∂in = 1/divisor for every element of each window holding it.
    """
    spec = _pool_spec("avgpool2d", input, kernel, stride, padding, 1, True)
    return _avgpool(input, spec, count_include_pad, divisor_override)


def _unsupported(name: str, **flags: Any) -> None:
    for flag, value in flags.items():
        if value:
            raise NotImplementedError(
                f"{name}: {flag}={value!r} is not supported by minitorch (PyTorch's default "
                "works); see docs/pytorch.md."
            )


def _unbatched(name: str, input: Tensor, dims: int) -> tuple[Tensor, bool]:
    """``input`` with a batch dim of 1 added when it has ``dims − 1`` dims (unbatched)."""
    if input.dims == dims - 1:
        return input.contiguous().view(1, *input.shape), True
    return input, False


def max_pool2d(
    input: Tensor,
    kernel_size: Size2,
    stride: Size2 | None = None,
    padding: Size2 = 0,
    dilation: Size2 = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor:
    """PyTorch's ``max_pool2d``: ``(B, C, H, W)`` or ``(C, H, W)``; stride defaults to the
    kernel, windows that do not fit are dropped (see ``maxpool2d``)."""
    _unsupported("max_pool2d", ceil_mode=ceil_mode, return_indices=return_indices)
    x, added = _unbatched("max_pool2d", input, 4)
    s = kernel_size if stride is None else stride
    out = _maxpool(x, _pool_spec("max_pool2d", x, kernel_size, s, padding, dilation, False))
    return out.view(*out.shape[1:]) if added else out


def avg_pool2d(
    input: Tensor,
    kernel_size: Size2,
    stride: Size2 | None = None,
    padding: Size2 = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """PyTorch's ``avg_pool2d``: ``(B, C, H, W)`` or ``(C, H, W)`` (see ``avgpool2d``)."""
    _unsupported("avg_pool2d", ceil_mode=ceil_mode)
    x, added = _unbatched("avg_pool2d", input, 4)
    s = kernel_size if stride is None else stride
    spec = _pool_spec("avg_pool2d", x, kernel_size, s, padding, 1, False)
    out = _avgpool(x, spec, count_include_pad, divisor_override)
    return out.view(*out.shape[1:]) if added else out


def _as_2d(name: str, input: Tensor) -> tuple[Tensor, bool]:
    """``(B, C, W)`` or ``(C, W)`` as ``(B, C, 1, W)``, and whether a batch dim was added."""
    x, added = _unbatched(name, input, 3)
    if x.dims != 3:
        raise ValueError(f"{name}: input must have shape (B, C, W) or (C, W), got {input.shape}.")
    return x.contiguous().view(x.shape[0], x.shape[1], 1, x.shape[2]), added


def _from_2d(out: Tensor, added: bool) -> Tensor:
    shape = (out.shape[1], out.shape[3]) if added else (out.shape[0], out.shape[1], out.shape[3])
    return out.view(*shape)


def _one(name: str, what: str, v: Any) -> int:
    return _ints(name, what, v, 1, 0)[0]


def max_pool1d(
    input: Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor:
    """PyTorch's ``max_pool1d``: ``(B, C, W)`` or ``(C, W)`` → W_out as in ``max_pool2d``."""
    _unsupported("max_pool1d", ceil_mode=ceil_mode, return_indices=return_indices)
    x, added = _as_2d("max_pool1d", input)
    k = _one("max_pool1d", "kernel_size", kernel_size)
    s = k if stride is None else _one("max_pool1d", "stride", stride)
    p, d = _one("max_pool1d", "padding", padding), _one("max_pool1d", "dilation", dilation)
    spec = _pool_spec("max_pool1d", x, (1, k), (1, s), (0, p), (1, d), False)
    return _from_2d(_maxpool(x, spec), added)


def avg_pool1d(
    input: Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """PyTorch's ``avg_pool1d``: ``(B, C, W)`` or ``(C, W)`` → W_out as in ``avg_pool2d``."""
    _unsupported("avg_pool1d", ceil_mode=ceil_mode)
    x, added = _as_2d("avg_pool1d", input)
    k = _one("avg_pool1d", "kernel_size", kernel_size)
    s = k if stride is None else _one("avg_pool1d", "stride", stride)
    p = _one("avg_pool1d", "padding", padding)
    spec = _pool_spec("avg_pool1d", x, (1, k), (1, s), (0, p), 1, False)
    return _from_2d(_avgpool(x, spec, count_include_pad, None), added)


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

    ∂L/∂x = g − e^f · Σ_dim g  (e^f = softmax(x)), in Tensor operations on the recorded
    output. Its own kernel because it must be exact: ``Tensor.log`` is the course's
    log(x + 1e-6), so x − m − (Σ e^(x − m)).log() would be off by up to 1e-6.
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: int) -> Tensor:
        ctx.save_for_backward(dim)
        return _kernel(a, functools.partial(_log_softmax, dim=dim), _arr(a))

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Any, float]:
        # ctx.output is this Function's result, the recorded node (handed over by the
        # engine, never saved: saving it would make a reference cycle). Under create_graph,
        # e^out is differentiated back through this Function.
        (dim,) = ctx.saved_values
        return grad - ctx.output.exp() * grad.sum(dim), 0.0


def _log_softmax(x: npt.NDArray[Any], dim: int) -> npt.NDArray[Any]:
    """LogSoftmax's kernel on an array (an empty input gives an empty result, as PyTorch)."""
    if x.size == 0:
        empty: npt.NDArray[Any] = x.copy()
        return empty
    xp = namespace(x)
    m = x.max(axis=dim, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0.0)
    s = x - m
    with np.errstate(divide="ignore"):
        out: npt.NDArray[Any] = xp.ascontiguousarray(
            s - xp.log(xp.exp(s).sum(axis=dim, keepdims=True))
        )
    return out


def logsoftmax(input: Tensor, dim: int) -> Tensor:
    """log softmax along ``dim`` (input's shape); finite for large-magnitude inputs."""
    return LogSoftmax.apply(input, _norm_dim(input, dim, "logsoftmax"))


def softmax(input: Tensor, dim: int) -> Tensor:
    """e^x / Σ_dim e^x (input's shape; slices along ``dim`` sum to 1), as exp(logsoftmax).

    ∂L/∂x = s ⊙ (g − Σ_dim g ⊙ s).
    """
    return logsoftmax(input, dim).exp()


def log_softmax(input: Tensor, dim: int) -> Tensor:
    """PyTorch's name for ``logsoftmax``: x − log Σ_dim e^x (input's shape)."""
    return logsoftmax(input, dim)


def relu(input: Tensor) -> Tensor:
    """max(x, 0) elementwise (``input.relu()``); derivative [x > 0]."""
    return input.relu()


def sigmoid(input: Tensor) -> Tensor:
    """σ(x) = 1/(1 + e^−x) elementwise (``input.sigmoid()``); derivative σ(1 − σ)."""
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    """tanh(x) elementwise (``input.tanh()``); derivative 1 − tanh²."""
    return input.tanh()


# ---------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------


def _dropout(input: Tensor, rate: float, scale: float) -> Tensor:
    """``input`` times ``scale`` where a draw with probability 1 − ``rate`` keeps it, else 0
    (``rate`` in (0, 1); the mask from Python's ``random``, so reproducible). ∂out/∂in = the
    scaled mask."""
    return input * _dropout_mask(input, rate, scale)


@_trace.live
def _dropout_mask(like: Tensor, rate: float, scale: float) -> Tensor:
    """``scale`` where a uniform draw is >= ``rate``, else 0, in ``like``'s shape and dtype
    (a fresh draw on each call, also on each replay of a compiled function)."""
    rng = np.random.default_rng(random.getrandbits(64))
    keep = (rng.random(like.shape) >= rate).astype(like.dtype)
    if scale != 1.0:
        keep *= scale
    return _constant(like, keep)  # drawn on the host: the same mask on every device


def dropout(input: Tensor, rate: float, ignore: bool = False) -> Tensor:
    """Zero each element with probability ``rate``; kept values are unchanged (no rescaling,
    the course's contract; ``layers.Dropout`` rescales as PyTorch does).

    ``rate <= 0`` or ``ignore=True`` return ``input`` itself; ``rate >= 1`` gives exact
    zeros. The mask comes from a NumPy generator seeded by Python's ``random``, so results
    are reproducible after ``random.seed(n)``. ∂out/∂in = mask.
    """
    if ignore or rate <= 0.0:
        return input
    if rate >= 1.0:
        return input * _wrap(input, input.backend.xp.zeros(input.shape, input.dtype))
    return _dropout(input, rate, 1.0)


def inverted_dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """PyTorch's ``F.dropout``: zero each element with probability ``p`` and scale the kept
    ones by 1/(1 − p), so the expected value is unchanged; the identity when not
    ``training`` or p = 0, exact zeros when p = 1. ∂out/∂in = mask/(1 − p)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}.")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return dropout(input, 1.0)
    return _dropout(input, p, 1.0 / (1.0 - p))


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


def _class_weight(name: str, weight: Any, classes: int, dtype: Any) -> npt.NDArray[Any]:
    """The per-class weights (a constant array of shape (C,)); ones when ``weight`` is None."""
    if weight is None:
        return np.ones(classes, dtype=dtype)
    if isinstance(weight, str):
        raise TypeError(
            f"{name}: the third argument is the class weight, got {weight!r}; pass "
            f"reduction={weight!r} by keyword."
        )
    if isinstance(weight, Tensor):
        if weight.requires_grad():
            raise ValueError(
                f"{name}: weight is used as a constant (no gradient flows to it, as in "
                "PyTorch); pass weight.detach()."
            )
        weight = to_host(_arr(weight))
    w = np.asarray(weight, dtype=dtype)
    if w.shape != (classes,):
        raise ValueError(
            f"{name}: weight must hold one number per class, shape ({classes},); got shape "
            f"{w.shape}."
        )
    return w


def _where(pos: tuple[int, ...]) -> str:
    return str(pos[0]) if len(pos) == 1 else str(pos)


def _class_indices(
    name: str, raw: npt.NDArray[Any], shape: tuple[int, ...], classes: int, ignore_index: int
) -> npt.NDArray[np.intp]:
    """Class-index targets of ``shape`` as ints in [0, classes) (or ``ignore_index``)."""
    idx = raw.astype(np.intp)
    if not np.array_equal(idx, raw):
        bad = np.argwhere(idx != raw)[0]
        raise ValueError(
            f"{name}: target must hold integer class indices, got {raw[tuple(bad)]} at "
            f"position {_where(tuple(int(b) for b in bad))}."
        )
    idx = idx.reshape(shape)
    out = (idx != ignore_index) & ((idx < 0) | (idx >= classes))
    if out.any():
        pos = tuple(int(i) for i in np.argwhere(out)[0])
        raise IndexError(
            f"{name}: target class {int(idx[pos])} at position {_where(pos)} is out of range "
            f"for {classes} classes (valid: 0..{classes - 1}, or ignore_index={ignore_index})."
        )
    return idx


def _loss_from_logp(
    name: str,
    logp: Tensor,
    target: Any,
    weight: Any,
    ignore_index: int,
    reduction: str,
    smoothing: float,
    probabilities: bool,
) -> Tensor:
    """−Σ_c q[n, c, …]·logp[n, c, …] per element, reduced, where q is built from the target.

    Class indices y (ε = ``smoothing``, w the class weights, 0 where y = ignore_index):
    q[c] = (1 − ε)·w_y·[c = y] + ε·w_c/C, and "mean" divides by Σ w_y over the kept
    targets (PyTorch's weighted mean). Class probabilities p (``probabilities``):
    q[c] = w_c·((1 − ε)·p_c + ε/C), and "mean" divides by the number of elements.
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}.")
    if not 0.0 <= smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {smoothing}.")
    if logp.dims == 0:
        raise ValueError(f"{name}: input must have shape (N, C, ...) or (C,), got {logp.shape}.")
    unbatched = logp.dims == 1
    if unbatched:
        logp = logp.contiguous().view(1, logp.shape[0])
    n, c, *rest = logp.shape
    w = _class_weight(name, weight, c, logp.dtype)
    wshape = (1, c, *(1,) * len(rest))
    raw = None if isinstance(target, Tensor) else np.asarray(target)
    tshape = target.shape if isinstance(target, Tensor) else raw.shape  # type: ignore[union-attr]
    in_shape = (c,) if unbatched else logp.shape
    soft = (
        probabilities
        and tuple(tshape) == tuple(in_shape)
        and (raw is None or not np.issubdtype(raw.dtype, np.integer))
    )
    out_shape = (n, *rest)
    if soft:
        q = (
            target
            if isinstance(target, Tensor)
            else _constant(logp, np.ascontiguousarray(raw, dtype=logp.dtype))
        )
        q = q.contiguous().view(*logp.shape)
        if smoothing:
            q = q * (1.0 - smoothing) + smoothing / c
        if weight is not None:
            q = q * _constant(logp, w.reshape(wshape))
        loss = -(logp * q).sum(1).contiguous().view(*out_shape)
        count = float(math.prod(out_shape))
    else:
        q, scale, shift = _class_targets(
            name, target, logp, w, out_shape, unbatched, c, ignore_index, smoothing, probabilities
        )
        loss = -(logp * q).sum(1).contiguous().view(*out_shape)
    if reduction == "none":
        return loss.view(1) if unbatched else loss
    total = loss.sum()
    if reduction == "sum":
        return total
    if soft:
        return total * (1.0 / count)
    # 1/Σw_y, or 0 then NaN when every target is ignored (PyTorch's NaN, zero gradients)
    return total * scale + shift


@_trace.live
def _class_targets(
    name: str,
    target: Any,
    logp: Tensor,
    w: npt.NDArray[Any],
    out_shape: tuple[int, ...],
    unbatched: bool,
    c: int,
    ignore_index: int,
    smoothing: float,
    probabilities: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """From class-index targets: q (the weights on log p, logp's shape) and the mean's
    ``scale`` and ``shift`` (shape (1,)). Reads the targets' values, so under
    ``minitorch.compile`` it is a live step (called again on each replay)."""
    # Targets are checked and turned into q on the host (N numbers; copied back from a GPU).
    values = to_host(_arr(target)) if isinstance(target, Tensor) else np.asarray(target)
    expected = () if unbatched else out_shape
    if tuple(values.shape) != expected and not (unbatched and values.size == 1):
        probs = " or the input's shape for class probabilities" if probabilities else ""
        raise ValueError(
            f"{name}: target must hold class indices of shape {expected}{probs} for input "
            f"of shape {(c,) if unbatched else logp.shape}; got shape {tuple(values.shape)}."
        )
    idx = _class_indices(name, values, out_shape, c, ignore_index)
    keep = idx != ignore_index
    q_arr = np.zeros(logp.shape, dtype=logp.dtype)
    if logp.dims == 2 and not smoothing and keep.all():  # the usual case, the short way
        w_y = w[idx].astype(logp.dtype)
        q_arr[np.arange(len(idx)), idx] = w_y
    else:
        safe = np.where(keep, idx, 0)
        w_y = np.where(keep, w[safe], 0.0).astype(logp.dtype)
        np.put_along_axis(q_arr, safe[:, None], ((1.0 - smoothing) * w_y)[:, None], axis=1)
        if smoothing:
            wshape = (1, c, *(1,) * (logp.dims - 2))
            q_arr += (smoothing / c) * w.reshape(wshape) * keep[:, None]
    count = float(w_y.sum())
    scale, shift = (1.0 / count, 0.0) if count else (0.0, math.nan)
    dtype = logp.dtype
    return (
        _constant(logp, q_arr),
        _constant(logp, np.array([scale], dtype=dtype)),
        _constant(logp, np.array([shift], dtype=dtype)),
    )


def nll_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities ``(N, C, d1, …)`` (or ``(C,)``) and class
    indices ``(N, d1, …)``: loss = −w_y·input[n, y, …], 0 where y = ``ignore_index``.

    ``target``: a Tensor (integral floats), list or NumPy int array; ``weight``: C class
    weights (a constant). "mean" divides by Σ w_y over the kept targets (PyTorch's).
    ∂loss/∂input[n, c, …] = −w_y·[c = y].
    """
    return _loss_from_logp(
        "nll_loss", input, target, weight, ignore_index, reduction, 0.0, probabilities=False
    )


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy from logits ``(N, C, d1, …)`` (or ``(C,)``), over dim 1.

    ``target``: class indices ``(N, d1, …)`` (Tensor of integral floats, list or NumPy
    ints), or class probabilities of the input's shape (a float Tensor or array).
    With indices: loss = −w_y·logsoftmax(x)[n, y, …] = w_y·(log Σ_c e^x[n, c] − x[n, y]),
    0 where y = ``ignore_index``; "mean" divides by Σ w_y over the kept targets.
    With probabilities p: loss = −Σ_c w_c·p_c·logsoftmax(x)_c; "mean" divides by the
    number of elements. ``label_smoothing`` ε mixes the target with the uniform ε/C.
    ∂loss/∂x = Σ_c q_c·softmax(x) − q with q the (weighted, smoothed) target.
    """
    if input.dims == 0:
        raise ValueError(f"cross_entropy: input must have shape (N, C, ...), got {input.shape}.")
    return _loss_from_logp(
        "cross_entropy",
        logsoftmax(input, 0 if input.dims == 1 else 1),
        target,
        weight,
        ignore_index,
        reduction,
        label_smoothing,
        probabilities=True,
    )


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


_LOG_FLOOR = -100.0
"""Logs in ``binary_cross_entropy`` are clamped here (as PyTorch does): log 0 = −100."""


def _floored_log(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """max(log x, −100) elementwise, for x in [0, 1] (log 0 = −100, no warning)."""
    xp = namespace(x)
    with np.errstate(divide="ignore"):
        out: npt.NDArray[Any] = xp.maximum(xp.log(x), _LOG_FLOOR)
    return out


class _FlooredLog(Function):
    """f(t) = max(log t, −100) (exact log; ``Tensor.log`` is the course's log(t + 1e-6)).

    ∂f/∂t = m / t with the constant mask m = [log t > −100] (0 in the clamped region),
    written m / (t + 1 − m) so that the masked entries stay finite.
    """

    @staticmethod
    def forward(ctx: Context, t: Tensor) -> Tensor:
        out = _floored_log(_arr(t))
        ctx.save_for_backward(t, _wrap(t, (out > _LOG_FLOOR).astype(out.dtype)))
        return _wrap(t, out)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        t: Tensor
        m: Tensor
        t, m = ctx.saved_values
        return grad * m / (t + (1.0 - m))


class _BCE(Function):
    """f(p, y) = −(y·log p + (1 − y)·log(1 − p)) elementwise, logs clamped at −100.

    ∂f/∂p = (p − y) / max(p(1 − p), 1e-12);  ∂f/∂y = log(1 − p) − log p (both clamped).
    """

    @staticmethod
    def forward(ctx: Context, p: Tensor, y: Tensor) -> Tensor:
        x, t = _arr(p), _arr(y)
        xp = p.backend.xp
        if bool(xp.any((x < 0.0) | (x > 1.0))):
            raise ValueError(
                "binary_cross_entropy: input must hold probabilities in [0, 1] (use "
                "binary_cross_entropy_with_logits for raw scores)."
            )
        log_p = _floored_log(x)
        with np.errstate(divide="ignore"):  # log(1 − p) as log1p(−p): exact for small p
            log_q = xp.maximum(xp.log1p(-x), _LOG_FLOOR)
        ctx.save_for_backward(p, y)
        return _wrap(p, -(t * log_p + (1.0 - t) * log_q))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, Any]:
        p, y = ctx.saved_values
        d_p: Any = 0.0
        d_y: Any = 0.0
        if _needs(ctx, 0):
            den = p * (1.0 - p)
            den = den + (den < 1e-12) * (1e-12 - den)  # clamp (the mask has zero gradient)
            d_p = grad * (p - y) / den
        if _needs(ctx, 1):
            d_y = grad * (_FlooredLog.apply(1.0 - p) - _FlooredLog.apply(p))
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

    ∂f/∂z = σ(z) − y;  ∂f/∂y = −z. Its own Function so that ∂f/∂z is σ(z) − y at z = 0
    too, where a composition of relu and |z| takes one-sided derivatives.
    """

    @staticmethod
    def forward(ctx: Context, z: Tensor, y: Tensor) -> Tensor:
        x, t = _arr(z), _arr(y)
        xp = z.backend.xp
        ctx.save_for_backward(z, y)
        return _wrap(z, xp.maximum(x, 0.0) - x * t + xp.log1p(xp.exp(-xp.abs(x))))

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
        x = _arr(w)
        return _wrap(w, x[idx if isinstance(x, np.ndarray) else w.backend.xp.asarray(idx)])

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
        xp = g.backend.xp
        shape = (rows, *x.shape[idx.ndim :])
        if xp is np:
            out = np.zeros(shape, dtype=x.dtype)
            np.add.at(out, idx, x)
        else:  # a GPU: one bincount over the flat positions (row·D + column)
            d = math.prod(shape[1:])
            pos = (xp.asarray(idx).reshape(-1, 1) * d + xp.arange(d)).reshape(-1)
            sums = xp.bincount(pos, weights=x.reshape(-1), minlength=rows * d)
            out = sums.astype(x.dtype).reshape(shape)
        return _wrap(g, out)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, float, float]:
        (idx,) = ctx.saved_values
        return _Gather.apply(grad, idx), 0.0, 0.0


def embedding(input: Any, weight: Tensor) -> Tensor:
    """Rows of ``weight`` ``(N, D)`` picked by integer indices: shape ``input.shape + (D,)``.

    ∂L/∂weight[r] = Σ of the output gradients at the positions where ``input == r``.
    """
    raw = np.asarray(to_host(_arr(input)) if isinstance(input, Tensor) else input)
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

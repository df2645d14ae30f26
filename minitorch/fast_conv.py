"""Reference convolution kernels (pure Python loops over strided storage), as in the course.

``tensor_conv1d`` and ``tensor_conv2d`` fill ``out`` position by position:

* forward (``reverse=False``), kernel anchored on the left/top, zero past the right/bottom:
  out[b, o, x] = Σ_c Σ_k in[b, c, x + k] · w[o, c, k]  (terms with x + k ≥ width dropped);
* ``reverse=True``, kernel anchored on the right/bottom, zero before the left/top:
  out[b, o, x] = Σ_c Σ_k in[b, c, x − k] · w[o, c, k]  (terms with x − k < 0 dropped).

2-D is the same with (y + i, x + j) / (y − i, x − j). Outputs loop over ``out_shape``,
kernel offsets over ``weight_shape`` (which may be wider than the output, as when the
weight gradient is computed as a convolution), and every element is addressed through the
strides, so permuted (non-contiguous) inputs work. These loops are slow; they define the
semantics and are what the tests cross-check the fast path of ``minitorch.nn`` against.

With them, the gradients of ``out = conv(in, w)`` are convolutions too (1-D shown):

* ∂L/∂in = ``tensor_conv1d(…, g, w.permute(1, 0, 2), reverse=True)``;
* ∂L/∂w = ``tensor_conv1d(…, in.permute(1, 0, 2), g.permute(1, 0, 2), reverse=False)``
  permuted back with ``(1, 0, 2)``.

The fast Functions (``Conv1dFun``, ``conv1d``, ...) live in ``minitorch.nn`` and are
re-exported here under the course's module name.
"""

from __future__ import annotations

import numpy as np

from .tensor_data import (
    Index,
    Shape,
    Storage,
    Strides,
    UserShape,
    UserStrides,
    index_to_position,
    to_index,
)

__all__ = [
    "Conv1dFun",
    "Conv2dFun",
    "conv1d",
    "conv2d",
    "tensor_conv1d",
    "tensor_conv2d",
]


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


# The fast Functions, under the course's module name (nn does not import this module).
from .nn import Conv1dFun, Conv2dFun, conv1d, conv2d  # noqa: E402

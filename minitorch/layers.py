"""Layers: Modules with PyTorch's names, built on the functions of ``minitorch.nn``.

Parameters are Tensors wrapped in ``Parameter`` (``layer.weight.value``). Shapes follow
PyTorch: ``Linear.weight`` is ``(out_features, in_features)``, ``Conv2d.weight`` is
``(Cout, Cin/groups, KH, KW)``, biases are ``(out,)``. The layers follow PyTorch:
``Conv2d(..., padding=0)`` is the valid convolution (the output shrinks by K − 1; use
``padding=1`` with 3×3 kernels to keep the size), pooling strides default to the kernel,
``Dropout`` rescales the kept values by 1/(1 − p). The course's functions beside them
(``nn.conv2d(x, w)`` pads right/bottom, ``nn.dropout`` does not rescale) keep the contract.

Default initialisation (PyTorch's defaults), drawn from a NumPy generator seeded from
Python's ``random`` (so ``random.seed(n)`` makes models reproducible):

* ``Linear``, ``Conv1d``, ``Conv2d``: Kaiming-uniform as in PyTorch (``a = √5``), i.e.
  weight and bias ~ U(−1/√fan_in, 1/√fan_in) with fan_in = in_features or Cin/groups·ΠK;
* ``Embedding``: weight ~ N(0, 1).

``init.xavier_uniform_`` / ``init.kaiming_uniform_`` style helpers are the functions
``xavier_uniform`` and ``kaiming_uniform`` below (they return fresh arrays).

Wrong input ranks or channel counts raise a ValueError naming the layer and both shapes.
The activation layers ``ReLU``, ``Sigmoid`` and ``Tanh`` are reached as
``minitorch.layers.ReLU`` etc.: at the top level those names are the tensor Functions.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import nn
from .module import Module, Parameter
from .tensor import Tensor

__all__ = [
    "AvgPool1d",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "Conv1d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Embedding",
    "Flatten",
    "Identity",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "MaxPool1d",
    "MaxPool2d",
    "NLLLoss",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "kaiming_uniform",
    "xavier_uniform",
]


def _rng() -> np.random.Generator:
    """A NumPy generator seeded from Python's ``random`` (reproducible after random.seed)."""
    return np.random.default_rng(random.getrandbits(64))


def kaiming_uniform(shape: Sequence[int], fan_in: int) -> npt.NDArray[np.float64]:
    """U(−b, b) with b = 1/√fan_in: PyTorch's default for Linear/Conv (Kaiming, a = √5)."""
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return _rng().uniform(-bound, bound, size=tuple(shape))


def xavier_uniform(
    shape: Sequence[int], fan_in: int, fan_out: int, gain: float = 1.0
) -> npt.NDArray[np.float64]:
    """U(−b, b) with b = gain·√(6 / (fan_in + fan_out)) (Glorot & Bengio)."""
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _rng().uniform(-bound, bound, size=tuple(shape))


def _param(name: str, values: npt.NDArray[np.float64]) -> Parameter:
    """A Parameter named ``name`` holding a float64 Tensor of ``values`` (a leaf)."""
    return Parameter(Tensor(values), name)


class _Layer(Module):
    """A Module whose repr lists its settings, e.g. ``Linear(in_features=4, ...)``."""

    def extra_repr(self) -> str:
        """The settings shown inside the parentheses of the repr."""
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


def _check_rank(layer: Module, x: Tensor, dims: int, form: str) -> None:
    if x.dims != dims:
        raise ValueError(f"{layer!r}: expected input of shape {form}, got shape {x.shape}.")


def _check_channels(layer: Module, x: Tensor, channels: int, form: str) -> None:
    if x.shape[1] != channels:
        raise ValueError(
            f"{layer!r}: expected input of shape {form} ({channels} channels), got shape "
            f"{x.shape} ({x.shape[1]} channels)."
        )


class Linear(_Layer):
    """y = x Wᵀ + b: ``(..., in_features)`` → ``(..., out_features)``.

    W: ``(out_features, in_features)``, b: ``(out_features,)``.
    ∂L/∂W = gᵀ x, ∂L/∂b = Σ g, ∂L/∂x = g W.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = _param("weight", kaiming_uniform((out_features, in_features), in_features))
        self.bias = _param("bias", kaiming_uniform((out_features,), in_features)) if bias else None

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.dims == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{self!r}: expected input of shape (..., {self.in_features}), got shape {x.shape}."
            )
        flat = x.dims == 1
        if flat:
            x = x.contiguous().view(1, self.in_features)
        w = self.weight.value
        # x Wᵀ as (W xᵀ)ᵀ for a batch of rows: the same product, but ∂L/∂W = gᵀx comes out
        # of backward as a fresh (out, in) array, not a transposed view needing a copy
        out: Tensor = (w @ x.mT).mT if x.dims == 2 else x @ w.permute(1, 0)
        if self.bias is not None:
            out = out + self.bias.value
        return out.view(self.out_features) if flat else out


Size = int | Sequence[int]


def _tuple(v: Size, n: int, name: str, what: str) -> tuple[int, ...]:
    if isinstance(v, int):
        return (int(v),) * n
    t = tuple(int(x) for x in v)
    if len(t) != n:
        raise ValueError(f"{name}: {what} must be an int or a tuple of {n} ints, got {v!r}.")
    return t


class _ConvNd(_Layer):
    """PyTorch's Conv1d/Conv2d: a convolution plus a bias per output channel.

    ``padding=0`` (the default) is PyTorch's valid convolution (the output shrinks by
    dilation·(K − 1)); ``padding=p`` pads p zeros on both sides, ``"same"`` keeps the size
    (stride 1). Out size per dim: ⌊(S + 2p − d(K − 1) − 1)/s⌋ + 1. The course's
    right/bottom padding is ``minitorch.conv2d(x, w)`` (no padding argument).
    """

    _n = 2
    _form = "H, W"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Size,
        stride: Size = 1,
        padding: Size | str = 0,
        dilation: Size = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if padding_mode != "zeros":
            raise NotImplementedError(
                f"{name}: padding_mode={padding_mode!r} is not supported; only 'zeros' (see "
                "docs/pytorch.md)."
            )
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels={in_channels} and out_channels={out_channels} must both "
                f"be divisible by groups={groups}."
            )
        n = self._n
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _tuple(kernel_size, n, name, "kernel_size")
        self.stride = _tuple(stride, n, name, "stride")
        self.padding: tuple[int, ...] | str = (
            padding if isinstance(padding, str) else _tuple(padding, n, name, "padding")
        )
        self.dilation = _tuple(dilation, n, name, "dilation")
        self.groups = groups
        fan_in = in_channels // groups * math.prod(self.kernel_size)
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = _param("weight", kaiming_uniform(shape, fan_in))
        self.bias = _param("bias", kaiming_uniform((out_channels,), fan_in)) if bias else None

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * self._n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s

    def forward(self, x: Tensor) -> Tensor:
        form = f"(B, {self.in_channels}, {self._form}) or ({self.in_channels}, {self._form})"
        unbatched = x.dims == self._n + 1
        if unbatched:
            x = x.contiguous().view(1, *x.shape)
        _check_rank(self, x, self._n + 2, form)
        _check_channels(self, x, self.in_channels, form)
        conv = nn.conv1d if self._n == 1 else nn.conv2d
        bias = None if self.bias is None else self.bias.value
        out = conv(
            x, self.weight.value, bias, self.stride, self.padding, self.dilation, self.groups
        )
        return out.view(*out.shape[1:]) if unbatched else out


class Conv1d(_ConvNd):
    """1-D convolution plus bias (PyTorch's): ``(B, Cin, W)`` → ``(B, Cout, W_out)``.

    W: ``(Cout, Cin/groups, K)``, b: ``(Cout,)``;
    out[b, o, x] = Σ_c Σ_k in[b, c, x·s + k·d − p]·W[o, c, k] + b[o] (zeros outside).
    """

    _n = 1
    _form = "W"


class Conv2d(_ConvNd):
    """2-D convolution plus bias (PyTorch's): ``(B, Cin, H, W)`` → ``(B, Cout, H_out, W_out)``.

    W: ``(Cout, Cin/groups, KH, KW)``, b: ``(Cout,)``;
    out[b, o, y, x] = Σ_c Σ_i Σ_j in[b, c, y·s + i·d − p, x·s + j·d − p]·W[o, c, i, j] + b[o].
    """


class MaxPool2d(_Layer):
    """PyTorch's MaxPool2d: max over each window (stride defaults to the kernel, padding
    with −inf, windows that do not fit dropped): ``(B, C, H, W)`` → ``(B, C, H_out, W_out)``."""

    def __init__(
        self,
        kernel_size: Size,
        stride: Size | None = None,
        padding: Size = 0,
        dilation: Size = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )

    def forward(self, x: Tensor) -> Tensor:
        try:
            return nn.max_pool2d(
                x,
                self.kernel_size,
                self.stride,
                self.padding,
                self.dilation,
                self.ceil_mode,
                self.return_indices,
            )
        except ValueError as err:
            raise ValueError(f"{self!r}: {err}") from None


class AvgPool2d(_Layer):
    """PyTorch's AvgPool2d: mean over each window (padded zeros counted unless
    ``count_include_pad=False``): ``(B, C, H, W)`` → ``(B, C, H_out, W_out)``."""

    def __init__(
        self,
        kernel_size: Size,
        stride: Size | None = None,
        padding: Size = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, x: Tensor) -> Tensor:
        try:
            return nn.avg_pool2d(
                x,
                self.kernel_size,
                self.stride,
                self.padding,
                self.ceil_mode,
                self.count_include_pad,
                self.divisor_override,
            )
        except ValueError as err:
            raise ValueError(f"{self!r}: {err}") from None


class MaxPool1d(MaxPool2d):
    """PyTorch's MaxPool1d: ``(B, C, W)`` or ``(C, W)`` → W_out as in ``MaxPool2d``."""

    def forward(self, x: Tensor) -> Tensor:
        try:
            return nn.max_pool1d(
                x,
                self.kernel_size,
                self.stride,
                self.padding,
                self.dilation,
                self.ceil_mode,
                self.return_indices,
            )
        except ValueError as err:
            raise ValueError(f"{self!r}: {err}") from None


class AvgPool1d(_Layer):
    """PyTorch's AvgPool1d: ``(B, C, W)`` or ``(C, W)`` → W_out as in ``AvgPool2d``."""

    def __init__(
        self,
        kernel_size: Size,
        stride: Size | None = None,
        padding: Size = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size = _tuple(kernel_size, 1, "AvgPool1d", "kernel_size")
        self.stride = (
            self.kernel_size if stride is None else _tuple(stride, 1, "AvgPool1d", "stride")
        )
        self.padding = _tuple(padding, 1, "AvgPool1d", "padding")
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, x: Tensor) -> Tensor:
        try:
            return nn.avg_pool1d(
                x,
                self.kernel_size,
                self.stride,
                self.padding,
                self.ceil_mode,
                self.count_include_pad,
            )
        except ValueError as err:
            raise ValueError(f"{self!r}: {err}") from None


class ReLU(_Layer):
    """max(x, 0) elementwise; derivative 1 where x > 0."""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class Sigmoid(_Layer):
    """σ(x) = 1/(1 + e^−x) elementwise; derivative σ(1 − σ)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class Tanh(_Layer):
    """tanh(x) elementwise; derivative 1 − tanh²."""

    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class Dropout(_Layer):
    """PyTorch's Dropout: while training, zero each element with probability ``p`` and
    scale the kept ones by 1/(1 − p) (expected value unchanged; p = 1 gives zeros); the
    identity after ``eval()``. (``nn.dropout``, the course's function, does not rescale.)"""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}.")
        if inplace:
            raise NotImplementedError("Dropout: inplace=True is not supported; use inplace=False.")
        self.p = p

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace=False"

    def forward(self, x: Tensor) -> Tensor:
        return nn.inverted_dropout(x, self.p, self.training)


class Flatten(_Layer):
    """Merge dims ``start_dim..end_dim`` into one: ``(B, C, H, W)`` → ``(B, C·H·W)`` by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def forward(self, x: Tensor) -> Tensor:
        s = self.start_dim + x.dims if self.start_dim < 0 else self.start_dim
        e = self.end_dim + x.dims if self.end_dim < 0 else self.end_dim
        if not 0 <= s <= e < x.dims:
            raise ValueError(
                f"{self!r}: dims {self.start_dim}..{self.end_dim} do not fit an input of shape "
                f"{x.shape}."
            )
        shape = (*x.shape[:s], math.prod(x.shape[s : e + 1]), *x.shape[e + 1 :])
        return x.contiguous().view(*shape)


class Sequential(Module):
    """Calls its children in order: ``Sequential(Linear(4, 8), ReLU(), Linear(8, 2))``.

    Children are registered as ``"0"``, ``"1"``, ... (parameter names ``"0.weight"`` ...).
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(
                    f"Sequential: argument {i} is a {type(layer).__name__}, not a Module."
                )
            setattr(self, str(i), layer)

    def forward(self, x: Any) -> Any:
        for layer in self.modules():
            x = layer(x)
        return x

    def __getitem__(self, i: int | slice) -> Any:
        """The i-th layer (negative counts from the end), or a Sequential of a slice."""
        mods = self.modules()
        if isinstance(i, slice):
            return Sequential(*mods[i])
        if not -len(mods) <= i < len(mods):
            raise IndexError(f"Sequential: index {i} is out of range for {len(mods)} layers.")
        return mods[i]

    def __len__(self) -> int:
        return len(self.modules())

    def __iter__(self) -> Iterator[Module]:
        return iter(self.modules())

    def append(self, layer: Module) -> Sequential:
        """Add ``layer`` at the end (registered as the next index); returns self."""
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential.append: got a {type(layer).__name__}, not a Module.")
        setattr(self, str(len(self)), layer)
        return self


class Identity(_Layer):
    """Returns its input unchanged (any arguments to the constructor are ignored)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Softmax(_Layer):
    """softmax along ``dim`` (``nn.softmax``); PyTorch's ``Softmax(dim)``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def forward(self, x: Tensor) -> Tensor:
        return nn.softmax(x, self.dim)


class LogSoftmax(Softmax):
    """log-softmax along ``dim`` (``nn.logsoftmax``); PyTorch's ``LogSoftmax(dim)``."""

    def forward(self, x: Tensor) -> Tensor:
        return nn.logsoftmax(x, self.dim)


class CrossEntropyLoss(_Layer):
    """``nn.cross_entropy(input, target, ...)`` as a Module (PyTorch's options)."""

    def __init__(
        self,
        weight: Any = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__()
        self.weight = weight
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return nn.cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class NLLLoss(_Layer):
    """``nn.nll_loss(input, target, ...)`` as a Module (PyTorch's options)."""

    def __init__(
        self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean"
    ) -> None:
        super().__init__()
        self.weight = weight
        self.ignore_index = ignore_index
        self.reduction = reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return nn.nll_loss(
            input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )


class MSELoss(_Layer):
    """``nn.mse_loss(input, target, reduction)`` as a Module."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return nn.mse_loss(input, target, self.reduction)


class BCELoss(MSELoss):
    """``nn.binary_cross_entropy(input, target, reduction)`` as a Module."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return nn.binary_cross_entropy(input, target, self.reduction)


class BCEWithLogitsLoss(MSELoss):
    """``nn.binary_cross_entropy_with_logits(input, target, reduction)`` as a Module."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return nn.binary_cross_entropy_with_logits(input, target, self.reduction)


class Embedding(_Layer):
    """A lookup table: integer indices of any shape → ``indices.shape + (embedding_dim,)``.

    weight: ``(num_embeddings, embedding_dim)`` ~ N(0, 1); ∂L/∂weight[r] sums the output
    gradients at the positions holding index r.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int) -> None:
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.weight = _param("weight", _rng().standard_normal((num_embeddings, embedding_dim)))

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"

    def forward(self, indices: Any) -> Tensor:
        try:
            return nn.embedding(indices, self.weight.value)
        except (IndexError, ValueError) as err:
            raise type(err)(f"{self!r}: {err}") from None

"""Layers: Modules with PyTorch's names, built on the functions of ``minitorch.nn``.

Parameters are Tensors wrapped in ``Parameter`` (``layer.weight.value``). Shapes follow
PyTorch: ``Linear.weight`` is ``(out_features, in_features)``, ``Conv2d.weight`` is
``(Cout, Cin, KH, KW)``, biases are ``(out,)``. Convolutions use the course's semantics:
stride 1, zero padding on the right/bottom, output as wide (and high) as the input.

Default initialisation (PyTorch's defaults), drawn from a NumPy generator seeded from
Python's ``random`` (so ``random.seed(n)`` makes models reproducible):

* ``Linear``, ``Conv1d``, ``Conv2d``: Kaiming-uniform as in PyTorch (``a = √5``), i.e.
  weight and bias ~ U(−1/√fan_in, 1/√fan_in) with fan_in = in_features or Cin·ΠK;
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
    "AvgPool2d",
    "Conv1d",
    "Conv2d",
    "Dropout",
    "Embedding",
    "Flatten",
    "Linear",
    "MaxPool2d",
    "ReLU",
    "Sequential",
    "Sigmoid",
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


def _pair(k: int | Sequence[int], name: str) -> tuple[int, int]:
    if isinstance(k, int):
        return (k, k)
    t = tuple(int(v) for v in k)
    if len(t) != 2:
        raise ValueError(f"{name}: kernel_size must be an int or a pair, got {k!r}.")
    return (t[0], t[1])


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
        out: Tensor = x @ self.weight.value.permute(1, 0)
        if self.bias is not None:
            out = out + self.bias.value
        return out.view(self.out_features) if flat else out


class Conv1d(_Layer):
    """1-D convolution plus bias: ``(B, Cin, W)`` → ``(B, Cout, W)`` (right zero padding).

    W: ``(Cout, Cin, K)``, b: ``(Cout,)``; out[b, o, x] = Σ_c Σ_k in[b, c, x+k]·W[o, c, k] + b[o].
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = int(kernel_size)
        fan_in = in_channels * self.kernel_size
        shape = (out_channels, in_channels, self.kernel_size)
        self.weight = _param("weight", kaiming_uniform(shape, fan_in))
        self.bias = _param("bias", kaiming_uniform((out_channels,), fan_in)) if bias else None

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"

    def forward(self, x: Tensor) -> Tensor:
        form = f"(B, {self.in_channels}, W)"
        _check_rank(self, x, 3, form)
        _check_channels(self, x, self.in_channels, form)
        out = nn.conv1d(x, self.weight.value)
        if self.bias is not None:
            out = out + self.bias.value.view(1, self.out_channels, 1)
        return out


class Conv2d(_Layer):
    """2-D convolution plus bias: ``(B, Cin, H, W)`` → ``(B, Cout, H, W)`` (bottom/right padding).

    W: ``(Cout, Cin, KH, KW)``, b: ``(Cout,)``;
    out[b, o, y, x] = Σ_c Σ_i Σ_j in[b, c, y+i, x+j]·W[o, c, i, j] + b[o].
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size, "Conv2d")
        fan_in = in_channels * self.kernel_size[0] * self.kernel_size[1]
        shape = (out_channels, in_channels, *self.kernel_size)
        self.weight = _param("weight", kaiming_uniform(shape, fan_in))
        self.bias = _param("bias", kaiming_uniform((out_channels,), fan_in)) if bias else None

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"

    def forward(self, x: Tensor) -> Tensor:
        form = f"(B, {self.in_channels}, H, W)"
        _check_rank(self, x, 4, form)
        _check_channels(self, x, self.in_channels, form)
        out = nn.conv2d(x, self.weight.value)
        if self.bias is not None:
            out = out + self.bias.value.view(1, self.out_channels, 1, 1)
        return out


class MaxPool2d(_Layer):
    """Max over non-overlapping ``kh × kw`` tiles: ``(B, C, H, W)`` → ``(B, C, H/kh, W/kw)``."""

    def __init__(self, kernel_size: int | Sequence[int]) -> None:
        super().__init__()
        self.kernel_size = _pair(kernel_size, "MaxPool2d")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}"

    def forward(self, x: Tensor) -> Tensor:
        _check_rank(self, x, 4, "(B, C, H, W)")
        return nn.maxpool2d(x, self.kernel_size)


class AvgPool2d(_Layer):
    """Mean over non-overlapping ``kh × kw`` tiles: ``(B, C, H, W)`` → ``(B, C, H/kh, W/kw)``."""

    def __init__(self, kernel_size: int | Sequence[int]) -> None:
        super().__init__()
        self.kernel_size = _pair(kernel_size, "AvgPool2d")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}"

    def forward(self, x: Tensor) -> Tensor:
        _check_rank(self, x, 4, "(B, C, H, W)")
        return nn.avgpool2d(x, self.kernel_size)


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
    """Zeroes each element with probability ``p`` while training (no rescaling, as in the
    course); the identity after ``eval()``."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}.")
        self.p = p

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def forward(self, x: Tensor) -> Tensor:
        return nn.dropout(x, self.p, ignore=not self.training)


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

    def __getitem__(self, i: int) -> Module:
        return self.modules()[i]

    def __len__(self) -> int:
        return len(self.modules())

    def __iter__(self) -> Iterator[Module]:
        return iter(self.modules())


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

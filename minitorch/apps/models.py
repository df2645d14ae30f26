"""The models ``minitorch train`` trains: the lecture's Network (on Scalars and on Tensors),
the digits MLP and the digits CNN.

The lecture's Network maps a 2-D point to one score and its probability of class 1::

    lin(x; w, b)_j = b_j + Σ_i x_i · w_ij
    h              = ReLU(lin(x; w⁰, b⁰))          (``depth`` hidden layers)
    m(x)           = lin(h; w, b)                   (a single score, the log-odds)
    P(y = 1 | x)   = σ(m(x))

``ScalarNetwork`` holds one ``Parameter(Scalar)`` per weight and bias (the ``run_scalar.py``
model); ``TensorNetwork`` computes the same function on a (B, 2) batch with one matrix
product per layer (the ``run_tensor.py`` model). Given equal ``rng`` both draw their initial
values in the same order, so they start out identical: ``W[i, j]`` is ``weight_{i}_{j}``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..layers import Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential
from ..module import Module, Parameter
from ..scalar import Scalar, ScalarLike
from ..tensor import Tensor

__all__ = [
    "ScalarLinear",
    "ScalarNetwork",
    "StackedNetwork",
    "TensorLinear",
    "TensorNetwork",
    "cnn",
    "mlp",
]


def _uniform(rng: random.Random | None, scale: float, count: int) -> list[float]:
    """``count`` numbers uniform in [-scale, scale), drawn in turn from ``rng`` (or ``random``)."""
    draw = rng.random if rng is not None else random.random
    return [scale * (2.0 * draw() - 1.0) for _ in range(count)]


def _check_sizes(layer: str, in_size: int, out_size: int) -> None:
    if in_size < 1 or out_size < 1:
        raise ValueError(
            f"{layer} needs positive sizes, got in_size={in_size}, out_size={out_size}."
        )


class ScalarLinear(Module):
    """A fully connected layer of Scalars: ``out_j = b_j + Σ_i x_i · w_ij``.

    Parameters ``weight_{i}_{j}`` (input ``i`` to output ``j``) and ``bias_{j}``;
    ``self.weights[i][j]`` and ``self.bias[j]`` hold the same ``Parameter`` objects. Initial
    values are uniform in ``[-init_scale, init_scale)``, drawn from ``rng`` (or ``random``),
    the weights row by row, then the biases.
    """

    weights: list[list[Parameter]]
    bias: list[Parameter]

    def __init__(
        self,
        in_size: int,
        out_size: int,
        *,
        rng: random.Random | None = None,
        init_scale: float = 1.0,
    ) -> None:
        super().__init__()
        _check_sizes("ScalarLinear", in_size, out_size)
        self.in_size, self.out_size = in_size, out_size
        w = iter(_uniform(rng, init_scale, in_size * out_size))
        self.weights = [
            [self.add_parameter(f"weight_{i}_{j}", Scalar(next(w))) for j in range(out_size)]
            for i in range(in_size)
        ]
        self.bias = [
            self.add_parameter(f"bias_{j}", Scalar(v))
            for j, v in enumerate(_uniform(rng, init_scale, out_size))
        ]

    def forward(self, inputs: Sequence[ScalarLike]) -> list[Scalar]:
        """``[b_j + x_0·w_0j + x_1·w_1j + ...  for j in range(out_size)]``, summed left to right."""
        if len(inputs) != self.in_size:
            raise ValueError(
                f"ScalarLinear({self.in_size}, {self.out_size}) got {len(inputs)} inputs."
            )
        outs: list[Scalar] = []
        for j in range(self.out_size):
            acc: Scalar = self.bias[j].value
            for i, x in enumerate(inputs):
                acc = acc + x * self.weights[i][j].value
            outs.append(acc)
        return outs


class TensorLinear(Module):
    """A fully connected layer: ``out = x @ weights + bias``, x: (B, in) -> (B, out).

    Parameters ``weights`` ``(in_size, out_size)`` and ``bias`` ``(out_size,)``, drawn as
    ``ScalarLinear`` draws them.
    """

    weights: Parameter
    bias: Parameter

    def __init__(
        self,
        in_size: int,
        out_size: int,
        *,
        rng: random.Random | None = None,
        init_scale: float = 1.0,
    ) -> None:
        super().__init__()
        _check_sizes("TensorLinear", in_size, out_size)
        self.in_size, self.out_size = in_size, out_size
        w = np.array(_uniform(rng, init_scale, in_size * out_size)).reshape(in_size, out_size)
        self.weights = self.add_parameter("weights", Tensor(w))
        self.bias = self.add_parameter(
            "bias", Tensor(np.array(_uniform(rng, init_scale, out_size)))
        )

    def forward(self, x: Tensor) -> Tensor:
        """``x @ W + b``: (B, in_size) -> (B, out_size) (the bias broadcasts over rows)."""
        if x.dims != 2 or x.shape[1] != self.in_size:
            raise ValueError(
                f"TensorLinear({self.in_size}, {self.out_size}) expects inputs of shape "
                f"(batch, {self.in_size}), got {x.shape}."
            )
        out: Tensor = x @ self.weights.value + self.bias.value
        return out


class StackedNetwork(Module):
    """The lecture's Network: 2 inputs -> ``depth`` hidden ReLU layers of width
    ``hidden_layers`` (the course's name) -> 1 score; ``forward`` is σ(score).

    Subclasses set ``linear`` (the layer class). Layers are registered as ``layer1``,
    ``layer2``, ...; ``seed`` (or ``rng``) makes the initialisation reproducible, with
    neither the global ``random`` is used.
    """

    linear: Any

    def __init__(
        self,
        hidden_layers: int = 2,
        *,
        depth: int = 1,
        seed: int | None = None,
        rng: random.Random | None = None,
        init_scale: float = 1.0,
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(
                f"{type(self).__name__} needs at least one hidden layer, got depth={depth}."
            )
        if rng is None and seed is not None:
            rng = random.Random(seed)
        self.hidden_layers, self.depth = hidden_layers, depth
        sizes = [2] + [hidden_layers] * depth + [1]
        for k in range(len(sizes) - 1):
            layer = self.linear(sizes[k], sizes[k + 1], rng=rng, init_scale=init_scale)
            setattr(self, f"layer{k + 1}", layer)

    @property
    def layers(self) -> list[Any]:
        """The linear layers, input side first."""
        return [getattr(self, f"layer{k + 1}") for k in range(self.depth + 1)]

    def score(self, x: Any) -> Any:
        """m(x): the output layer's value before the sigmoid (the log-odds of class 1)."""
        raise NotImplementedError

    def forward(self, x: Any) -> Any:
        """σ(m(x)) = P(y = 1 | x)."""
        return self.score(x).sigmoid()


class ScalarNetwork(StackedNetwork):
    """The lecture's Network of Scalars: ``score`` maps 2 numbers to one Scalar m(x)."""

    linear = ScalarLinear

    def score(self, x: Sequence[ScalarLike]) -> Scalar:
        """m(x) for one point ``x`` (two numbers or Scalars)."""
        *hidden, last = self.layers
        for layer in hidden:
            x = [v.relu() for v in layer(x)]
        return last(x)[0]  # type: ignore[no-any-return]


class TensorNetwork(StackedNetwork):
    """The lecture's Network on Tensors: ``score`` maps a (B, 2) batch to (B, 1) scores."""

    linear = TensorLinear

    def score(self, x: Tensor) -> Tensor:
        """m(x): (B, 2) -> (B, 1), the log-odds of class 1 for every point."""
        *hidden, last = self.layers
        for layer in hidden:
            x = layer(x).relu()
        out: Tensor = last(x)
        return out


def mlp(in_features: int, hidden: int, depth: int, classes: int) -> Sequential:
    """Flatten → [Linear(·, hidden) → ReLU] × depth → Linear(hidden, classes)."""
    mods: list[Module] = [Flatten()]
    width = in_features
    for _ in range(depth):
        mods += [Linear(width, hidden), ReLU()]
        width = hidden
    return Sequential(*mods, Linear(width, classes))


def cnn(input_shape: Sequence[int], width: int, classes: int) -> Sequential:
    """Conv2d(C, w, 3, padding=1) → ReLU → MaxPool2d(2) → Conv2d(w, 2w, 3, padding=1) → ReLU
    → MaxPool2d(2) → Flatten → Linear(2w·H/4·W/4, classes) for ``(C, H, W)`` images (H, W
    divisible by 4). ``padding=1`` keeps each conv's output as large as its input."""
    if len(input_shape) != 3:
        raise ValueError(f"the cnn needs (C, H, W) images, got input shape {input_shape}.")
    c, h, w = input_shape
    return Sequential(
        Conv2d(c, width, 3, padding=1),
        ReLU(),
        MaxPool2d(2),
        Conv2d(width, 2 * width, 3, padding=1),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(2 * width * (h // 4) * (w // 4), classes),
    )

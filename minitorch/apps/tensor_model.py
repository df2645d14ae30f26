"""The lecture's Network on Tensors (the ``run_tensor.py`` model): whole batches at once.

A batch of ``B`` points is one ``(B, 2)`` Tensor ``X``; each layer is a matrix product::

    lin(H; W, b) = H @ W + b        H: (B, in),  W: (in, out),  b: (out,)  ->  (B, out)
    H¹           = ReLU(lin(X; W¹, b¹))          (one hidden layer, or more)
    m(X)         = lin(H; W, b)                   (B, 1): one score per point
    P(y = 1 | x) = σ(m(x))

The same function as ``ScalarNetwork``, entry for entry: ``W[i, j]`` is the scalar
network's ``weight_{i}_{j}`` and ``b[j]`` its ``bias_{j}``. Given the same ``rng``, both
networks draw their initial values in the same order, so they start out identical.
"""

from __future__ import annotations

import random

import numpy as np

from ..module import Module, Parameter
from ..tensor import Tensor
from .scalar_model import StackedNetwork

__all__ = ["TensorLinear", "TensorNetwork"]


def _uniform(rng: random.Random | None, scale: float, count: int) -> list[float]:
    """``count`` numbers uniform in [-scale, scale), drawn in turn from ``rng`` (or ``random``)."""
    draw = rng.random if rng is not None else random.random
    return [scale * (2.0 * draw() - 1.0) for _ in range(count)]


class TensorLinear(Module):
    """A fully connected layer: ``out = x @ weights + bias``, x: (B, in) -> (B, out).

    Parameters ``weights`` (shape ``(in_size, out_size)``) and ``bias`` (``(out_size,)``)
    hold Tensors. Initial values are uniform in ``[-init_scale, init_scale)``, drawn from
    ``rng`` (or the global ``random``) in ``ScalarLinear``'s order: the weights row by row
    (input ``i``, then output ``j``), then the biases.
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
        if in_size < 1 or out_size < 1:
            raise ValueError(
                f"TensorLinear needs positive sizes, got in_size={in_size}, out_size={out_size}."
            )
        self.in_size = in_size
        self.out_size = out_size
        w = np.array(_uniform(rng, init_scale, in_size * out_size)).reshape(in_size, out_size)
        b = np.array(_uniform(rng, init_scale, out_size))
        self.weights = self.add_parameter("weights", Tensor(w))
        self.bias = self.add_parameter("bias", Tensor(b))

    def forward(self, x: Tensor) -> Tensor:
        """``x @ W + b``: (B, in_size) -> (B, out_size) (the bias broadcasts over rows)."""
        if x.dims != 2 or x.shape[1] != self.in_size:
            raise ValueError(
                f"TensorLinear({self.in_size}, {self.out_size}) expects inputs of shape "
                f"(batch, {self.in_size}), got {x.shape}."
            )
        w: Tensor = self.weights.value
        b: Tensor = self.bias.value
        return x @ w + b


class TensorNetwork(StackedNetwork):
    """The lecture's Network on Tensors: 2 inputs -> ``depth`` hidden ReLU layers -> 1 sigmoid.

    ``hidden_layers`` is the width of each hidden layer. Layers are registered as
    ``layer1``, ``layer2``, ...; ``score`` maps a (B, 2) batch to the (B, 1) scores m(x)
    and ``forward`` returns σ(m(x)). ``seed`` (or ``rng``) makes the initialisation
    reproducible; with the same ``rng`` a ``ScalarNetwork`` gets the same values.
    """

    linear = TensorLinear

    def score(self, x: Tensor) -> Tensor:
        """m(x): (B, 2) -> (B, 1), the log-odds of class 1 for every point."""
        layers = self.layers
        h = x
        for layer in layers[:-1]:
            h = layer(h).relu()
        out: Tensor = layers[-1](h)
        return out

"""The lecture's Network, built from Scalar Parameters (the ``run_scalar.py`` model).

Every weight and bias is one ``Parameter(Scalar(...))`` registered on a ``Module``, so
``model.named_parameters()`` lists all the leaves that training updates, with dotted
names such as ``"layer1.weight_0_3"`` and ``"layer2.bias_0"``::

    lin(x; w, b)_j = b_j + Σ_i x_i · w_ij
    h              = ReLU(lin(x; w⁰, b⁰))          (one hidden layer, or more)
    m(x)           = lin(h; w, b)                   (a single score)
    P(y = 1 | x)   = σ(m(x))
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from ..module import Module, Parameter
from ..scalar import Scalar, ScalarLike

__all__ = ["ScalarLinear", "ScalarNetwork", "StackedNetwork"]


def _uniform(rng: random.Random | None, scale: float) -> float:
    """A number uniform in [-scale, scale), drawn from ``rng`` (global ``random`` if None)."""
    r = rng.random() if rng is not None else random.random()
    return scale * (2.0 * r - 1.0)


class ScalarLinear(Module):
    """A fully connected layer of Scalars: ``out_j = b_j + Σ_i x_i · w_ij``.

    Parameters ``weight_{i}_{j}`` (input ``i`` to output ``j``) and ``bias_{j}`` are
    registered with ``add_parameter``; ``self.weights[i][j]`` and ``self.bias[j]`` hold
    the same ``Parameter`` objects for direct access. Initial values are uniform in
    ``[-init_scale, init_scale)``, drawn from ``rng`` (or the global ``random``).
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
        if in_size < 1 or out_size < 1:
            raise ValueError(
                f"ScalarLinear needs positive sizes, got in_size={in_size}, out_size={out_size}."
            )
        self.in_size = in_size
        self.out_size = out_size
        self.weights = [
            [
                self.add_parameter(f"weight_{i}_{j}", Scalar(_uniform(rng, init_scale)))
                for j in range(out_size)
            ]
            for i in range(in_size)
        ]
        self.bias = [
            self.add_parameter(f"bias_{j}", Scalar(_uniform(rng, init_scale)))
            for j in range(out_size)
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


class StackedNetwork(Module):
    """The lecture's Network shape: 2 inputs -> ``depth`` hidden layers -> 1 score.

    Subclasses set ``linear`` (the layer class: ``linear(in, out, rng=, init_scale=)``) and
    define ``score``; ``forward`` is σ(score). Layers are registered as ``layer1``,
    ``layer2``, ...; ``seed`` (or ``rng``) makes the initialisation reproducible, and two
    networks given equal ``rng`` draw their values in the same order.
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
        self.hidden_layers = hidden_layers
        self.depth = depth
        sizes = [2] + [hidden_layers] * depth + [1]
        self._layer_names: list[str] = []
        for k in range(len(sizes) - 1):
            name = f"layer{k + 1}"
            setattr(self, name, self.linear(sizes[k], sizes[k + 1], rng=rng, init_scale=init_scale))
            self._layer_names.append(name)

    @property
    def layers(self) -> list[Any]:
        """The linear layers, input side first."""
        return [getattr(self, name) for name in self._layer_names]

    def score(self, x: Any) -> Any:
        """m(x): the output layer's value before the sigmoid (the log-odds of class 1)."""
        raise NotImplementedError

    def forward(self, x: Any) -> Any:
        """σ(m(x)) = P(y = 1 | x)."""
        return self.score(x).sigmoid()


class ScalarNetwork(StackedNetwork):
    """The lecture's Network: 2 inputs -> ``depth`` hidden ReLU layers -> 1 sigmoid output.

    ``hidden_layers`` is the width of each hidden layer (the course's name for it).
    Layers are registered as ``layer1``, ``layer2``, ...; the last one maps to a single
    score ``m(x)``, and ``forward`` returns ``σ(m(x))``, the probability of class 1.
    ``seed`` (or ``rng``) makes the initialisation reproducible; with neither, the global
    ``random`` is used.
    """

    linear = ScalarLinear

    def score(self, x: Sequence[ScalarLike]) -> Scalar:
        """m(x): the output layer's value before the sigmoid (the log-odds of class 1)."""
        layers = self.layers
        h: Sequence[ScalarLike] = x
        for layer in layers[:-1]:
            h = [v.relu() for v in layer(h)]
        return layers[-1](h)[0]  # type: ignore[no-any-return]

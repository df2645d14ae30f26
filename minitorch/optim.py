"""Optimisers: move each Parameter against its gradient."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .autodiff import no_grad
from .module import Parameter

__all__ = ["SGD", "Optimizer"]


class Optimizer:
    """Holds the Parameters to update (``self.parameters``)."""

    def __init__(self, parameters: Iterable[Parameter]) -> None:
        self.parameters: Sequence[Parameter] = list(parameters)
        for p in self.parameters:
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"{type(self).__name__} expects Parameters (from model.parameters()), "
                    f"got {type(p).__name__}."
                )

    def zero_grad(self) -> None:
        """Reset every value's gradient: ``.derivative`` (Scalar) / ``.grad`` (Tensor) -> None."""
        for p in self.parameters:
            p.zero_grad()


class SGD(Optimizer):
    """Plain stochastic gradient descent: θ ← θ − lr · ∂L/∂θ.

    A Scalar parameter becomes ``Scalar(data − lr·derivative)``, a Tensor parameter
    ``value − lr·grad``, each installed as a fresh leaf with ``Parameter.update``.
    Parameters without a gradient are left alone.
    """

    def __init__(self, parameters: Iterable[Parameter], lr: float = 1.0) -> None:
        super().__init__(parameters)
        self.lr = lr

    def step(self) -> None:
        """Take one step along the negative gradient."""
        lr = self.lr
        for p in self.parameters:
            v: Any = p.value
            if v is None:
                continue
            if hasattr(v, "derivative"):
                if v.derivative is not None:
                    p.update(type(v)(v.data - lr * v.derivative))
            elif getattr(v, "grad", None) is not None:
                with no_grad():
                    p.update(v - lr * v.grad)

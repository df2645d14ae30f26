"""Optimisers: move each Parameter against its gradient; learning-rate schedules.

Every optimiser holds ``self.parameters`` and a learning rate ``self.lr``; ``step()``
replaces each Parameter's value that has a gradient by a fresh leaf (``Parameter.update``),
``zero_grad()`` clears the gradients. Values may be Scalars (``.derivative``) or Tensors
(``.grad``); the update rules below are applied elementwise in NumPy, in float64 for
Scalars and in the tensor's dtype for Tensors. Per-parameter state (momentum buffers,
Adam's moments) lives in ``self.state``, keyed by the parameter's position.

Update rules (g = ∂L/∂θ, t = step count, PyTorch's conventions):

* ``SGD``: g ← g + λθ (weight_decay λ); with momentum μ: b ← g at t = 1, else
  b ← μb + (1 − dampening)g; g ← g + μb (nesterov) or b; θ ← θ − lr·g.
* ``Adam``: g ← g + λθ; m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²;
  θ ← θ − lr·m̂/(√v̂ + ε) with m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ).
* ``AdamW``: θ ← θ(1 − lr·λ) (decoupled weight decay), then the Adam step without λ.

Schedulers (``StepLR``, ``CosineAnnealingLR``) set ``optimizer.lr`` from the epoch count
each time their ``step()`` is called (once per epoch, after ``optimizer.step()``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _trace
from .autodiff import no_grad
from .module import Parameter
from .tensor import Tensor

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "LRScheduler",
    "Optimizer",
    "StepLR",
]

Array = npt.NDArray[Any]


class Optimizer:
    """Holds the Parameters to update (``self.parameters``) and per-parameter ``state``."""

    def __init__(self, parameters: Iterable[Parameter]) -> None:
        self.parameters: Sequence[Parameter] = list(parameters)
        for p in self.parameters:
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"{type(self).__name__} expects Parameters (from model.parameters()), "
                    f"got {type(p).__name__}."
                )
        self.state: dict[int, dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Each subclass's ``step``/``zero_grad`` is a live step under ``minitorch.compile``:
        a replay calls it again (it reads the live gradients, state and learning rate)."""
        super().__init_subclass__(**kwargs)
        for name in ("step", "zero_grad"):
            if name in cls.__dict__:
                setattr(cls, name, _trace.live(cls.__dict__[name]))

    @_trace.live
    def zero_grad(self) -> None:
        """Reset every value's gradient: ``.derivative`` (Scalar) / ``.grad`` (Tensor) -> None."""
        for p in self.parameters:
            p.zero_grad()

    def step(self) -> None:
        """Update every parameter that has a gradient (defined by subclasses)."""
        raise NotImplementedError(f"{type(self).__name__} does not define step().")

    # -- state: PyTorch's state_dict / load_state_dict ------------------------------------
    _hyper: tuple[str, ...] = ()
    """The hyperparameters ``state_dict`` records (its one ``param_groups`` entry)."""

    def state_dict(self) -> dict[str, Any]:
        """``{"state": {position: {key: value}}, "param_groups": [{hyperparameters...,
        "params": [0, 1, ...]}]}``, PyTorch's layout, as copies: buffers are NumPy arrays
        (the optimisers compute in NumPy), counts Python numbers."""
        state = {
            i: {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in st.items()}
            for i, st in self.state.items()
        }
        group: dict[str, Any] = {h: getattr(self, h) for h in ("lr", *self._hyper)}
        group["params"] = list(range(len(self.parameters)))
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Install a ``state_dict()`` (or ``minitorch.load`` of one): per-parameter buffers
        (NumPy arrays or Tensors, copied) and the hyperparameters. Every check runs before
        anything changes: positions must exist and buffers match their parameter's shape."""
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping) or not isinstance(state_dict.get("state"), Mapping):
            raise TypeError(f"{name} expects the dict from state_dict(), with a 'state' entry.")
        groups = state_dict.get("param_groups", [])
        if len(groups) > 1 or (groups and len(groups[0].get("params", [])) != len(self.parameters)):
            raise ValueError(
                f"{name}: the saved optimiser had other parameters ({len(groups)} groups) than "
                f"this one (1 group of {len(self.parameters)})."
            )
        new: dict[int, dict[str, Any]] = {}
        for pos, st in state_dict["state"].items():
            if not isinstance(pos, int) or not 0 <= pos < len(self.parameters):
                raise ValueError(
                    f"{name}: state for parameter {pos!r}, but there are "
                    f"{len(self.parameters)} parameters (positions 0..)."
                )
            shape = getattr(self.parameters[pos].value, "shape", None)
            entry: dict[str, Any] = {}
            for key, value in st.items():
                if isinstance(value, Tensor):
                    value = value.to_numpy()
                if isinstance(value, np.generic) or (
                    isinstance(value, np.ndarray) and value.ndim == 0
                ):
                    value = value.item()  # counts and 0-d values: Python numbers
                if isinstance(value, np.ndarray):
                    if shape is not None and value.ndim and value.shape != tuple(shape):
                        raise ValueError(
                            f"{name}: state {pos}/{key} has shape {value.shape}, but parameter "
                            f"{pos} has shape {tuple(shape)}."
                        )
                    value = value.copy()
                elif isinstance(value, bool) or not isinstance(value, int | float):
                    raise TypeError(
                        f"{name}: state {pos}/{key} is a {type(value).__name__}; expected an "
                        "array, a Tensor or a number."
                    )
                entry[key] = value
            new[pos] = entry
        hyper = {h: groups[0][h] for h in ("lr", *self._hyper) if groups and h in groups[0]}
        for h, v in hyper.items():
            setattr(self, h, tuple(v) if isinstance(v, list) else v)
        self.state = new

    # -- helpers for the elementwise rules ---------------------------------------------
    def _with_grads(self) -> Iterator[tuple[int, Parameter, Array, Array]]:
        """``(position, parameter, θ, g)`` as NumPy arrays for parameters with a gradient."""
        for i, p in enumerate(self.parameters):
            v: Any = p.value
            if v is None:
                continue
            if hasattr(v, "derivative"):
                if v.derivative is None:
                    continue
                yield i, p, np.float64(v.data), np.float64(v.derivative)
            elif getattr(v, "grad", None) is not None:
                if not hasattr(v, "_tensor"):
                    raise TypeError(
                        f"{type(self).__name__} updates Scalars and Tensors, got a "
                        f"{type(v).__name__} (plain SGD accepts any value with .grad and -)."
                    )
                yield i, p, np.asarray(v), np.asarray(v.grad, dtype=v.dtype)

    @staticmethod
    def _install(p: Parameter, new: Array) -> None:
        """Replace ``p.value`` by a fresh leaf holding ``new`` (same type, backend, dtype)."""
        v: Any = p.value
        if hasattr(v, "derivative"):
            p.update(type(v)(float(new)))
        else:
            p.update(type(v)(np.asarray(new, dtype=v.dtype), backend=v.backend))


class SGD(Optimizer):
    """Stochastic gradient descent: θ ← θ − lr · g, optionally with momentum and weight decay.

    Plain SGD (the default) is the course's rule: a Scalar becomes
    ``Scalar(data − lr·derivative)``, a Tensor ``value − lr·grad``, each installed as a fresh
    leaf with ``Parameter.update``. With ``momentum``/``weight_decay``/``nesterov`` it
    follows PyTorch's ``torch.optim.SGD`` (see the module docstring).
    Parameters without a gradient are left alone.
    """

    _hyper = ("momentum", "dampening", "weight_decay", "nesterov")

    def __init__(
        self,
        parameters: Iterable[Parameter],
        lr: float = 1.0,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(parameters)
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(
                f"SGD: lr, momentum and weight_decay must be >= 0, got lr={lr}, "
                f"momentum={momentum}, weight_decay={weight_decay}."
            )
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening = 0.")
        self.lr = lr
        self.momentum = momentum
        self.dampening = dampening
        self.weight_decay = weight_decay
        self.nesterov = nesterov

    def step(self) -> None:
        """Take one step along the negative (momentum-averaged) gradient."""
        if self.momentum == 0 and self.weight_decay == 0:
            self._plain_step()
            return
        mu, wd = self.momentum, self.weight_decay
        for i, p, x, g in self._with_grads():
            if wd:
                g = g + wd * x
            if mu:
                st = self.state.setdefault(i, {})
                buf = st.get("momentum_buffer")
                buf = np.array(g, copy=True) if buf is None else mu * buf + (1 - self.dampening) * g
                st["momentum_buffer"] = buf
                g = g + mu * buf if self.nesterov else buf
            self._install(p, x - self.lr * g)

    def _plain_step(self) -> None:
        lr = self.lr
        for p in self.parameters:
            v: Any = p.value
            if v is None:
                continue
            if hasattr(v, "derivative"):
                if v.derivative is not None:
                    p.update(type(v)(v.data - lr * v.derivative))
            elif getattr(v, "grad", None) is not None:
                p.update(_minus_lr_grad(v, lr))


def _minus_lr_grad(v: Any, lr: float) -> Any:
    """θ − lr·g for a value with a ``.grad``, as a constant (it becomes a fresh leaf).

    A Tensor's is computed with its backend's kernels, which record nothing, sparing the
    two Functions' bookkeeping (a measurable share of a small model's step); any other
    value with a ``.grad`` uses its own arithmetic, under ``no_grad``.
    """
    g = v.grad
    if isinstance(v, Tensor) and isinstance(g, Tensor):
        f = v.f
        return f.sub_zip(v, f.mul_zip(v._ensure_tensor(lr), g))
    with no_grad():
        return v - lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba): bias-corrected moving averages of g and g² scale each step.

    θ ← θ − lr · m̂ / (√v̂ + ε); ``weight_decay`` λ adds λθ to the gradient (L2), as in
    ``torch.optim.Adam``.
    """

    decoupled = False
    _hyper = ("betas", "eps", "weight_decay")

    def __init__(
        self,
        parameters: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(parameters)
        b1, b2 = betas
        if lr < 0 or eps < 0 or weight_decay < 0 or not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(
                f"{type(self).__name__}: need lr, eps, weight_decay >= 0 and betas in [0, 1); "
                f"got lr={lr}, betas={betas}, eps={eps}, weight_decay={weight_decay}."
            )
        self.lr = lr
        self.betas = (b1, b2)
        self.eps = eps
        self.weight_decay = weight_decay

    def step(self) -> None:
        """One Adam step for every parameter with a gradient."""
        b1, b2 = self.betas
        lr, wd = self.lr, self.weight_decay
        for i, p, x, g in self._with_grads():
            if wd and self.decoupled:
                x = x * (1 - lr * wd)
            elif wd:
                g = g + wd * x
            st = self.state.setdefault(i, {"step": 0, "exp_avg": 0.0, "exp_avg_sq": 0.0})
            st["step"] += 1
            t = st["step"]
            m = st["exp_avg"] = b1 * st["exp_avg"] + (1 - b1) * g
            v = st["exp_avg_sq"] = b2 * st["exp_avg_sq"] + (1 - b2) * (g * g)
            m_hat = m / (1 - b1**t)
            v_hat = v / (1 - b2**t)
            self._install(p, x - lr * m_hat / (np.sqrt(v_hat) + self.eps))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): θ ← θ(1 − lr·λ), then Adam.

    Default λ = 0.01, as in ``torch.optim.AdamW``.
    """

    decoupled = True

    def __init__(
        self,
        parameters: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(parameters, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


# ---------------------------------------------------------------------------
# Learning-rate schedules
# ---------------------------------------------------------------------------


class LRScheduler:
    """Sets ``optimizer.lr = lr_at(epoch)``; ``step()`` advances the epoch by one.

    ``base_lr`` is the optimizer's lr when the scheduler is made; ``last_epoch`` starts at 0.
    """

    def __init__(self, optimizer: Any) -> None:
        if not hasattr(optimizer, "lr"):
            raise TypeError(f"{type(self).__name__} needs an optimizer with an `lr` attribute.")
        self.optimizer = optimizer
        self.base_lr: float = float(optimizer.lr)
        self.last_epoch = 0

    def lr_at(self, epoch: int) -> float:
        """The learning rate for ``epoch`` (defined by subclasses)."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set the optimizer's learning rate."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> list[float]:
        """The current learning rate, as a one-element list (PyTorch's form)."""
        return [float(self.optimizer.lr)]


class StepLR(LRScheduler):
    """lr = base_lr · γ^⌊epoch / step_size⌋ (decay by ``gamma`` every ``step_size`` epochs)."""

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1) -> None:
        if step_size <= 0:
            raise ValueError(f"StepLR: step_size must be positive, got {step_size}.")
        super().__init__(optimizer)
        self.step_size = step_size
        self.gamma = gamma

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """lr = η_min + (base_lr − η_min)·(1 + cos(π·epoch / T_max)) / 2."""

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0) -> None:
        if T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be positive, got {T_max}.")
        super().__init__(optimizer)
        self.T_max = T_max
        self.eta_min = eta_min

    def lr_at(self, epoch: int) -> float:
        cos = math.cos(math.pi * epoch / self.T_max)
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + cos) / 2

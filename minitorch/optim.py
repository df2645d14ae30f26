"""Optimisers: move each Parameter against its gradient; learning-rate schedules.

Every optimiser holds ``self.parameters`` and a learning rate ``self.lr``; ``step()``
moves each Parameter's value that has a gradient, ``zero_grad()`` clears the gradients.
Values may be Scalars (``.derivative``) or Tensors (``.grad``); the update rules below are
applied elementwise, in float64 for Scalars and in the tensor's dtype for Tensors, with the
array namespace of each parameter's array (NumPy on the CPU, CuPy on a GPU: the same
code, so state and scratch live on the parameter's device).

A Tensor is updated **in place**, as in PyTorch: ``p.value`` stays the same leaf and its
NumPy array the same array (whoever else holds it sees the step), its ``.grad`` stays until
``zero_grad()``, and the write bumps the storage's version (``_versions.bump``, once the
counters are on) so a graph that saved the old value refuses to backward. The rules run
as ufuncs with ``out=``: per-parameter state buffers are updated in place and the
intermediate products go to two scratch arrays shared by all parameters of one device and
dtype (``_scratch``), so a step allocates nothing parameter-sized. The operations and their
order are those of the formulas below, so results are bit for bit those of the
out-of-place formulas. A Scalar
(immutable) gets a fresh leaf via ``Parameter.update``, as does a Tensor whose array cannot
be written (read-only memory, or a value that is not a leaf).
Per-parameter state (momentum buffers, Adam's moments) lives in ``self.state``, keyed by
the parameter's position, on the parameter's device (a buffer left on another device, e.g.
after ``Module.to``, is moved once at the next step; ``state_dict`` gives host copies and
``load_state_dict`` copies onto each parameter's device); hyperparameters (``lr``,
``betas`` ...) are read at each step.

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

from . import _trace, _versions, devices
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
        self._views: dict[int, tuple[Array, Array]] = {}  # see _scratch
        self._pools: dict[Any, Array] = {}

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
        (copied to the host from a GPU), counts Python numbers."""
        state = {i: {k: _host_copy(v) for k, v in st.items()} for i, st in self.state.items()}
        group: dict[str, Any] = {h: getattr(self, h) for h in ("lr", *self._hyper)}
        group["params"] = list(range(len(self.parameters)))
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Install a ``state_dict()`` (or ``minitorch.load`` of one): per-parameter buffers
        (NumPy or CuPy arrays or Tensors, copied onto their parameter's device) and the
        hyperparameters. Every check runs before anything changes: positions must exist and
        buffers match their parameter's shape."""
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
            target: Any = self.parameters[pos].value
            shape = getattr(target, "shape", None)
            entry: dict[str, Any] = {}
            for key, value in st.items():
                if isinstance(value, Tensor):
                    value = value._tensor._array
                if devices.is_device_array(value):
                    value = devices.to_host(value)
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
                    value = _placed(value, target)
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
    def _each(self) -> Iterator[tuple[int, Array, Any]]:
        """``(position, θ, g)`` for each parameter with a gradient; the caller writes θ.

        For a Tensor, θ is the value's own NumPy array (written in place; its version is
        bumped once the caller is done) and g its gradient's array in θ's dtype. For a
        Scalar, θ is a 0-d float64 array and g an ``np.float64``; the result is installed
        as a fresh leaf when the caller is done, as for a Tensor whose array cannot be
        written. Values with a ``.grad`` that are not Tensors go to ``_other``.
        """
        for i, p in enumerate(self.parameters):
            v: Any = p.value
            if v is None:
                continue
            if isinstance(v, Tensor):
                grad = v._grad
                if grad is None:
                    continue
                x = v._tensor._array
                g = grad._tensor._array
                if g.dtype != x.dtype:
                    g = g.astype(x.dtype)
                h = v.history
                writeable = x.flags.writeable if isinstance(x, np.ndarray) else True
                if writeable and (h is None or h.last_fn is None):
                    yield i, x, g
                    if _versions.on:
                        _versions.bump(x)
                else:  # read-only memory or a non-leaf: compute on a copy, install a leaf
                    x = _xp(x).array(x, order="C")
                    yield i, x, g
                    self._install(p, x)
            elif hasattr(v, "derivative"):
                if v.derivative is None:
                    continue
                x = np.array(float(v.data))
                yield i, x, np.float64(v.derivative)
                p.update(type(v)(float(x)))
            elif getattr(v, "grad", None) is not None:
                self._other(p, v)

    def _other(self, p: Parameter, v: Any) -> None:
        """A value with a ``.grad`` that is neither a Tensor nor a Scalar: refused here."""
        raise TypeError(
            f"{type(self).__name__} updates Scalars and Tensors, got a "
            f"{type(v).__name__} (plain SGD accepts any value with .grad and -)."
        )

    def _scratch(self, i: int, x: Array) -> tuple[Array, Array]:
        """Two scratch arrays shaped like ``x`` for parameter ``i`` (contents undefined).

        They are views of one pool per (namespace, dtype), on ``x``'s device, sized for its
        largest parameter, so every parameter there shares the same memory (the rules use
        them one parameter at a time).
        """
        views = self._views
        got = views.get(i)
        if (
            got is not None
            and got[0].shape == x.shape
            and got[0].dtype == x.dtype
            and type(got[0]) is type(x)
        ):
            return got
        n = x.size
        xp = _xp(x)
        key = (xp, x.dtype)
        pool = self._pools.get(key)
        if pool is None or pool.size < 2 * n:
            sizes = [n] + [
                v._tensor._array.size
                for v in (q.value for q in self.parameters)
                if isinstance(v, Tensor) and v.dtype == x.dtype and v.backend.xp is xp
            ]
            pool = self._pools[key] = xp.empty(2 * max(sizes), dtype=x.dtype)
            views.clear()  # the old views point into the old pool
        got = views[i] = (pool[:n].reshape(x.shape), pool[n : 2 * n].reshape(x.shape))
        return got

    @staticmethod
    def _state_array(st: dict[str, Any], key: str, x: Array) -> Array:
        """``st[key]`` as a writable array of ``x``'s shape, dtype and device (converted
        once: a number, e.g. after ``load_state_dict``, is broadcast; a missing entry is
        0; an array on another device, e.g. after ``Module.to``, is moved)."""
        b: Array = st.get(key, 0.0)
        if (
            type(b) is not type(x)
            or b.shape != x.shape
            or b.dtype != x.dtype
            or (type(b) is np.ndarray and not b.flags.writeable)
        ):
            xp = _xp(x)
            if devices.is_device_array(b) or isinstance(b, np.ndarray | np.generic):
                b = devices.move(b, devices.device_of(x))
            b = st[key] = xp.array(xp.broadcast_to(xp.asarray(b, dtype=x.dtype), x.shape))
        return b

    @staticmethod
    def _install(p: Parameter, new: Array) -> None:
        """Replace ``p.value`` by a fresh leaf holding ``new`` (same type, backend, dtype)."""
        v: Any = p.value
        if hasattr(v, "derivative"):
            p.update(type(v)(float(new)))
        else:
            p.update(type(v)(_xp(new).asarray(new, dtype=v.dtype), backend=v.backend))


def _host_copy(v: Any) -> Any:
    """A state entry as saved: arrays as NumPy copies (from any device), numbers as they are."""
    if isinstance(v, np.ndarray):
        return v.copy()
    if devices.is_device_array(v):
        return devices.to_host(v)
    return v


def _placed(arr: Array, value: Any) -> Any:
    """A copy of the host array ``arr`` on the device of the parameter value ``value``
    (a Tensor's device; the CPU for anything else)."""
    if isinstance(value, Tensor) and value.device.type != "cpu":
        return devices.move(arr, value.device)  # (the move copies)
    return arr.copy()


def _xp(arr: Any) -> Any:
    """The array namespace computing on ``arr`` (``numpy`` for host arrays and numbers)."""
    return np if isinstance(arr, np.ndarray | np.generic) else devices.namespace(arr)


class SGD(Optimizer):
    """Stochastic gradient descent: θ ← θ − lr · g, optionally with momentum and weight decay.

    Plain SGD (the default) is the course's rule: a Scalar becomes
    ``Scalar(data − lr·derivative)``, installed as a fresh leaf with ``Parameter.update``; a
    Tensor's array is set to ``value − lr·grad`` in place (the same leaf; any other value
    with ``.grad`` and ``-`` gets a fresh one). With ``momentum``/``weight_decay``/``nesterov`` it
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
        lr, mu, wd, damp = self.lr, self.momentum, self.weight_decay, self.dampening
        for i, x, g in self._each():
            xp = np if type(x) is np.ndarray else devices.namespace(x)
            a, b = self._scratch(i, x)
            if wd:  # g ← g + λθ
                xp.multiply(x, wd, out=a)
                xp.add(g, a, out=a)
                g = a
            if mu:
                st = self.state.setdefault(i, {})
                if st.get("momentum_buffer") is None:  # b ← g at the first step
                    st["momentum_buffer"] = buf = xp.array(g, dtype=x.dtype, copy=True)
                else:  # b ← μb + (1 − dampening)g
                    buf = self._state_array(st, "momentum_buffer", x)
                    xp.multiply(buf, mu, out=buf)
                    if damp:
                        xp.multiply(g, 1 - damp, out=b)
                        buf += b
                    else:
                        buf += g
                if self.nesterov:  # g ← g + μb
                    xp.multiply(buf, mu, out=b)
                    xp.add(g, b, out=a)
                    g = a
                else:
                    g = buf
            xp.multiply(g, lr, out=b)  # θ ← θ − lr·g
            xp.subtract(x, b, out=x)

    def _other(self, p: Parameter, v: Any) -> None:
        """Plain SGD moves any value with ``.grad`` and ``-``: ``v − lr·grad``, a fresh leaf."""
        if self.momentum or self.weight_decay:
            super()._other(p, v)
        with no_grad():
            p.update(v - self.lr * v.grad)


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
        lr, wd, eps = self.lr, self.weight_decay, self.eps
        for i, x, g in self._each():
            xp = np if type(x) is np.ndarray else devices.namespace(x)
            a, b = self._scratch(i, x)
            if wd and self.decoupled:  # θ ← θ(1 − lr·λ)
                xp.multiply(x, 1 - lr * wd, out=x)
            elif wd:  # g ← g + λθ
                xp.multiply(x, wd, out=a)
                xp.add(g, a, out=a)
                g = a
            st = self.state.setdefault(i, {"step": 0})
            st["step"] += 1
            t = st["step"]
            m = self._state_array(st, "exp_avg", x)
            v = self._state_array(st, "exp_avg_sq", x)
            xp.multiply(m, b1, out=m)  # m ← β₁m + (1 − β₁)g
            xp.multiply(g, 1 - b1, out=b)
            m += b
            xp.multiply(v, b2, out=v)  # v ← β₂v + (1 − β₂)g²
            xp.multiply(g, g, out=b)
            b *= 1 - b2
            v += b
            xp.divide(m, 1 - b1**t, out=a)  # m̂
            xp.divide(v, 1 - b2**t, out=b)  # v̂
            xp.sqrt(b, out=b)
            b += eps
            xp.multiply(a, lr, out=a)  # θ ← θ − lr·m̂/(√v̂ + ε)
            xp.divide(a, b, out=a)
            xp.subtract(x, a, out=x)


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

"""Module and Parameter: the containers that organise a model's leaf Variables.

A ``Module`` registers every ``Parameter`` and sub-``Module`` assigned to it as an
attribute, so ``model.named_parameters()`` can list all the leaves that training updates.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np

from . import _trace
from .scalar import Scalar
from .tensor import Tensor

__all__ = ["IncompatibleKeys", "Module", "Parameter"]


_M = TypeVar("_M", bound="Module")


class Module:
    """Base class of models: holds Parameters and child Modules, in registration order.

    Attributes: ``_modules`` and ``_parameters`` (dicts), ``training`` (bool).
    Subclasses define ``forward``; calling the module calls ``forward``.
    """

    _modules: dict[str, Module]
    _parameters: dict[str, Parameter]
    training: bool

    def __init__(self) -> None:
        self.__dict__["_modules"] = {}
        self.__dict__["_parameters"] = {}
        self.__dict__["training"] = True

    # -- registration ----------------------------------------------------------
    def __setattr__(self, key: str, val: Any) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() before assigning "
                f"attributes (while setting {key!r})."
            )
        params, modules = d["_parameters"], d["_modules"]
        params.pop(key, None)
        modules.pop(key, None)
        if isinstance(val, Parameter):
            params[key] = val
            d.pop(key, None)
        elif isinstance(val, Module):
            modules[key] = val
            d.pop(key, None)
        else:
            super().__setattr__(key, val)

    def __getattr__(self, key: str) -> Any:
        # Only called when normal lookup fails.
        if key.startswith("__") and key.endswith("__"):
            raise AttributeError(key)
        d = self.__dict__
        if key in d.get("_parameters", {}):
            return d["_parameters"][key]
        if key in d.get("_modules", {}):
            return d["_modules"][key]
        return None

    def __delattr__(self, key: str) -> None:
        d = self.__dict__
        if key in d["_parameters"]:
            del d["_parameters"][key]
        elif key in d["_modules"]:
            del d["_modules"][key]
        else:
            super().__delattr__(key)

    def add_parameter(self, k: str, v: Any) -> Parameter:
        """Register ``Parameter(v, k)`` under the name ``k`` and return it."""
        p = Parameter(v, k)
        self.__dict__["_parameters"][k] = p
        return p

    # -- traversal ---------------------------------------------------------------
    def modules(self) -> list[Module]:
        """The direct children, in registration order."""
        return list(self.__dict__["_modules"].values())

    def children(self) -> list[Module]:
        """Same as ``modules()`` (PyTorch's name)."""
        return self.modules()

    def named_modules(self) -> list[tuple[str, Module]]:
        """``("", self)`` then every descendant by dotted name, depth first."""
        out: list[tuple[str, Module]] = []
        stack: list[tuple[str, Module]] = [("", self)]
        while stack:
            prefix, m = stack.pop()
            out.append((prefix, m))
            kids = list(m.__dict__["_modules"].items())
            for name, child in reversed(kids):
                stack.append((f"{prefix}.{name}" if prefix else name, child))
        return out

    def named_parameters(self) -> Sequence[tuple[str, Parameter]]:
        """``(dotted_name, Parameter)`` for self and all descendants.

        Own parameters first, then each child's, in registration order: ``"p1"``,
        ``"a.p2"``, ``"b.c.p3"``.
        """
        out: list[tuple[str, Parameter]] = []
        for prefix, m in self.named_modules():
            for name, p in m.__dict__["_parameters"].items():
                out.append((f"{prefix}.{name}" if prefix else name, p))
        return out

    def parameters(self) -> Sequence[Parameter]:
        """All Parameters of self and descendants, in ``named_parameters()`` order."""
        return [p for _, p in self.named_parameters()]

    # -- modes -------------------------------------------------------------------
    def train(self: _M, mode: bool = True) -> _M:
        """Set ``training = mode`` on this module and every descendant; returns the module
        (PyTorch's chaining: ``model.train()``, ``model.eval()(x)``)."""
        for _, m in self.named_modules():
            m.__dict__["training"] = bool(mode)
        return self

    def eval(self: _M) -> _M:
        """Set ``training = False`` on this module and every descendant; returns the module."""
        return self.train(False)

    # -- gradients and state -----------------------------------------------------------
    def zero_grad(self) -> None:
        """Reset every parameter's gradient (``.grad`` / ``.derivative``) to ``None``."""
        for p in self.parameters():
            p.zero_grad()

    def state_dict(self) -> dict[str, Any]:
        """Dotted parameter name -> value (the Parameter's own value object)."""
        return {name: p.value for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Install values from ``state`` by name (via ``Parameter.update``).

        A Tensor parameter takes a Tensor, a NumPy array or nested lists of numbers: the
        values are copied into a fresh Tensor of the parameter's dtype and backend (so the
        module never shares the caller's object). A Scalar parameter takes a Scalar or a
        real number (copied into a fresh Scalar). Other values are installed as given.
        Anything else (a string, None, a complex or object array, ragged lists) is a
        TypeError naming the key, the type and the fix.

        With ``strict`` (the default) missing or unexpected names raise a KeyError listing
        them; a value whose shape differs from the current one raises a ValueError.
        Every check runs before anything changes, so a failed load leaves the module as it
        was. Returns ``IncompatibleKeys(missing_keys, unexpected_keys)`` (both empty when
        ``strict``), as PyTorch does.
        """
        if not isinstance(state, Mapping):
            raise TypeError(
                f"load_state_dict for {type(self).__name__} expects a dict of name -> value "
                f"(from state_dict() or minitorch.load), got {type(state).__name__}."
            )
        params = dict(self.named_parameters())
        missing = [k for k in params if k not in state]
        unexpected = [k for k in state if k not in params]
        if strict and (missing or unexpected):
            raise KeyError(
                f"load_state_dict for {type(self).__name__}: missing keys {missing}, "
                f"unexpected keys {unexpected}."
            )
        where = f"load_state_dict for {type(self).__name__}"
        values: dict[str, Any] = {}
        wrong: list[str] = []
        mismatched: list[str] = []
        for k, p in params.items():
            if k not in state:
                continue
            try:
                values[k] = _converted(p.value, state[k])
            except TypeError as err:
                wrong.append(f"{k!r}: {err}")
                continue
            old, new = _shape_of(p.value), _shape_of(values[k])
            if old != new:
                mismatched.append(f"{k}: expected shape {old}, got {new}")
        if wrong:
            raise TypeError(f"{where}: " + "; ".join(wrong))
        if mismatched:
            raise ValueError(f"{where}: shape mismatch: " + "; ".join(mismatched))
        for k, v in values.items():
            params[k].update(v)
        return IncompatibleKeys(missing, unexpected)

    # -- calling ---------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        forward = getattr(type(self), "forward", None)
        if forward is None:
            raise NotImplementedError(
                f"{type(self).__name__} has no forward(): subclass Module and define "
                "forward(self, ...) to make it callable."
            )
        return forward(self, *args, **kwargs)

    def __repr__(self) -> str:
        child_lines = []
        for key, module in self._modules.items():
            mod_str = repr(module).replace("\n", "\n  ")
            child_lines.append(f"({key}): {mod_str}")
        main = type(self).__name__ + "("
        if child_lines:
            main += "\n  " + "\n  ".join(child_lines) + "\n"
        return main + ")"


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(..., strict=False)`` skipped: names it lacked and names it
    did not know."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _shape_of(v: Any) -> tuple[int, ...] | None:
    shape = getattr(v, "shape", None)
    return tuple(shape) if shape is not None else None


_FIX = (
    "pass a minitorch Tensor (a NumPy array or nested lists of numbers are converted to the "
    "parameter's dtype {dtype})"
)


def _converted(old: Any, new: Any) -> Any:
    """``new`` as a fresh value for a parameter now holding ``old`` (TypeError if it cannot be).

    Tensor parameter: a Tensor, ndarray or nested lists -> a copy with ``old``'s dtype and
    backend. Scalar parameter: a Scalar or real number -> a fresh Scalar. Else ``new``.
    """
    if isinstance(old, Tensor):
        fix = _FIX.format(dtype=old.dtype)
        if isinstance(new, Tensor):
            arr = new.to_numpy()
        elif isinstance(new, np.ndarray | list | tuple):
            try:
                arr = np.asarray(new)
            except ValueError:  # ragged lists
                raise TypeError(
                    f"got {type(new).__name__} that is not rectangular; {fix}."
                ) from None
            if arr.dtype.kind not in "biuf":
                raise TypeError(
                    f"got a {type(new).__name__} of {arr.dtype} (not real numbers); {fix}."
                )
        else:
            raise TypeError(f"got {type(new).__name__}, not a Tensor; {fix}.")
        return Tensor(np.array(arr, dtype=old.dtype), backend=old.backend)
    if isinstance(old, Scalar):
        if isinstance(new, Scalar):
            return Scalar(new.data)
        if isinstance(new, numbers.Real) and not isinstance(new, bool):
            return Scalar(float(new))
        raise TypeError(
            f"got {type(new).__name__}, not a Scalar; pass a minitorch Scalar or a real number."
        )
    return new


class Parameter:
    """A named, trainable value held by a Module (a Scalar or a Tensor, usually).

    If the value supports ``requires_grad_``, it is switched on, and the value is given
    the parameter's name.
    """

    __slots__ = ("name", "value")

    def __init__(self, x: Any = None, name: str | None = None) -> None:
        self.value = x
        self.name = name
        self._prepare()

    def _prepare(self) -> None:
        x = self.value
        if hasattr(x, "requires_grad_"):
            if getattr(x, "grad_fn", None) is not None:
                x.requires_grad_(False)  # an optimiser's new value: made a leaf on purpose
            x.requires_grad_(True)
            if self.name is not None:
                x.name = self.name

    @_trace.live
    def update(self, x: Any) -> None:
        """Replace the value (the optimiser's step), with the same treatment as ``__init__``."""
        self.value = x
        self._prepare()

    def zero_grad(self) -> None:
        """Reset the value's gradient to ``None``."""
        v = self.value
        if hasattr(v, "derivative"):
            v.derivative = None
        elif hasattr(v, "grad"):
            v.grad = None

    def __repr__(self) -> str:
        return repr(self.value)

    def __str__(self) -> str:
        return str(self.value)

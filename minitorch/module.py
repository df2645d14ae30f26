"""Module and Parameter: the containers that organise a model's leaf Variables.

A ``Module`` registers every ``Parameter`` and sub-``Module`` assigned to it as an
attribute, so ``model.named_parameters()`` can list all the leaves that training updates.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np

from . import _trace, devices
from .devices import Device, DeviceError
from .scalar import Scalar
from .tensor import Tensor, _is_device

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

    # -- devices and dtypes ----------------------------------------------------------------
    def to(self: _M, *args: Any, **kwargs: Any) -> _M:
        """Move and/or cast every Tensor parameter in place; returns the module.

        PyTorch's forms: ``to(device)``, ``to(dtype)``, ``to(device, dtype)``,
        ``to(tensor)`` (its device and dtype), keywords ``device=``, ``dtype=`` (and
        ``non_blocking=``, accepted and ignored). The Parameter objects stay the same (an
        optimiser built before keeps working); each ``p.value`` that changes becomes a
        fresh leaf on the device and in the dtype, with its ``requires_grad`` and name,
        and its gradient moved along. A value already there is left as it is. Scalar
        parameters live on the CPU: asking for ``cuda`` raises ``DeviceError``.
        """
        device, dtype = _to_args(type(self).__name__, args, kwargs)
        params = self.parameters()
        if device is not None and device.type != "cpu":
            scalars = [n for n, p in self.named_parameters() if isinstance(p.value, Scalar)]
            if scalars:
                raise DeviceError(
                    f"{type(self).__name__}.to({str(device)!r}): parameters {scalars[:5]} "
                    "are Scalars, which compute in Python on the CPU; only Tensor "
                    "parameters can move to a GPU (use minitorch.Tensor parameters)."
                )
            devices.cuda_namespace()  # a clear DeviceError when CUDA is missing
        for p in params:
            v = p.value
            if isinstance(v, Tensor):
                p.value = _moved(v, device, dtype)
        return self

    def cuda(self: _M, device: Any = None) -> _M:
        """``to("cuda")``: every Tensor parameter on the GPU; returns the module."""
        return self.to("cuda" if device is None else device)

    def cpu(self: _M) -> _M:
        """``to("cpu")``: every Tensor parameter on the CPU; returns the module."""
        return self.to("cpu")

    def float(self: _M) -> _M:
        """``to(float32)``: every Tensor parameter as float32; returns the module."""
        return self.to(np.float32)

    def double(self: _M) -> _M:
        """``to(float64)``: every Tensor parameter as float64; returns the module."""
        return self.to(np.float64)

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

        A Tensor parameter takes a Tensor (on any device), a NumPy or CuPy array or nested
        lists of numbers: the values are copied into a fresh Tensor of the parameter's
        dtype, backend and device (so the module never shares the caller's object; a CPU
        checkpoint loads into a model on the GPU, as PyTorch copies into the parameter).
        A Scalar parameter takes a Scalar or a real number (copied into a fresh Scalar).
        Other values are installed as given.
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


def _to_args(
    owner: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Device | None, np.dtype[Any] | None]:
    """The ``(device, dtype)`` that ``Module.to(*args, **kwargs)`` asks for (None: keep)."""
    extra = set(kwargs) - {"device", "dtype", "non_blocking"}
    if extra or len(args) > 2:
        raise TypeError(
            f"{owner}.to: unexpected arguments {sorted(extra) or args}; use to(device), "
            "to(dtype), to(device, dtype), to(tensor) or the keywords device=, dtype=."
        )
    device: Any = kwargs.get("device")
    dtype: Any = kwargs.get("dtype")
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, Device) or _is_device(a):
            device = a
        elif isinstance(a, bool):  # to(device, non_blocking) positionally
            continue
        else:
            dtype = a
    dt = None
    if dtype is not None:
        try:
            dt = np.dtype(dtype)
        except TypeError:
            dt = None
        if dt is None or dt.kind != "f":
            raise TypeError(
                f"{owner}.to only accepts floating point dtypes (float32, float64), got {dtype!r}."
            )
    return (None if device is None else Device(device)), dt


def _moved(v: Tensor, device: Device | None, dtype: np.dtype[Any] | None) -> Tensor:
    """``v`` on ``device`` in ``dtype``: itself when it is there already, else a fresh leaf
    with ``v``'s ``requires_grad``, name and gradient (moved and cast too)."""
    where = v.device if device is None else device
    dt = v.dtype if dtype is None else dtype
    if where == v.device and dt == v.dtype:
        return v
    if where == v.device:  # a cast only: keep the backend (e.g. SimpleBackend)
        new = Tensor(v._tensor._array, dtype=dt, backend=v.backend)
    else:
        new = Tensor(v._tensor._array, dtype=dt, device=where)
    if v.requires_grad:
        new.requires_grad_(True)
    if v._name is not None:
        new.name = v._name
    g = v._grad
    if g is not None:
        new._grad = Tensor(g._tensor._array, dtype=dt, backend=new.backend)
    return new


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
        arr: Any
        if isinstance(new, Tensor):
            arr = new.to_numpy() if new.device.type == "cpu" else new._tensor._array
        elif devices.is_device_array(new):
            arr = new
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"got a GPU array of {arr.dtype} (not real numbers); {fix}.")
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
        if old.device.type == "cpu" and isinstance(arr, np.ndarray):
            return Tensor(np.array(arr, dtype=old.dtype), backend=old.backend)
        arr = devices.move(arr, old.device)  # copied into the parameter's device, as PyTorch
        return Tensor(devices.namespace(arr).array(arr, dtype=old.dtype), backend=old.backend)
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

"""The switch that ``minitorch.compile`` turns while it traces a function (see compile.py).

Library code that a trace must see calls in here; when no trace runs (``STATE.active is
None``, always outside ``compile``) each check is one thread-local read. While a trace runs, the
operations that user code calls directly (depth 0) are recorded as steps of a program;
what they call in turn (depth > 0) just runs.

* ``Function.apply``, ``Tensor.chain_rule`` and ``Tensor.accumulate_derivative`` call the
  tracer themselves (hot paths, inlined checks).
* ``@live`` marks a function whose every call is replayed by calling it again: random draws
  (``rand``, dropout masks), optimiser steps, gradient resets, in-place writes, and helpers
  that read a tensor's values to build a constant (class-index targets).
* ``check_read(t, what)`` refuses to hand a traced tensor's values to Python (``item()``,
  ``bool(t)``, ``to_numpy()``): the trace would freeze them.
* ``refuse(what, fix)`` refuses what a trace cannot replay at all.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

__all__ = ["STATE", "CompileError", "Tracer", "check_read", "live", "refuse"]

F = TypeVar("F", bound=Callable[..., Any])


class CompileError(RuntimeError):
    """What ``minitorch.compile`` cannot trace, with the call that did it and the fix."""


class Tracer(Protocol):
    """What the hooks need of the running trace (``compile._Trace``)."""

    depth: int

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run ``fn(*args, **kwargs)`` now and record it as a step replayed by calling it."""

    def apply(self, cls: Any, vals: tuple[Any, ...]) -> Any:
        """Run ``cls.apply(*vals)`` now and record it (``Function.apply``)."""

    def backward(self, fn: Any, ctx: Any, d: Any) -> Any:
        """Run ``fn.backward(ctx, d)`` now and record it (``Tensor.chain_rule``)."""

    def accumulate(self, leaf: Any, x: Any) -> None:
        """Run ``leaf.accumulate_derivative(x)`` now and record it."""

    def read_grad(self, leaf: Any, g: Any) -> None:
        """Note that user code read ``leaf.grad`` (``g``): replays read it live."""

    def constant(self, t: Any) -> None:
        """Note that ``t``, made while tracing, is a constant (not made from traced data)."""

    def is_traced(self, t: Any) -> bool:
        """True when ``t``'s values may differ from call to call (input, result, parameter)."""


class _State(threading.local):
    """What a trace has switched on, one per thread: a trace records the operations of the
    thread that runs it only, while other threads compute as usual."""

    def __init__(self) -> None:
        self.active: Tracer | None = None
        """The trace now running in this thread, or None (the usual case)."""
        self.kernels: list[tuple[Callable[..., Any], tuple[Any, ...], Any]] | None = None
        """While a traced operation runs: the array kernels it called, as ``(fn, input
        arrays, result array)`` with ``result is fn(*inputs)`` computable again on new
        arrays (NumPy kernels and views report themselves here; None, the usual case,
        records nothing)."""


STATE = _State()
"""This thread's ``active`` trace and ``kernels`` list."""


def live(fn: F) -> F:
    """Record each call of ``fn`` made by traced code as a step that calls ``fn`` again on
    replay (with that call's tensors), instead of freezing its result."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        tracer = STATE.active
        if tracer is None or tracer.depth:
            return fn(*args, **kwargs)
        return tracer.call(fn, args, kwargs)

    return wrapper  # type: ignore[return-value]


def check_read(t: Any, what: str) -> None:
    """Refuse, while tracing, to turn a traced tensor's values into Python or NumPy values."""
    tracer = STATE.active
    if tracer is not None and not tracer.depth and tracer.is_traced(t):
        raise CompileError(
            f"minitorch.compile: {what} reads the values of a tensor of shape "
            f"{tuple(t.shape)} while tracing. A trace records tensor operations only, so this "
            "value (and any Python branch or NumPy code using it) would be frozen at the first "
            "call. Keep the computation in tensor operations (e.g. minitorch.where instead of "
            "an `if`), return the tensor and read it after the call, or do not compile this "
            "function."
        )


def refuse(what: str, fix: str) -> None:
    """Raise ``CompileError`` when a trace is running (user code, depth 0)."""
    tracer = STATE.active
    if tracer is not None and not tracer.depth:
        raise CompileError(f"minitorch.compile cannot trace {what}: {fix}")

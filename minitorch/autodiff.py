"""The autodiff engine, shared by Scalar and Tensor.

Backpropagation, as in the lecture, is two loops:

* the **outer loop** orders the graph (``topological_sort``: every variable comes
  before the variables it was computed from) and keeps one derivative per variable;
* the **inner loop** visits each variable once, in that order: a leaf adds its final
  derivative; any other variable calls the chain rule through the Function that made it
  and accumulates the results on its inputs.

Both loops are iterative, so a graph a million nodes deep needs no recursion.
Nothing here knows about Scalars or Tensors: it works with anything that follows the
``Variable`` protocol.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "Context",
    "no_grad",
    "is_grad_enabled",
    "enable_grad",
    "GraphFreedError",
    "Variable",
    "backpropagate",
    "central_difference",
    "topological_sort",
]


def central_difference(f: Any, *vals: Any, arg: int = 0, epsilon: float = 1e-6) -> Any:
    r"""Approximate :math:`\partial f / \partial x_{arg}` by a central difference.

    .. math:: f'_i(x) \approx \frac{f(\dots, x_i + \epsilon, \dots) - f(\dots, x_i - \epsilon, \dots)}{2\epsilon}

    The arithmetic is done in the values' own type: floats give a float, Scalars a Scalar.
    """
    if not 0 <= arg < len(vals):
        raise IndexError(
            f"central_difference: arg={arg} is out of range for {len(vals)} value(s)"
        )
    up = list(vals)
    down = list(vals)
    up[arg] = vals[arg] + epsilon
    down[arg] = vals[arg] - epsilon
    return (f(*up) - f(*down)) / (2.0 * epsilon)


class _GradMode:
    """Process-wide switch for graph recording (read on every Function.apply)."""

    enabled: bool = True


def is_grad_enabled() -> bool:
    """True unless inside ``with minitorch.no_grad():``."""
    return _GradMode.enabled


class _GradModeSwitch:
    """Context manager (and decorator) that sets grad mode and restores it on exit."""

    __slots__ = ("_mode", "_previous")

    def __init__(self, mode: bool) -> None:
        self._mode = mode
        self._previous = True

    def __enter__(self) -> None:
        self._previous = _GradMode.enabled
        _GradMode.enabled = self._mode

    def __exit__(self, *exc: object) -> None:
        _GradMode.enabled = self._previous

    def __call__(self, fn: Any) -> Any:
        mode = self._mode

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _GradModeSwitch(mode):
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = getattr(fn, "__doc__", None)
        return wrapper


def no_grad() -> _GradModeSwitch:
    """``with minitorch.no_grad():`` records no graph: results are constants.

    The previous mode is restored on exit, also when an exception escapes.
    Also usable as a decorator: ``@minitorch.no_grad()``.
    """
    return _GradModeSwitch(False)


def enable_grad() -> _GradModeSwitch:
    """``with minitorch.enable_grad():`` turns recording back on inside ``no_grad``."""
    return _GradModeSwitch(True)


class GraphFreedError(RuntimeError):
    """Backward reached a Function whose saved values were released by an earlier backward."""


@dataclass(slots=True)
class Context:
    """What a Function's ``forward`` leaves for its ``backward``.

    ``saved_values`` is always a tuple, even for one value: unpack it with
    ``(x,) = ctx.saved_values``.
    """

    no_grad: bool = False
    saved_values: tuple[Any, ...] = ()
    freed: bool = field(default=False, repr=False, compare=False)

    def save_for_backward(self, *values: Any) -> None:
        """Store ``values`` (as a tuple) for backward; nothing is kept under ``no_grad``."""
        if not self.no_grad:
            self.saved_values = values

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """Alias of ``saved_values`` (PyTorch's name)."""
        return self.saved_values

    def release(self) -> None:
        """Drop the saved values; a later backward through this node raises GraphFreedError."""
        self.saved_values = ()
        self.freed = True


@runtime_checkable
class Variable(Protocol):
    """What the engine needs of a value in the graph (Scalar and Tensor both qualify).

    Optional: ``release_graph()``, called after the node's chain rule has run when the
    caller does not retain the graph, to free what the node's Function saved.
    """

    @property
    def unique_id(self) -> int: ...

    def is_leaf(self) -> bool: ...

    def is_constant(self) -> bool: ...

    @property
    def parents(self) -> Iterable[Variable]: ...

    def chain_rule(self, d_output: Any) -> Iterable[tuple[Variable, Any]]: ...

    def accumulate_derivative(self, x: Any) -> None: ...


def topological_sort(variable: Variable) -> list[Variable]:
    """Every non-constant variable reachable from ``variable``, each once, output first.

    Each variable appears before all the variables it was computed from, so that when
    backpropagation reaches it, every use of it has already contributed its derivative.
    An iterative depth-first search (the lecture's ``visit``) with an explicit stack.
    """
    order: list[Variable] = []
    if variable.is_constant():
        return order
    seen = {variable.unique_id}
    # Each stack entry is (node, iterator over its parents); a node is finished, and
    # appended, once its iterator is exhausted: a post-order, reversed at the end.
    stack: list[tuple[Variable, Any]] = [
        (variable, iter(()) if variable.is_leaf() else iter(variable.parents))
    ]
    push = stack.append
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            uid = parent.unique_id
            if uid in seen or parent.is_constant():
                continue
            seen.add(uid)
            push((parent, iter(()) if parent.is_leaf() else iter(parent.parents)))
            break
        else:
            stack.pop()
            order.append(node)
    order.reverse()
    return order


def backpropagate(variable: Variable, deriv: Any, retain_graph: bool = False) -> None:
    """Run backpropagation from ``variable`` with starting derivative ``deriv``.

    Leaves reached from ``variable`` get their derivative accumulated
    (``accumulate_derivative``); a variable reached along several paths receives the
    **sum** of the path derivatives, and each variable is processed once, with its full
    derivative. Unless ``retain_graph`` is true, each Function's saved values are released
    once used, and a second backward through the same graph raises ``GraphFreedError``.
    """
    order = topological_sort(variable)
    derivatives: dict[int, Any] = {variable.unique_id: deriv}
    pop = derivatives.pop
    for node in order:
        d = pop(node.unique_id, None)
        if d is None:  # a chain_rule chose not to send anything here
            continue
        if node.is_leaf():
            node.accumulate_derivative(d)
            continue
        for parent, d_parent in node.chain_rule(d):
            if parent.is_constant():
                continue
            uid = parent.unique_id
            if uid in derivatives:
                derivatives[uid] = derivatives[uid] + d_parent
            else:
                derivatives[uid] = d_parent
        if not retain_graph:
            release = getattr(node, "release_graph", None)
            if release is not None:
                release()

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

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "UNPACK_HINT",
    "Context",
    "GraphFreedError",
    "Variable",
    "backpropagate",
    "central_difference",
    "enable_grad",
    "grads_tuple",
    "is_grad_enabled",
    "no_grad",
    "topological_sort",
]


def central_difference(f: Any, *vals: Any, arg: int = 0, epsilon: float = 1e-6) -> Any:
    r"""Approximate :math:`\partial f / \partial x_{arg}` by a central difference.

    .. math::
        f'_i(x) \approx
        \frac{f(\dots, x_i + \epsilon, \dots) - f(\dots, x_i - \epsilon, \dots)}{2\epsilon}

    The arithmetic is done in the values' own type: floats give a float, Scalars a Scalar.
    """
    if not 0 <= arg < len(vals):
        raise IndexError(f"central_difference: arg={arg} is out of range for {len(vals)} value(s)")
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


UNPACK_HINT = (
    "ctx.saved_values is always a tuple, even when one value was saved: write "
    "`(x,) = ctx.saved_values` (or `x, y = ctx.saved_values`), not `x = ctx.saved_values`."
)
"""The fix for the lecture's slip, shown by Scalar and Tensor errors alike."""


def grads_tuple(grads: Any) -> tuple[Any, ...]:
    """What a Function's ``backward`` returned, as a tuple (one value per input).

    A single value becomes a 1-tuple and a list a tuple; a tuple is returned as it is.
    """
    if type(grads) is tuple:
        return grads
    if isinstance(grads, list):
        return tuple(grads)
    return (grads,)


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
    This is the lecture's depth-first ``visit``, with an explicit stack instead of
    recursion: a node is appended once all its parents are finished (post-order), and
    the list is reversed at the end.
    """
    if variable.is_constant():
        return []
    order: list[Variable] = []
    seen = {variable.unique_id}
    stack: list[tuple[Variable, Iterator[Variable]]] = [(variable, iter(variable.parents))]
    push = stack.append
    while stack:
        node, parents = stack[-1]
        for parent in parents:  # resume where this node's walk stopped
            uid = parent.unique_id
            if uid not in seen:
                seen.add(uid)
                if not parent.is_constant():
                    push((parent, iter(parent.parents)))
                    break
        else:  # every parent finished: so is this node
            stack.pop()
            order.append(node)
    order.reverse()
    return order


def backpropagate(variable: Variable, deriv: Any, retain_graph: bool = False) -> None:
    """Run backpropagation from ``variable`` with starting derivative ``deriv``.

    Outer loop: sort the graph, keep one pending derivative per ``unique_id``. Inner loop,
    for each variable in order: a leaf accumulates its final derivative; any other
    variable calls ``chain_rule`` with its (complete) derivative and adds each result to
    its input's pending derivative. So a variable reached along several paths receives
    the **sum** of the path derivatives, and each is processed exactly once. Constants
    are never visited. Unless ``retain_graph`` is true, each node's saved values are
    released once used (``release_graph()``, where the variable has one), and a second
    backward through the same graph raises ``GraphFreedError``.
    """
    order = topological_sort(variable)
    derivatives: dict[int, Any] = {variable.unique_id: deriv}
    pending = derivatives.get
    for node in order:
        d = derivatives.pop(node.unique_id, None)
        if d is None:  # no chain_rule sent anything here
            continue
        if node.is_leaf():
            node.accumulate_derivative(d)
            continue
        for parent, d_parent in node.chain_rule(d):
            uid = parent.unique_id
            before = pending(uid)
            derivatives[uid] = d_parent if before is None else before + d_parent
        d = d_parent = None  # keep no derivative alive here: a leaf may then take it uncopied
        if not retain_graph:
            release = getattr(node, "release_graph", None)
            if release is not None:
                release()

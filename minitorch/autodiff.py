"""The autodiff engine, shared by Scalar and Tensor.

Backpropagation, as in the lecture, is two loops:

* the **outer loop** orders the graph (``topological_sort``: every variable comes
  before the variables it was computed from) and keeps one derivative per variable;
* the **inner loop** visits each variable once, in that order: a leaf adds its final
  derivative; any other variable calls the chain rule through the Function that made it
  and accumulates the results on its inputs.

Both loops are iterative, so a graph a million nodes deep needs no recursion.
Nothing here knows about Scalars or Tensors: it works with anything that follows the
``Variable`` protocol; both record their graphs with the one ``History`` class.

**Grad mode** (whether Functions record the graph) has its one public API here:
``is_grad_enabled``, ``no_grad``, ``enable_grad``, ``set_grad_enabled``. Functions read
it when applied; ``backpropagate`` sets it to ``create_graph`` for the pass, so the
backward formulas are recorded exactly when the gradients are to be differentiated again.
It is per thread, as in PyTorch.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec, Protocol, TypeVar, runtime_checkable

__all__ = [
    "UNPACK_HINT",
    "Context",
    "FreedValuesError",
    "GraphFreedError",
    "History",
    "ScalarHistory",
    "Variable",
    "backpropagate",
    "central_difference",
    "enable_grad",
    "grads_tuple",
    "is_constant",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
    "topological_sort",
]

P = ParamSpec("P")
R = TypeVar("R")


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


class _GradMode(threading.local):
    """The switch for graph recording, one per thread (as PyTorch's): a ``no_grad()`` in
    one thread leaves the others recording, and a new thread starts with recording on.
    Private: use the functions below."""

    def __init__(self) -> None:
        self.enabled = True


_GRAD_MODE = _GradMode()


def is_grad_enabled() -> bool:
    """True when Functions record the graph in this thread: on, unless switched off by
    ``no_grad()``, ``set_grad_enabled(False)``, or during an ordinary ``backward()``."""
    return _GRAD_MODE.enabled


class set_grad_enabled:  # noqa: N801  (PyTorch's name; a class so it can be a context manager)
    """Set grad mode to ``mode`` now; as a context manager, restore the previous mode on exit.

    ``set_grad_enabled(False)`` as a plain call switches recording off until switched back;
    ``with set_grad_enabled(mode):`` switches it for the block only (also when an exception
    escapes); ``@set_grad_enabled(mode)`` runs each call of the decorated function in
    ``mode`` (PyTorch's semantics).
    """

    __slots__ = ("_mode", "_previous")

    def __init__(self, mode: bool) -> None:
        self._previous = _GRAD_MODE.enabled
        self._mode = bool(mode)
        _GRAD_MODE.enabled = self._mode

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        _GRAD_MODE.enabled = self._previous

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Decorate ``fn``; the mode set by the constructor call is undone first."""
        _GRAD_MODE.enabled = self._previous
        return _run_in_mode(fn, self._mode)


class _GradModeBlock:
    """``with`` block (or decorator) that runs in one grad mode and restores the previous one."""

    __slots__ = ("_mode", "_previous")

    def __init__(self, mode: bool) -> None:
        self._mode = mode
        self._previous = True

    def __enter__(self) -> None:
        self._previous = _GRAD_MODE.enabled
        _GRAD_MODE.enabled = self._mode

    def __exit__(self, *exc: object) -> None:
        _GRAD_MODE.enabled = self._previous

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        return _run_in_mode(fn, self._mode)


def _run_in_mode(fn: Callable[P, R], mode: bool) -> Callable[P, R]:
    """``fn`` wrapped so that each call runs in grad mode ``mode``."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with _GradModeBlock(mode):
            return fn(*args, **kwargs)

    return wrapper


def no_grad() -> _GradModeBlock:
    """``with minitorch.no_grad():`` records no graph: results are constants.

    The previous mode is restored on exit, also when an exception escapes.
    Also usable as a decorator: ``@minitorch.no_grad()``.
    """
    return _GradModeBlock(False)


def enable_grad() -> _GradModeBlock:
    """``with minitorch.enable_grad():`` turns recording back on inside ``no_grad``."""
    return _GradModeBlock(True)


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


class FreedValuesError(RuntimeError):
    """The values of a graph node were read after the tensor they belong to was freed (a
    graph keeps only what backward needs)."""


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


@dataclass(slots=True)
class History:
    """How a Scalar or Tensor was made: the Function (``last_fn``), its context, its inputs.

    The default, all empty, marks a leaf; a constant has no History at all.
    """

    last_fn: type[Any] | None = None
    ctx: Context | None = None
    inputs: Sequence[Any] = ()


ScalarHistory = History
"""The course's name for a Scalar's history: the same class as a Tensor's."""


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


def is_constant(value: Any) -> bool:
    """True for what takes no derivative: a plain number, or a Variable that says so.

    The course's earlier function form of ``Variable.is_constant()`` (its graph drawing
    calls ``minitorch.is_constant(v)`` on every input, numbers included).
    """
    return not isinstance(value, Variable) or value.is_constant()


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


def backpropagate(
    variable: Variable, deriv: Any, retain_graph: bool = False, create_graph: bool = False
) -> None:
    """Run backpropagation from ``variable`` with starting derivative ``deriv``.

    Outer loop: sort the graph, keep one pending derivative per ``unique_id``. Inner loop,
    for each variable in order: a leaf accumulates its final derivative; any other
    variable calls ``chain_rule`` with its (complete) derivative and adds each result to
    its input's pending derivative. So a variable reached along several paths receives
    the **sum** of the path derivatives, and each is processed exactly once. Constants
    are never visited. Unless ``retain_graph`` is true, each node's saved values are
    released once used (``release_graph()``, where the variable has one), and a second
    backward through the same graph raises ``GraphFreedError``.

    Grad mode is ``create_graph`` for the pass: whatever the backward formulas compute
    is recorded (and so differentiable again) only when it is true; it implies
    ``retain_graph``. This is the one place the pass's recording is decided.
    """
    with set_grad_enabled(create_graph):
        _backpropagate(variable, deriv, retain_graph or create_graph)


def _backpropagate(variable: Variable, deriv: Any, retain_graph: bool) -> None:
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

"""Functional transforms: derivatives as functions that return functions.

The lecture asks for ``derivative(fn)`` returning a function; these are that idea with
JAX's names and signatures::

    derivative(f)(x)               f'(x)                      (forward mode)
    grad(f, argnums=0)(*args)      ∇f, f returning one number (reverse mode)
    value_and_grad(f, argnums)     (f(*args), ∇f)
    vjp(f, *primals)               (f(*primals), ct ↦ ctᵀJ)   (reverse: one pass per call)
    jvp(f, primals, tangents)      (f(*primals), J·t)         (forward: one pass per call)
    jacrev(f, argnums) / jacobian  J, one reverse pass per output element
    jacfwd(f, argnums)             J, one forward pass per input element
    hessian(f, argnums)            ∇²f = jacfwd(grad(f))
    gradgradcheck(f, *inputs)      second derivatives against central differences
                                   (defined in ``minitorch.gradcheck``)

Every transform returns an ordinary function, so they compose: ``grad(grad(grad(f)))``.

**Arguments.** The differentiated arguments (``argnums``) are either all numbers
(floats, ints; a Scalar is read by value) or all Tensors. Other float arguments become
constants of the same kind (so ``y.exp()`` works on them); anything else (ints, Tensors,
lists) is passed through unchanged. Outputs are one value or a tuple/list of values.

* *Functions of numbers* are evaluated on Scalars (reverse mode, the library's engine)
  or on ``forward_mode.Dual`` numbers (forward mode), so they must use the operations both
  support: ``+ - * / **``, unary ``-``, comparisons and ``exp() log() sigmoid() relu()
  tanh()``. Results are floats.
* *Functions of Tensors* use the Tensor engine. Jacobians have shape
  ``out.shape + in.shape``. minitorch has no 0-d tensors, so a one-element output counts
  as a scalar: ``grad`` returns ``in.shape`` and ``hessian`` ``in.shape + in.shape``.

**How higher orders work.**

* Scalar backward records no graph (its backward returns floats), so reverse-over-reverse
  is impossible on Scalars. A transform of numbers at the top level runs in reverse mode
  on Scalars; any transform *nested* inside another runs in forward mode on tagged dual
  numbers, whose parts may themselves be duals (forward-over-forward to any order). When a
  top-level reverse transform finds another transform inside its function, it restarts
  that evaluation in forward mode (so ``f`` should be pure, as JAX assumes).
* Tensor backward formulas are Tensor operations, so reverse-over-reverse works: a
  transform records the backward graph whenever its result must stay differentiable
  (it depends on tensors other than its own fresh inputs: an enclosing transform's,
  or ones ``f`` closes over that require grad).
* Tensor forward mode is the **double-vjp** construction: with ``g(u) = vjp(f, x)(u) =
  Jᵀu`` recorded as a graph in ``u``, ``J·t = ∂/∂u ⟨g(u), t⟩``. The recorded backward is
  made once and shared by every direction, so ``jacfwd`` costs one backward pass over it
  per input element (``jacrev``: one per output element).

Transforms evaluate ``f`` with gradient recording on, even inside ``no_grad()``, and
never touch ``.grad``/``.derivative`` of anything (gradients are collected from the graph,
not accumulated in leaves). Non-differentiable points use the engine's conventions:
``relu'(0) = 0``; ``Tensor.max`` / ``minitorch.max`` send the whole gradient to every
tied maximum; comparisons have derivative 0; Python's ``max(a, b)`` on numbers picks
``a`` on a tie.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .autodiff import Context, enable_grad, no_grad, topological_sort
from .forward_mode import Dual, new_tag, primal_of, tangent_of
from .gradcheck import gradgradcheck  # re-exported under its old module
from .scalar import Scalar
from .tensor import Tensor
from .tensor_data import TensorData
from .tensor_functions import Function, GetItem

__all__ = [
    "derivative",
    "grad",
    "gradgradcheck",
    "hessian",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "value_and_grad",
    "vjp",
]

Argnums = int | Sequence[int]
_Pullback = Callable[..., list[Any]]

# ---------------------------------------------------------------------------
# Arguments and outputs
# ---------------------------------------------------------------------------


def _check_argnums(argnums: Argnums, who: str) -> tuple[tuple[int, ...], bool]:
    """``(positions, single)``: validate the type of ``argnums`` when the transform is made."""
    if isinstance(argnums, bool) or not isinstance(argnums, int | tuple | list):
        raise TypeError(f"{who}: argnums must be an int or a tuple of ints, got {argnums!r}.")
    if isinstance(argnums, int):
        return (argnums,), True
    nums = tuple(argnums)
    if not nums or any(isinstance(a, bool) or not isinstance(a, int) for a in nums):
        raise TypeError(f"{who}: argnums must be an int or a non-empty tuple of ints, got {nums}.")
    return nums, False


def _resolve(nums: tuple[int, ...], n_args: int, who: str) -> tuple[int, ...]:
    """Positions in range (negatives count from the end); a clear error otherwise."""
    out = []
    for a in nums:
        if not -n_args <= a < n_args:
            raise ValueError(
                f"{who}: argnums={a} is out of range for a call with {n_args} positional "
                f"argument(s)"
                + (f" (valid: 0..{n_args - 1})." if n_args else "; the function got none.")
            )
        out.append(a % n_args)
    return tuple(out)


def _is_number(x: Any) -> bool:
    return (isinstance(x, numbers.Real) and not isinstance(x, bool)) or isinstance(x, Dual | Scalar)


def _kind(args: Sequence[Any], idx: Sequence[int], who: str) -> str:
    """``"tensor"`` when the differentiated arguments are Tensors, ``"scalar"`` for numbers."""
    kinds = set()
    for i in idx:
        a = args[i]
        if isinstance(a, Tensor):
            kinds.add("tensor")
        elif _is_number(a):
            kinds.add("scalar")
        else:
            raise TypeError(
                f"{who}: argument {i} is a {type(a).__name__}; it can differentiate with "
                "respect to numbers (floats) or Tensors only."
            )
    if len(kinds) > 1:
        raise TypeError(
            f"{who}: the differentiated arguments mix numbers and Tensors; make them all "
            "Tensors (e.g. minitorch.tensor([x]))."
        )
    return kinds.pop()


def _items(out: Any) -> tuple[list[Any], bool]:
    """The output as a list of values and whether it was a tuple/list."""
    if isinstance(out, tuple | list):
        return list(out), True
    return [out], False


def _pack(items: Sequence[Any], is_seq: bool) -> Any:
    return tuple(items) if is_seq else items[0]


def _single(items: list[Any], is_seq: bool, who: str) -> Any:
    """The one output of a function that must return a single number."""
    if is_seq:
        raise TypeError(
            f"{who} needs a function returning one number; it returned a sequence of "
            f"{len(items)} values. Use jacobian/jacrev or vjp for several outputs."
        )
    return items[0]


# ---------------------------------------------------------------------------
# Reverse pass to chosen variables (no accumulation in leaves)
# ---------------------------------------------------------------------------


class _Root:
    """A graph node above several outputs, seeding each with its cotangent."""

    __slots__ = ("_pairs",)
    unique_id = -1

    def __init__(self, pairs: list[tuple[Any, Any]]) -> None:
        self._pairs = pairs

    def is_leaf(self) -> bool:
        return False

    def is_constant(self) -> bool:
        return False

    @property
    def parents(self) -> list[Any]:
        return [v for v, _ in self._pairs]

    def chain_rule(self, d_output: Any) -> list[tuple[Any, Any]]:
        return self._pairs

    def accumulate_derivative(self, x: Any) -> None:  # pragma: no cover - never a leaf
        raise RuntimeError("_Root is not a leaf")


def _backprop(
    roots: list[tuple[Any, Any]], targets: Sequence[Any], create_graph: bool
) -> list[Any]:
    """∂(Σ ⟨root, seed⟩)/∂target for each target (``None`` where no path reaches it).

    The engine's two loops (topological order; chain rule per node), but the derivative
    of each target is *returned* instead of accumulated, targets may be internal nodes
    (the walk stops there), only nodes on a path to a target are visited, and nothing is
    released. With ``create_graph`` the chain rule is recorded (Tensors only).
    """
    pairs = [(v, s) for v, s in roots if not v.is_constant()]
    if not pairs:
        return [None] * len(targets)
    root = _Root(pairs)
    order = topological_sort(root)
    where = {t.unique_id: k for k, t in enumerate(targets)}
    needed: set[int] = set()
    for node in reversed(order):  # parents first: keep nodes from which a target is reached
        uid = node.unique_id
        if uid in where or any(p.unique_id in needed for p in node.parents):
            needed.add(uid)
    results: list[Any] = [None] * len(targets)
    if root.unique_id not in needed:
        return results
    derivs: dict[int, Any] = {root.unique_id: 1.0}
    with enable_grad() if create_graph else no_grad():
        for node in order:
            uid = node.unique_id
            d = derivs.pop(uid, None)
            if d is None or uid not in needed:
                continue
            k = where.get(uid)
            if k is not None:
                results[k] = d
                continue
            for parent, d_parent in node.chain_rule(d):
                pid = parent.unique_id
                if pid in needed:
                    before = derivs.get(pid)
                    derivs[pid] = d_parent if before is None else before + d_parent
    return results


# ---------------------------------------------------------------------------
# Functions of numbers: reverse mode on Scalars, forward mode on Duals
# ---------------------------------------------------------------------------

_MODES: list[str] = []
"""The scalar transforms now evaluating their function, innermost last."""


class _NestedInReverse(BaseException):
    """Raised by a transform nested inside a reverse Scalar evaluation: restart forward."""


def _enter_scalar() -> bool:
    """True when this transform may run in reverse mode (it is not nested)."""
    if _MODES and _MODES[-1] == "reverse":
        raise _NestedInReverse
    return not _MODES


def _as_number(x: Any) -> Any:
    """A differentiated number: Scalars by value, ints as floats, Duals as they are."""
    if isinstance(x, Scalar):
        return x.data
    if isinstance(x, Dual):
        return x
    return float(x)


def _finish(x: Any) -> Any:
    """A result: a plain float at the top level; Duals stay Duals inside other transforms."""
    if isinstance(x, Scalar):
        return x.data
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return float(x)
    return x


def _check_number_out(items: list[Any], who: str) -> None:
    for o in items:
        if isinstance(o, Tensor):
            raise TypeError(
                f"{who}: the function returned a Tensor but the arguments being "
                "differentiated are numbers; pass Tensors to differentiate a tensor function."
            )
        if not _is_number(o):
            raise TypeError(
                f"{who}: the function must return a number (or a tuple of numbers), got "
                f"{type(o).__name__} {o!r}."
            )


def _scalar_jvp(
    fn: Callable[..., Any],
    args: Sequence[Any],
    idx: Sequence[int],
    tangents: Sequence[Any],
    who: str,
) -> tuple[list[Any], bool, list[Any]]:
    """One forward pass: ``(outputs, is_seq, output tangents)`` along ``tangents``."""
    tag = new_tag()
    call = [Dual(a, 0.0, tag) if type(a) is float else a for a in args]
    for i, t in zip(idx, tangents):
        call[i] = Dual(_as_number(args[i]), t, tag)
    _MODES.append("forward")
    try:
        out = fn(*call)
    finally:
        _MODES.pop()
    items, is_seq = _items(out)
    _check_number_out(items, who)
    prim = [_finish(primal_of(o, tag)) for o in items]
    tans = [_finish(tangent_of(o, tag)) for o in items]
    return prim, is_seq, tans


def _scalar_jacfwd(
    fn: Callable[..., Any], args: Sequence[Any], idx: Sequence[int], who: str
) -> tuple[list[Any], bool, list[list[Any]]]:
    """``(outputs, is_seq, cols)``: ``cols[k][o] = ∂out_o/∂x_idx[k]``, one pass per input."""
    prim: list[Any] = []
    is_seq = False
    cols = []
    for i in idx:
        prim, is_seq, tans = _scalar_jvp(fn, args, (i,), (1.0,), who)
        cols.append(tans)
    return prim, is_seq, cols


def _scalar_vjp(
    fn: Callable[..., Any], args: Sequence[Any], idx: Sequence[int], who: str
) -> tuple[list[Any], bool, _Pullback]:
    """``(outputs, is_seq, pullback)`` with ``pullback(cts) = [Σ_o ct_o ∂out_o/∂x_i]``.

    Reverse mode on Scalars at the top level (one backward per pullback call); forward
    mode when nested (the Jacobian's columns, one pass per input, then contracted).
    """
    if _enter_scalar() and all(not isinstance(args[i], Dual) for i in idx):
        try:
            return _scalar_vjp_reverse(fn, args, idx, who)
        except _NestedInReverse:
            pass
    prim, is_seq, cols = _scalar_jacfwd(fn, args, idx, who)

    def pullback(cts: Sequence[Any]) -> list[Any]:
        out = []
        for col in cols:
            acc: Any = 0.0
            for ct, j in zip(cts, col):
                if ct is not None and not (isinstance(j, float) and j == 0.0):
                    acc = j * ct if isinstance(acc, float) and acc == 0.0 else acc + j * ct
            out.append(_finish(acc))
        return out

    return prim, is_seq, pullback


def _scalar_vjp_reverse(
    fn: Callable[..., Any], args: Sequence[Any], idx: Sequence[int], who: str
) -> tuple[list[Any], bool, _Pullback]:
    leaves = [Scalar(_as_number(args[i])) for i in idx]
    call = [Scalar(a, None) if type(a) is float else a for a in args]
    for i, leaf in zip(idx, leaves):
        call[i] = leaf
    _MODES.append("reverse")
    try:
        out = fn(*call)
    finally:
        _MODES.pop()
    items, is_seq = _items(out)
    _check_number_out(items, who)
    for o in items:
        if isinstance(o, Dual):
            raise TypeError(f"{who}: the function returned a dual number it made itself.")

    def pullback(cts: Sequence[Any]) -> list[Any]:
        roots = [
            (o, float(ct)) for o, ct in zip(items, cts) if ct is not None and isinstance(o, Scalar)
        ]
        ds = _backprop(roots, leaves, create_graph=False)
        return [0.0 if d is None else float(d) for d in ds]

    return [_finish(o) for o in items], is_seq, pullback


# ---------------------------------------------------------------------------
# Functions of Tensors: reverse mode with create_graph, forward by double vjp
# ---------------------------------------------------------------------------


class _Identity(Function):
    """f(a) = a as a new graph node (sharing a's data);  ∂f/∂a = 1.

    A transform differentiates with respect to this node, not the caller's tensor, so
    that paths through a closed-over copy of the same tensor are kept apart.
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        return a._new(a._tensor)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        return grad


class _Stack(Function):
    """f(a₀ … a_{k-1}) = the tensors stacked on a new first dim: shape ``(k, *a.shape)``.

    ∂L/∂a_i = grad[i] (differentiable, via GetItem).
    """

    @staticmethod
    def forward(ctx: Context, *parts: Tensor) -> Tensor:
        arr = parts[0].backend.xp.stack([p._tensor._array for p in parts])
        return parts[0]._new(TensorData._from_array(arr))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, ...]:
        return tuple(GetItem.apply(grad, (i,)) for i in range(grad.shape[0]))


def _fresh(x: Tensor) -> Tensor:
    """The node a transform differentiates with respect to, standing for ``x``."""
    if x.history is None:
        return x._new(x._tensor).requires_grad_(True)  # a fresh leaf sharing the data
    return _Identity.apply(x)


def _ones(t: Tensor) -> Tensor:
    return t._new(TensorData._from_array(t.backend.xp.ones(t.shape, dtype=t.dtype)))


def _reaches_foreign(items: Sequence[Tensor], own: set[int]) -> bool:
    """True when the outputs depend on a leaf other than the transform's own inputs."""
    pairs = [(o, None) for o in items if o.history is not None]
    if not pairs:
        return False
    return any(n.is_leaf() and n.unique_id not in own for n in topological_sort(_Root(pairs)))


def _tensor_items(out: Any, like: Tensor, who: str) -> tuple[list[Tensor], bool]:
    items, is_seq = _items(out)
    res = []
    for o in items:
        if isinstance(o, Tensor):
            res.append(o)
        elif isinstance(o, numbers.Real) and not isinstance(o, bool):
            arr = like.backend.xp.array([float(o)], dtype=like.dtype)
            res.append(like._new(TensorData._from_array(arr)))
        else:
            raise TypeError(
                f"{who}: the function must return a Tensor (or a tuple of Tensors), got "
                f"{type(o).__name__}."
            )
    return res, is_seq


def _tensor_vjp(
    fn: Callable[..., Any], args: Sequence[Any], idx: Sequence[int], who: str
) -> tuple[list[Tensor], bool, _Pullback, bool]:
    """``(outputs, is_seq, pullback, recorded)`` for a function of Tensors.

    ``pullback(cts, force_graph=False)`` returns ``[Σ_o ct_oᵀ ∂out_o/∂x_i]`` (a ``None``
    cotangent skips that output). ``recorded`` is True when results must carry a graph.
    """
    proxies = [_fresh(args[i]) for i in idx]
    own = {p.unique_id for p in proxies if p.is_leaf()}
    call = list(args)
    for i, p in zip(idx, proxies):
        call[i] = p
    with enable_grad():
        out = fn(*call)
    items, is_seq = _tensor_items(out, proxies[0], who)
    recorded = _reaches_foreign(items, own)

    def pullback(cts: Sequence[Tensor | None], force_graph: bool = False) -> list[Tensor]:
        roots = [(o, ct) for o, ct in zip(items, cts) if ct is not None]
        graph = force_graph or recorded or any(ct.history is not None for _, ct in roots)
        ds = _backprop(roots, proxies, create_graph=graph)
        res = []
        for p, d in zip(proxies, ds):
            if d is None:
                res.append(p.zeros())
            elif graph:
                res.append(d)
            else:  # a plain, contiguous copy (a gradient may be a broadcast view)
                arr = p.backend.xp.array(d._tensor._array, order="C")
                res.append(p._new(TensorData._from_array(arr)))
        return res

    values = items if recorded else [o.detach() for o in items]
    return values, is_seq, pullback, recorded


def _as_cotangent(ct: Any, out: Tensor, who: str) -> Tensor:
    if isinstance(ct, numbers.Real) and not isinstance(ct, bool):
        full = out.backend.xp.full(out.shape, float(ct), dtype=out.dtype)
        return out._new(TensorData._from_array(full))
    if not isinstance(ct, Tensor):
        raise TypeError(
            f"{who}: a cotangent must be a Tensor or a number, got {type(ct).__name__}."
        )
    if ct.shape != out.shape:
        raise ValueError(
            f"{who}: the cotangent has shape {ct.shape} but the output has shape {out.shape}."
        )
    return ct


def _tensor_linearize(
    fn: Callable[..., Any], args: Sequence[Any], idx: Sequence[int], who: str
) -> tuple[list[Tensor], bool, list[Tensor], list[Tensor], bool]:
    """The double-vjp set-up: outputs, ``u`` (one leaf per output), ``g = Jᵀu`` recorded."""
    values, is_seq, pullback, recorded = _tensor_vjp(fn, args, idx, who)
    us = [v.zeros().requires_grad_(True) for v in values]
    gs = pullback(us, force_graph=True)
    return values, is_seq, us, gs, recorded


def _tensor_jvp(
    fn: Callable[..., Any],
    args: Sequence[Any],
    idx: Sequence[int],
    tangents: Sequence[Tensor],
    who: str,
) -> tuple[list[Tensor], bool, list[Tensor]]:
    """``(outputs, is_seq, J·t)``: J·t = ∂/∂u ⟨Jᵀu, t⟩ (double vjp)."""
    with enable_grad():
        values, is_seq, us, gs, recorded = _tensor_linearize(fn, args, idx, who)
        s: Tensor | None = None
        for g, t in zip(gs, tangents):
            if g.history is not None:
                term = (g * t).sum()
                s = term if s is None else s + term
    graph = recorded or any(t.history is not None for t in tangents)
    ds = [None] * len(us) if s is None else _backprop([(s, _ones(s))], us, graph)
    return values, is_seq, [u.zeros() if d is None else d for u, d in zip(us, ds)]


def _stacked(parts: list[Tensor], lead: tuple[int, ...], tail: tuple[int, ...]) -> Tensor:
    """Stack ``parts`` (each of shape ``tail``), one per index of ``lead``: ``lead + tail``."""
    return _Stack.apply(*parts).view(*(lead + tail))


def _tensor_jacrev(
    fn: Callable[..., Any], args: Sequence[Any], idx: Sequence[int], who: str
) -> tuple[list[list[Tensor]], bool]:
    """``J[o][k] = ∂out_o/∂x_k`` of shape ``out_o.shape + x_k.shape``: a pass per output element."""
    values, is_seq, pullback, _ = _tensor_vjp(fn, args, idx, who)
    jac = []
    with enable_grad():
        for o, out in enumerate(values):
            rows: list[list[Tensor]] = [[] for _ in idx]
            for e in np.ndindex(*out.shape):
                arr = out.backend.xp.zeros(out.shape, dtype=out.dtype)
                arr[e] = 1.0
                cts: list[Tensor | None] = [None] * len(values)
                cts[o] = out._new(TensorData._from_array(arr))
                for k, g in enumerate(pullback(cts)):
                    rows[k].append(g)
            jac.append([_stacked(r, out.shape, args[i].shape) for r, i in zip(rows, idx)])
    return jac, is_seq


def _tensor_jacfwd(
    fn: Callable[..., Any], args: Sequence[Any], idx: Sequence[int], who: str
) -> tuple[list[list[Tensor]], bool]:
    """``J[o][k]`` by forward mode: one pass over the recorded backward per input element."""
    with enable_grad():
        values, is_seq, us, gs, recorded = _tensor_linearize(fn, args, idx, who)
        jac: list[list[Tensor]] = [[] for _ in values]
        for g, i in zip(gs, idx):
            shape = args[i].shape
            cols: list[list[Tensor]] = [[] for _ in values]
            for e in np.ndindex(*shape):
                ds: list[Any] = [None] * len(us)
                if g.history is not None:
                    c = GetItem.apply(g, tuple(slice(j, j + 1) for j in e))
                    ds = _backprop([(c, _ones(c))], us, recorded)
                for o, (u, d) in enumerate(zip(us, ds)):
                    cols[o].append(u.zeros() if d is None else d)
            for o, out in enumerate(values):
                n_in, n_out = len(shape), len(out.shape)
                j_io = _stacked(cols[o], shape, out.shape)  # in.shape + out.shape
                order = tuple(range(n_in, n_in + n_out)) + tuple(range(n_in))
                jac[o].append(j_io.permute(*order).contiguous())
    return jac, is_seq


# ---------------------------------------------------------------------------
# The transforms
# ---------------------------------------------------------------------------


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def _wrap(inner: Callable[..., Any], fn: Callable[..., Any], what: str) -> Callable[..., Any]:
    inner.__name__ = f"{what}({_name(fn)})"
    inner.__qualname__ = inner.__name__
    inner.__doc__ = f"{what} of {_name(fn)} (a minitorch.functional transform)."
    return inner


def _value_and_grad(
    fn: Callable[..., Any], nums: tuple[int, ...], single: bool, args: Sequence[Any], who: str
) -> tuple[Any, Any]:
    idx = _resolve(nums, len(args), who)
    with enable_grad():
        if _kind(args, idx, who) == "tensor":
            values, is_seq, pullback, _ = _tensor_vjp(fn, args, idx, who)
            out = _single(values, is_seq, who)
            if out.size != 1:
                raise TypeError(
                    f"{who} needs a function returning one number; it returned a Tensor of "
                    f"shape {out.shape}. Reduce it (e.g. .sum()) or use jacobian/vjp."
                )
            grads = pullback([_ones(out)])
        else:
            prim, is_seq, pullback_s = _scalar_vjp(fn, args, idx, who)
            out = _single(prim, is_seq, who)
            grads = pullback_s([1.0])
    return out, (grads[0] if single else tuple(grads))


def grad(fn: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """``grad(f, argnums)(*args)`` = ∂f/∂args[argnums] for ``f`` returning one number.

    One reverse pass for all the arguments. An int ``argnums`` gives one gradient (a float,
    or a Tensor of that argument's shape); a tuple gives a tuple. An argument ``f`` ignores
    gets a zero gradient.
    """
    nums, single = _check_argnums(argnums, "grad")

    def grad_fn(*args: Any) -> Any:
        return _value_and_grad(fn, nums, single, args, "grad")[1]

    return _wrap(grad_fn, fn, "grad")


def value_and_grad(fn: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """``value_and_grad(f, argnums)(*args)`` = ``(f(*args), grad(f, argnums)(*args))``, one pass."""
    nums, single = _check_argnums(argnums, "value_and_grad")

    def vg_fn(*args: Any) -> tuple[Any, Any]:
        return _value_and_grad(fn, nums, single, args, "value_and_grad")

    return _wrap(vg_fn, fn, "value_and_grad")


def vjp(fn: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[[Any], tuple[Any, ...]]]:
    """``(f(*primals), vjp_fn)`` with ``vjp_fn(ct) = (ctᵀ ∂f/∂x₀, ctᵀ ∂f/∂x₁, …)``.

    The cotangent ``ct`` has the output's structure (a Tensor of the output's shape or a
    number; a tuple for a tuple output). Each ``vjp_fn`` call is one reverse pass.
    """
    who = "vjp"
    if not primals:
        raise TypeError("vjp needs at least one primal argument.")
    idx = tuple(range(len(primals)))
    with enable_grad():
        if _kind(primals, idx, who) == "tensor":
            values, is_seq, pullback, _ = _tensor_vjp(fn, primals, idx, who)

            def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
                cts = _match(cotangent, len(values), is_seq)
                with enable_grad():
                    return tuple(pullback([_as_cotangent(c, v, who) for c, v in zip(cts, values)]))

            return _pack(values, is_seq), vjp_fn
        prim, is_seq_s, pullback_s = _scalar_vjp(fn, primals, idx, who)

    def vjp_fn_s(cotangent: Any) -> tuple[Any, ...]:
        cts = _match(cotangent, len(prim), is_seq_s)
        with enable_grad():
            return tuple(pullback_s(cts))

    return _pack(prim, is_seq_s), vjp_fn_s


def _match(x: Any, n: int, is_seq: bool) -> list[Any]:
    """A cotangent/tangent structure as a list matching ``n`` outputs/inputs."""
    xs = list(x) if is_seq else [x]
    if len(xs) != n:
        raise ValueError(f"expected {n} value(s) to match the structure, got {len(xs)}.")
    return xs


def jvp(fn: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``(f(*primals), J·tangents)``: the derivative of ``f`` along the direction ``tangents``.

    ``primals`` and ``tangents`` are sequences of the same length (one tangent per
    argument, of the same shape). One forward pass: dual numbers for numbers; for Tensors
    the double-vjp construction ``J·t = ∂/∂u ⟨Jᵀu, t⟩``.
    """
    who = "jvp"
    if not isinstance(primals, tuple | list) or not isinstance(tangents, tuple | list):
        raise TypeError("jvp(f, primals, tangents): primals and tangents must be tuples/lists.")
    if len(primals) != len(tangents) or not primals:
        raise ValueError(
            f"jvp: got {len(primals)} primal(s) and {len(tangents)} tangent(s); give one "
            "tangent per primal (at least one)."
        )
    idx = tuple(range(len(primals)))
    with enable_grad():
        if _kind(primals, idx, who) == "tensor":
            ts = []
            for p, t in zip(primals, tangents):
                t = _as_cotangent(t, p, who)
                ts.append(t)
            values, is_seq, outs = _tensor_jvp(fn, primals, idx, ts, who)
            return _pack(values, is_seq), _pack(outs, is_seq)
        for t in tangents:
            if not _is_number(t):
                raise TypeError(f"jvp: a tangent must be a number, got {type(t).__name__}.")
        _enter_scalar()
        prim, is_seq_s, tans = _scalar_jvp(fn, primals, idx, [_as_number(t) for t in tangents], who)
        return _pack(prim, is_seq_s), _pack(tans, is_seq_s)


def _jac_pack(jac: list[list[Any]], is_seq: bool, single: bool) -> Any:
    """JAX's structure: the output's structure outside, the argnums' inside."""
    per_out = [row[0] if single else tuple(row) for row in jac]
    return tuple(per_out) if is_seq else per_out[0]


def _jacobian(
    fn: Callable[..., Any], nums: tuple[int, ...], single: bool, args: Sequence[Any], mode: str
) -> Any:
    who = mode
    idx = _resolve(nums, len(args), who)
    with enable_grad():
        if _kind(args, idx, who) == "tensor":
            make = _tensor_jacrev if mode == "jacrev" else _tensor_jacfwd
            jac, is_seq = make(fn, args, idx, who)
            return _jac_pack(jac, is_seq, single)
        if mode == "jacrev":
            prim, is_seq, pullback = _scalar_vjp(fn, args, idx, who)
            rows = []
            for o in range(len(prim)):
                cts: list[Any] = [None] * len(prim)
                cts[o] = 1.0
                rows.append(pullback(cts))
            return _jac_pack(rows, is_seq, single)
        _enter_scalar()
        prim, is_seq, cols = _scalar_jacfwd(fn, args, idx, who)
        rows = [[col[o] for col in cols] for o in range(len(prim))]
        return _jac_pack(rows, is_seq, single)


def jacrev(fn: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """The Jacobian by reverse mode: one backward pass per **output** element.

    For Tensors, ``J[o][k]`` has shape ``out_o.shape + x_k.shape``; for numbers it is a
    float. Structure: one entry per output (if a tuple), each one per argnum (if a tuple).
    """
    nums, single = _check_argnums(argnums, "jacrev")

    def jac_fn(*args: Any) -> Any:
        return _jacobian(fn, nums, single, args, "jacrev")

    return _wrap(jac_fn, fn, "jacrev")


jacobian = jacrev
"""``jacobian`` is ``jacrev`` (as in JAX)."""


def jacfwd(fn: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """The Jacobian by forward mode: one pass per **input** element (same layout as jacrev)."""
    nums, single = _check_argnums(argnums, "jacfwd")

    def jac_fn(*args: Any) -> Any:
        return _jacobian(fn, nums, single, args, "jacfwd")

    return _wrap(jac_fn, fn, "jacfwd")


def hessian(fn: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """∇²f = ``jacfwd(grad(f, argnums), argnums)`` for ``f`` returning one number.

    For a Tensor argument of shape S the result has shape ``S + S`` (the one-element
    output counts as a scalar); for numbers a float; a tuple ``argnums`` gives
    ``H[i][j] = ∂²f/∂x_i∂x_j`` as nested tuples.
    """
    _check_argnums(argnums, "hessian")
    return _wrap(jacfwd(grad(fn, argnums), argnums), fn, "hessian")


def derivative(fn: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """The lecture's ``derivative(fn)``: a function computing f'(x) by forward mode.

    For numbers, ``derivative(f)(x) = df/dx`` (per output if ``f`` returns a tuple),
    one dual-number pass. For a Tensor ``x`` it is the derivative along a tensor of ones,
    ``J·1``: f'(x) elementwise when ``f`` acts elementwise. ``argnums`` must be an int.
    """
    if isinstance(argnums, bool) or not isinstance(argnums, int):
        raise TypeError(f"derivative: argnums must be an int, got {argnums!r}.")

    def d_fn(*args: Any) -> Any:
        (i,) = _resolve((argnums,), len(args), "derivative")
        with enable_grad():
            if _kind(args, (i,), "derivative") == "tensor":
                _, is_seq, outs = _tensor_jvp(fn, args, (i,), [_ones(args[i])], "derivative")
                return _pack(outs, is_seq)
            _enter_scalar()
            _, is_seq_s, tans = _scalar_jvp(fn, args, (i,), (1.0,), "derivative")
            return _pack(tans, is_seq_s)

    return _wrap(d_fn, fn, "derivative")

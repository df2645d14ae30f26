"""``minitorch.compile``: trace a function of Tensors once, then replay it without a graph.

```python
@minitorch.compile
def train_step(x, y):
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return loss
```

**Trace.** The first call with a given *signature* (each Tensor argument's shape, dtype,
backend and ``requires_grad``; every other argument's value; grad mode; the ``training``
flags of the Modules the function reads) runs the function eagerly, as usual, while
``_trace.STATE.active`` is set (in that thread only: other threads compute as usual). Every
operation the function's own code performs becomes a step of a flat program over numbered
slots:

* a Function application (``Function.apply``): replayed as the NumPy kernels it ran
  (``fast_ops``' maps, zips, reductions and ``matmul``, views, ``_kernel``s), on bare
  arrays, when those explain its result from its inputs' arrays; else as
  ``cls.forward(ctx, *inputs)``;
* a node's backward in ``backward()`` (``Tensor.chain_rule``): a library Function's
  formula is recorded as the operations it applies (flat); any other, or one that reads
  an array its forward computed, is replayed as ``cls.backward(ctx, d)`` with the context
  of its forward step (which then runs ``forward`` with a fresh context). The engine's own
  sums (a variable reached along several paths) are Function applications;
* a *live* call (``_trace.live``): the gradient a leaf accumulates, optimiser steps and
  ``zero_grad``, in-place writes, random draws (``rand``, dropout masks), helpers that read
  target values: replayed by calling the same function again on that call's tensors, so it
  reads and updates the objects the user holds (``p.value``, ``p.grad``, optimiser state,
  the learning rate) as eager code would.

Tensors an operation reads that the trace did not make are bound by reference: the
parameters of the Modules and optimisers the function reads (through its closure or
globals) are read as ``p.value`` at each step; any other tensor made outside the traced
operations is a constant (its current contents are read on replay).

**Replay.** Later calls with the same signature run the program: no graph, no topological
sort, no Tensor or context objects where kernels were recorded, one Python call per
kernel. Results equal the eager ones (the same kernels run in the same order on the same
layouts). Tensors returned are constants (no
graph). The cache keeps ``cache_size`` programs (least recently used dropped).

**Refused at trace time** (``CompileError``, naming the call and the fix): reading a traced
tensor's values into Python (``item()``, ``float(t)``, ``bool(t)`` and so any ``if`` on a
tensor, ``to_numpy()``, ``np.asarray(t)``), ``retain_grad()``, ``backward(create_graph=True)``,
backward through a graph built before the call, returning a tensor whose graph has not been
backpropagated, Scalars and arguments that are neither Tensors nor hashable values.
Python side effects of the function (printing, appending to a list) happen at trace time
only, and Python numbers it reads are constants of the trace, as with ``jax.jit``: pass a
changing number as an argument (a new value traces again).
"""

from __future__ import annotations

import contextlib
import functools
import types
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from . import _trace, _versions
from .autodiff import _GRAD_MODE, grads_tuple, is_grad_enabled
from .devices import is_device_array, namespace
from .module import Module, Parameter
from .optim import Optimizer
from .tensor import Tensor, _next_id
from .tensor_data import TensorData
from .tensor_functions import _RECORDS_NOTHING, TensorContext

__all__ = ["CompileError", "Compiled", "compile"]

CompileError = _trace.CompileError

Vals = list[Any]
Step = Callable[[Vals], None]
_new_object = object.__new__


class _Live:
    """An argument read as ``p.value`` at each step (a parameter the function reads)."""

    __slots__ = ("p",)

    def __init__(self, p: Parameter) -> None:
        self.p = p


class _Const:
    """An argument bound by reference (a constant, or a tensor made outside the trace)."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v


class _Grad:
    """An argument read as ``leaf.grad`` at each step (a gradient the function reads)."""

    __slots__ = ("leaf",)

    def __init__(self, leaf: Any) -> None:
        self.leaf = leaf


Spec = int | _Live | _Const | _Grad | tuple[Any, ...]


ARRAY, TENSOR = 0, 1
"""What a slot holds on replay: a bare NumPy array (made by a replayed kernel) or a Tensor."""


class _Kinds:
    """Per slot: what it holds on replay and, for arrays, the backend to wrap them on."""

    def __init__(
        self, backends: dict[int, Any], fresh: set[int], params: dict[int, Parameter]
    ) -> None:
        self.params = params  # id(value) -> Parameter: values read live (see _Trace.call)
        self.kind: dict[int, int] = {}
        self.backends = backends
        self.fresh = fresh  # slots whose replayed array owns its memory (a kernel's result)
        self.last_read: dict[int, int] = {}  # slot -> the last record reading it
        self.index = 0  # the record being made into steps
        self.private: set[int] = set()  # kernel results only kernels read: reusable buffers
        self.meta: dict[int, tuple[Any, Any]] = {}
        self.input_arrays: dict[int, int] = {}  # input slot -> slot of its array
        self.preloaded: dict[int, int] = {}  # id(Parameter) -> slot of its value's array

    def array_slot(self, spec: Spec) -> int | None:
        """The slot holding ``spec``'s array itself on replay, if there is one."""
        if type(spec) is int:
            if self.kind.get(spec, TENSOR) == ARRAY:
                return spec
            return self.input_arrays.get(spec)
        if type(spec) is _Live:
            return self.preloaded.get(id(spec.p))
        return None

    def tensor(self, spec: Spec) -> Callable[[Vals], Any]:
        """A function of the slots giving the Tensor (or value) ``spec`` stands for."""
        if type(spec) is int:
            i = spec
            if self.kind.get(i, TENSOR) == TENSOR:
                return lambda v: v[i]
            backend = self.backends[i]
            return lambda v: Tensor(TensorData._from_array(v[i]), backend=backend)
        if type(spec) is _Live:
            p = spec.p
            return lambda v: p.value
        if type(spec) is _Const:
            c = spec.v
            owner = self.params.get(id(c))
            if owner is not None:  # a parameter's value replaced during the trace
                return self.tensor(_Live(owner))
            return lambda v: c
        if type(spec) is _Grad:
            leaf = self.tensor(spec.leaf)
            return lambda v: leaf(v)._grad
        assert type(spec) is tuple
        parts = [self.tensor(s) for s in spec[1]]
        kind = spec[0]
        return lambda v: kind(f(v) for f in parts)

    def array(self, spec: Spec) -> Callable[[Vals], Any]:
        """A function of the slots giving the array of the Tensor ``spec`` stands for."""
        if type(spec) is int:
            i = spec
            if self.kind.get(i, TENSOR) == ARRAY:
                return lambda v: v[i]
            return lambda v: v[i]._tensor._array
        if type(spec) is _Live:
            p = spec.p
            return lambda v: p.value._tensor._array
        if type(spec) is _Grad:
            leaf = self.tensor(spec.leaf)
            return lambda v: leaf(v)._grad._tensor._array
        assert type(spec) is _Const
        c = spec.v
        owner = self.params.get(id(c))
        if owner is not None:
            return self.array(_Live(owner))
        return lambda v: c._tensor._array

    def args(self, specs: tuple[Spec, ...]) -> Callable[[Vals], list[Any]]:
        """A function of the slots giving an argument list of Tensors (fast for slots)."""
        if all(type(s) is int and self.kind.get(s, TENSOR) == TENSOR for s in specs):
            idx: tuple[int, ...] = specs  # type: ignore[assignment]
            if len(idx) == 1:
                (i,) = idx
                return lambda v: [v[i]]
            if len(idx) == 2:
                i, j = idx
                return lambda v: [v[i], v[j]]
            return lambda v: [v[k] for k in idx]
        fs = [self.tensor(s) for s in specs]
        return lambda v: [f(v) for f in fs]


def _slots_in(x: Any) -> list[int]:
    """The slot numbers in a spec, or in tuples, lists, dicts and ``_Result``s of specs."""
    if type(x) is int:
        return [x]
    if type(x) is _Result:
        return _slots_in(x.spec)
    if type(x) is _Grad:
        return _slots_in(x.leaf)
    if isinstance(x, dict):
        x = tuple(x.values())
    if type(x) in (tuple, list):
        return [s for e in x for s in _slots_in(e)]
    return []


def _kernel_step(fn: Callable[..., Any], refs: list[Spec], kinds: _Kinds, out: int) -> Step:
    """``v[out] = fn(*arrays)``: one replayed array kernel (slots holding arrays are read
    directly, the rest through ``kinds.array``)."""
    found = [kinds.array_slot(r) for r in refs]
    direct = [s is not None for s in found]
    slots = [-1 if s is None else s for s in found]
    if out in kinds.private and (isinstance(fn, np.ufunc) or fn is np.matmul) and all(direct):
        shape, dtype = kinds.meta[out]
        buf = np.empty(shape, dtype)  # written in place on every replay (never escapes)
        if len(slots) == 2:
            i, j = slots

            def run2_into(v: Vals) -> None:
                v[out] = fn(v[i], v[j], out=buf)

            return run2_into
        if len(slots) == 1:
            (i,) = slots

            def run1_into(v: Vals) -> None:
                v[out] = fn(v[i], out=buf)

            return run1_into
    if len(refs) == 1 and direct[0]:
        (i,) = slots

        def run1(v: Vals) -> None:
            v[out] = fn(v[i])

        return run1
    if len(refs) == 2 and all(direct):
        i, j = slots

        def run2(v: Vals) -> None:
            v[out] = fn(v[i], v[j])

        return run2
    ins = [kinds.array(r) for r in refs]

    def run(v: Vals) -> None:
        v[out] = fn(*[f(v) for f in ins])

    return run


class _Forward:
    """A recorded Function application. Made into a step once the trace is over: the
    array kernels it ran where they explain its result and no whole backward reads its
    context; else ``forward(ctx, *tensors)``, with a fresh context per replay only where a
    whole backward reads it."""

    __slots__ = ("ctx_slot", "forward", "kernels", "needs", "out", "specs")

    def __init__(
        self,
        forward: Any,
        specs: tuple[Spec, ...],
        out: int,
        ctx_slot: int | None,
        needs: Any,
        kernels: list[tuple[Callable[..., Any], list[Spec], int]] | None,
    ) -> None:
        self.forward, self.specs, self.out, self.ctx_slot = forward, specs, out, ctx_slot
        self.needs, self.kernels = needs, kernels

    def reads(self) -> list[int]:
        return _slots_in(self.specs)

    def steps(self, kinds: _Kinds, used: set[int]) -> list[Step]:
        ctx_slot = self.ctx_slot if self.ctx_slot in used else None
        if self.kernels is not None and ctx_slot is None:
            out: list[Step] = []
            for fn, refs, slot in self.kernels:
                out.append(_kernel_step(fn, refs, kinds, slot))
                kinds.kind[slot] = ARRAY
            return out
        forward, fetch, o = self.forward, kinds.args(self.specs), self.out
        kinds.kind[o] = TENSOR
        if ctx_slot is None:

            def run_plain(v: Vals) -> None:
                v[o] = forward(_RECORDS_NOTHING, *fetch(v))

            return [run_plain]
        needs = self.needs

        def run(v: Vals) -> None:
            ctx = _new_object(TensorContext)
            ctx.saved_values = ()
            ctx.freed = False
            ctx.no_grad = False
            ctx.needs_input_grad = needs
            v[ctx_slot] = ctx
            v[o] = forward(ctx, *fetch(v))

        return [run]


class _Backward:
    """A whole recorded ``backward(ctx, d)`` (a formula the trace could not flatten)."""

    __slots__ = ("backward", "ctx_slot", "d", "node", "outs")

    def __init__(
        self, backward: Any, ctx_slot: int, node: int, d: Spec, outs: tuple[Any, ...]
    ) -> None:
        self.backward, self.ctx_slot, self.node, self.d, self.outs = (
            backward,
            ctx_slot,
            node,
            d,
            outs,
        )

    def reads(self) -> list[int]:
        return [self.ctx_slot, self.node, *_slots_in(self.d)]

    def steps(self, kinds: _Kinds, used: set[int]) -> list[Step]:
        backward, ctx_slot, outs = self.backward, self.ctx_slot, self.outs
        node, get_d = kinds.tensor(self.node), kinds.tensor(self.d)
        for _, s in outs:
            kinds.kind[s] = TENSOR

        def run(v: Vals) -> None:
            c = v[ctx_slot]
            c.output = node(v)
            try:
                g = backward(c, get_d(v))
            finally:
                c.output = None
            if type(g) is not tuple:
                g = grads_tuple(g)
            for k, s in outs:
                v[s] = g[k if k is not None else 0]

        return [run]


class _Call:
    """A recorded live call: replayed by calling the function again."""

    __slots__ = ("fn", "kw", "mode", "outs", "replaces", "specs")

    def __init__(
        self,
        fn: Callable[..., Any],
        specs: tuple[Spec, ...],
        kw: dict[str, Spec],
        mode: bool,
        outs: tuple[Any, ...],
        replaces: bool = False,
    ) -> None:
        self.fn, self.specs, self.kw, self.mode, self.outs = fn, specs, kw, mode, outs
        self.replaces = replaces  # may give a parameter a new value object (update, step)

    def reads(self) -> list[int]:
        return _slots_in((self.specs, tuple(self.kw.values())))

    def steps(self, kinds: _Kinds, used: set[int]) -> list[Step]:
        if self.replaces:
            kinds.preloaded.clear()  # from here on, parameters' arrays are read when used
        fn, mode, outs = self.fn, self.mode, self.outs
        fetch = kinds.args(self.specs)
        kw = {k: kinds.tensor(a) for k, a in self.kw.items()}
        for _, s in outs:
            kinds.kind[s] = TENSOR

        def run(v: Vals) -> None:
            previous = _GRAD_MODE.enabled
            _GRAD_MODE.enabled = mode
            try:
                res = fn(*fetch(v), **{k: f(v) for k, f in kw.items()})
            finally:
                _GRAD_MODE.enabled = previous
            for k, s in outs:
                v[s] = res if k is None else res[k]

        return [run]


class _Accumulate:
    """A leaf's ``accumulate_derivative(x)``: while the leaf has no gradient and no hooks
    are set, its gradient becomes a copy of x's array (what the method does), else the
    method is called."""

    __slots__ = ("leaf", "x")

    def __init__(self, leaf: Spec, x: Spec) -> None:
        self.leaf, self.x = leaf, x

    def reads(self) -> list[int]:
        return _slots_in((self.leaf, self.x))

    def steps(self, kinds: _Kinds, used: set[int]) -> list[Step]:
        leaf, x_arr, x = kinds.tensor(self.leaf), kinds.array(self.x), kinds.tensor(self.x)
        s = self.x
        # The gradient may be x's own array when nothing else ever reads it (as eager's
        # `_fastpath.can_take`): a kernel's fresh result that no later step reads.
        take = (
            type(s) is int
            and s in kinds.fresh
            and kinds.kind.get(s) == ARRAY
            and kinds.last_read.get(s) == kinds.index
        )

        def run(v: Vals) -> None:
            t = leaf(v)
            if t._grad is None and not _versions.on:
                a = x_arr(v)
                mine = t._tensor._array
                if a.shape == mine.shape:
                    if not (take and a.dtype == mine.dtype):
                        a = namespace(a).array(a, dtype=mine.dtype, order="C")
                    t._grad = t._new(TensorData._from_c_array(a))
                    return
            previous = _GRAD_MODE.enabled
            _GRAD_MODE.enabled = False
            try:
                t.accumulate_derivative(x(v))
            finally:
                _GRAD_MODE.enabled = previous

        return [run]


Record = _Forward | _Backward | _Call | _Accumulate


class _Trace:
    """The program being recorded while the function runs once eagerly."""

    def __init__(self, params: dict[int, Parameter]) -> None:
        self.depth = 0
        self.steps: list[Record] = []
        self.backends: dict[int, Any] = {}  # slot -> backend of the tensor it holds
        self.fresh: set[int] = set()  # slots of kernel results that own their memory
        self.fresh_arrays: dict[int, int] = {}  # id(such an array) -> its slot
        self.view_of: dict[int, int] = {}  # slot of a view kernel's result -> its owner's
        self.meta: dict[int, tuple[Any, Any]] = {}  # kernel result slot -> (shape, dtype)
        self.slot_of: dict[int, int] = {}
        self.keep: list[Any] = []  # every slotted object, alive until the trace ends (ids)
        self.params = params
        self.ctx_slot: dict[int, tuple[int, int]] = {}  # id(ctx) -> (ctx slot, output slot)
        self.roots: dict[int, int] = {}  # id(root array of a slotted tensor) -> slot
        self.data_slot: dict[int, int] = {}  # id(TensorData of a slotted tensor) -> slot
        self.constants: set[int] = set()  # ids of the number constants made while tracing
        self.constant_arrays: dict[int, Any] = {}  # id(array) -> such a constant
        self.grads: dict[int, _Grad] = {}  # id(a gradient user code read) -> where it lives
        self.flattening = 0
        self.flat_ok = True
        self.ctx_used: set[int] = set()  # ctx slots a (whole) backward step reads
        self.start_id = _next_id()

    # -- slots and specs -------------------------------------------------------------
    def new_slot(self, obj: Any) -> int:
        i = len(self.keep)
        self.keep.append(obj)
        self.slot_of[id(obj)] = i
        if isinstance(obj, Tensor):
            self.roots.setdefault(id(_versions.root(obj._tensor._array)), i)
            self.data_slot.setdefault(id(obj._tensor), i)
            self.backends[i] = obj.backend
        return i

    def spec(self, x: Any) -> Spec:
        if isinstance(x, Tensor):
            s = self.slot_of.get(id(x))
            if s is not None:
                return s
            p = self.params.get(id(x))
            if p is not None:
                return _Live(p)
            s = self.data_slot.get(id(x._tensor))
            if s is not None:  # the same data as a slot's (a detached or stand-in node)
                return s
            g = self.grads.get(id(x))
            if g is not None:
                return g
            if x.unique_id < self.start_id or id(x) in self.constants:
                return _Const(x)
            self.flat_ok = False  # a tensor made during the trace by code it did not record
            if self.flattening:
                return _Const(x)
            if id(_versions.root(x._tensor._array)) in self.roots:
                raise CompileError(
                    "minitorch.compile: a tensor was made from a traced tensor's data outside "
                    "the operations a trace records, so a replay would reuse its first values. "
                    "Use tensor operations (or report this as a bug in minitorch)."
                )
            return _Const(x)
        if type(x) in (tuple, list) and any(isinstance(e, Tensor) for e in x):
            return (type(x), tuple(self.spec(e) for e in x))
        if isinstance(x, np.ndarray) or is_device_array(x):
            self.flat_ok = False  # an array a backward formula computed: not a slot
        return _Const(x)

    def read_grad(self, leaf: Tensor, g: Tensor) -> None:
        """User code read ``leaf.grad`` (``g``): a later step taking ``g`` reads it live."""
        if id(g) not in self.slot_of and id(g._tensor) not in self.data_slot:
            self.keep.append(g)
            self.grads[id(g)] = _Grad(self.spec(leaf))

    def constant(self, t: Any) -> None:
        self.keep.append(t)
        self.constants.add(id(t))
        self.constant_arrays[id(t._tensor._array)] = t

    def is_traced(self, t: Any) -> bool:
        return (
            id(t) in self.slot_of
            or id(t._tensor) in self.data_slot
            or id(t) in self.params
            or id(t) in self.grads
            or t.history is not None
        )

    def _slot_result(self, r: Any) -> tuple[tuple[int | None, int], ...]:
        """Slots for the tensors in a live call's result: (index in a tuple or None, slot)."""
        if isinstance(r, Tensor):
            return () if self._known(r) else ((None, self.new_slot(r)),)
        if type(r) in (tuple, list):
            out = []
            for k, e in enumerate(r):
                if isinstance(e, Tensor) and not self._known(e):
                    out.append((k, self.new_slot(e)))
            return tuple(out)
        return ()

    def _forget(self, first: int) -> None:
        """Drop the slots from ``first`` on as places to find tensors (steps not kept)."""
        for i in range(first, len(self.keep)):
            obj = self.keep[i]
            if self.slot_of.get(id(obj)) == i:
                del self.slot_of[id(obj)]
            if self.ctx_slot.get(id(obj), (None,))[0] == i:
                del self.ctx_slot[id(obj)]
            if isinstance(obj, Tensor):
                for table, key in (
                    (self.data_slot, id(obj._tensor)),
                    (self.roots, id(_versions.root(obj._tensor._array))),
                ):
                    if table.get(key) == i:
                        del table[key]

    def _known(self, t: Tensor) -> bool:
        return (
            id(t) in self.slot_of
            or id(t) in self.params
            or id(t._tensor) in self.data_slot
            or id(t) in self.constants
            or t.unique_id < self.start_id
        )

    # -- what the hooks call ---------------------------------------------------------
    def apply(self, cls: Any, vals: tuple[Any, ...]) -> Tensor:
        """``cls.apply(*vals)``, run now and recorded as a forward step (with the array
        kernels it ran, where they explain its result)."""
        specs = tuple(self.spec(v) for v in vals)
        state = _trace.STATE
        previous, state.kernels = state.kernels, []
        self.depth += 1
        try:
            c = cls.apply(*vals)
        finally:
            self.depth -= 1
            kernels, state.kernels = state.kernels, previous
        out = self.new_slot(c)
        h = c.history
        ctx_slot = None
        if h is not None and h.ctx is not None:
            ctx_slot = self.new_slot(h.ctx)
            self.ctx_slot[id(h.ctx)] = (ctx_slot, out)
        needs = None if h is None or h.ctx is None else h.ctx.needs_input_grad
        lean = self._kernels(vals, specs, kernels, c, out)
        self.steps.append(_Forward(cls.forward, specs, out, ctx_slot, needs, lean))
        result: Tensor = c
        return result

    def _kernels(
        self,
        vals: tuple[Any, ...],
        specs: tuple[Spec, ...],
        kernels: list[tuple[Callable[..., Any], tuple[Any, ...], Any]] | None,
        c: Tensor,
        out: int,
    ) -> list[tuple[Callable[..., Any], list[Spec], int]] | None:
        """The kernels of one application as steps over slots, if they compute its result
        from its inputs' arrays alone (else None: the Function is replayed as a whole)."""
        if not kernels:
            return None
        where: dict[int, Spec] = {}
        for v, sp in zip(vals, specs):
            if isinstance(v, Tensor):
                where[id(v._tensor._array)] = sp
        steps: list[tuple[Callable[..., Any], list[Spec], int]] = []
        final = c._tensor._array
        for k, (fn, args, r) in enumerate(kernels):
            refs = []
            for a in args:
                ref = where.get(id(a))
                if ref is None:
                    const = self.constant_arrays.get(id(a))
                    if const is None:
                        return None  # an array the trace does not know: replay the Function
                    ref = _Const(const)
                if type(ref) is tuple:
                    return None
                refs.append(ref)
            slot = out if r is final and k == len(kernels) - 1 else self.new_slot(r)
            self.backends[slot] = c.backend
            self.meta[slot] = (r.shape, r.dtype)
            if r.base is None:
                self.fresh.add(slot)
                self.fresh_arrays[id(r)] = slot
            else:  # a view: the array it looks into must never become a gradient as is
                owner = self.fresh_arrays.get(id(_versions.root(r)))
                if owner is not None:
                    self.fresh.discard(owner)
                    self.view_of[slot] = owner
            where[id(r)] = slot
            steps.append((fn, refs, slot))
        if steps[-1][2] != out:
            return None
        for v in vals:
            if isinstance(v, Tensor):
                self.keep.append(v._tensor._array)  # the ids above stay valid
        return steps

    def backward(self, fn: Any, ctx: Any, d: Any) -> Any:
        """``fn.backward(ctx, d)`` for a node of the traced graph, run now and recorded."""
        where = self.ctx_slot.get(id(ctx))
        if where is None:
            raise CompileError(
                f"minitorch.compile cannot trace backward() through {fn.__name__}: that part "
                "of the graph was built before the compiled function was called. Compute the "
                "forward pass inside the compiled function (or pass its inputs as arguments)."
            )
        ctx_slot, node_slot = where
        d_spec = self.spec(d)
        if fn.__module__.startswith("minitorch."):
            # A library formula: record the operations it applies (flat, no context needed)
            # unless it reads something the trace did not make (then: the whole call).
            outer, self.steps = self.steps, []
            ok, self.flat_ok = self.flat_ok, True
            first = len(self.keep)
            self.flattening += 1
            try:
                grads = fn.backward(ctx, d)
                for g in grads_tuple(grads):
                    if isinstance(g, Tensor):
                        self.spec(g)  # made by a recorded operation, or a known constant?
            finally:
                self.flattening -= 1
                inner, self.steps = self.steps, outer
                flat, self.flat_ok = self.flat_ok, ok
            if flat:
                self.steps.extend(inner)
                return grads
            self._forget(first)  # the slots of the operations not kept
        else:
            self.depth += 1
            try:
                grads = fn.backward(ctx, d)
            finally:
                self.depth -= 1
        self.ctx_used.add(ctx_slot)
        outs = self._slot_result(grads_tuple(grads))
        self.steps.append(_Backward(fn.backward, ctx_slot, node_slot, d_spec, outs))
        return grads

    def accumulate(self, leaf: Tensor, x: Tensor) -> None:
        """``leaf.accumulate_derivative(x)``, run now and recorded."""
        specs = (self.spec(leaf), self.spec(x))
        self.depth += 1
        try:
            leaf.accumulate_derivative(x)
        finally:
            self.depth -= 1
        self.steps.append(_Accumulate(*specs))

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """``fn(*args, **kwargs)`` run now and recorded as a live step."""
        specs = tuple(self.spec(a) for a in args)
        kw = {k: self.spec(a) for k, a in kwargs.items()}
        mode = is_grad_enabled()
        replaces = bool(args) and (
            isinstance(args[0], Parameter)
            or (isinstance(args[0], Optimizer) and fn.__name__ != "zero_grad")
        )
        if args and isinstance(args[0], Parameter):  # Parameter.update: read it live from now
            self.params.setdefault(id(args[0].value), args[0])
            self.keep.append(args[0].value)
        self.depth += 1
        try:
            r = fn(*args, **kwargs)
        finally:
            self.depth -= 1
        self.steps.append(_Call(fn, specs, kw, mode, self._slot_result(r), replaces))
        return r


class _Program:
    """One traced signature: the steps, where the arguments go, how to build the result."""

    __slots__ = ("arrays", "inputs", "n", "params", "result", "steps")

    def __init__(
        self,
        steps: list[Step],
        n: int,
        inputs: list[int],
        result: Any,
        arrays: list[int],
        params: list[tuple[Parameter, int]],
    ) -> None:
        self.steps = steps
        self.n = n
        self.inputs = inputs
        self.result = result
        self.arrays = arrays  # per input, the slot of its array
        self.params = params  # (parameter, slot of its value's array), read at the start

    def run(self, tensors: list[Tensor]) -> Any:
        v: Vals = [None] * self.n
        for i, a, t in zip(self.inputs, self.arrays, tensors):
            v[i] = t
            v[a] = t._tensor._array
        for p, k in self.params:
            v[k] = p.value._tensor._array
        previous = _GRAD_MODE.enabled
        _GRAD_MODE.enabled = False  # what forward steps compute inside is not recorded
        try:
            for step in self.steps:
                step(v)
        finally:
            _GRAD_MODE.enabled = previous
        return self.result(v)


_BIG = 4096
"""Elements from which a slot is emptied after its last reader (small ones stay to the end:
emptying costs a step, and their memory does not matter)."""


def _dead_after(records: list[Record], kinds: _Kinds, tracer: _Trace) -> dict[int, list[int]]:
    """Record index -> the big slots nothing reads after it (results are read at the end):
    emptied there, so a replay frees its intermediates as eager code does and the allocator
    reuses their memory (holding every one to the end costs fresh pages on every call)."""
    dead: dict[int, list[int]] = {}
    for slot, last in kinds.last_read.items():
        if last >= len(records) or slot in kinds.private:
            continue
        obj = tracer.keep[slot]
        size = obj._tensor.size if isinstance(obj, Tensor) else getattr(obj, "size", 0)
        if isinstance(size, int) and size >= _BIG:
            dead.setdefault(last, []).append(slot)
    return dead


def _free(slots: list[int]) -> Step:
    """A step emptying ``slots``."""

    def free(v: Vals) -> None:
        for s in slots:
            v[s] = None

    return free


def _private(records: list[Record], tracer: _Trace, shape: Any) -> set[int]:
    """The fresh kernel results that only replayed kernels read (never a gradient, a
    Tensor handed to other code, or the result, nor any view of them): their arrays can be
    buffers written in place on every replay."""
    escapes = set(_slots_in(shape))
    for record in records:
        lean = (
            isinstance(record, _Forward)
            and record.kernels is not None
            and record.ctx_slot not in tracer.ctx_used
        )
        if not lean:
            escapes.update(record.reads())
    escapes.update(tracer.view_of[s] for s in list(escapes) if s in tracer.view_of)
    return {s for s in tracer.fresh if s not in escapes and s not in tracer.view_of}


def _result_spec(tracer: _Trace, r: Any) -> Any:
    """The function's result with each Tensor replaced by its spec (Tensors, and tuples,
    lists and dicts of them; other values are returned as traced)."""
    if isinstance(r, Tensor):
        h = r.history
        if h is not None and h.ctx is not None and not h.ctx.freed:
            raise CompileError(
                "minitorch.compile: the function returned a tensor that still carries a graph "
                "(requires_grad, not backpropagated). A replay builds no graph, so a later "
                "backward() from it could not work. Call backward() inside the compiled "
                "function, return `t.detach()`, or, for inference, compute under "
                "`with minitorch.no_grad():`."
            )
        return _Result(tracer.spec(r))
    if type(r) in (tuple, list):
        return type(r)(_result_spec(tracer, e) for e in r)
    if isinstance(r, dict):
        return {k: _result_spec(tracer, e) for k, e in r.items()}
    return r


class _Result:
    """Where a returned Tensor is found on replay."""

    __slots__ = ("spec",)

    def __init__(self, spec: Spec) -> None:
        self.spec = spec


def _result_builder(kinds: _Kinds, r: Any) -> Callable[[Vals], Any]:
    """How to rebuild the function's result from the slots."""
    if type(r) is _Result:
        return kinds.tensor(r.spec)
    if type(r) in (tuple, list):
        parts = [_result_builder(kinds, e) for e in r]
        kind = type(r)
        return lambda v: kind(f(v) for f in parts)
    if isinstance(r, dict):
        items = [(k, _result_builder(kinds, e)) for k, e in r.items()]
        return lambda v: {k: f(v) for k, f in items}
    return lambda v: r


def _captured(fn: Callable[..., Any]) -> tuple[list[Parameter], list[Module]]:
    """The Parameters and Modules ``fn`` reads: through its closure, the globals it names,
    ``self`` of a bound method, and the optimisers and containers found there."""
    seen: set[int] = set()
    objs: list[Any] = []
    f: Any = fn
    while hasattr(f, "__wrapped__"):
        f = f.__wrapped__
    if isinstance(f, types.MethodType):
        objs.append(f.__self__)
        f = f.__func__
    code = getattr(f, "__code__", None)
    if code is not None:
        for cell in f.__closure__ or ():
            with contextlib.suppress(ValueError):  # an empty cell
                objs.append(cell.cell_contents)
        names: set[str] = set()
        stack = [code]
        while stack:
            c = stack.pop()
            names.update(c.co_names)
            stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
        g = getattr(f, "__globals__", {})
        objs.extend(g[n] for n in names if n in g)
    elif isinstance(f, Module):
        objs.append(f)
    params: list[Parameter] = []
    modules: list[Module] = []

    def visit(o: Any, depth: int) -> None:
        if id(o) in seen or depth > 2:
            return
        seen.add(id(o))
        if isinstance(o, Module):
            modules.append(o)
            for m in o.modules():
                visit(m, depth)
            params.extend(o.parameters())
        elif isinstance(o, Parameter):
            params.append(o)
        elif isinstance(o, (list, tuple)):
            for e in o:
                visit(e, depth + 1)
        elif isinstance(o, dict):
            for e in o.values():
                visit(e, depth + 1)
        elif hasattr(o, "parameters") and isinstance(getattr(o, "parameters", None), list):
            for p in o.parameters:  # an optimiser
                visit(p, depth + 1)

    for o in objs:
        visit(o, 0)
    return params, modules


def _signature(args: Iterable[Any], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """The cache key of one call's arguments (see the module docstring)."""
    key: list[Any] = []
    first: dict[int, int] = {}
    for i, a in enumerate([*args, *kwargs.values()]):
        if isinstance(a, Tensor):
            key.append(
                (
                    a._tensor.shape,
                    a._tensor._array.dtype.str,
                    id(a.backend),
                    a.history is not None,
                    first.setdefault(id(a), i),  # the same tensor passed twice
                )
            )
            continue
        if type(a).__name__ == "Scalar":
            raise TypeError(
                "minitorch.compile traces Tensor code; a Scalar argument runs eagerly: call "
                "the function without compile."
            )
        if type(a) in (tuple, list) and any(isinstance(e, Tensor) for e in a):
            raise TypeError(
                "minitorch.compile: pass each Tensor as its own argument, not inside a "
                f"{type(a).__name__}."
            )
        try:
            hash(a)
        except TypeError:
            raise TypeError(
                f"minitorch.compile: an argument of type {type(a).__name__} is not hashable. "
                "Arguments are Tensors or plain (hashable) Python values, which are part of "
                "the signature a trace is kept for."
            ) from None
        key.append((type(a), a))
    key.append(tuple(kwargs))
    return tuple(key)


class Compiled:
    """A function traced once per signature and replayed (see the module docstring).

    ``cache_info()`` gives the number of traces and replays so far and the cached
    signatures; ``clear()`` empties the cache.
    """

    def __init__(self, fn: Callable[..., Any], cache_size: int = 8) -> None:
        if not callable(fn):
            raise TypeError(f"minitorch.compile expects a function, got {type(fn).__name__}.")
        if cache_size < 1:
            raise ValueError(f"minitorch.compile: cache_size must be >= 1, got {cache_size}.")
        self.fn = fn
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[Any, ...], _Program] = OrderedDict()
        self._modules: list[Module] | None = None
        self.traces = 0
        self.replays = 0
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _trace.STATE.active is not None:  # inside another trace: its steps are recorded there
            return self.fn(*args, **kwargs)
        scan = None
        if self._modules is None:  # the first call (or after clear()): it traces
            scan = _captured(self.fn)
            self._modules = scan[1]
        key = (
            _signature(args, kwargs),
            is_grad_enabled(),
            tuple([m.training for m in self._modules]),
        )
        program = self._cache.get(key)
        tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
        if program is not None:
            self._cache.move_to_end(key)
            self.replays += 1
            return program.run(tensors)
        result, program = self._trace(args, kwargs, tensors, scan)
        self._cache[key] = program
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        self.traces += 1
        return result

    def _trace(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        tensors: list[Tensor],
        scan: tuple[list[Parameter], list[Module]] | None = None,
    ) -> tuple[Any, _Program]:
        params, modules = scan if scan is not None else _captured(self.fn)
        self._modules = modules
        tracer = _Trace({id(p.value): p for p in params if isinstance(p.value, Tensor)})
        inputs = [tracer.new_slot(t) for t in tensors]
        _trace.STATE.active = tracer
        try:
            result = self.fn(*args, **kwargs)
            shape = _result_spec(tracer, result)
        finally:
            _trace.STATE.active = None
        kinds = _Kinds(tracer.backends, tracer.fresh, tracer.params)
        records = tracer.steps
        for i, record in enumerate(records):
            for slot in record.reads():
                kinds.last_read[slot] = i
        for slot in _slots_in(shape):
            kinds.last_read[slot] = len(records)
        kinds.meta = tracer.meta
        kinds.private = _private(records, tracer, shape)
        n = len(tracer.keep)
        arrays = list(range(n, n + len(inputs)))
        kinds.input_arrays = dict(zip(inputs, arrays))
        n += len(inputs)
        seen = {id(p): p for p in tracer.params.values() if isinstance(p.value, Tensor)}
        preload = [(p, n + k) for k, p in enumerate(seen.values())]
        kinds.preloaded = {id(p): k for p, k in preload}
        n += len(preload)
        dead = _dead_after(records, kinds, tracer)
        steps: list[Step] = []
        for i, record in enumerate(records):
            kinds.index = i
            steps.extend(record.steps(kinds, tracer.ctx_used))
            if i in dead:
                steps.append(_free(dead[i]))
        build = _result_builder(kinds, shape)
        return result, _Program(steps, n, inputs, build, arrays, preload)

    def cache_info(self) -> dict[str, Any]:
        """``{"traces": n, "replays": n, "cached": k}``."""
        return {"traces": self.traces, "replays": self.replays, "cached": len(self._cache)}

    def clear(self) -> None:
        """Forget every trace (the next call traces again)."""
        self._cache.clear()
        self._modules = None


def compile(fn: Callable[..., Any] | None = None, *, cache_size: int = 8) -> Any:
    """``@minitorch.compile`` or ``minitorch.compile(fn, cache_size=8)``: ``fn`` traced once
    per signature and replayed (see the module docstring)."""
    if fn is None:
        return lambda f: Compiled(f, cache_size)
    return Compiled(fn, cache_size)

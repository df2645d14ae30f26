"""Tensor (contract §6, §7, §14): one op table drives forward and backward checks.

Every op in ``OPS`` is checked, under hypothesis, with non-contiguous inputs and
broadcasting partners: gradients against central differences (``minitorch.gradcheck``),
second derivatives against central differences of the first (``minitorch.gradgradcheck``,
which differentiates the very backward formulas ordinary training runs), the NumPy
backend against the pure-Python reference backend, and, when PyTorch is installed,
forward values and gradients against PyTorch. Every tensor Function must be reached by
some row (forward or backward), so adding an op is one Function class and one row here.
Then the lectures' examples (seed 003's graph, seed 001's vectorised and batched layer)
and the contract's examples.
"""

from __future__ import annotations

import gc
import importlib.util
import math
import os
import random
import subprocess
import sys
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch
from minitorch import (
    FastBackend,
    Function,
    GraphFreedError,
    IndexingError,
    SimpleBackend,
    Tensor,
    TensorData,
)

# ---------------------------------------------------------------------------
# The op table
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One tensor operation: ``fn`` runs on minitorch tensors (and on torch, unless
    ``torch_fn`` is given); inputs are drawn from [lo, hi] (away from 0 if asked)."""

    name: str
    fn: Callable[..., Any]
    arity: int = 1
    lo: float = -2.0
    hi: float = 2.0
    min_dims: int = 1
    away_from_zero: bool = False
    torch_fn: Callable[..., Any] | None = None
    torch: bool = True  # has a PyTorch counterpart
    differentiable: bool = True  # False: piecewise constant (zero gradients)
    second: bool = True  # second derivatives checked (differentiable ops only)
    matmul: bool = False


def _shape_ops() -> list[Op]:
    """The issue-10 rows for reshaping, joining and indexing (kept together, one block)."""

    def no0d(t: Any) -> Any:  # minitorch has no 0-d tensors: PyTorch's () is our (1,)
        return t.reshape(1) if t.dim() == 0 else t

    def cat(xs: list[Any], dim: int) -> Any:
        if isinstance(xs[0], Tensor):
            return minitorch.cat(xs, dim)
        return __import__("torch").cat(xs, dim)

    def stack(xs: list[Any], dim: int) -> Any:
        if isinstance(xs[0], Tensor):
            return minitorch.stack(xs, dim)
        return __import__("torch").stack(xs, dim)

    def weighted(parts: Any) -> list[Any]:  # each piece scaled differently: grads tell them apart
        return [p * float(i + 1) for i, p in enumerate(parts)]

    def index_tensor(a: Any) -> Any:  # -1 is not 0/1, so these values are indices
        if isinstance(a, Tensor):
            return a[Tensor([-1.0, 0.0])]
        return a[__import__("torch").tensor([-1, 0])]

    return [
        Op("reshape_flat", lambda a: a.reshape(-1)),
        Op("reshape_rows", lambda a: a.reshape(a.shape[0], -1)),
        Op("squeeze", lambda a: a.squeeze(), torch_fn=lambda a: no0d(a.squeeze())),
        Op("squeeze0", lambda a: a.squeeze(0), torch_fn=lambda a: no0d(a.squeeze(0))),
        Op("unsqueeze", lambda a: a.unsqueeze(1)),
        Op("unsqueeze_neg", lambda a: a.unsqueeze(-1)),
        Op("flatten", lambda a: a.flatten()),
        Op("flatten_from1", lambda a: a.flatten(1), min_dims=2),
        Op("transpose_dims", lambda a: a.transpose(0, -1)),
        Op("T_all", lambda a: a.T, torch_fn=lambda a: a.permute(*reversed(range(a.dim())))),
        Op("mT", lambda a: a.mT, min_dims=2),
        Op("swapaxes", lambda a: a.swapaxes(-1, 0)),
        Op("movedim", lambda a: a.movedim(0, -1)),
        Op("expand_new", lambda a: a.expand(2, *a.shape)),
        Op("expand_keep", lambda a: a.expand(3, *([-1] * len(a.shape)))),
        Op("expand_ones", lambda a: a[..., :1].expand(*a.shape) * a),
        Op("expand_as", lambda a, b: a.expand_as(a + b) * b, arity=2),
        Op("repeat", lambda a: a.repeat(*([2] * len(a.shape)))),
        Op("repeat_lead", lambda a: a.repeat(2, *([1] * len(a.shape)))),
        Op("flip0", lambda a: a.flip(0)),
        Op("flip_all", lambda a: a.flip(tuple(range(len(a.shape))))),
        Op("cat", lambda a, b: cat([a + b, a * b], -1), arity=2),
        Op("cat0", lambda a: cat([a, a * 2.0, a], 0)),
        Op("stack", lambda a, b: stack([a * b, b + a], 1), arity=2),
        Op("split", lambda a: cat(weighted(a.split(2, -1)), -1)),
        Op("split_sections", lambda a: cat(weighted(a.split([1, a.shape[0] - 1])), 0)),
        Op("chunk", lambda a: cat(weighted(a.chunk(2, 0)), 0)),
        Op("unbind", lambda a: stack(weighted(a.unbind(-1)), 0), min_dims=2),
        Op("narrow", lambda a: a.narrow(-1, 0, 1)),
        Op("narrow_neg", lambda a: a.narrow(0, -1, 1)),
        Op("select", lambda a: a.select(0, -1), min_dims=2),
        Op("index_neg_row", lambda a: a[-1], min_dims=2),
        Op("index_step", lambda a: a[..., ::2]),
        Op("index_none", lambda a: a[None, ..., None]),
        Op("index_list_dup", lambda a: a[[0, 0, -1]]),
        Op("index_lists", lambda a: a[[0, -1], [0, 0]], min_dims=2),
        Op("index_slice_list", lambda a: a[:, [0, 0]], min_dims=2),
        Op("index_tensor", index_tensor),
        Op("index_mask", lambda a: a[a > 0], away_from_zero=True),
        Op("iter_rows", lambda a: stack(weighted(list(a)), 0), min_dims=2),
    ]


def _mean_all_torch(a: Any) -> Any:
    return a.mean().reshape(1)


def _log(t: Any) -> Any:
    """minitorch's log is ln(x + 1e-6); give PyTorch the same."""
    return t.log() if isinstance(t, Tensor) else (t + 1e-6).log()


def _set_last(t: Any) -> Any:
    """``t`` with its last column set to 3 · its first (out of place: ``SetItem``)."""
    if isinstance(t, Tensor):
        return minitorch.inplace.SetItem.apply(t, t[..., :1] * 3.0, (Ellipsis, slice(-1, None)))
    c = t.clone()
    c[..., -1:] = t[..., :1] * 3.0
    return c


OPS: list[Op] = [
    # elementwise, one input
    Op("neg", lambda a: -a),
    Op("inv", lambda a: minitorch.Inv.apply(a), lo=0.5, torch_fn=lambda a: 1.0 / a),
    Op("copy", lambda a: minitorch.Copy.apply(a), torch_fn=lambda a: a.clone()),
    Op("add_const", lambda a: a + 2.5),
    Op("radd_const", lambda a: 2.5 + a),
    Op("sub_const", lambda a: a - 1.5),
    Op("rsub_const", lambda a: 1.5 - a),
    Op("mul_const", lambda a: a * 3.0),
    Op("rmul_const", lambda a: 3.0 * a),
    Op("div_const", lambda a: a / 4.0),
    Op("rdiv_const", lambda a: 2.0 / a, lo=0.5),
    Op("sigmoid", lambda a: a.sigmoid()),
    Op("relu", lambda a: a.relu(), away_from_zero=True),
    Op("log", _log, lo=0.5, hi=3.0),
    Op("exp", lambda a: a.exp()),
    Op("tanh", lambda a: a.tanh()),
    Op("square", lambda a: a * a),
    Op("pow2", lambda a: a**2),
    Op("pow3", lambda a: a**3),
    Op("sqrt", lambda a: a**0.5, lo=0.5),
    # reductions (dims kept)
    Op("sum_all", lambda a: a.sum(), torch_fn=lambda a: a.sum().reshape(1)),
    Op("sum0", lambda a: a.sum(0, keepdim=True)),
    Op("sum_last", lambda a: a.sum(-1, keepdim=True)),
    Op("mean_all", lambda a: a.mean(), torch_fn=_mean_all_torch),
    Op("mean0", lambda a: a.mean(0, keepdim=True)),
    Op(
        "max_last",
        lambda a: a.max(-1),
        torch_fn=lambda a: a.max(dim=-1, keepdim=True).values,
    ),
    Op("max_all", lambda a: a.max(), torch_fn=lambda a: a.max().reshape(1)),
    # views
    Op("permute", lambda a: a.permute(*reversed(range(len(a.shape)))), min_dims=2),
    Op("view_flat", lambda a: a.contiguous().view(-1)),
    Op("slice_first", lambda a: a[..., :1] * 2.0),
    Op("index_row", lambda a: a[0, ...] * 2.0, min_dims=2),
    Op("setitem", _set_last),
    # composites
    Op("softmax", lambda a: a.exp() / a.exp().sum(-1, keepdim=True)),
    Op("sig_exp_log", lambda a: _log((a * a).sigmoid() + a.exp())),
    Op(
        "complex",
        lambda a: (
            _log((((a * 10.0 + 7.0).relu() * 6.0 + 5.0).relu() * 10.0).sigmoid() + 0.5) / 50.0
        ),
        away_from_zero=True,
        lo=-0.6,
        hi=2.0,
    ),
    # comparisons (zero gradients)
    Op("lt_const", lambda a: a < 0.5, differentiable=False),
    Op("gt_const", lambda a: a > 0.5, differentiable=False),
    Op("eq_self", lambda a: a == a, differentiable=False),
    Op("is_close_const", lambda a: a.is_close(0.5), differentiable=False, torch=False),
    Op("all", lambda a: a.all(), differentiable=False, torch=False),
    # two inputs, broadcasting
    Op("add", lambda a, b: a + b, arity=2),
    Op("sub", lambda a, b: a - b, arity=2),
    Op("mul", lambda a, b: a * b, arity=2),
    Op("div", lambda a, b: a / b, arity=2, lo=0.5),
    Op("mul_sum0", lambda a, b: (a * b).sum(0, keepdim=True), arity=2),
    Op("sig_mul_add", lambda a, b: (a * b + a).sigmoid(), arity=2),
    Op("lt", lambda a, b: a < b, arity=2, differentiable=False),
    Op("gt", lambda a, b: a > b, arity=2, differentiable=False),
    Op("eq", lambda a, b: a == b, arity=2, differentiable=False),
    Op("is_close", lambda a, b: a.is_close(b), arity=2, differentiable=False, torch=False),
    # matrix product (batch dims broadcast)
    Op("matmul", lambda a, b: a @ b, arity=2, matmul=True),
    Op("matmul_relu_sum", lambda a, b: (a @ b).relu().sum(-2, keepdim=True), arity=2, matmul=True),
    # issue 10: ops
    Op("abs", lambda a: a.abs(), away_from_zero=True),
    Op("abs_builtin", lambda a: abs(a * 2.0), away_from_zero=True),
    Op("sqrt_method", lambda a: a.sqrt(), lo=0.5),
    Op("clamp", lambda a: a.clamp(-0.5, 0.7)),
    Op("clamp_min", lambda a: a.clamp(min=0.1)),
    Op("clip_max", lambda a: a.clip(max=0.3)),
    Op("clamp_tensor", lambda a, b: a.clamp(min=b), arity=2),
    Op("where", lambda a, b: a.where(a > 0, b), arity=2, away_from_zero=True),
    Op("where_number", lambda a: a.where(a < 0, 0.5), away_from_zero=True),
    Op("masked_fill", lambda a: a.masked_fill(a > 0.5, 2.0)),
    Op("min_last", lambda a: a.min(-1), torch_fn=lambda a: a.min(dim=-1, keepdim=True).values),
    Op("min_all", lambda a: a.min(), torch_fn=lambda a: a.min().reshape(1)),
    Op(
        "max_tuple",
        lambda a: a.max((0, -1)),
        min_dims=2,
        torch_fn=lambda a: a.amax(dim=(0, -1), keepdim=True),
    ),
    Op(
        "sum_tuple",
        lambda a: a.sum((0, -1)) * 1.0,
        min_dims=2,
        torch_fn=lambda a: a.sum(dim=(0, -1), keepdim=True),
    ),
    Op(
        "sum_tuple_dropped",
        lambda a: a.sum((-1, 0), keepdim=False),
        min_dims=2,
        torch_fn=lambda a: a.sum(dim=(-1, 0)).reshape(a.shape[1:-1] or (1,)),
    ),
    Op(
        "mean_tuple",
        lambda a: a.mean((0, 1)),
        min_dims=2,
        torch_fn=lambda a: a.mean(dim=(0, 1), keepdim=True),
    ),
    Op("prod_last", lambda a: a.prod(-1), torch_fn=lambda a: a.prod(dim=-1, keepdim=True)),
    Op("prod_all", lambda a: a.prod(), torch_fn=lambda a: a.prod().reshape(1)),
    Op(
        "prod_with_zeros",
        lambda a: a.relu().prod(0),
        away_from_zero=True,
        torch_fn=lambda a: a.relu().prod(dim=0, keepdim=True),
    ),
    Op(
        "var_biased",
        lambda a: a.var(-1, unbiased=False),
        torch_fn=lambda a: a.var(dim=-1, keepdim=True, correction=0),
    ),
    Op(
        "var_sqrt",
        lambda a: (a.var(0, correction=0) + 0.1).sqrt(),
        torch_fn=lambda a: (a.var(dim=0, keepdim=True, correction=0) + 0.1).sqrt(),
    ),
    Op("pow_tensor", lambda a, b: a**b, arity=2, lo=0.5),
    Op("rpow", lambda a: 2.0**a),
    Op("le", lambda a, b: a <= b, arity=2, differentiable=False),
    Op("ge_const", lambda a: a >= 0.5, differentiable=False),
    Op("clone", lambda a: a.clone() * 2.0),
    Op("to_backend", lambda a: a.to(SimpleBackend) * 2.0, torch_fn=lambda a: a * 2.0),
    # issue 10: shapes (minitorch.shape_functions, indexing; torch_fn where the names differ)
    *_shape_ops(),
]

OPS_BY_NAME = {op.name: op for op in OPS}


def _values(rng: np.random.Generator, shape: tuple[int, ...], op: Op) -> np.ndarray:
    if op.away_from_zero:
        mag = rng.uniform(0.1, max(abs(op.lo), abs(op.hi)), size=shape)
        v = mag * rng.choice([-1.0, 1.0], size=shape)
        return np.clip(v, op.lo, op.hi)
    return rng.uniform(op.lo, op.hi, size=shape)


def _tensor(arr: np.ndarray, permuted: bool, backend: Any = FastBackend) -> Tensor:
    """A tensor holding ``arr``; when ``permuted``, stored transposed (non-contiguous)."""
    if permuted and arr.ndim > 1:
        t = Tensor(np.ascontiguousarray(arr.T), backend=backend)
        t = t.permute(*reversed(range(arr.ndim)))
        assert not t.is_contiguous() or min(arr.shape) == 1 or arr.ndim < 2
        return t
    return Tensor(arr, backend=backend)


@st.composite
def _shapes(draw: Any, op: Op) -> list[tuple[int, ...]]:
    dim = st.integers(1, 3)
    if op.matmul:
        n, m, p = draw(dim), draw(dim), draw(dim)
        a_batch = draw(st.sampled_from([(), (2,), (1,), (2, 2)]))
        b_batch = draw(st.sampled_from([(), (2,), (1,)]))
        return [(*a_batch, n, m), (*b_batch, m, p)]
    shape = tuple(draw(st.lists(dim, min_size=op.min_dims, max_size=3)))
    if op.arity == 1:
        return [shape]
    other = tuple(d if draw(st.booleans()) else 1 for d in shape)
    other = other[draw(st.integers(0, len(other) - 1)) :]
    return [other, shape] if draw(st.booleans()) else [shape, other]


@st.composite
def _case(draw: Any, op: Op) -> tuple[list[np.ndarray], list[bool]]:
    shapes = draw(_shapes(op))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    arrays = [_values(rng, s, op) for s in shapes]
    permuted = [draw(st.booleans()) for _ in shapes]
    return arrays, permuted


def _grads(op: Op, arrays: list[np.ndarray], permuted: list[bool], backend: Any) -> Any:
    xs = [_tensor(a, p, backend).requires_grad_() for a, p in zip(arrays, permuted)]
    out = op.fn(*xs)
    w = np.linspace(0.5, 1.5, out.size).reshape(out.shape)
    (out * Tensor(w, backend=backend)).sum().backward()
    return out, xs


@pytest.mark.parametrize("name", list(OPS_BY_NAME))
@given(data=st.data())
def test_op_gradients_match_central_differences(name: str, data: st.DataObject) -> None:
    op = OPS_BY_NAME[name]
    arrays, permuted = data.draw(_case(op))
    xs = [_tensor(a, p) for a, p in zip(arrays, permuted)]
    assert minitorch.gradcheck(op.fn, *xs, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", [op.name for op in OPS if op.differentiable and op.second])
@given(data=st.data())
def test_op_second_derivatives_match_central_differences(name: str, data: st.DataObject) -> None:
    op = OPS_BY_NAME[name]
    arrays, permuted = data.draw(_case(op))
    xs = [_tensor(a, p) for a, p in zip(arrays, permuted)]
    assert minitorch.gradgradcheck(op.fn, *xs, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", list(OPS_BY_NAME))
@given(data=st.data())
def test_op_fast_backend_matches_reference_backend(name: str, data: st.DataObject) -> None:
    op = OPS_BY_NAME[name]
    arrays, permuted = data.draw(_case(op))
    out_f, xs_f = _grads(op, arrays, permuted, FastBackend)
    out_s, xs_s = _grads(op, arrays, permuted, SimpleBackend)
    assert out_f.shape == out_s.shape
    np.testing.assert_allclose(out_f.to_numpy(), out_s.to_numpy(), rtol=1e-9, atol=1e-12)
    for xf, xsimple in zip(xs_f, xs_s):
        assert xf.grad is not None and xsimple.grad is not None
        assert xf.grad.shape == xf.shape
        np.testing.assert_allclose(
            xf.grad.to_numpy(), xsimple.grad.to_numpy(), rtol=1e-9, atol=1e-12
        )


@pytest.mark.parametrize("name", [op.name for op in OPS if op.torch])
@given(data=st.data())
def test_op_matches_pytorch(name: str, data: st.DataObject) -> None:
    torch = pytest.importorskip("torch")
    op = OPS_BY_NAME[name]
    arrays, permuted = data.draw(_case(op))
    out, xs = _grads(op, arrays, permuted, FastBackend)

    txs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    tout = (op.torch_fn or op.fn)(*txs)
    if tout.dtype == torch.bool:
        tout = tout.double()
    np.testing.assert_allclose(out.to_numpy(), tout.detach().numpy(), rtol=1e-7, atol=1e-9)
    if not op.differentiable:
        for x in xs:
            assert x.grad is not None and not x.grad.to_numpy().any()
        return
    w = np.linspace(0.5, 1.5, out.size).reshape(out.shape)
    (tout * torch.tensor(w)).sum().backward()
    for x, tx in zip(xs, txs):
        assert x.grad is not None
        np.testing.assert_allclose(x.grad.to_numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-9)


def _functions_in(t: Tensor, reached: set[type]) -> None:
    stack = [t]
    while stack:
        t = stack.pop()
        if t.history is not None and t.history.last_fn is not None:
            reached.add(t.history.last_fn)
            stack.extend(x for x in t.history.inputs if isinstance(x, Tensor))


def test_table_covers_every_function_class() -> None:
    """Each tensor Function is reached by some row, in its forward or its backward.

    The backward is recorded (``create_graph``), so the Functions a backward formula uses
    (``SigmoidBackward``, ``BroadcastTo`` …) count too: a new Function without a row fails.
    """
    reached: set[type] = set()
    for op in OPS:
        rng = np.random.default_rng(0)
        shapes = [(2, 3, 4), (4, 3)] if op.matmul else [(2, 3)] * op.arity
        if op.arity == 2 and not op.matmul:
            shapes = [(2, 3), (3,)]  # a broadcasting partner: its gradient is summed back
        xs = [Tensor(_values(rng, s, op), requires_grad=True) for s in shapes]
        out = op.fn(*xs)
        _functions_in(out, reached)
        (out * out).sum().backward(create_graph=True)  # gradients that depend on the inputs
        for x in xs:
            assert x.grad is not None
            _functions_in(x.grad, reached)
    tf = minitorch.tensor_functions
    wanted = {
        obj
        for obj in vars(tf).values()
        if isinstance(obj, type)
        and issubclass(obj, minitorch.Function)
        and obj.__module__ == tf.__name__
        and "forward" in vars(obj)  # not an abstract base such as _Comparison
    }
    assert len(wanted) > 25
    assert {f.__name__ for f in wanted - reached} == set()


# ---------------------------------------------------------------------------
# The lectures
# ---------------------------------------------------------------------------


def test_seed_003_graph_and_accumulation() -> None:
    a = Tensor(1.0, requires_grad=True)
    b = Tensor(2.0, requires_grad=True)
    c = a + b
    d = c + a
    d.backward()
    assert a.grad is not None and b.grad is not None
    assert a.grad.item() == 2.0 and b.grad.item() == 1.0
    assert a.shape == (1,) and a.grad.shape == (1,)
    with pytest.raises(GraphFreedError, match=r"retain_graph=True"):
        d.backward()

    a = Tensor(1.0, requires_grad=True)
    b = Tensor(2.0, requires_grad=True)
    c = a + b
    d = c + a
    d.backward()
    c = a + b
    d = c + a
    d.backward()
    assert a.grad is not None and b.grad is not None
    assert a.grad.item() == 4.0 and b.grad.item() == 2.0
    a.zero_grad()
    assert a.grad is None


def test_retain_graph_allows_a_second_backward() -> None:
    a = Tensor([1.0, 2.0], requires_grad=True)
    y = (a * a).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert a.grad is not None
    assert a.grad.to_numpy().tolist() == [4.0, 8.0]


def test_seed_001_vectorised_and_batched_layer() -> None:
    """f = [max(X W, 0) - y]² + z, batched: dW = Xᵀ dP, dX = dP Wᵀ, bias grads summed."""
    rng = np.random.default_rng(1)
    B, N, H = 4, 3, 5
    Xn = rng.normal(size=(B, N))
    Wn = rng.normal(size=(N, H))
    yn = rng.normal(size=(H,))
    zn = rng.normal(size=(H,))

    X = Tensor(Xn, requires_grad=True)
    W = Tensor(Wn, requires_grad=True)
    y = Tensor(yn, requires_grad=True)
    z = Tensor(zn, requires_grad=True)
    P = X @ W
    Q = P.relu()
    R = Q - y
    S = R**2
    T = S + z
    T.sum().backward()

    # by hand, as in the lecture
    Pn = Xn @ Wn
    Rn = np.maximum(Pn, 0) - yn
    dT = np.ones((B, H))
    dS, dz = dT, dT.sum(axis=0)
    dR = 2 * Rn * dS
    dQ, dy = dR, -dR.sum(axis=0)
    dP = (Pn > 0) * dQ
    dX, dW = dP @ Wn.T, Xn.T @ dP
    for t, expected in ((X, dX), (W, dW), (y, dy), (z, dz)):
        assert t.grad is not None and t.grad.shape == t.shape
        np.testing.assert_allclose(t.grad.to_numpy(), expected, rtol=1e-12, atol=1e-12)


def test_seed_001_linear_layer_with_bias() -> None:
    rng = np.random.default_rng(2)
    X = Tensor(rng.normal(size=(6, 3)))  # data: needs no gradient
    W = Tensor(rng.normal(size=(3, 2)), requires_grad=True)
    bias = Tensor(rng.normal(size=(2,)), requires_grad=True)
    P = X @ W + bias
    dP = rng.normal(size=(6, 2))
    P.backward(Tensor(dP))
    assert X.grad is None
    assert W.grad is not None and bias.grad is not None
    np.testing.assert_allclose(W.grad.to_numpy(), X.to_numpy().T @ dP, rtol=1e-12)
    np.testing.assert_allclose(bias.grad.to_numpy(), dP.sum(axis=0), rtol=1e-12)


# ---------------------------------------------------------------------------
# The contract's examples
# ---------------------------------------------------------------------------


def test_construction() -> None:
    assert Tensor(3.0).shape == (1,)
    assert Tensor(3).item() == 3.0
    assert Tensor([[1, 2, 3], [4, 5, 6]]).shape == (2, 3)
    arr = np.arange(6.0).reshape(2, 3)
    t = Tensor(arr)
    arr[0, 0] = 100.0
    assert t[0, 0] == 0.0  # Tensor(array) copies
    f = minitorch.from_numpy(arr)
    arr[0, 1] = -1.0
    assert f[0, 1] == -1.0  # from_numpy shares
    td = TensorData([1.0, 2.0], (2,))
    assert Tensor(td)._tensor is td
    assert minitorch.tensor([[1.0], [2.0]]).shape == (2, 1)
    with pytest.raises(ValueError, match="rectangular"):
        minitorch.tensor([[1.0, 2.0], [3.0]])
    assert Tensor([1.0]).dtype == np.float64
    assert Tensor([1.0], dtype=np.float32).dtype == np.float32
    assert Tensor([1.0]).backend is FastBackend
    assert Tensor([1.0], backend=SimpleBackend).backend is SimpleBackend
    assert minitorch.tensor([1.0], backend=SimpleBackend).f is SimpleBackend
    assert minitorch.zeros((2, 3)).to_numpy().tolist() == [[0.0] * 3] * 2
    m = Tensor.make([1.0, 2.0, 3.0, 4.0], (2, 2), backend=SimpleBackend)
    assert m.backend is SimpleBackend and m[1, 0] == 3.0


def test_rand_is_reproducible() -> None:
    random.seed(5)
    a = minitorch.rand((2, 3))
    random.seed(5)
    b = minitorch.rand((2, 3))
    assert a.to_numpy().tolist() == b.to_numpy().tolist()
    assert ((a.to_numpy() >= 0) & (a.to_numpy() < 1)).all()
    assert not a.requires_grad
    assert minitorch.rand((2,), requires_grad=True).is_leaf()


def test_constants_leaves_and_requires_grad() -> None:
    t = minitorch.tensor([1.0, 2.0])
    assert t.history is None and t.is_constant()
    assert not t.requires_grad and t.requires_grad == False  # noqa: E712
    assert t.requires_grad() is False
    t.requires_grad_(True)
    assert t.is_leaf() and t.requires_grad() is True and t.requires_grad == True  # noqa: E712
    y = t * 2
    assert y.grad_fn is minitorch.Mul and t.grad_fn is None
    with pytest.warns(UserWarning, match=r"detach\(\)\.requires_grad_\(\)"):
        y.requires_grad_(True)  # a non-leaf becomes a fresh leaf (and warns)
    assert y.is_leaf()
    t.requires_grad = False
    assert t.is_constant()
    t.requires_grad = True
    assert t.is_leaf()
    assert Tensor(1.0, requires_grad=True).is_leaf()
    c = t.detach()
    assert c.is_constant() and c._tensor is t._tensor and c.backend is t.backend
    assert not hasattr(t, "derivative")
    with pytest.raises(TypeError):
        hash(t)


def test_no_grad_makes_constants() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    with minitorch.no_grad():
        y = x * 3
    assert y.is_constant()
    z = x * 3
    assert z.history is not None and z.history.ctx is not None
    assert not z.history.ctx.no_grad


def test_backward_errors() -> None:
    with pytest.raises(RuntimeError, match="constant"):
        Tensor([1.0]).backward()
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\(2,\)"):
        (x * 2).backward()
    with pytest.raises(IndexingError, match=r"\(3,\)"):
        (x * 2).backward(Tensor([1.0, 1.0, 1.0]))
    (x * 2).backward(Tensor([1.0, 3.0]))
    assert x.grad is not None and x.grad.to_numpy().tolist() == [2.0, 6.0]


def test_broadcast_gradients_have_input_shapes() -> None:
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    (a * b).sum().backward()
    assert a.grad is not None and b.grad is not None
    assert a.grad.shape == (3,) and b.grad.shape == (2, 3)
    assert a.grad.to_numpy().tolist() == [5.0, 7.0, 9.0]
    assert b.grad.to_numpy().tolist() == [[1.0, 2.0, 3.0]] * 2
    assert a.grad.history is None


def test_expand_and_chain_rule() -> None:
    x = Tensor([[1.0], [2.0]], requires_grad=True)
    g = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.expand(g).to_numpy().tolist() == [[6.0], [15.0]]
    assert Tensor([1.0, 2.0, 3.0]).expand(g).to_numpy().tolist() == [5.0, 7.0, 9.0]
    assert x.expand(Tensor([2.0])).to_numpy().tolist() == [[2.0], [2.0]]
    y = x * Tensor([1.0, 1.0, 1.0])
    pairs = list(y.chain_rule(g))
    assert len(pairs) == 1 and pairs[0][0] is x and pairs[0][1].shape == (2, 1)


def test_higher_order_gradients() -> None:
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    g = x.grad
    assert g is not None and g.history is not None
    np.testing.assert_allclose(g.to_numpy(), [3.0, 12.0, 27.0])
    x.zero_grad()
    g.sum().backward()
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.to_numpy(), [6.0, 12.0, 18.0])

    # mixed second derivative through Mul and Sigmoid: d/db (d/da σ(a·b))
    a = Tensor([0.3], requires_grad=True)
    b = Tensor([-0.7], requires_grad=True)
    (a * b).sigmoid().backward(create_graph=True)
    ga = a.grad
    assert ga is not None
    a.zero_grad()
    b.zero_grad()
    ga.backward()
    s = 1 / (1 + math.exp(0.21))
    expected = s * (1 - s) + 0.3 * -0.7 * s * (1 - s) * (1 - 2 * s)
    assert b.grad is not None and b.grad.item() == pytest.approx(expected, rel=1e-12)

    # default backward: gradients carry no graph
    x2 = Tensor([2.0], requires_grad=True)
    (x2 * x2).backward()
    assert x2.grad is not None and x2.grad.history is None


def _graph_nodes(*roots: Tensor) -> list[weakref.ref[Tensor]]:
    """Weak references to every non-constant tensor of the roots' graphs."""
    refs, stack, seen = [], list(roots), set()
    while stack:
        t = stack.pop()
        if t.history is None or t.unique_id in seen:
            continue
        seen.add(t.unique_id)
        refs.append(weakref.ref(t))
        stack.extend(x for x in t.history.inputs if isinstance(x, Tensor))
    return refs


@pytest.mark.parametrize(
    ("retain_graph", "create_graph"), [(False, False), (True, False), (True, True)]
)
def test_graph_has_no_reference_cycles(retain_graph: bool, create_graph: bool) -> None:
    """Functions that need their output (sigmoid, tanh, exp, max) read it from the node
    being differentiated: the graph, first and second order, is freed by reference
    counting alone, also where backward never releases it (retain_graph, or a node that
    backward does not reach, like the max of a stable softmax, used detached)."""
    gc.collect()
    gc.disable()
    try:
        x = Tensor([[0.3, -1.2], [2.0, 0.5]], requires_grad=True)
        m = x.max(1)
        y = x.sigmoid() * x.tanh() + x.exp() + x.max(0) + (x * x).relu() / (x + 3.0).log()
        y = y - m.detach()
        y.sum().backward(retain_graph=retain_graph, create_graph=create_graph)
        assert x.grad is not None
        refs = _graph_nodes(y, m, x.grad)
        assert len(refs) > 10
        del m
        if create_graph:
            g = x.grad
            x.zero_grad()
            g.sum().backward()
            del g
        del x, y
        assert [r for r in refs if r() is not None] == []  # freed by reference counting
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_backward_sees_grad_mode_equal_to_create_graph() -> None:
    """Recording is decided in one place: the engine sets grad mode for the pass and
    Function.apply reads it; a backward formula never decides it."""
    seen: list[bool] = []

    class Spy(Function):
        @staticmethod
        def forward(ctx: Any, a: Tensor) -> Tensor:
            return a.f.id_map(a)

        @staticmethod
        def backward(ctx: Any, grad: Tensor) -> Tensor:
            seen.append(minitorch.is_grad_enabled())
            return grad * 1.0

    x = Tensor([1.0, 2.0], requires_grad=True)
    Spy.apply(x).sum().backward()
    Spy.apply(x).sum().backward(create_graph=True)
    assert seen == [False, True] and minitorch.is_grad_enabled()


def test_backward_reads_the_output_node_only_while_it_runs() -> None:
    x = Tensor([0.5, -0.5], requires_grad=True)
    y = x.sigmoid()
    assert y.history is not None and y.history.ctx is not None
    ctx = y.history.ctx
    assert ctx.saved_values == ()  # the output is not saved (no cycle)
    y.sum().backward(retain_graph=True)
    assert ctx.output is None  # type: ignore[attr-defined]
    s = 1 / (1 + np.exp(-np.array([0.5, -0.5])))
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.to_numpy(), s * (1 - s), rtol=1e-12)


def test_reductions_keep_dims() -> None:
    t = minitorch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert t.sum(0).shape == (1, 2) and t.sum(1).shape == (3, 1)
    assert t.sum().shape == (1,) and t.mean().shape == (1,) and t.all().shape == (1,)
    assert t.sum(dim=0).to_numpy().tolist() == [[9.0, 12.0]]
    assert t.sum()[0] == 21.0 and isinstance(t.sum()[0], float)
    assert t.mean(1).to_numpy().tolist() == [[1.5], [3.5], [5.5]]
    np.testing.assert_allclose(t.mean(0).to_numpy(), (t.sum(0) / 3).to_numpy())
    assert t.sum(0, keepdim=False).shape == (2,)
    assert t.all().item() == 1.0
    assert minitorch.tensor([1.0, 0.0, 2.0]).all().item() == 0.0
    assert minitorch.tensor([[1.0, 0.0], [2.0, 3.0]]).all(1).to_numpy().tolist() == [[0.0], [1.0]]
    assert minitorch.tensor([[1.0, 9.0], [7.0, 3.0]]).max(0).to_numpy().tolist() == [[7.0, 9.0]]


def test_max_gradient_goes_to_every_tie() -> None:
    t = Tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]], requires_grad=True)
    t.max(1).sum().backward()
    assert t.grad is not None
    assert t.grad.to_numpy().tolist() == [[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]


def test_functions_with_tensor_parameters() -> None:
    t = minitorch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert minitorch.Sum.apply(t, t._ensure_tensor(0)).to_numpy().tolist() == [[5.0, 7.0, 9.0]]
    p = minitorch.Permute.apply(t, minitorch.tensor([1, 0]))
    assert p.shape == (3, 2) and p[2, 1] == 6.0
    v = minitorch.View.apply(t, minitorch.tensor([3, 2]))
    assert v.shape == (3, 2) and v[2, 1] == 6.0
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    minitorch.Sum.apply(x, x._ensure_tensor(1)).sum().backward()
    assert x.grad is not None and x.grad.to_numpy().tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_views_share_storage() -> None:
    t = minitorch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    p = t.permute(1, 0)
    assert not p.is_contiguous()
    assert np.shares_memory(p._tensor._storage, t._tensor._storage)
    p[2, 1] = 60.0
    assert t[1, 2] == 60.0
    s = t[:, 1:]
    s[0, 0] = 20.0
    assert t[0, 1] == 20.0
    v = t.view(3, 2)
    assert v[2, 1] == 60.0 and np.shares_memory(v._tensor._storage, t._tensor._storage)
    assert t.view(-1).shape == (6,) and t.view((2, 3)).shape == (2, 3)
    with pytest.raises(IndexingError, match="contiguous"):
        p.view(6)
    assert p.contiguous().view(6).to_numpy().tolist() == [1.0, 4.0, 20.0, 5.0, 3.0, 60.0]
    assert t.contiguous() is t
    with pytest.raises(IndexingError, match=r"\(4,\)"):
        t.view(4)


def test_indexing() -> None:
    t = minitorch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t[1, 2] == 6.0 and isinstance(t[1, 2], float)
    assert minitorch.tensor([7.0, 8.0])[1] == 8.0
    for bad in [(0, -1), (2, 0), (0, 3), (0, 0, 0)]:
        with pytest.raises(IndexingError):
            t[bad]
    assert t[0].to_numpy().tolist() == [1.0, 2.0, 3.0]  # not a full index: a row (PyTorch)
    assert t[0, ...].to_numpy().tolist() == [1.0, 2.0, 3.0]
    t[0, 0] = -1.0
    assert t[0, 0] == -1.0
    t[1, :] = 0.0
    assert t.to_numpy().tolist() == [[-1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]
    assert [row.to_numpy().tolist() for row in t] == [[-1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (x[:, 1:] * 3).sum().backward()
    assert x.grad is not None and x.grad.to_numpy().tolist() == [[0.0, 3.0], [0.0, 3.0]]


def test_operators_and_comparisons() -> None:
    a = minitorch.tensor([1.0, 2.0, 3.0])
    b = minitorch.tensor([3.0, 2.0, 1.0])
    assert (a + 1).to_numpy().tolist() == [2.0, 3.0, 4.0]
    assert (1 - a).to_numpy().tolist() == [0.0, -1.0, -2.0]
    assert (6 / a).to_numpy().tolist() == [6.0, 3.0, 2.0]
    assert (a < b).to_numpy().tolist() == [1.0, 0.0, 0.0]
    assert (a > b).to_numpy().tolist() == [0.0, 0.0, 1.0]
    assert (a == b).to_numpy().tolist() == [0.0, 1.0, 0.0]
    assert (a != b).to_numpy().tolist() == [1.0, 0.0, 1.0]
    assert (-a).to_numpy().tolist() == [-1.0, -2.0, -3.0]
    assert a.is_close(a + 0.001).to_numpy().tolist() == [1.0, 1.0, 1.0]
    # mixing backends: a SimpleBackend tensor with a fast one
    s = minitorch.tensor([1.0, 1.0, 1.0], backend=SimpleBackend)
    assert (a + s).to_numpy().tolist() == [2.0, 3.0, 4.0]
    assert (s + a).backend is SimpleBackend
    with pytest.raises(IndexingError) as err:
        minitorch.rand((2, 3)) + minitorch.rand((4,))
    assert "(2, 3)" in str(err.value) and "(4,)" in str(err.value)
    with pytest.raises(IndexingError) as err:
        minitorch.rand((2, 3)) @ minitorch.rand((2, 3))
    assert "MatMul" in str(err.value) and str((2, 3)) in str(err.value)


def test_float32_kept_through_ops_and_gradients() -> None:
    x = minitorch.rand((3, 4), dtype=np.float32, requires_grad=True)
    w = minitorch.rand((4, 2), dtype=np.float32, requires_grad=True)
    y = ((x @ w).sigmoid() * 2 + 1).log().mean(0).relu().sum() / 3 - 1
    assert y.dtype == np.float32
    y.backward()
    assert x.grad is not None and w.grad is not None
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_conversions() -> None:
    t = minitorch.tensor([[1.0, 2.0], [3.0, 4.0]])
    n = t.numpy()
    assert isinstance(n, np.ndarray) and n.shape == (2, 2)
    n[0, 0] = 9.0
    assert t[0, 0] == 1.0  # a copy
    assert np.asarray(t).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert t.to_numpy().tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert minitorch.tensor([2.5]).item() == 2.5
    with pytest.raises(IndexingError):
        t.item()
    s = repr(minitorch.tensor([math.nan, math.inf, 1.0]))
    assert "nan" in s and "inf" in s and "1.00" in s
    assert "grad_fn=<Add>" in repr(Tensor([1.0], requires_grad=True) + 1)


class _Cube(Function):
    @staticmethod
    def forward(ctx: Any, a: Tensor) -> Tensor:
        ctx.save_for_backward(a)
        return a.f.mul_zip(a, a.f.mul_zip(a, a))

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (a,) = ctx.saved_values
        return grad * a * a * 3


class _TwoGrads(Function):
    @staticmethod
    def forward(ctx: Any, a: Tensor) -> Tensor:
        return a.f.id_map(a)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor]:
        return grad, grad


class _Wrong(Function):
    @staticmethod
    def forward(ctx: Any, a: Tensor) -> Tensor:
        return a.f.mul_zip(a, a)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad  # should be 2·a·grad


def test_user_functions() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    _Cube.apply(x).sum().backward()
    assert x.grad is not None and x.grad.to_numpy().tolist() == [3.0, 12.0]
    assert minitorch.gradcheck(_Cube.apply, minitorch.rand((2, 2)))
    with pytest.raises(TypeError, match="_TwoGrads"):
        _TwoGrads.apply(x).sum().backward()
    with pytest.raises(AssertionError, match=r"worst input 0.*element"):
        minitorch.gradcheck(_Wrong.apply, minitorch.tensor([1.0, 3.0]))


def test_grad_check_and_central_difference() -> None:
    a = minitorch.rand((2, 3))
    b = minitorch.rand((3,))
    minitorch.grad_check(lambda x, y: (x * y + x).sigmoid(), a, b)
    d = minitorch.grad_central_difference(lambda x: x * x, Tensor([3.0]), ind=(0,))
    assert d == pytest.approx(6.0, rel=1e-6)
    with pytest.raises(AssertionError):
        minitorch.grad_check(_Wrong.apply, minitorch.tensor([1.0, 3.0]))


def test_math_test_variable_on_tensors() -> None:
    """The course's MathTest table runs on tensors (forward and gradients)."""
    one_arg, two_arg, red_arg = minitorch.MathTestVariable._comp_testing()
    rng = np.random.default_rng(0)
    vals = rng.uniform(-3, 3, size=(2, 3))
    for name, base_fn, tensor_fn in one_arg:
        t = Tensor(vals)
        out = tensor_fn(t)
        expected = [[base_fn(float(v)) for v in row] for row in vals]
        np.testing.assert_allclose(out.to_numpy(), expected, rtol=1e-6, atol=1e-9, err_msg=name)
        minitorch.grad_check(tensor_fn, Tensor(vals))
    for name, base_fn, tensor_fn in two_arg:
        vals2 = rng.uniform(-3, 3, size=(2, 3))
        out = tensor_fn(Tensor(vals), Tensor(vals2))
        expected = [
            [base_fn(float(v), float(w)) for v, w in zip(r1, r2)] for r1, r2 in zip(vals, vals2)
        ]
        np.testing.assert_allclose(out.to_numpy(), expected, rtol=1e-6, err_msg=name)
        minitorch.grad_check(tensor_fn, Tensor(vals), Tensor(vals2))
    for name, base_fn, tensor_fn in red_arg:
        col = [float(v) for v in vals[:, 0]]
        out = tensor_fn(Tensor(vals[:, 0].copy()))
        assert out.item() == pytest.approx(base_fn(col)), name
        minitorch.grad_check(tensor_fn, Tensor(vals))


def test_sgd_trains_tensor_parameters() -> None:
    class Linear(minitorch.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = minitorch.Parameter(minitorch.rand((2, 1)))
            self.b = minitorch.Parameter(minitorch.zeros((1,)))

        def forward(self, x: Tensor) -> Tensor:
            return x @ self.w.value + self.b.value

    random.seed(0)
    model = Linear()
    X = minitorch.rand((8, 2))
    y = X @ minitorch.tensor([[2.0], [-1.0]]) + 0.5
    opt = minitorch.SGD(model.parameters(), lr=0.5)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = ((model(X) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 10


def test_the_courses_earlier_names() -> None:
    """Names the course's older project scripts and app use, kept working."""
    backend = minitorch.make_tensor_backend(minitorch.FastOps)
    assert isinstance(backend, minitorch.TensorBackend) and not backend.cuda
    with pytest.raises(ValueError, match="CudaOps"):
        minitorch.make_tensor_backend(minitorch.FastOps, is_cuda=True)
    assert minitorch.TensorFunctions is minitorch.SimpleBackend
    t = minitorch.tensor([1.0, 2.0], requires_grad=True)
    out = t * 3.0
    data = out.get_data()  # the course's run_tensor: ((out.get_data() > 0.5) == y).sum()
    assert data.history is None and data.to_numpy().tolist() == [3.0, 6.0]
    assert minitorch.is_constant(10.0) and minitorch.is_constant(minitorch.tensor([1.0]))
    assert not minitorch.is_constant(t) and not minitorch.is_constant(out)
    assert not minitorch.is_constant(minitorch.Scalar(1.0))


def test_numba_cuda_is_loaded_where_numba_is_installed(tmp_path: Path) -> None:
    """The course's run_fast_tensor and app import numba and minitorch (in either order) and
    then ask ``numba.cuda.is_available()``: the course library loads ``numba.cuda``, so do
    we where numba is installed (and never import it where it is not)."""
    fake = tmp_path / "numba"
    (fake / "cuda").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "cuda" / "__init__.py").write_text("def is_available():\n    return False\n")
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(root)])}
    for first, then in (("numba", "minitorch"), ("minitorch", "numba")):
        code = f"import {first}, {then}\nassert numba.cuda.is_available() is False\n"
        res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
    if importlib.util.find_spec("numba") is not None:
        return  # numba is installed here: the case without it cannot be shown
    alone = "import sys, minitorch\nassert 'numba' not in sys.modules\n"
    res = subprocess.run(
        [sys.executable, "-c", alone],
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr

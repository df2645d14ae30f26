"""The project's differential test against PyTorch (issue 10, deliverable 4).

One table, ``CASES``: each row names an op or layer, how minitorch computes it, how PyTorch
computes it, and what inputs it takes (a shape kind, a value range, points to keep away
from). Hypothesis draws shapes (broadcasting pairs, size-1 and empty dims), layouts
(contiguous, permuted, stepped slices, expanded with stride 0), values (negative, zero and,
where the op allows, large) and the dtype (float64 or float32, each with its tolerance).
Per row it checks the forward values, shape and dtype, and the gradients of a randomly
weighted sum of the outputs; rows marked ``second`` also check second derivatives
(``backward(create_graph=True)`` against ``torch.autograd.grad(create_graph=True)``).
Adding a row adds a case.

The contract's deliberate differences are mapped in the rows, never by loosening a
tolerance: reductions are called with ``keepdim=False`` on both sides (or PyTorch's result is
reshaped to minitorch's ``(1,)`` for full reductions, as there are no 0-d tensors);
comparisons are 1.0/0.0 floats (PyTorch's bools are compared as floats); minitorch's ``log``
is ln(x + 1e-6), so PyTorch computes ``log(x + 1e-6)``; the course's ``conv1d``/``conv2d``
pad right/bottom, so PyTorch gets an explicitly padded input; ``minitorch.argmax`` is the
one-hot mask. Creation functions default to float64 (the contract's storage) where PyTorch
defaults to float32: their values are compared, not their dtypes.

Rows for names that are not on a branch yet fail (by design, not skipped): they pass as the
other branches of issue 10 merge. Size: ``len(CASES)`` rows × ``EXAMPLES`` examples for
forward and gradients, ``len(SECOND)`` rows × ``SECOND_EXAMPLES`` for second derivatives,
plus the API tests at the bottom; ``pytest --hypothesis-show-statistics`` prints the counts.
At the time of writing: 126 rows × 12 = 1512 examples, 16 × 6 = 96 second-derivative
examples, and 68 fixed API cases (creation, conversions, in-place, hooks, optimisers, I/O).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch
from minitorch import Tensor

torch = pytest.importorskip(
    "torch",
    reason="the differential test compares with PyTorch: pip install torch (CI installs it)",
)
F = torch.nn.functional

EXAMPLES = 12
SECOND_EXAMPLES = 6

NP_DTYPES = {"float64": np.dtype(np.float64), "float32": np.dtype(np.float32)}
TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32}
TORCH_TO_NP = {torch.float64: np.dtype(np.float64), torch.float32: np.dtype(np.float32)}


@dataclass(frozen=True)
class Tol:
    """Tolerances of one dtype: ``|ours - torch| <= atol·scale + rtol·|torch|``, where scale
    is the largest input magnitude (at least 1)."""

    rtol: float
    atol: float
    grad_rtol: float
    grad_atol: float


TOLS = {
    "float64": Tol(rtol=1e-7, atol=1e-9, grad_rtol=1e-6, grad_atol=1e-8),
    "float32": Tol(rtol=2e-4, atol=2e-5, grad_rtol=5e-4, grad_atol=5e-5),
}


# ---------------------------------------------------------------------------
# Shapes and parameters: each kind draws (input shapes, keyword parameters)
# ---------------------------------------------------------------------------

Shapes = list[tuple[int, ...]]
Draw = Callable[..., Any]


def _size(case: Case) -> st.SearchStrategy[int]:
    return st.integers(0 if case.empty else 1, 3)


def _shape(draw: Draw, case: Case) -> tuple[int, ...]:
    return tuple(draw(st.lists(_size(case), min_size=case.min_dims, max_size=case.max_dims)))


def one(draw: Draw, case: Case) -> tuple[Shapes, dict[str, Any]]:
    """One input of any shape."""
    return [_shape(draw, case)], {}


def one_dim(draw: Draw, case: Case) -> tuple[Shapes, dict[str, Any]]:
    """One input and a dim (negative dims included)."""
    s = _shape(draw, case)
    return [s], {"dim": draw(st.integers(-len(s), len(s) - 1))}


def one_dims(draw: Draw, case: Case) -> tuple[Shapes, dict[str, Any]]:
    """One input and a tuple of distinct dims."""
    s = _shape(draw, case)
    dims = draw(st.lists(st.integers(0, len(s) - 1), min_size=1, max_size=len(s), unique=True))
    neg = draw(st.booleans())
    return [s], {"dims": tuple(d - len(s) if neg else d for d in dims)}


def one_two_dims(draw: Draw, case: Case) -> tuple[Shapes, dict[str, Any]]:
    """One input and two dims (for transpose/flatten), d0 <= d1."""
    s = _shape(draw, case)
    d0 = draw(st.integers(0, len(s) - 1))
    d1 = draw(st.integers(d0, len(s) - 1))
    return [s], {"d0": d0, "d1": d1}


def pair(draw: Draw, case: Case) -> tuple[Shapes, dict[str, Any]]:
    """Two inputs whose shapes broadcast (either may have fewer or size-1 dims)."""
    shape = _shape(draw, case)
    other = tuple(d if draw(st.booleans()) else 1 for d in shape)
    other = other[draw(st.integers(0, len(other))) :] or (1,)
    return ([other, shape] if draw(st.booleans()) else [shape, other]), {}


def same_pair(draw: Draw, case: Case) -> tuple[Shapes, dict[str, Any]]:
    """Two inputs of one shape, and a dim."""
    s = _shape(draw, case)
    return [s, s], {"dim": draw(st.integers(-len(s), len(s) - 1))}


def cat_pair(draw: Draw, case: Case) -> tuple[Shapes, dict[str, Any]]:
    """Two inputs equal except along ``dim``."""
    s = _shape(draw, case)
    d = draw(st.integers(0, len(s) - 1))
    s2 = (*s[:d], draw(_size(case)), *s[d + 1 :])
    return [s, s2], {"dim": d - len(s) if draw(st.booleans()) else d}


def matmul(draw: Draw, case: Case) -> tuple[Shapes, dict[str, Any]]:
    """Matrix product operands: 2-D and broadcast batches (1-D: ``matmul_1d``)."""
    n, m, p = draw(_size(case)), draw(_size(case)), draw(_size(case))
    a = draw(st.sampled_from([(n, m), (2, n, m), (1, n, m), (2, 2, n, m)]))
    b = draw(st.sampled_from([(m, p), (2, m, p), (1, m, p)]))
    return [a, b], {}


def matmul_1d(draw: Draw, case: Case) -> tuple[Shapes, dict[str, Any]]:
    """A 1-D operand on at least one side."""
    n, m = draw(_size(case)), draw(_size(case))
    return draw(
        st.sampled_from([[(m,), (m,)], [(m,), (m, n)], [(n, m), (m,)], [(2, n, m), (m,)]])
    ), {}


def rows(draw: Draw, case: Case) -> tuple[Shapes, dict[str, Any]]:
    """Logits (N, C) or (N, C, d…) and class targets, weights, an ignored class."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    extra = tuple(
        draw(
            st.lists(
                st.integers(1, 3), min_size=max(0, case.min_dims - 2), max_size=case.max_dims - 2
            )
        )
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    target = rng.integers(0, c, size=(n, *extra))
    probs = rng.random((n, c, *extra)) + 0.1
    return [(n, c, *extra)], {
        "target": target,
        "prob_target": probs / probs.sum(1, keepdims=True),
        "class_weight": rng.uniform(0.5, 2.0, size=c),
        "ignore_class": int(draw(st.integers(0, c - 1))),
        "reduction": draw(st.sampled_from(["mean", "sum", "none"])),
        "smoothing": draw(st.sampled_from([0.0, 0.1, 0.5])),
    }


def binary(draw: Draw, case: Case) -> tuple[Shapes, dict[str, Any]]:
    """Predictions and same-shape targets in [0, 1], a reduction."""
    s = _shape(draw, case)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return [s], {
        "target": rng.random(s),
        "reduction": draw(st.sampled_from(["mean", "sum", "none"])),
    }


def index_key(draw: Draw, case: Case) -> tuple[Shapes, dict[str, Any]]:
    """An input and the pieces of an index: an int in range (maybe negative), an int list."""
    s = _shape(draw, case)
    n = s[0]
    ints = st.integers(-n, n - 1) if n else st.just(0)
    return [s], {
        "i": draw(ints),
        "ids": draw(st.lists(ints, max_size=4 if n else 0)),
        "mask": np.random.default_rng(draw(st.integers(0, 2**32 - 1))).random(s) < 0.5,
        "start": draw(st.integers(0, n)),
        "step": draw(st.integers(1, 3)),
    }


def linear(draw: Draw, case: Case) -> tuple[Shapes, dict[str, Any]]:
    """x (…, in), weight (out, in), bias (out,)."""
    i, o = draw(_size(case)), draw(st.integers(1, 3))
    batch = tuple(draw(st.lists(_size(case), max_size=2)))
    return [(*batch, i), (o, i), (o,)], {}


def _conv(draw: Draw, case: Case, plain: bool) -> tuple[Shapes, dict[str, Any]]:
    nd = case.max_dims
    b, cin, cout = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dil = 1 if plain else draw(st.integers(1, 2))
    pad = 0 if plain else draw(st.integers(0, 2))
    sp = tuple(draw(st.integers(max(1, (kk - 1) * dil + 1 - 2 * pad), 6)) for kk in k)
    params = {} if plain else {"stride": draw(st.integers(1, 2)), "padding": pad, "dilation": dil}
    return [(b, cin, *sp), (cout, cin, *k), (cout,)], params


def conv(draw: Draw, case: Case) -> tuple[Shapes, dict[str, Any]]:
    """x (B, Cin, *spatial), weight (Cout, Cin, *kernel), bias (Cout,), stride/padding/dilation.

    ``case.max_dims`` is the number of spatial dims (1 or 2)."""
    return _conv(draw, case, plain=False)


def conv_plain(draw: Draw, case: Case) -> tuple[Shapes, dict[str, Any]]:
    """As ``conv``, with the layer's defaults (stride 1, no padding, no dilation)."""
    return _conv(draw, case, plain=True)


def course_conv(draw: Draw, case: Case) -> tuple[Shapes, dict[str, Any]]:
    """The course's conv: x (B, Cin, *spatial), weight (Cout, Cin, *kernel)."""
    nd = case.max_dims
    b, cin, cout = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    sp = tuple(draw(st.integers(1, 5)) for _ in range(nd))
    return [(b, cin, *sp), (cout, cin, *k)], {}


def pool(draw: Draw, case: Case) -> tuple[Shapes, dict[str, Any]]:
    """x (B, C, H, W) with H, W multiples of the kernel; stride and padding drawn."""
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = kh * draw(st.integers(1, 3)), kw * draw(st.integers(1, 3))
    return [(draw(st.integers(1, 2)), draw(st.integers(1, 2)), h, w)], {
        "kernel": (kh, kw),
        "k": min(kh, kw),
        "stride": draw(st.integers(1, 2)),
        "padding": draw(st.integers(0, min(kh, kw) // 2)),
    }


def embed(draw: Draw, case: Case) -> tuple[Shapes, dict[str, Any]]:
    """A weight table (N, D) and integer indices of any shape."""
    n, d = draw(st.integers(1, 4)), draw(_size(case))
    idx_shape = tuple(draw(st.lists(_size(case), min_size=1, max_size=2)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return [(n, d)], {"idx": rng.integers(0, n, size=idx_shape)}


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One op: ``mt(*xs, **params)`` on minitorch tensors, ``th(*xs, **params)`` on torch.

    Inputs come from ``kind`` (shapes and parameters); values from [lo, hi], kept 0.1 away
    from each point of ``kinks`` (where the op is not differentiable), all distinct when
    ``distinct`` (no ties in max/min/sort), a quarter scaled by 1e3 when ``large``.
    """

    name: str
    mt: Callable[..., Any]
    th: Callable[..., Any]
    kind: Callable[..., tuple[Shapes, dict[str, Any]]] = one
    lo: float = -3.0
    hi: float = 3.0
    kinks: tuple[float, ...] = ()
    distinct: bool = False
    large: bool = True
    empty: bool = True
    min_dims: int = 1
    max_dims: int = 3
    grad: bool = True  # False: outputs are not differentiable (comparisons, indices)
    second: bool = False  # second derivatives checked (float64)
    layouts: tuple[str, ...] = ("contiguous", "permuted", "stepped", "expanded")
    dtypes: tuple[str, ...] = ("float64", "float32")
    notes: str = field(default="", compare=False)


def _log(a: Any) -> Any:
    """minitorch's log is ln(x + 1e-6) (contract §1): PyTorch gets the same."""
    return a.log() if isinstance(a, Tensor) else (a + 1e-6).log()


def _full(t: Any) -> Any:
    """A PyTorch full reduction as minitorch's shape (1,) (no 0-d tensors)."""
    return t.reshape(1)


def _mt_ints(x: np.ndarray) -> Tensor:
    """Integer targets/indices as a minitorch tensor (integral float64 values)."""
    return Tensor(np.asarray(x, dtype=np.float64))


def _lt(x: Any) -> Any:
    """A PyTorch long/bool index tensor (minitorch index tensors hold integral floats)."""
    return torch.tensor(np.asarray(x), dtype=torch.long)


def _mt_layer(layer: Any, x: Tensor, w: Tensor, b: Tensor | None = None) -> Any:
    layer.weight.update(w)
    if b is not None:
        layer.bias.update(b)
    return layer(x)


def _eval(layer: Any) -> Any:
    layer.eval()
    return layer


def _th_layer(layer: Any, x: Any, w: Any, b: Any = None) -> Any:
    params = {"weight": w} if b is None else {"weight": w, "bias": b}
    return torch.func.functional_call(layer, params, (x,))


def _course_pad(x: Any, w: Any) -> Any:
    """The course's conv pads right/bottom with kernel − 1 zeros (contract §10)."""
    pads: list[int] = []
    for k in reversed(w.shape[2:]):
        pads += [0, k - 1]
    return F.pad(x, pads)


def _tile_torch(x: Any, kernel: tuple[int, int]) -> Any:
    b, c, h, w = x.shape
    kh, kw = kernel
    t = x.reshape(b, c, h // kh, kh, w // kw, kw).permute(0, 1, 2, 4, 3, 5)
    return t.reshape(b, c, h // kh, w // kw, kh * kw)


def _ce_kwargs(p: dict[str, Any], a: Any, weight: bool, ignore: bool) -> dict[str, Any]:
    kw: dict[str, Any] = {"reduction": p["reduction"], "label_smoothing": p["smoothing"]}
    if weight:
        kw["weight"] = _like(a, p["class_weight"])
    if ignore:
        kw["ignore_index"] = p["ignore_class"]
    return kw


def _like(a: Any, values: np.ndarray) -> Any:
    """A constant of ``a``'s framework and dtype holding ``values``."""
    if isinstance(a, Tensor):
        return Tensor(values.astype(a.dtype))
    return torch.tensor(values, dtype=a.dtype)


def _ce_mt(
    a: Tensor, weight: bool = False, ignore: bool = False, probs: bool = False, **p: Any
) -> Any:
    target = _like(a, p["prob_target"]) if probs else _mt_ints(p["target"])
    return minitorch.cross_entropy(a, target, **_ce_kwargs(p, a, weight, ignore))


def _ce_th(
    a: Any, weight: bool = False, ignore: bool = False, probs: bool = False, **p: Any
) -> Any:
    target = _like(a, p["prob_target"]) if probs else _lt(p["target"])
    out = F.cross_entropy(a, target, **_ce_kwargs(p, a, weight, ignore))
    return out if p["reduction"] == "none" else _full(out)


def _ce_row(name: str, **flags: bool) -> Case:
    return Case(
        name,
        lambda a, **p: _ce_mt(a, **flags, **p),
        lambda a, **p: _ce_th(a, **flags, **p),
        kind=rows,
        max_dims=2,
        layouts=("contiguous", "permuted"),
    )


def _mt_index(a: Tensor, what: str, **p: Any) -> Any:
    if what == "int":
        return a[p["i"]]
    if what == "ids":
        return a[p["ids"]]
    if what == "idx_tensor":
        return a[
            minitorch.tensor([float(i) for i in p["ids"]]) if p["ids"] else minitorch.zeros((0,))
        ]
    if what == "mask":
        return a[p["mask"]]
    if what == "step":
        return a[p["start"] :: p["step"]]
    return a[..., :: p["step"]]


def _th_index(a: Any, what: str, **p: Any) -> Any:
    if what == "int":
        return a[p["i"]]
    if what == "ids":
        return a[_lt(p["ids"]).reshape(-1)]
    if what == "idx_tensor":
        ids = list(p["ids"])
        if ids and len(ids) == a.shape[0] and set(ids) <= {0, 1}:
            # minitorch's documented rule (docs/pytorch.md): a float index tensor of 0/1 values
            # shaped like the indexed dims is a mask, so that t[t > 0] works
            return a[torch.tensor(ids, dtype=torch.bool)]
        return a[_lt(ids).reshape(-1)]
    if what == "mask":
        return a[torch.from_numpy(p["mask"])]
    if what == "step":
        return a[p["start"] :: p["step"]]
    return a[..., :: p["step"]]


def _index_row(what: str, min_dims: int = 1, nonempty: bool = True) -> Case:
    return Case(
        f"index_{what}",
        lambda a, **p: _mt_index(a, what, **p),
        lambda a, **p: _th_index(a, what, **p),
        kind=index_key,
        min_dims=min_dims,
        empty=not nonempty,
    )


def _reverse_dims(a: Any) -> Any:
    return a.permute(*reversed(range(a.dim())))


POS = {"lo": 0.1, "hi": 3.0, "large": False}  # positive domain (sqrt, log, pow bases)
SMOOTH = {"large": False}  # exp and friends: no large values (overflow)

CASES: list[Case] = [
    # -- elementwise, one input ------------------------------------------------------
    Case("neg", lambda a: -a, lambda a: -a, second=True),
    Case("abs_method", lambda a: a.abs(), lambda a: a.abs(), kinks=(0.0,)),
    Case("abs_builtin", lambda a: abs(a), lambda a: abs(a), kinks=(0.0,)),
    Case("sqrt", lambda a: a.sqrt(), lambda a: a.sqrt(), **POS, second=True),
    Case("exp", lambda a: a.exp(), lambda a: a.exp(), **SMOOTH, second=True),
    Case("log", _log, _log, **POS, second=True),
    Case("sigmoid", lambda a: a.sigmoid(), lambda a: a.sigmoid(), second=True),
    Case("tanh", lambda a: a.tanh(), lambda a: a.tanh(), second=True),
    Case("relu", lambda a: a.relu(), lambda a: a.relu(), kinks=(0.0,)),
    Case(
        "clamp",
        lambda a: a.clamp(-0.5, 0.5),
        lambda a: a.clamp(-0.5, 0.5),
        kinks=(-0.5, 0.5),
    ),
    Case("clamp_min", lambda a: a.clamp(min=0.25), lambda a: a.clamp(min=0.25), kinks=(0.25,)),
    Case("pow_int", lambda a: a**3, lambda a: a**3, second=True),
    Case("pow_half", lambda a: a**0.5, lambda a: a**0.5, **POS),
    Case("rpow", lambda a: 2.0**a, lambda a: 2.0**a, **SMOOTH, second=True),
    Case("rdiv", lambda a: 1.0 / a, lambda a: 1.0 / a, kinks=(0.0,), large=False, second=True),
    Case("clone", lambda a: a.clone(), lambda a: a.clone()),
    Case("float", lambda a: a.float(), lambda a: a.float()),
    Case("double", lambda a: a.double(), lambda a: a.double()),
    Case("contiguous", lambda a: a.contiguous(), lambda a: a.contiguous()),
    Case(
        "numpy_scalar_left",
        lambda a: np.float64(2.0) * a,
        lambda a: np.float64(2.0) * a,
    ),
    Case(
        "numpy_array_left",
        lambda a: np.array([1.5]) * a,
        lambda a: torch.tensor([1.5], dtype=a.dtype) * a,
    ),
    # -- elementwise, two inputs (broadcasting) --------------------------------------
    Case("add", lambda a, b: a + b, lambda a, b: a + b, kind=pair),
    Case("sub", lambda a, b: a - b, lambda a, b: a - b, kind=pair),
    Case("mul", lambda a, b: a * b, lambda a, b: a * b, kind=pair, second=True),
    Case(
        "div",
        lambda a, b: a / b,
        lambda a, b: a / b,
        kind=pair,
        kinks=(0.0,),
        large=False,
        second=True,
    ),
    Case("pow_tensor", lambda a, b: a**b, lambda a, b: a**b, kind=pair, **POS, second=True),
    Case("lt", lambda a, b: a < b, lambda a, b: a < b, kind=pair, grad=False),
    Case("gt", lambda a, b: a > b, lambda a, b: a > b, kind=pair, grad=False),
    Case("le", lambda a, b: a <= b, lambda a, b: a <= b, kind=pair, grad=False),
    Case("ge", lambda a, b: a >= b, lambda a, b: a >= b, kind=pair, grad=False),
    Case("eq", lambda a, b: a == b, lambda a, b: a == b, kind=pair, grad=False),
    Case("ne", lambda a, b: a != b, lambda a, b: a != b, kind=pair, grad=False),
    Case("le_numpy", lambda a: a <= np.float64(0.5), lambda a: a <= 0.5, grad=False),
    Case(
        "where",
        lambda a, b: minitorch.where(a > 0, a, b),
        lambda a, b: torch.where(a > 0, a, b),
        kind=pair,
        kinks=(0.0,),
    ),
    Case(
        "masked_fill",
        lambda a: a.masked_fill(a > 0, -1.0),
        lambda a: a.masked_fill(a > 0, -1.0),
        kinks=(0.0,),
    ),
    # -- reductions (keepdim=False on both sides; full reductions as shape (1,)) ------------
    Case("sum_all", lambda a: a.sum(), lambda a: _full(a.sum())),
    Case(
        "sum_dim", lambda a, dim: a.sum(dim, keepdim=False), lambda a, dim: a.sum(dim), kind=one_dim
    ),
    Case(
        "sum_keepdim",
        lambda a, dim: a.sum(dim=dim),
        lambda a, dim: a.sum(dim=dim, keepdim=True),
        kind=one_dim,
    ),
    Case(
        "sum_dims",
        lambda a, dims: a.sum(dims, keepdim=False),
        lambda a, dims: a.sum(dims),
        kind=one_dims,
    ),
    Case("mean_all", lambda a: a.mean(), lambda a: _full(a.mean()), empty=False),
    Case(
        "mean_dim",
        lambda a, dim: a.mean(dim, keepdim=False),
        lambda a, dim: a.mean(dim),
        kind=one_dim,
        empty=False,
    ),
    Case(
        "max_dim",
        lambda a, dim: a.max(dim, keepdim=False),
        lambda a, dim: a.max(dim).values,
        kind=one_dim,
        distinct=True,
        empty=False,
    ),
    Case("max_all", lambda a: a.max(), lambda a: _full(a.max()), distinct=True, empty=False),
    Case(
        "min_dim",
        lambda a, dim: a.min(dim, keepdim=False),
        lambda a, dim: a.min(dim).values,
        kind=one_dim,
        distinct=True,
        empty=False,
    ),
    Case("min_all", lambda a: a.min(), lambda a: _full(a.min()), distinct=True, empty=False),
    Case(
        "prod_dim",
        lambda a, dim: a.prod(dim, keepdim=False),
        lambda a, dim: a.prod(dim),
        kind=one_dim,
        kinks=(0.0,),
        large=False,
    ),
    Case("prod_all", lambda a: a.prod(), lambda a: _full(a.prod()), kinks=(0.0,), large=False),
    Case(
        "var_dim",
        lambda a, dim: a.var(dim, keepdim=False),
        lambda a, dim: a.var(dim),
        kind=one_dim,
        empty=False,
        distinct=True,
    ),
    Case(
        "std_dim",
        lambda a, dim: a.std(dim, keepdim=False),
        lambda a, dim: a.std(dim),
        kind=one_dim,
        empty=False,
        distinct=True,
    ),
    Case("var_all", lambda a: a.var(), lambda a: _full(a.var()), empty=False, distinct=True),
    Case("std_all", lambda a: a.std(), lambda a: _full(a.std()), empty=False, distinct=True),
    Case(
        "argmax_dim",
        lambda a, dim: a.argmax(dim, keepdim=False),
        lambda a, dim: a.argmax(dim),
        kind=one_dim,
        distinct=True,
        empty=False,
        grad=False,
    ),
    Case(
        "argmin_dim",
        lambda a, dim: a.argmin(dim, keepdim=False),
        lambda a, dim: a.argmin(dim),
        kind=one_dim,
        distinct=True,
        empty=False,
        grad=False,
    ),
    Case(
        "argmax_all",
        lambda a: a.argmax(),
        lambda a: _full(a.argmax()),
        distinct=True,
        empty=False,
        grad=False,
    ),
    Case(
        "all",
        lambda a: a.all(),
        lambda a: _full(a.all()),
        grad=False,
    ),
    # -- shapes and views -------------------------------------------------------------
    Case("permute", lambda a: a.permute(*reversed(range(a.dims))), _reverse_dims),
    Case("view", lambda a: a.contiguous().view(-1), lambda a: a.contiguous().view(-1)),
    Case("reshape_flat", lambda a: a.reshape(-1), lambda a: a.reshape(-1)),
    Case(
        "reshape_split",
        lambda a: a.reshape(a.shape[0], -1),
        lambda a: a.reshape(a.shape[0], -1),
        empty=False,
    ),
    Case("reshape_tuple", lambda a: a.reshape((1, *a.shape)), lambda a: a.reshape((1, *a.shape))),
    Case("squeeze", lambda a: a.squeeze(), lambda a: a.squeeze(), min_dims=2),
    Case("squeeze_dim", lambda a, dim: a.squeeze(dim), lambda a, dim: a.squeeze(dim), kind=one_dim),
    Case(
        "unsqueeze",
        lambda a, dim: a.unsqueeze(dim),
        lambda a, dim: a.unsqueeze(dim),
        kind=one_dim,
    ),
    Case("unsqueeze_end", lambda a: a.unsqueeze(-1), lambda a: a.unsqueeze(-1)),
    Case("flatten", lambda a: a.flatten(), lambda a: a.flatten()),
    Case(
        "flatten_range",
        lambda a, d0, d1: a.flatten(d0, d1),
        lambda a, d0, d1: a.flatten(d0, d1),
        kind=one_two_dims,
    ),
    Case(
        "transpose",
        lambda a, d0, d1: a.transpose(d0, d1),
        lambda a, d0, d1: a.transpose(d0, d1),
        kind=one_two_dims,
    ),
    Case("transpose_neg", lambda a: a.transpose(-1, 0), lambda a: a.transpose(-1, 0)),
    Case("T_2d", lambda a: a.T, lambda a: a.T, min_dims=2, max_dims=2),
    # PyTorch's .T reverses every dim (deprecated beyond 2-D; same as permute(n-1, ..., 0)).
    Case("T_3d", lambda a: a.T, _reverse_dims, min_dims=3, max_dims=3),
    Case(
        "expand_sizes",
        lambda a: a.unsqueeze(0).expand(2, *a.shape),
        lambda a: a.unsqueeze(0).expand(2, *a.shape),
    ),
    Case(
        "expand_minus_one",
        lambda a: a.unsqueeze(0).expand(3, *([-1] * len(a.shape))),
        lambda a: a.unsqueeze(0).expand(3, *([-1] * len(a.shape))),
    ),
    Case(
        "cat",
        lambda a, b, dim: minitorch.cat([a, b], dim),
        lambda a, b, dim: torch.cat([a, b], dim),
        kind=cat_pair,
    ),
    Case(
        "cat_kw",
        lambda a, b, dim: minitorch.cat((a, b), dim=dim),
        lambda a, b, dim: torch.cat((a, b), dim=dim),
        kind=cat_pair,
    ),
    Case(
        "stack",
        lambda a, b, dim: minitorch.stack([a, b], dim),
        lambda a, b, dim: torch.stack([a, b], dim),
        kind=same_pair,
    ),
    Case(
        "split",
        lambda a, dim: a.split(2, dim),
        lambda a, dim: a.split(2, dim),
        kind=one_dim,
    ),
    Case(
        "split_sizes",
        lambda a: a.split([1, a.shape[0] - 1]),
        lambda a: a.split([1, a.shape[0] - 1]),
        empty=False,
    ),
    Case(
        "chunk",
        lambda a, dim: a.chunk(2, dim),
        lambda a, dim: a.chunk(2, dim),
        kind=one_dim,
        empty=False,
    ),
    # -- indexing (gradients scatter back) ------------------------------------------------
    _index_row("int", min_dims=2),
    _index_row("ids"),
    _index_row("idx_tensor"),
    _index_row("mask", nonempty=False),
    _index_row("step", nonempty=False),
    _index_row("step_last", nonempty=False),
    Case("index_slice", lambda a: a[..., :1] * 2.0, lambda a: a[..., :1] * 2.0),
    Case("index_neg_partial", lambda a: a[-1, ...], lambda a: a[-1, ...], empty=False, min_dims=2),
    # -- matrix products ----------------------------------------------------------------------
    Case("matmul", lambda a, b: a @ b, lambda a, b: a @ b, kind=matmul, second=True),
    Case(
        "matmul_1d",
        lambda a, b: a @ b,
        lambda a, b: (a @ b).reshape(1) if a.dim() == b.dim() == 1 else a @ b,
        kind=matmul_1d,
        second=True,
    ),
    Case(
        "matmul_fn",
        lambda a, b: minitorch.matmul(a, b),
        lambda a, b: torch.matmul(a, b),
        kind=matmul,
    ),
    # -- nn functions (course forms mapped; PyTorch keywords) ---------------------------------
    Case(
        "softmax",
        lambda a, dim: minitorch.softmax(a, dim),
        lambda a, dim: a.softmax(dim),
        kind=one_dim,
        second=True,
    ),
    Case(
        "logsoftmax",
        lambda a, dim: minitorch.logsoftmax(a, dim=dim),
        lambda a, dim: a.log_softmax(dim=dim),
        kind=one_dim,
    ),
    Case(
        "nn_max",
        lambda a, dim: minitorch.max(a, dim),
        lambda a, dim: a.amax(dim, keepdim=True),
        kind=one_dim,
        distinct=True,
        empty=False,
    ),
    Case(
        "nn_argmax_mask",
        lambda a, dim: minitorch.argmax(a, dim),
        lambda a, dim: (a == a.amax(dim, keepdim=True)).to(a.dtype),
        kind=one_dim,
        distinct=True,
        empty=False,
        grad=False,
    ),
    Case(
        "course_conv1d",
        lambda x, w: minitorch.conv1d(x, w),
        lambda x, w: F.conv1d(_course_pad(x, w), w),
        kind=course_conv,
        max_dims=1,
    ),
    Case(
        "course_conv2d",
        lambda x, w: minitorch.conv2d(x, w),
        lambda x, w: F.conv2d(_course_pad(x, w), w),
        kind=course_conv,
        max_dims=2,
    ),
    Case(
        "course_avgpool2d",
        lambda x, kernel, **_: minitorch.avgpool2d(x, kernel),
        lambda x, kernel, **_: F.avg_pool2d(x, kernel),
        kind=pool,
    ),
    Case(
        "course_maxpool2d",
        lambda x, kernel, **_: minitorch.maxpool2d(x, kernel),
        lambda x, kernel, **_: F.max_pool2d(x, kernel),
        kind=pool,
        distinct=True,
    ),
    Case(
        "tile",
        lambda x, kernel, **_: minitorch.tile(x, kernel)[0],
        lambda x, kernel, **_: _tile_torch(x, kernel),
        kind=pool,
    ),
    Case("dropout_rate0", lambda a: minitorch.dropout(a, 0.0), lambda a: F.dropout(a, 0.0)),
    Case("dropout_ignore", lambda a: minitorch.dropout(a, 0.7, ignore=True), lambda a: a * 1.0),
    Case("dropout_rate1", lambda a: minitorch.dropout(a, 1.0), lambda a: F.dropout(a, 1.0)),
    _ce_row("cross_entropy"),
    _ce_row("cross_entropy_weight", weight=True),
    _ce_row("cross_entropy_ignore_index", ignore=True),
    _ce_row("cross_entropy_probs", probs=True),
    Case(
        "cross_entropy_nd",
        lambda a, **p: _ce_mt(a, **p),
        lambda a, **p: _ce_th(a, **p),
        kind=rows,
        min_dims=3,
        max_dims=4,
        layouts=("contiguous", "permuted"),
    ),
    Case(
        "nll_loss",
        lambda a, **p: minitorch.nll_loss(a, _mt_ints(p["target"]), reduction=p["reduction"]),
        lambda a, **p: (lambda o: o if p["reduction"] == "none" else _full(o))(
            F.nll_loss(a, _lt(p["target"]), reduction=p["reduction"])
        ),
        kind=rows,
        max_dims=2,
    ),
    Case(
        "mse_loss",
        lambda a, **p: minitorch.mse_loss(a, _like(a, p["target"]), reduction=p["reduction"]),
        lambda a, **p: (lambda o: o if p["reduction"] == "none" else _full(o))(
            F.mse_loss(a, _like(a, p["target"]), reduction=p["reduction"])
        ),
        kind=binary,
        empty=False,
    ),
    Case(
        "binary_cross_entropy",
        lambda a, **p: minitorch.binary_cross_entropy(
            a.sigmoid(), _like(a, p["target"]), reduction=p["reduction"]
        ),
        lambda a, **p: (lambda o: o if p["reduction"] == "none" else _full(o))(
            F.binary_cross_entropy(a.sigmoid(), _like(a, p["target"]), reduction=p["reduction"])
        ),
        kind=binary,
        empty=False,
        large=False,
    ),
    Case(
        "binary_cross_entropy_with_logits",
        lambda a, **p: minitorch.binary_cross_entropy_with_logits(
            a, _like(a, p["target"]), reduction=p["reduction"]
        ),
        lambda a, **p: (lambda o: o if p["reduction"] == "none" else _full(o))(
            F.binary_cross_entropy_with_logits(a, _like(a, p["target"]), reduction=p["reduction"])
        ),
        kind=binary,
        empty=False,
    ),
    Case(
        "embedding_fn",
        lambda w, idx: minitorch.nn.embedding(_mt_ints(idx), w),
        lambda w, idx: F.embedding(_lt(idx), w),
        kind=embed,
    ),
    # -- layers (parameters are inputs, so their gradients are checked too) ----------------
    Case(
        "Linear",
        lambda x, w, b: _mt_layer(minitorch.Linear(w.shape[1], w.shape[0]), x, w, b),
        lambda x, w, b: _th_layer(torch.nn.Linear(w.shape[1], w.shape[0]), x, w, b),
        kind=linear,
        second=True,
    ),
    Case(
        "Conv1d",
        lambda x, w, b, **p: _mt_layer(
            minitorch.Conv1d(w.shape[1], w.shape[0], w.shape[2], **p), x, w, b
        ),
        lambda x, w, b, **p: _th_layer(
            torch.nn.Conv1d(w.shape[1], w.shape[0], w.shape[2], **p), x, w, b
        ),
        kind=conv,
        max_dims=1,
    ),
    Case(
        "Conv2d",
        lambda x, w, b, **p: _mt_layer(
            minitorch.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:]), **p), x, w, b
        ),
        lambda x, w, b, **p: _th_layer(
            torch.nn.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:]), **p), x, w, b
        ),
        kind=conv,
        max_dims=2,
    ),
    Case(
        "Conv2d_default",
        lambda x, w, b: _mt_layer(
            minitorch.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:])), x, w, b
        ),
        lambda x, w, b: _th_layer(
            torch.nn.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:])), x, w, b
        ),
        kind=conv_plain,
        max_dims=2,
    ),
    Case(
        "MaxPool2d_int",
        lambda x, k, **_: minitorch.MaxPool2d(k)(x),
        lambda x, k, **_: torch.nn.MaxPool2d(k)(x),
        kind=pool,
        distinct=True,
    ),
    Case(
        "MaxPool2d_stride_padding",
        lambda x, k, stride, padding, **_: minitorch.MaxPool2d(k, stride=stride, padding=padding)(
            x
        ),
        lambda x, k, stride, padding, **_: torch.nn.MaxPool2d(k, stride=stride, padding=padding)(x),
        kind=pool,
        distinct=True,
    ),
    Case(
        "AvgPool2d_int",
        lambda x, k, **_: minitorch.AvgPool2d(k)(x),
        lambda x, k, **_: torch.nn.AvgPool2d(k)(x),
        kind=pool,
    ),
    Case(
        "AvgPool2d_stride_padding",
        lambda x, k, stride, padding, **_: minitorch.AvgPool2d(k, stride=stride, padding=padding)(
            x
        ),
        lambda x, k, stride, padding, **_: torch.nn.AvgPool2d(k, stride=stride, padding=padding)(x),
        kind=pool,
    ),
    Case(
        "ReLU_layer",
        lambda a: minitorch.layers.ReLU()(a),
        lambda a: torch.nn.ReLU()(a),
        kinks=(0.0,),
    ),
    Case("Sigmoid_layer", lambda a: minitorch.layers.Sigmoid()(a), lambda a: torch.nn.Sigmoid()(a)),
    Case("Tanh_layer", lambda a: minitorch.layers.Tanh()(a), lambda a: torch.nn.Tanh()(a)),
    Case(
        "Flatten_layer",
        lambda a: minitorch.Flatten()(a),
        lambda a: torch.nn.Flatten()(a),
        min_dims=2,
    ),
    Case(
        "Dropout_eval",
        lambda a: _eval(minitorch.Dropout(0.5))(a),
        lambda a: torch.nn.Dropout(0.5).eval()(a),
    ),
    Case(
        "Embedding_layer",
        lambda w, idx: _mt_layer(minitorch.Embedding(*w.shape), _mt_ints(idx), w),
        lambda w, idx: _th_layer(torch.nn.Embedding(*w.shape), _lt(idx), w),
        kind=embed,
    ),
    Case(
        "Sequential",
        lambda x, w, b: minitorch.Sequential(minitorch.Flatten(0, -1), minitorch.layers.Tanh())(
            _mt_layer(minitorch.Linear(w.shape[1], w.shape[0]), x, w, b)
        ),
        lambda x, w, b: torch.nn.Sequential(torch.nn.Flatten(0, -1), torch.nn.Tanh())(
            _th_layer(torch.nn.Linear(w.shape[1], w.shape[0]), x, w, b)
        ),
        kind=linear,
    ),
]

CASES_BY_NAME = {c.name: c for c in CASES}
assert len(CASES_BY_NAME) == len(CASES), "case names must be unique"
SECOND = [c.name for c in CASES if c.second]


# ---------------------------------------------------------------------------
# The harness
# ---------------------------------------------------------------------------


def _values(rng: np.random.Generator, shape: tuple[int, ...], case: Case) -> np.ndarray:
    """Values in [lo, hi]: some exact zeros and, when allowed, some scaled to ±1e3."""
    size = math.prod(shape)
    if case.distinct:
        v = np.linspace(case.lo, case.hi, max(size, 1))[:size] + rng.uniform(0, 1e-3, size)
        v = rng.permutation(v)
    else:
        v = rng.uniform(case.lo, case.hi, size)
        if case.lo <= 0.0 <= case.hi and 0.0 not in case.kinks:
            v[rng.random(size) < 0.1] = 0.0
    for k in case.kinks:
        near = np.abs(v - k) < 0.1
        v[near] = k + np.where(v[near] >= k, 0.1, -0.1)
    if case.large and not case.distinct:
        v[rng.random(size) < 0.25] *= 1e3
    return v.reshape(shape)


def _minitorch_input(arr: np.ndarray, layout: str, dtype: str, grad: bool) -> Tensor:
    """``arr`` as a minitorch leaf with the given memory layout.

    permuted: stored transposed and permuted back; stepped: every other element of a
    wider buffer (``[..., ::2]``); expanded: the first row broadcast with stride 0 along
    dim 0 (the caller made the rows equal). The view is made from a constant, then
    ``requires_grad_()`` turns it into a leaf that keeps the layout.
    """
    dt = NP_DTYPES[dtype]
    if layout == "permuted" and arr.ndim > 1:
        t = Tensor(np.ascontiguousarray(arr.T).astype(dt)).permute(*reversed(range(arr.ndim)))
    elif layout == "stepped" and arr.ndim > 0:
        wide = np.zeros((*arr.shape[:-1], 2 * arr.shape[-1]), dtype=dt)
        wide[..., ::2] = arr
        t = Tensor(wide)[..., ::2]
    elif layout == "expanded" and arr.ndim > 0 and arr.shape[0] > 1:
        t = minitorch.BroadcastTo.apply(Tensor(arr[:1].astype(dt)), arr.shape)
    else:
        t = Tensor(arr.astype(dt))
    assert t.shape == arr.shape and t.dtype == dt, (layout, t.shape, t.dtype)
    return t.requires_grad_(True) if grad else t


def _no_0d(t: Any) -> Any:
    """A 0-d PyTorch result as shape (1,): minitorch has no 0-d tensors (contract §14)."""
    return t.reshape(1) if isinstance(t, torch.Tensor) and t.dim() == 0 else t


def _outputs(out: Any) -> list[Any]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _torch_np(t: Any) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        t = t.detach()
        if not t.is_floating_point():
            t = t.double()
        return t.numpy()
    return np.asarray(t, dtype=np.float64)


def _compare(what: str, ours: Any, theirs: Any, rtol: float, atol: float, dtype: Any) -> None:
    """``ours`` (minitorch) equals ``theirs`` (torch): type, shape, dtype and values."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, Tensor), (
            f"{what}: minitorch returned a {type(ours).__name__}, PyTorch a tensor"
        )
        if theirs.is_floating_point():
            assert ours.dtype == TORCH_TO_NP[theirs.dtype], (
                f"{what}: dtype {ours.dtype}, PyTorch {theirs.dtype} (dtype not preserved)"
            )
        o = ours.to_numpy().astype(np.float64)
    else:
        o = np.asarray(ours, dtype=np.float64)
    t = _torch_np(theirs).astype(np.float64)
    assert o.shape == t.shape, f"{what}: shape {o.shape}, PyTorch {t.shape}"
    np.testing.assert_allclose(o, t, rtol=rtol, atol=atol, err_msg=what)


def _weights(outs: list[Any], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.0, 1.0, size=tuple(_torch_np(o).shape)) for o in outs]


def _draw_case(
    data: st.DataObject, case: Case
) -> tuple[list[np.ndarray], list[str], dict[str, Any], str]:
    shapes, params = case.kind(data.draw, case)
    dtype = data.draw(st.sampled_from(case.dtypes))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    arrays = [_values(rng, s, case) for s in shapes]
    layouts = []
    for i, a in enumerate(arrays):
        layout = data.draw(st.sampled_from(case.layouts))
        if layout == "expanded":
            if case.distinct or a.ndim == 0 or a.shape[0] < 2:
                layout = "contiguous"
            else:
                arrays[i] = np.broadcast_to(a[:1], a.shape).copy()
        layouts.append(layout)
    return arrays, layouts, params, dtype


def _run(
    case: Case, arrays: list[np.ndarray], layouts: list[str], params: dict[str, Any], dtype: str
):  # type: ignore[no-untyped-def]
    xs = [_minitorch_input(a, lay, dtype, case.grad) for a, lay in zip(arrays, layouts)]
    txs = [torch.tensor(a, dtype=TORCH_DTYPES[dtype], requires_grad=case.grad) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tout = [_no_0d(t) for t in _outputs(case.th(*txs, **params))]
    out = _outputs(case.mt(*xs, **params))
    return xs, txs, out, tout


@pytest.mark.parametrize("name", list(CASES_BY_NAME))
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_matches_pytorch(name: str, data: st.DataObject) -> None:
    """Forward values, shapes, dtypes and gradients of a weighted sum equal PyTorch's."""
    case = CASES_BY_NAME[name]
    arrays, layouts, params, dtype = _draw_case(data, case)
    tol = TOLS[dtype]
    scale = max([1.0, *(float(np.abs(a).max()) for a in arrays if a.size)])
    xs, txs, out, tout = _run(case, arrays, layouts, params, dtype)
    assert len(out) == len(tout), f"{name}: {len(out)} outputs, PyTorch {len(tout)}"
    for i, (o, t) in enumerate(zip(out, tout)):
        _compare(f"{name} output {i}", o, t, tol.rtol, tol.atol * scale, dtype)
    if not case.grad:
        return
    ws = _weights(tout, seed=len(name))
    tloss = sum((t * torch.tensor(w, dtype=t.dtype)).sum() for t, w in zip(tout, ws))
    loss = sum((o * Tensor(w, dtype=o.dtype)).sum() for o, w in zip(out, ws))
    assert isinstance(loss, Tensor) and isinstance(tloss, torch.Tensor)
    if not tloss.requires_grad:
        return
    tloss.backward()
    loss.backward()
    for i, (x, tx) in enumerate(zip(xs, txs)):
        expected = tx.grad if tx.grad is not None else torch.zeros_like(tx)
        assert x.grad is not None, f"{name}: input {i} got no gradient (PyTorch: {expected})"
        _compare(f"{name} grad {i}", x.grad, expected, tol.grad_rtol, tol.grad_atol * scale, dtype)


def _second_torch(
    case: Case, txs: list[Any], params: dict[str, Any], ws: list[np.ndarray], vs: list[np.ndarray]
) -> list[Any]:
    tout = [_no_0d(t) for t in _outputs(case.th(*txs, **params))]
    loss = sum((t * torch.tensor(w)).sum() for t, w in zip(tout, ws))
    gs = torch.autograd.grad(loss, txs, create_graph=True, allow_unused=True)
    s = sum(
        (g * torch.tensor(v)).sum() for g, v in zip(gs, vs) if g is not None and g.requires_grad
    )
    if not isinstance(s, torch.Tensor):
        return [torch.zeros_like(x) for x in txs]
    hs = torch.autograd.grad(s, txs, allow_unused=True)
    return [torch.zeros_like(x) if h is None else h for x, h in zip(txs, hs)]


@pytest.mark.parametrize("name", SECOND)
@settings(max_examples=SECOND_EXAMPLES)
@given(data=st.data())
def test_second_derivatives_match_pytorch(name: str, data: st.DataObject) -> None:
    """∂/∂x of ⟨v, ∂L/∂x⟩ (L a weighted sum of the outputs) equals PyTorch's (float64)."""
    case = CASES_BY_NAME[name]
    arrays, layouts, params, _ = _draw_case(data, case)
    xs = [_minitorch_input(a, lay, "float64", True) for a, lay in zip(arrays, layouts)]
    txs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = _outputs(case.mt(*xs, **params))
    ws = _weights(out, seed=1)
    vs = _weights(xs, seed=2)
    expected = _second_torch(case, txs, params, ws, vs)

    loss = sum((o * Tensor(w)).sum() for o, w in zip(out, ws))
    loss.backward(create_graph=True)
    gs = [x.grad for x in xs]
    for x in xs:
        x.grad = None
    s = sum((g * Tensor(v)).sum() for g, v in zip(gs, vs) if g is not None and g.requires_grad())
    if isinstance(s, Tensor):
        s.backward()
    scale = max([1.0, *(float(np.abs(a).max()) for a in arrays if a.size)])
    for i, (x, h) in enumerate(zip(xs, expected)):
        got = x.grad if x.grad is not None else x.zeros()
        _compare(f"{name} second derivative {i}", got, h, 1e-6, 1e-8 * scale, "float64")


# ---------------------------------------------------------------------------
# API checks that are not one op on drawn inputs
# ---------------------------------------------------------------------------

_A = [[1.5, -2.0, 0.0], [4.0, 0.5, -1.0]]

# name → (minitorch expression, PyTorch expression) on the 2×3 tensor _A
API: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "numel": (lambda t: t.numel(), lambda t: t.numel()),
    "dim": (lambda t: t.dim(), lambda t: t.dim()),
    "ndim": (lambda t: t.ndim, lambda t: t.ndim),
    "size()": (lambda t: tuple(t.size()), lambda t: tuple(t.size())),
    "size(1)": (lambda t: t.size(1), lambda t: t.size(1)),
    "size(-1)": (lambda t: t.size(-1), lambda t: t.size(-1)),
    "shape": (lambda t: tuple(t.shape), lambda t: tuple(t.shape)),
    "len": (lambda t: len(t), lambda t: len(t)),
    "tolist": (lambda t: t.tolist(), lambda t: t.tolist()),
    "tolist_row": (lambda t: t[1, ...].tolist(), lambda t: t[1, ...].tolist()),
    "item": (lambda t: t.sum().item(), lambda t: t.sum().item()),
    "float_dtype": (lambda t: str(t.float().dtype), lambda t: str(t.float().dtype).split(".")[1]),
    "double_dtype": (
        lambda t: str(t.double().dtype),
        lambda t: str(t.double().dtype).split(".")[1],
    ),
    "to_float32": (
        lambda t: str(t.to(np.float32).dtype),
        lambda t: str(t.to(torch.float32).dtype).split(".")[1],
    ),
    "argmax_flat": (lambda t: int(t.argmax().item()), lambda t: int(t.argmax().item())),
}


@pytest.mark.parametrize("name", list(API))
def test_api_matches_pytorch(name: str) -> None:
    ours, theirs = API[name]
    assert ours(minitorch.tensor(_A)) == theirs(torch.tensor(_A, dtype=torch.float64))


# name → (minitorch call, PyTorch call); values compared (minitorch defaults to float64)
CREATION: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
    "zeros(2, 3)": (lambda: minitorch.zeros(2, 3), lambda: torch.zeros(2, 3)),
    "zeros((2, 3))": (lambda: minitorch.zeros((2, 3)), lambda: torch.zeros((2, 3))),
    "ones(2, 3)": (lambda: minitorch.ones(2, 3), lambda: torch.ones(2, 3)),
    "full": (lambda: minitorch.full((2, 3), 1.5), lambda: torch.full((2, 3), 1.5)),
    "arange(5)": (lambda: minitorch.arange(5), lambda: torch.arange(5)),
    "arange(1, 7, 2)": (lambda: minitorch.arange(1, 7, 2), lambda: torch.arange(1, 7, 2)),
    "arange(0, 1, 0.25)": (lambda: minitorch.arange(0, 1, 0.25), lambda: torch.arange(0, 1, 0.25)),
    "linspace": (lambda: minitorch.linspace(0, 1, 5), lambda: torch.linspace(0, 1, 5)),
    "eye(3)": (lambda: minitorch.eye(3), lambda: torch.eye(3)),
    "eye(2, 3)": (lambda: minitorch.eye(2, 3), lambda: torch.eye(2, 3)),
    "zeros_like": (
        lambda: minitorch.zeros_like(minitorch.tensor(_A)),
        lambda: torch.zeros_like(torch.tensor(_A)),
    ),
    "ones_like": (
        lambda: minitorch.ones_like(minitorch.tensor(_A)),
        lambda: torch.ones_like(torch.tensor(_A)),
    ),
    "tensor": (lambda: minitorch.tensor(_A), lambda: torch.tensor(_A)),
    "rand shape": (lambda: minitorch.rand(2, 3).shape, lambda: torch.rand(2, 3).shape),
    "randn shape": (lambda: minitorch.randn(2, 3).shape, lambda: torch.randn(2, 3).shape),
    "zeros dtype": (
        lambda: str(minitorch.zeros(2, 3, dtype=np.float32).dtype),
        lambda: str(torch.zeros(2, 3, dtype=torch.float32).dtype).split(".")[1],
    ),
}


@pytest.mark.parametrize("name", list(CREATION))
def test_creation_matches_pytorch(name: str) -> None:
    ours, theirs = CREATION[name]
    o, t = ours(), theirs()
    if isinstance(t, torch.Tensor):
        assert isinstance(o, Tensor), f"{name}: got {type(o).__name__}"
        assert o.dtype == np.float64, f"{name}: the default dtype is float64 (contract §5)"
        _compare(name, o, t.double(), 1e-12, 1e-12, "float64")
    else:
        assert o == (tuple(t) if isinstance(t, torch.Size) else t)


def test_manual_seed_reproduces_rand_and_randn() -> None:
    minitorch.manual_seed(3)
    a, b = minitorch.rand(4), minitorch.randn(2, 2)
    minitorch.manual_seed(3)
    assert minitorch.rand(4).tolist() == a.tolist() and minitorch.randn(2, 2).tolist() == b.tolist()
    big = minitorch.randn(4000).to_numpy()
    assert abs(big.mean()) < 0.1 and abs(big.std() - 1.0) < 0.1


def test_max_over_an_empty_dim_raises_like_pytorch() -> None:
    with pytest.raises(IndexError):
        torch.zeros(2, 0).max(1)
    with pytest.raises((IndexError, RuntimeError, ValueError), match=r"(?i)empty|zero size|size 0"):
        minitorch.zeros((2, 0)).max(1)


def test_pow_with_a_one_element_tensor_exponent_has_a_gradient() -> None:
    a = minitorch.tensor([1.5, 2.0, 0.5], requires_grad=True)
    b = minitorch.tensor([2.5], requires_grad=True)
    ta = torch.tensor([1.5, 2.0, 0.5], dtype=torch.float64, requires_grad=True)
    tb = torch.tensor([2.5], dtype=torch.float64, requires_grad=True)
    (a**b).sum().backward()
    (ta**tb).sum().backward()
    assert b.grad is not None, "a ** b: b.grad is None (PyTorch gives the gradient)"
    _compare("pow grad b", b.grad, tb.grad, 1e-9, 1e-12, "float64")
    _compare("pow grad a", a.grad, ta.grad, 1e-9, 1e-12, "float64")


# -- in-place ops, hooks, backward(gradient=) --------------------------------------------

INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "add_": lambda y, b: y.add_(b),
    "add_scalar": lambda y, b: y.add_(2.0),
    "sub_": lambda y, b: y.sub_(b),
    "mul_": lambda y, b: y.mul_(b),
    "div_": lambda y, b: y.div_(b + 3.0),
    "zero_": lambda y, b: y.zero_(),
    "fill_": lambda y, b: y.fill_(0.5),
    "copy_": lambda y, b: y.copy_(b * 2.0),
    "setitem": lambda y, b: y.__setitem__((slice(0, 1),), b[0:1] * 3.0),
}


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_on_a_non_leaf_matches_pytorch(name: str) -> None:
    """y = 2x; y.op_(b); L = Σ w·y: values and the gradients of x and b equal PyTorch's."""
    fn = INPLACE[name]
    x0, b0, w = (
        np.array([[1.0, -2.0], [0.3, 4.0]]),
        np.array([[0.5, 1.5], [-1.0, 2.0]]),
        np.array([[1.0, 2.0], [3.0, -1.0]]),
    )
    x, b = (
        minitorch.tensor(x0.tolist(), requires_grad=True),
        minitorch.tensor(b0.tolist(), requires_grad=True),
    )
    tx, tb = torch.tensor(x0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    y, ty = x * 2.0, tx * 2.0
    r, tr = fn(y, b), fn(ty, tb)
    if tr is not None:
        assert r is y, f"{name} returns the tensor it modified"
    _compare(f"{name} value", y, ty, 1e-12, 1e-12, "float64")
    (y * Tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    _compare(
        f"{name} grad x",
        x.grad if x.grad is not None else x.zeros(),
        tx.grad,
        1e-12,
        1e-12,
        "float64",
    )
    tbg = tb.grad if tb.grad is not None else torch.zeros_like(tb)
    _compare(
        f"{name} grad b", b.grad if b.grad is not None else b.zeros(), tbg, 1e-12, 1e-12, "float64"
    )


def test_inplace_on_a_saved_value_raises_at_backward() -> None:
    """exp saves its output: changing it in place makes backward raise (a version counter)."""
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    ty = tx.exp()
    ty.add_(1.0)
    with pytest.raises(RuntimeError, match="inplace"):
        ty.sum().backward()
    # minitorch keeps the old values when the write is recorded, so the gradient is right
    # (a deliberate difference, docs/pytorch.md) ...
    x = minitorch.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.add_(1.0)
    y.sum().backward()
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.to_numpy(), np.exp([1.0, 2.0]))
    # ... and raises, as PyTorch, when the saved output is overwritten unrecorded
    x = minitorch.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    with minitorch.no_grad():
        y.add_(1.0)
    with pytest.raises(RuntimeError, match=r"(?i)in-?place"):
        y.sum().backward()


def test_inplace_on_a_leaf_that_requires_grad_raises_at_once() -> None:
    with pytest.raises(RuntimeError):
        torch.tensor([1.0], requires_grad=True).add_(1.0)
    x = minitorch.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"(?i)leaf"):
        x.add_(1.0)
    with minitorch.no_grad():  # optimisers update leaves this way
        x.add_(1.0)
    assert x.tolist() == [2.0]


def test_retain_grad_and_register_hook_match_pytorch() -> None:
    x, tx = (
        minitorch.tensor([1.0, -2.0, 3.0], requires_grad=True),
        torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64, requires_grad=True),
    )
    y, ty = x * x, tx * tx
    y.retain_grad()
    ty.retain_grad()
    x.register_hook(lambda g: g * 10.0)
    tx.register_hook(lambda g: g * 10.0)
    (y * 3.0).sum().backward()
    (ty * 3.0).sum().backward()
    _compare("retain_grad", y.grad, ty.grad, 1e-12, 1e-12, "float64")
    _compare("register_hook", x.grad, tx.grad, 1e-12, 1e-12, "float64")


def test_backward_with_gradient_keyword_matches_pytorch() -> None:
    x, tx = (
        minitorch.tensor([1.0, 2.0], requires_grad=True),
        torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True),
    )
    (x * x).backward(gradient=minitorch.tensor([1.0, -3.0]))
    (tx * tx).backward(gradient=torch.tensor([1.0, -3.0], dtype=torch.float64))
    _compare("backward(gradient=)", x.grad, tx.grad, 1e-12, 1e-12, "float64")


def test_a_view_used_by_two_graphs_backpropagates_twice() -> None:
    w = minitorch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    tw = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64, requires_grad=True)
    for mw in (w, tw):
        wt = mw.permute(1, 0)
        (wt * 2.0).sum().backward()
        (wt * 3.0).sum().backward()
    _compare("two graphs through one view", w.grad, tw.grad, 1e-12, 1e-12, "float64")


def test_dropout_layer_rescales_kept_values_like_pytorch() -> None:
    """In training, kept values are x / (1 - p) (PyTorch's inverted dropout)."""
    x = minitorch.tensor([[1.0] * 200] * 5)
    out = minitorch.Dropout(0.25)(x).to_numpy()
    kept = out[out != 0]
    np.testing.assert_allclose(kept, 1.0 / 0.75)
    assert 0.6 < kept.size / out.size < 0.9
    assert minitorch.Dropout(0.25).eval()(x).to_numpy().tolist() == x.to_numpy().tolist()


# -- optimisers (the same quadratic, the same steps) --------------------------------------

OPTIMISERS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "SGD": (lambda ps: minitorch.SGD(ps, lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
    "SGD_momentum_wd_nesterov": (
        lambda ps: minitorch.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True),
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True),
    ),
    "SGD_dampening": (
        lambda ps: minitorch.SGD(ps, lr=0.05, momentum=0.5, dampening=0.3),
        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.5, dampening=0.3),
    ),
    "Adam": (lambda ps: minitorch.Adam(ps, lr=0.05), lambda ps: torch.optim.Adam(ps, lr=0.05)),
    "Adam_wd": (
        lambda ps: minitorch.Adam(ps, lr=0.05, betas=(0.8, 0.99), weight_decay=0.1),
        lambda ps: torch.optim.Adam(ps, lr=0.05, betas=(0.8, 0.99), weight_decay=0.1),
    ),
    "AdamW": (lambda ps: minitorch.AdamW(ps, lr=0.05), lambda ps: torch.optim.AdamW(ps, lr=0.05)),
}

SCHEDULES: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "none": (lambda o: None, lambda o: None),
    "StepLR": (
        lambda o: minitorch.StepLR(o, step_size=2, gamma=0.5),
        lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5),
    ),
    "CosineAnnealingLR": (
        lambda o: minitorch.CosineAnnealingLR(o, T_max=4, eta_min=0.01),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=0.01),
    ),
}


@pytest.mark.parametrize("sched", list(SCHEDULES))
@pytest.mark.parametrize("name", list(OPTIMISERS))
def test_optimiser_steps_match_pytorch(name: str, sched: str) -> None:
    """Six steps on L = Σ (a·p − c)² + Σ q² leave the same parameters as PyTorch."""
    a, c = np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([[0.3, 0.1], [-1.0, 2.0]])
    p0, q0 = np.array([[0.2, -0.4], [1.0, 0.0]]), np.array([1.5, -0.5])
    model = minitorch.Module()
    model.p = minitorch.Parameter(minitorch.tensor(p0.tolist()))
    model.q = minitorch.Parameter(minitorch.tensor(q0.tolist()))
    tp, tq = torch.tensor(p0, requires_grad=True), torch.tensor(q0, requires_grad=True)
    opt, topt = OPTIMISERS[name][0](model.parameters()), OPTIMISERS[name][1]([tp, tq])
    sch, tsch = SCHEDULES[sched][0](opt), SCHEDULES[sched][1](topt)
    for _ in range(6):
        opt.zero_grad()
        topt.zero_grad()
        d = model.p.value * Tensor(a) - Tensor(c)
        ((d * d).sum() + (model.q.value * model.q.value).sum()).backward()
        td = tp * torch.tensor(a) - torch.tensor(c)
        ((td * td).sum() + (tq * tq).sum()).backward()
        opt.step()
        topt.step()
        if sch is not None:
            sch.step()
            tsch.step()
    _compare(f"{name} p", model.p.value, tp, 1e-9, 1e-12, "float64")
    _compare(f"{name} q", model.q.value, tq, 1e-9, 1e-12, "float64")


# -- save / load ----------------------------------------------------------------------------


def test_save_and_load_round_trip_tensors_and_state_dicts(tmp_path: Path) -> None:
    t = minitorch.tensor(_A)
    minitorch.save(t, tmp_path / "t.pt")
    back = minitorch.load(tmp_path / "t.pt")
    assert isinstance(back, Tensor) and back.tolist() == t.tolist()
    model = minitorch.Linear(3, 2)
    minitorch.save(model.state_dict(), tmp_path / "m.pt")
    other = minitorch.Linear(3, 2)
    other.load_state_dict(minitorch.load(tmp_path / "m.pt"))
    for (k, v), (k2, v2) in zip(model.state_dict().items(), other.state_dict().items()):
        assert k == k2 and v.tolist() == v2.tolist()

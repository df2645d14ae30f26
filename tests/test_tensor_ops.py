"""Backends (contract §8, §9): SimpleOps (reference) and FastOps must agree on every kernel.

Inputs are drawn with permuted (non-contiguous) layouts and broadcasting shapes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch
from minitorch import (
    FastBackend,
    FastOps,
    IndexingError,
    SimpleBackend,
    SimpleOps,
    Tensor,
    TensorBackend,
    TensorData,
    operators,
)

MAPS = [
    "neg_map",
    "sigmoid_map",
    "relu_map",
    "log_map",
    "exp_map",
    "id_map",
    "inv_map",
    "tanh_map",
    "nonzero_map",
]
ZIPS = [
    "add_zip",
    "mul_zip",
    "sub_zip",
    "div_zip",
    "pow_zip",
    "lt_zip",
    "eq_zip",
    "is_close_zip",
    "relu_back_zip",
    "log_back_zip",
    "inv_back_zip",
    "sigmoid_out_back_zip",
    "tanh_out_back_zip",
]
REDUCES = ["add_reduce", "mul_reduce", "max_reduce"]

shapes = st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple)


def _pair(arr: np.ndarray) -> tuple[Tensor, Tensor]:
    """The same values on both backends (sharing storage)."""
    td = TensorData._from_array(arr)
    return Tensor(td, backend=FastBackend), Tensor(td, backend=SimpleBackend)


def _values(data: st.DataObject, shape: tuple[int, ...], permuted: bool) -> np.ndarray:
    """Values of ``shape``; when ``permuted``, laid out non-contiguously (a transposed view)."""
    seed = data.draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    vals = rng.uniform(-3, 3, size=shape)
    # a few exact repeats and special values exercise ==, <, relu at 0 and is_close
    flat = vals.reshape(-1)
    if flat.size > 1:
        flat[0] = flat[-1]
    flat[rng.integers(0, flat.size)] = 0.0
    if permuted and len(shape) > 1:
        return np.ascontiguousarray(vals.T).T  # same values, reversed strides
    return vals


def _close(x: Tensor, y: Tensor) -> None:
    assert x.shape == y.shape
    np.testing.assert_allclose(x.to_numpy(), y.to_numpy(), rtol=1e-9, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("name", MAPS)
@given(data=st.data(), shape=shapes, permuted=st.booleans())
def test_maps_agree(name: str, data: st.DataObject, shape: tuple[int, ...], permuted: bool) -> None:
    vals = _values(data, shape, permuted)
    if name in ("log_map", "inv_map"):
        vals = np.abs(vals) + 0.1
    fa, sa = _pair(vals)
    with np.errstate(all="ignore"):
        _close(getattr(FastBackend, name)(fa), getattr(SimpleBackend, name)(sa))
    out = getattr(FastBackend, name)(fa)
    assert out.is_contiguous() and out.dtype == np.float64


@pytest.mark.parametrize("name", ZIPS)
@given(data=st.data(), shape=shapes, permuted=st.booleans())
def test_zips_agree_with_broadcasting(
    name: str, data: st.DataObject, shape: tuple[int, ...], permuted: bool
) -> None:
    # b's shape broadcasts with a's: some dims set to 1, maybe leading dims dropped.
    b_shape = tuple(d if data.draw(st.booleans()) else 1 for d in shape)
    b_shape = b_shape[data.draw(st.integers(0, len(b_shape) - 1)) :]
    if data.draw(st.booleans()):
        shape, b_shape = b_shape, shape
    a = _values(data, shape, permuted)
    b = _values(data, b_shape, permuted)
    if name in ("div_zip", "log_back_zip", "inv_back_zip", "pow_zip"):
        a = np.abs(a) + 0.1
        b = np.abs(b) + 0.1
    fa, sa = _pair(a)
    fb, sb = _pair(b)
    x = getattr(FastBackend, name)(fa, fb)
    y = getattr(SimpleBackend, name)(sa, sb)
    assert x.shape == np.broadcast_shapes(a.shape, b.shape)
    _close(x, y)


@pytest.mark.parametrize("name", REDUCES)
@given(data=st.data(), shape=shapes, permuted=st.booleans())
def test_reduces_agree(
    name: str, data: st.DataObject, shape: tuple[int, ...], permuted: bool
) -> None:
    vals = _values(data, shape, permuted)
    fa, sa = _pair(vals)
    dim = data.draw(st.integers(0, len(shape) - 1))
    x = getattr(FastBackend, name)(fa, dim)
    y = getattr(SimpleBackend, name)(sa, dim)
    expected_shape = list(shape)
    expected_shape[dim] = 1
    assert x.shape == tuple(expected_shape)
    _close(x, y)


def test_reduce_reference_values() -> None:
    t = minitorch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    for backend in (FastBackend, SimpleBackend):
        t._type_(backend)
        assert backend.add_reduce(t, 1).to_numpy().tolist() == [[6.0], [15.0]]
        assert backend.mul_reduce(t, 0).to_numpy().tolist() == [[4.0, 10.0, 18.0]]
        assert backend.max_reduce(t, 1).to_numpy().tolist() == [[3.0], [6.0]]


@given(
    data=st.data(),
    n=st.integers(1, 3),
    m=st.integers(1, 3),
    p=st.integers(1, 3),
    batch=st.sampled_from([(), (2,), (1,), (2, 1)]),
    b_batch=st.sampled_from([(), (2,), (1,)]),
    permuted=st.booleans(),
)
def test_matrix_multiply_agrees_and_matches_numpy(
    data: st.DataObject,
    n: int,
    m: int,
    p: int,
    batch: tuple[int, ...],
    b_batch: tuple[int, ...],
    permuted: bool,
) -> None:
    a = _values(data, (*batch, n, m), permuted)
    b = _values(data, (*b_batch, m, p), permuted)
    fa, sa = _pair(a)
    fb, sb = _pair(b)
    x = FastBackend.matrix_multiply(fa, fb)
    y = SimpleBackend.matrix_multiply(sa, sb)
    expected = a @ b
    assert x.shape == expected.shape
    np.testing.assert_allclose(x.to_numpy(), expected, rtol=1e-12, atol=1e-12)
    _close(x, y)


def test_matmul_two_d_gives_two_d_and_errors_name_shapes() -> None:
    a = minitorch.rand((2, 3))
    b = minitorch.rand((3, 4))
    assert FastOps.matrix_multiply(a, b).shape == (2, 4)
    assert SimpleOps.matrix_multiply(a, b).shape == (2, 4)
    for ops in (FastOps, SimpleOps):
        with pytest.raises(IndexingError) as err:
            ops.matrix_multiply(a, minitorch.rand((4, 2)))
        assert "(2, 3)" in str(err.value) and "(4, 2)" in str(err.value)
        with pytest.raises(IndexingError):
            ops.matrix_multiply(minitorch.rand((3,)), b)
        with pytest.raises(IndexingError):
            ops.matrix_multiply(minitorch.rand((2, 2, 3)), minitorch.rand((3, 3, 4)))


def test_zip_shape_error_names_op_and_shapes() -> None:
    for backend in (FastBackend, SimpleBackend):
        a = minitorch.rand((2, 3), backend=backend)
        with pytest.raises(IndexingError) as err:
            backend.add_zip(a, minitorch.rand((4,), backend=backend))
        msg = str(err.value)
        assert "add" in msg and "(2, 3)" in msg and "(4,)" in msg


@pytest.mark.parametrize("ops", [FastOps, SimpleOps])
def test_any_python_function_works(ops: type[minitorch.TensorOps]) -> None:
    a = minitorch.tensor([[1.0, -2.0], [3.0, 0.5]])
    b = minitorch.tensor([10.0, 20.0])
    m = ops.map(lambda x: x * x + 1.0)(a)
    assert m.to_numpy().tolist() == [[2.0, 5.0], [10.0, 1.25]]
    z = ops.zip(lambda x, y: x - 2.0 * y)(a, b)
    assert z.to_numpy().tolist() == [[-19.0, -42.0], [-17.0, -39.5]]
    r = ops.reduce(lambda acc, x: acc * 10.0 + x, 0.0)(a, 1)  # a left fold, in order
    assert r.to_numpy().tolist() == [[8.0], [30.5]]
    r0 = ops.reduce(lambda acc, x: max(acc, abs(x)), 0.0)(a.permute(1, 0), 1)
    assert r0.to_numpy().tolist() == [[3.0], [2.0]]


@pytest.mark.parametrize("ops", [FastOps, SimpleOps])
def test_map_into_out_broadcasts(ops: type[minitorch.TensorOps]) -> None:
    a = minitorch.tensor([1.0, -2.0, 3.0])
    out = minitorch.zeros((2, 3))
    res = ops.map(operators.neg)(a, out)
    assert res is out
    assert out.to_numpy().tolist() == [[-1.0, 2.0, -3.0]] * 2
    out2 = minitorch.zeros((3,))
    ops.cmap(operators.relu)(a, out2)
    assert out2.to_numpy().tolist() == [1.0, 0.0, 3.0]


def test_exact_semantics() -> None:
    """Strict <, exact ==, log(x + 1e-6), relu_back on x > 0, is_close at 1e-2, stable σ."""
    x = minitorch.tensor([0.0, 1.0, -1000.0, 1000.0, 2.0])
    y = minitorch.tensor([0.0, 1.0 + 1e-12, -1000.0, 999.995, 2.02])
    for b in (FastBackend, SimpleBackend):
        x._type_(b)
        y._type_(b)
        assert b.lt_zip(x, y).to_numpy().tolist() == [0.0, 1.0, 0.0, 0.0, 1.0]
        assert b.eq_zip(x, y).to_numpy().tolist() == [1.0, 0.0, 1.0, 0.0, 0.0]
        assert b.is_close_zip(x, y).to_numpy().tolist() == [1.0, 1.0, 1.0, 1.0, 0.0]
        assert b.relu_back_zip(x, y).to_numpy().tolist() == [0.0, 1.0 + 1e-12, 0.0, 999.995, 2.02]
        s = b.sigmoid_map(x).to_numpy()
        assert np.all(np.isfinite(s)) and s[2] == 0.0 and s[3] == 1.0
        assert b.log_map(minitorch.tensor([0.0], backend=b)).item() == pytest.approx(math.log(1e-6))


def test_float32_kept_by_fast_kernels() -> None:
    a = minitorch.rand((2, 3), dtype=np.float32)
    for name in MAPS:
        assert getattr(FastBackend, name)(a).dtype == np.float32, name
    for name in ZIPS:
        assert getattr(FastBackend, name)(a, a).dtype == np.float32, name
    for name in REDUCES:
        assert getattr(FastBackend, name)(a, 0).dtype == np.float32, name
    assert FastBackend.matrix_multiply(a, a.permute(1, 0)).dtype == np.float32


def test_backend_table() -> None:
    for backend in (FastBackend, SimpleBackend):
        assert isinstance(backend, TensorBackend)
        assert backend.cuda is False
        for name in [*MAPS, *ZIPS, *REDUCES, "id_cmap", "matrix_multiply"]:
            assert callable(getattr(backend, name)), name

"""TensorData (contract §5): index arithmetic, broadcasting rules, layouts and views."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch
from minitorch import (
    IndexingError,
    TensorData,
    broadcast_index,
    index_to_position,
    shape_broadcast,
    strides_from_shape,
    to_index,
)

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)


def _data(shape: tuple[int, ...]) -> TensorData:
    size = int(minitorch.prod(shape))
    return TensorData([float(i) for i in range(size)], shape)


# -- helpers ---------------------------------------------------------------------------


def test_index_to_position() -> None:
    assert index_to_position((1, 2), (5, 1)) == 7
    assert index_to_position(np.array([1, 2, 3]), np.array([12, 4, 1])) == 23
    assert index_to_position((), ()) == 0


@given(shapes)
def test_to_index_enumerates_every_index_once(shape: tuple[int, ...]) -> None:
    td = _data(shape)
    seen = set()
    out = np.zeros(len(shape), dtype=np.int32)
    for ordinal in range(td.size):
        to_index(ordinal, shape, out)
        idx = tuple(int(i) for i in out)
        assert all(0 <= i < d for i, d in zip(idx, shape))
        # row-major: the position of a contiguous layout is the ordinal itself
        assert index_to_position(idx, td.strides) == ordinal
        seen.add(idx)
    assert len(seen) == td.size
    assert list(td.indices()) == sorted(seen)


def test_broadcast_index() -> None:
    out = np.zeros(2, dtype=np.int32)
    broadcast_index(np.array([2, 3, 4]), (5, 6, 7), (6, 1), out)
    assert tuple(out) == (3, 0)
    out1 = np.zeros(1, dtype=np.int32)
    broadcast_index(np.array([1, 4]), (2, 5), (5,), out1)
    assert tuple(out1) == (4,)
    broadcast_index(np.array([1, 4]), (2, 5), (1,), out1)
    assert tuple(out1) == (0,)


@pytest.mark.parametrize(
    ("s1", "s2", "expected"),
    [
        ((1,), (5, 5), (5, 5)),
        ((5, 5), (1,), (5, 5)),
        ((1, 5, 5), (5, 5), (1, 5, 5)),
        ((5, 1, 5, 1), (1, 5, 1, 5), (5, 5, 5, 5)),
        ((2, 5), (5,), (2, 5)),
        ((), (3,), (3,)),
    ],
)
def test_shape_broadcast(
    s1: tuple[int, ...], s2: tuple[int, ...], expected: tuple[int, ...]
) -> None:
    assert shape_broadcast(s1, s2) == expected
    assert TensorData.shape_broadcast(s1, s2) == expected
    assert np.broadcast_shapes(s1, s2) == expected


@pytest.mark.parametrize(("s1", "s2"), [((5, 7, 5, 1), (1, 5, 1, 5)), ((5, 2), (5,))])
def test_shape_broadcast_errors_name_both_shapes(s1: tuple[int, ...], s2: tuple[int, ...]) -> None:
    with pytest.raises(IndexingError) as err:
        shape_broadcast(s1, s2)
    assert str(s1) in str(err.value) and str(s2) in str(err.value)


def test_strides_from_shape() -> None:
    assert strides_from_shape((2, 3, 4)) == (12, 4, 1)
    assert strides_from_shape((5,)) == (1,)


# -- TensorData -------------------------------------------------------------------------


def test_layout_and_contiguity() -> None:
    td = TensorData([0.0] * 15, (3, 5), (5, 1))
    assert td.is_contiguous()
    assert td.shape == (3, 5) and td.strides == (5, 1)
    assert list(td._shape) == [3, 5] and list(td._strides) == [5, 1]
    assert td.dims == 2 and td.size == 15
    p = td.permute(1, 0)
    assert not p.is_contiguous()
    assert p.shape == (5, 3) and p.strides == (1, 5)
    assert td._storage.dtype == np.float64


def test_constructor_checks() -> None:
    with pytest.raises(TypeError):
        TensorData([0.0] * 4, [2, 2])  # type: ignore[arg-type]
    with pytest.raises(IndexingError):
        TensorData([0.0] * 4, (2, 2), (2,))
    with pytest.raises(IndexingError):
        TensorData([0.0] * 5, (2, 2))


def test_ndarray_storage_is_shared() -> None:
    store = np.arange(6, dtype=np.float64)
    td = TensorData(store, (2, 3))
    td.set((1, 1), 100.0)
    assert store[4] == 100.0
    assert td._storage is store


def test_float32_storage_kept() -> None:
    td = TensorData(np.zeros(4, dtype=np.float32), (2, 2))
    assert td.dtype == np.float32 and td.permute(1, 0)._storage.dtype == np.float32


def test_index_errors() -> None:
    td = _data((2, 3))
    assert td.index((1, 2)) == 5
    with pytest.raises(IndexingError):
        td.index((1,))
    with pytest.raises(IndexingError):
        td.index((0, -1))
    with pytest.raises(IndexingError):
        td.index((2, 0))
    assert _data((4,)).index(3) == 3


@given(shapes, st.data())
def test_permute_shares_storage(shape: tuple[int, ...], data: st.DataObject) -> None:
    td = _data(shape)
    order = data.draw(st.permutations(range(len(shape))))
    p = td.permute(*order)
    assert p.shape == tuple(shape[o] for o in order)
    assert p.strides == tuple(td.strides[o] for o in order)
    assert np.shares_memory(p._storage, td._storage)
    for idx in p.indices():
        orig = [0] * len(shape)
        for i, o in enumerate(order):
            orig[o] = idx[i]
        assert p.get(idx) == td.get(tuple(orig))
    idx = p.sample()
    p.set(idx, -1.0)
    assert p.get(idx) == -1.0
    orig_idx = [0] * len(shape)
    for i, o in enumerate(order):
        orig_idx[o] = idx[i]
    assert td.get(tuple(orig_idx)) == -1.0


def test_permute_must_be_a_permutation() -> None:
    with pytest.raises(IndexingError):
        _data((2, 3)).permute(0, 0)


@given(shapes)
def test_sample_is_valid_and_seeded(shape: tuple[int, ...]) -> None:
    td = _data(shape)
    random.seed(3)
    a = [td.sample() for _ in range(5)]
    random.seed(3)
    b = [td.sample() for _ in range(5)]
    assert a == b
    for idx in a:
        td.index(idx)


def test_get_set_tuple() -> None:
    td = _data((2, 2))
    td.set((0, 1), 7.5)
    assert td.get((0, 1)) == 7.5 and isinstance(td.get((0, 1)), float)
    storage, shape, strides = td.tuple()
    assert storage[1] == 7.5 and list(shape) == [2, 2] and list(strides) == [2, 1]


def test_to_string_two_decimals_nan_inf() -> None:
    td = TensorData([1.0, math.nan, math.inf, -math.inf], (2, 2))
    s = td.to_string()
    assert "1.00" in s and "nan" in s and "inf" in s and "-inf" in s


def test_strided_views_expose_their_storage() -> None:
    # A view with offset and gaps (as made by slicing) has a storage addressing it.
    base = np.arange(12, dtype=np.float64).reshape(3, 4)
    td = TensorData._from_array(base[1:, ::2])
    assert td.shape == (2, 2) and not td.is_contiguous()
    assert [td.get(i) for i in td.indices()] == [4.0, 6.0, 8.0, 10.0]
    td.set((1, 1), -5.0)
    assert base[2, 2] == -5.0

"""Data: DataLoader batching and shuffling, the bundled digits set, the IDX reader."""

from __future__ import annotations

import gzip
import random
import struct
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from minitorch import Tensor, nn
from minitorch.data import ArrayDataset, DataLoader, load_digits, load_mnist, read_idx
from minitorch.layers import Linear, ReLU, Sequential
from minitorch.optim import Adam

# ---------------------------------------------------------------------------
# DataLoader
# ---------------------------------------------------------------------------


def _ds(n: int = 10) -> ArrayDataset:
    return ArrayDataset(np.arange(n * 2).reshape(n, 2), np.arange(n))


def test_batches_in_order_with_a_partial_last_batch() -> None:
    loader = DataLoader(_ds(), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [b[1].shape for b in batches] == [(4,), (4,), (2,)]
    x, y = batches[0]
    assert isinstance(x, Tensor) and x.shape == (4, 2)
    assert y.to_numpy().tolist() == [0, 1, 2, 3]
    assert batches[2][1].to_numpy().tolist() == [8, 9]


def test_drop_last() -> None:
    loader = DataLoader(_ds(), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [b[1].shape for b in loader] == [(4,), (4,)]
    assert len(DataLoader(_ds(8), batch_size=4, drop_last=True)) == 2


def test_shuffle_is_seeded_covers_everything_and_changes_per_epoch() -> None:
    def epoch(loader: DataLoader) -> list[float]:
        return [v for _, y in loader for v in y.to_numpy().tolist()]

    a = DataLoader(_ds(), batch_size=3, shuffle=True, seed=1)
    b = DataLoader(_ds(), batch_size=3, shuffle=True, seed=1)
    e1, e2 = epoch(a), epoch(a)
    assert e1 == epoch(b) and e2 == epoch(b)
    assert sorted(e1) == list(range(10)) and e1 != e2 and e1 != list(range(10))
    random.seed(9)
    c = epoch(DataLoader(_ds(), batch_size=3, shuffle=True))
    random.seed(9)
    assert epoch(DataLoader(_ds(), batch_size=3, shuffle=True)) == c


def test_generic_datasets_and_numpy_batches() -> None:
    items = [np.full(3, i, dtype=float) for i in range(5)]
    batches = list(DataLoader(items, batch_size=2))
    assert [b.shape for b in batches] == [(2, 3), (2, 3), (1, 3)]
    pairs = [(np.ones(2) * i, i) for i in range(3)]
    x, y = next(iter(DataLoader(pairs, batch_size=3, as_tensors=False)))
    assert isinstance(x, np.ndarray) and x.shape == (3, 2) and y.tolist() == [0, 1, 2]
    with pytest.raises(ValueError):
        DataLoader(items, batch_size=0)
    with pytest.raises(ValueError, match="lengths"):
        ArrayDataset(np.zeros(3), np.zeros(4))


# ---------------------------------------------------------------------------
# digits
# ---------------------------------------------------------------------------


def test_digits_file_is_shipped_and_loads_without_pickle() -> None:
    ref = resources.files("minitorch") / "_data" / "digits.npz"
    with ref.open("rb") as f, np.load(f, allow_pickle=False) as z:
        assert sorted(z.files) == ["x_test", "x_train", "y_test", "y_train"]
        assert all(z[k].dtype == np.uint8 for k in z.files)
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    assert '"_data/*.npz"' in pyproject.read_text()


def test_digits_split_and_layouts() -> None:
    d = load_digits()
    assert d.x_train.shape == (1438, 8, 8) and d.x_test.shape == (359, 8, 8)
    assert len(d.x_train) + len(d.x_test) == 1797
    assert d.x_train.dtype == np.float64 and d.x_train.min() >= 0.0 and d.x_train.max() == 1.0
    assert set(np.unique(d.y_train)) == set(range(10)) == set(np.unique(d.y_test))
    counts = np.bincount(d.y_test)
    assert counts.min() >= 35 and counts.max() <= 37  # stratified 20%
    raw = load_digits(normalize=False, layout="flat")
    assert raw.x_train.shape == (1438, 64) and raw.x_train.max() == 16.0
    np.testing.assert_array_equal(raw.x_train.reshape(-1, 8, 8) / 16.0, d.x_train)
    assert load_digits(layout="chw").x_test.shape == (359, 1, 8, 8)
    # The split is fixed: the same images every time, train and test disjoint.
    again = load_digits()
    np.testing.assert_array_equal(again.y_test, d.y_test)
    train_rows = {r.tobytes() for r in raw.x_train}
    test_rows = [r.tobytes() for r in load_digits(normalize=False, layout="flat").x_test]
    assert sum(r in train_rows for r in test_rows) < 5  # (a few digits are exact duplicates)
    with pytest.raises(ValueError, match="layout"):
        load_digits(layout="nhwc")


def test_an_mlp_learns_digits() -> None:
    random.seed(0)
    d = load_digits(layout="flat")
    model = Sequential(Linear(64, 32), ReLU(), Linear(32, 10))
    opt = Adam(model.parameters(), lr=0.01)
    loader = DataLoader(d.train(), batch_size=64, shuffle=True, seed=0)
    for _ in range(6):
        for x, y in loader:
            opt.zero_grad()
            nn.cross_entropy(model(x), y).backward()
            opt.step()
    pred = model(Tensor(d.x_test)).to_numpy().argmax(axis=1)
    assert (pred == d.y_test).mean() > 0.9


# ---------------------------------------------------------------------------
# IDX files
# ---------------------------------------------------------------------------


def _write_idx(path: Path, code: int, fmt: str, arr: np.ndarray, compress: bool = False) -> None:
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    payload = header + arr.astype(fmt).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)


def test_read_idx_all_types_and_gzip(tmp_path: Path) -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4) * 10
    _write_idx(tmp_path / "img", 0x08, ">u1", images)
    got = read_idx(tmp_path / "img")
    assert got.dtype == np.uint8 and got.shape == (2, 3, 4)
    np.testing.assert_array_equal(got, images)
    for code, fmt in [(0x09, ">i1"), (0x0B, ">i2"), (0x0C, ">i4"), (0x0D, ">f4"), (0x0E, ">f8")]:
        arr = np.array([[-3, 1, 2], [100, -7, 5]]).astype(fmt)
        _write_idx(tmp_path / f"t{code}.gz", code, fmt, arr, compress=True)
        got = read_idx(tmp_path / f"t{code}.gz")
        assert got.dtype.isnative and got.dtype.kind == np.dtype(fmt).kind
        np.testing.assert_array_equal(got, arr)


def test_read_idx_errors(tmp_path: Path) -> None:
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    _write_idx(tmp_path / "short", 0x08, ">u1", np.zeros(5, dtype=np.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-1])
    with pytest.raises(ValueError, match="needs 5"):
        read_idx(tmp_path / "short")


def test_load_mnist_finds_the_standard_files(tmp_path: Path) -> None:
    imgs = np.random.default_rng(0).integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    labels = np.array([7, 2, 1], dtype=np.uint8)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", 0x08, ">u1", imgs, compress=True)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", 0x08, ">u1", labels)
    x, y = load_mnist(tmp_path, kind="test")
    np.testing.assert_array_equal(x, imgs)
    assert y.tolist() == [7, 2, 1]
    with pytest.raises(FileNotFoundError, match="train-images"):
        load_mnist(tmp_path)

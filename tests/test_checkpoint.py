"""Checkpoints: pickle-free .npz round trips, atomic writes, exact resume, clear errors."""

from __future__ import annotations

import json
import os
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minitorch
from minitorch import layers, nn
from minitorch.apps.train import (
    CHECKPOINT,
    METRICS,
    TrainingDivergedError,
    default_config,
    fit,
)
from minitorch.checkpoint import (
    CheckpointError,
    atomic_write,
    load_checkpoint,
    restore,
    save_checkpoint,
)
from minitorch.optim import SGD, Adam
from minitorch.tensor import Tensor


def _model(seed: int = 0) -> layers.Sequential:
    random.seed(seed)
    return layers.Sequential(
        layers.Conv2d(1, 2, 3, padding=1),
        layers.ReLU(),
        layers.Flatten(),
        layers.Linear(2 * 4 * 4, 3),
    )


def _weights(model: minitorch.Module) -> dict[str, np.ndarray]:
    return {k: np.array(v) for k, v in model.state_dict().items()}


def _train_steps(model: minitorch.Module, opt: Any, steps: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = Tensor(rng.normal(size=(5, 1, 4, 4)))
        y = rng.integers(0, 3, size=5)
        loss = nn.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()


@pytest.mark.parametrize("make_opt", [lambda p: Adam(p, lr=0.01), lambda p: SGD(p, 0.1, 0.9)])
def test_round_trip_continues_identically(tmp_path: Path, make_opt: Any) -> None:
    a = _model()
    opt_a = make_opt(a.parameters())
    _train_steps(a, opt_a, 3)
    save_checkpoint(tmp_path / "c.npz", a, opt_a, {"epoch": 3})
    b = _model(seed=7)
    opt_b = make_opt(b.parameters())
    ck = load_checkpoint(tmp_path / "c.npz")
    assert ck.meta["epoch"] == 3
    restore(ck, b, opt_b)
    for k, v in _weights(a).items():
        np.testing.assert_array_equal(_weights(b)[k], v)
    _train_steps(a, opt_a, 2, seed=5)
    _train_steps(b, opt_b, 2, seed=5)
    for k, v in _weights(a).items():
        np.testing.assert_array_equal(_weights(b)[k], v)  # optimiser state came back exactly


def test_file_is_a_plain_npz_without_pickle(tmp_path: Path) -> None:
    m = _model()
    save_checkpoint(tmp_path / "c.npz", m, None, {"note": "hi"})
    with np.load(tmp_path / "c.npz", allow_pickle=False) as z:
        names = set(z.files)
        meta = json.loads(str(z["meta"]))
    assert names == {"meta"} | {f"model/{k}" for k in m.state_dict()}
    assert meta["note"] == "hi"
    mask = os.umask(0)
    os.umask(mask)
    assert os.stat(tmp_path / "c.npz").st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's 0600


def test_atomic_write_keeps_old_file_when_writer_fails(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(target) as f:
        f.write(b"half of the new")
        raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]  # no temp file left


def test_failed_checkpoint_save_leaves_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = _model()
    path = tmp_path / "c.npz"
    save_checkpoint(path, m, None, {"epoch": 1})
    before = path.read_bytes()

    def broken_savez(f: Any, **arrays: Any) -> None:
        f.write(b"PK\x03\x04 partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, m, None, {"epoch": 2})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]


# ---------------------------------------------------------------------------
# Unreadable or tampered files: a clear error and the model untouched
# ---------------------------------------------------------------------------


def _saved(tmp_path: Path) -> tuple[Path, minitorch.Module]:
    m = _model()
    path = tmp_path / "c.npz"
    save_checkpoint(path, m, Adam(m.parameters()), {"epoch": 1})
    return path, m


def _rewrite(path: Path, change: Any) -> None:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def test_truncated_file(tmp_path: Path) -> None:
    path, _ = _saved(tmp_path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(path)


def test_not_an_archive_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"hello, not a zip file")
    with pytest.raises(CheckpointError):
        load_checkpoint(bad)
    with pytest.raises(CheckpointError, match="no checkpoint file"):
        load_checkpoint(tmp_path / "absent.npz")


def test_pickled_object_array_is_refused(tmp_path: Path) -> None:
    path, _ = _saved(tmp_path)
    _rewrite(path, lambda a: a.__setitem__("model/1.weight", np.array([{"evil": 1}], dtype=object)))
    with pytest.raises(CheckpointError, match="allow_pickle"):
        load_checkpoint(path)


def test_missing_meta_or_foreign_format(tmp_path: Path) -> None:
    path, _ = _saved(tmp_path)
    _rewrite(path, lambda a: a.pop("meta"))
    with pytest.raises(CheckpointError, match="no 'meta'"):
        load_checkpoint(path)
    path, _ = _saved(tmp_path)
    _rewrite(path, lambda a: a.__setitem__("meta", np.array('{"format": "other"}')))
    with pytest.raises(CheckpointError, match="metadata"):
        load_checkpoint(path)


def test_non_float_parameter_and_stray_entry(tmp_path: Path) -> None:
    path, _ = _saved(tmp_path)
    _rewrite(path, lambda a: a.__setitem__("model/3.bias", np.array(["a", "b", "c"])))
    with pytest.raises(CheckpointError, match="not floats"):
        load_checkpoint(path)
    path, _ = _saved(tmp_path)
    _rewrite(path, lambda a: a.__setitem__("extra", np.zeros(2)))
    with pytest.raises(CheckpointError, match="unexpected entry 'extra'"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("model/3.bias"), r"missing keys \['3.bias'\]"),
        (lambda a: a.__setitem__("model/9.weight", np.zeros(2)), r"unexpected keys \['9.weight'\]"),
        (lambda a: a.__setitem__("model/3.bias", np.zeros(4)), r"3.bias: expected shape \(3,\)"),
    ],
)
def test_wrong_names_or_shapes_change_nothing(tmp_path: Path, change: Any, message: str) -> None:
    path, _ = _saved(tmp_path)
    _rewrite(path, change)
    target = _model(seed=3)
    before = _weights(target)
    with pytest.raises(CheckpointError, match=message):
        restore(load_checkpoint(path), target)
    for k, v in _weights(target).items():
        np.testing.assert_array_equal(v, before[k])


def test_optimizer_state_of_wrong_shape_changes_nothing(tmp_path: Path) -> None:
    m = _model()
    opt = Adam(m.parameters())
    _train_steps(m, opt, 1)
    path = tmp_path / "c.npz"
    save_checkpoint(path, m, opt)
    _rewrite(path, lambda a: a.__setitem__("optim/0/exp_avg", np.zeros(3)))
    target = _model(seed=3)
    opt_t = Adam(target.parameters())
    before = _weights(target)
    with pytest.raises(CheckpointError, match="optimiser state 0/exp_avg"):
        restore(load_checkpoint(path), target, opt_t)
    assert opt_t.state == {}
    for k, v in _weights(target).items():
        np.testing.assert_array_equal(v, before[k])


# ---------------------------------------------------------------------------
# Training runs: resume equals an uninterrupted run, bit for bit
# ---------------------------------------------------------------------------


def _strip_times(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    timing = ("seconds", "steps_per_second")
    return [{k: v for k, v in r.items() if k not in timing} for r in metrics["history"]]


@pytest.mark.parametrize(
    "options",
    [
        {"model": "mlp", "hidden": 16},
        {"model": "cnn", "hidden": 4, "optimizer": "sgd"},
        {"model": "mlp", "dataset": "Xor", "optimizer": "adamw", "epochs": 6},
    ],
)
def test_resume_matches_uninterrupted_run(tmp_path: Path, options: dict[str, Any]) -> None:
    options = {"epochs": 4, **options}
    config = default_config(**options)
    straight = fit(config, tmp_path / "straight", progress=False, log=None)

    class Killed(Exception):
        pass

    def kill_after_two(record: dict[str, Any]) -> None:
        if record["epoch"] == 2:
            raise Killed

    with pytest.raises(Killed):
        fit(config, tmp_path / "split", progress=False, log=None, on_epoch=kill_after_two)
    assert load_checkpoint(tmp_path / "split" / CHECKPOINT).meta["epoch"] == 2
    resumed = fit(config, tmp_path / "split", resume=True, progress=False, log=None)

    assert _strip_times(resumed) == _strip_times(straight)
    a = load_checkpoint(tmp_path / "straight" / CHECKPOINT)
    b = load_checkpoint(tmp_path / "split" / CHECKPOINT)
    assert a.params.keys() == b.params.keys() and a.optim.keys() == b.optim.keys()
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    for k in a.optim:
        np.testing.assert_array_equal(a.optim[k], b.optim[k])
    assert a.meta["numpy_rng"] == b.meta["numpy_rng"]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_tampered_checkpoint_on_resume_overwrites_nothing(tmp_path: Path) -> None:
    config = default_config("mlp", hidden=8, epochs=2)
    fit(config, tmp_path, progress=False, log=None)
    raw = (tmp_path / CHECKPOINT).read_bytes()
    (tmp_path / CHECKPOINT).write_bytes(raw[:-100])
    before = _snapshot(tmp_path)
    with pytest.raises(CheckpointError):
        fit(replace(config, epochs=3), tmp_path, resume=True, progress=False, log=None)
    assert _snapshot(tmp_path) == before


def test_resume_with_other_settings_is_refused(tmp_path: Path) -> None:
    config = default_config("mlp", hidden=8, epochs=1)
    fit(config, tmp_path, progress=False, log=None)
    before = _snapshot(tmp_path)
    other = default_config("mlp", hidden=8, epochs=2, lr=0.1)
    with pytest.raises(CheckpointError, match=r"lr=0\.003 in the checkpoint, 0\.1 now"):
        fit(other, tmp_path, resume=True, progress=False, log=None)
    wider = default_config("mlp", hidden=16, epochs=2)
    with pytest.raises(CheckpointError, match="hidden=8"):
        fit(wider, tmp_path, resume=True, progress=False, log=None)
    with pytest.raises(FileExistsError, match="--resume"):
        fit(config, tmp_path, progress=False, log=None)  # a fresh run never overwrites
    assert _snapshot(tmp_path) == before


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_nan_loss_names_epoch_and_step_and_keeps_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import minitorch.apps.train as train_module

    real = train_module.load_data
    config = default_config("mlp", hidden=8, epochs=3, batch_size=100)

    def poisoned(c: Any) -> Any:
        data = real(c)
        data.x_train[250, 0, 3, 3] = np.inf  # inf - inf downstream (ReLU maps NaN to 0)
        return data

    class Stop(Exception):
        pass

    seen: list[int] = []
    monkeypatch.setattr(train_module, "load_data", poisoned)
    with pytest.raises(
        TrainingDivergedError, match=r"loss is (nan|inf) at epoch 1, step \d+/15"
    ) as info:
        fit(config, tmp_path / "a", progress=False, log=None, on_epoch=lambda r: seen.append(1))
    assert "no checkpoint was written" in str(info.value)
    assert seen == [] and not (tmp_path / "a" / CHECKPOINT).exists()
    monkeypatch.setattr(train_module, "load_data", real)

    # A NaN that appears only in a later epoch keeps the last good checkpoint.
    def explode(record: dict[str, Any]) -> None:
        if record["epoch"] == 1:
            monkeypatch.setattr(train_module, "load_data", poisoned)
            raise Stop

    with pytest.raises(Stop):
        fit(config, tmp_path / "b", progress=False, log=None, on_epoch=explode)
    before = _snapshot(tmp_path / "b")
    with pytest.raises(
        TrainingDivergedError, match=r"at epoch 2, step \d+/15.*epoch 1\) is untouched"
    ):
        fit(config, tmp_path / "b", resume=True, progress=False, log=None)
    assert _snapshot(tmp_path / "b") == before
    assert json.loads((tmp_path / "b" / METRICS).read_text())["epochs_done"] == 1

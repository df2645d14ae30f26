"""minitorch.save / minitorch.load (issue 10): PyTorch's habit, pickle-free and atomic."""

from __future__ import annotations

import io
import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minitorch
from minitorch import Adam, CheckpointError, Linear, Scalar, Tensor
from minitorch.tensor_ops import SimpleBackend


def _trained() -> tuple[Linear, Adam]:
    random.seed(0)
    m = Linear(3, 2)
    opt = Adam(m.parameters(), lr=0.01)
    m(minitorch.rand((4, 3))).sum().backward()
    opt.step()
    return m, opt


def test_state_dicts_round_trip_into_a_fresh_model_and_optimizer(tmp_path: Path) -> None:
    m, opt = _trained()
    path = tmp_path / "ckpt.pt"
    minitorch.save({"model": m.state_dict(), "optim": opt.state_dict(), "epoch": 3}, path)
    assert path.exists() and [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]
    back = minitorch.load(path)
    assert back["epoch"] == 3 and list(back["model"]) == ["weight", "bias"]
    random.seed(5)
    m2 = Linear(3, 2)
    m2.load_state_dict(back["model"])
    opt2 = Adam(m2.parameters())
    opt2.load_state_dict(back["optim"])
    assert opt2.lr == 0.01 and opt2.betas == (0.9, 0.999)
    for a, b in zip(m.parameters(), m2.parameters()):
        np.testing.assert_array_equal(np.asarray(a.value), np.asarray(b.value))
    for i in opt.state:
        assert opt2.state[i]["step"] == opt.state[i]["step"]
        np.testing.assert_array_equal(opt2.state[i]["exp_avg_sq"], opt.state[i]["exp_avg_sq"])


def test_tensors_come_back_as_constants_with_dtype_backend_and_identity(tmp_path: Path) -> None:
    t = Tensor(np.arange(6.0).reshape(2, 3), dtype=np.float32, requires_grad=True)
    s = Tensor([1.0, 2.0], backend=SimpleBackend)
    view = Tensor(np.arange(6.0).reshape(2, 3)).permute(1, 0)  # not contiguous
    minitorch.save([t, t, s, view], tmp_path / "t.pt")
    a, b, c, d = minitorch.load(tmp_path / "t.pt")
    assert a is b and a.dtype == np.float32 and not a.requires_grad and a.shape == (2, 3)
    assert c.backend is SimpleBackend and c.dtype == np.float64
    np.testing.assert_array_equal(np.asarray(d), np.arange(6.0).reshape(2, 3).T)


def test_plain_values_round_trip_exactly(tmp_path: Path) -> None:
    obj = {
        "ints": [0, -1, 10**30],
        "floats": (1.0, -0.0, math.inf, 1e-300),
        ("a", 1): "tuple key",
        3: None,
        True: {"nested": [np.float32(2.5), np.arange(3, dtype=np.int64), np.array(True)]},
        "scalar": Scalar(1.5),
    }
    f = io.BytesIO()
    minitorch.save(obj, f)
    f.seek(0)
    back = minitorch.load(f)
    assert back["ints"] == [0, -1, 10**30] and back["floats"] == (1.0, -0.0, math.inf, 1e-300)
    assert math.copysign(1.0, back["floats"][1]) == -1.0
    assert back[("a", 1)] == "tuple key" and back[3] is None
    x, y, z = back[True]["nested"]
    assert type(x) is np.float32 and x == 2.5
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 2] and z.shape == () and z
    assert isinstance(back["scalar"], Scalar) and back["scalar"].data == 1.5
    nan = io.BytesIO()
    minitorch.save(float("nan"), nan)
    nan.seek(0)
    assert math.isnan(minitorch.load(nan))


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(
        st.sampled_from([np.float32, np.float64]),
        hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4),
        elements={"allow_nan": True, "allow_infinity": True, "allow_subnormal": False},
    )
)
def test_tensor_values_and_dtype_round_trip_bit_for_bit(arr: np.ndarray) -> None:
    f = io.BytesIO()
    minitorch.save({"t": Tensor(arr)}, f)
    f.seek(0)
    back = minitorch.load(f)["t"]
    assert back.dtype == arr.dtype and back.shape == arr.shape
    assert np.asarray(back).tobytes() == arr.tobytes()


@pytest.mark.parametrize(
    ("obj", "words"),
    [
        (Linear(2, 2), "Save model.state_dict()"),
        ({"o": Adam([])}, "Save optimizer.state_dict()"),
        ({"f": lambda x: x}, "obj['f'] is a function, which cannot be saved"),
        ({"s": {1, 2}}, "is a set"),
        ({object(): 1}, "dict keys must be"),
        ({"a": np.array([object()])}, "only bool, integer and float arrays"),
    ],
)
def test_unsupported_objects_are_refused_and_nothing_is_written(
    tmp_path: Path, obj: Any, words: str
) -> None:
    path = tmp_path / "x.pt"
    path.write_bytes(b"old")
    with pytest.raises(TypeError) as info:
        minitorch.save(obj, path)
    assert words in str(info.value)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["x.pt"]


def test_a_cycle_is_refused() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        minitorch.save(loop, io.BytesIO())


def test_bad_files_get_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    good = tmp_path / "good.pt"
    minitorch.save({"w": Tensor([1.0, 2.0])}, good)
    cases = {
        "random.pt": bytes(random.Random(0).randrange(256) for _ in range(500)),
        "empty.pt": b"",
        "truncated.pt": good.read_bytes()[:-40],
        "pickle.pt": b"\x80\x04\x95" + b"\x00" * 40,
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError) as info:
            minitorch.load(tmp_path / name)
        msg = str(info.value)
        assert name in msg and "allow_pickle=True" not in msg and "pip install" not in msg
    with pytest.raises(CheckpointError, match=r"no save file at .*missing\.pt"):
        minitorch.load(tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="is a folder"):
        minitorch.load(tmp_path)
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(CheckpointError, match=r"not written by minitorch.save.*numpy.load"):
        minitorch.load(tmp_path / "other.npz")


def _rewrite(path: Path, change: Any) -> None:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _structure(arrays: dict[str, Any], root: Any) -> None:
    arrays["__minitorch__"] = np.array(json.dumps({"format": "minitorch-save/1", "root": root}))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda a: a.pop("a0"), "missing array 'a0'"),
        (lambda a: a.__setitem__("zz", np.zeros(1)), r"unexpected entries \['zz'\]"),
        (lambda a: a.__setitem__("__minitorch__", np.array("{not json")), "not minitorch-save/1"),
        (lambda a: _structure(a, {"$": "eval", "items": []}), "unknown node tag 'eval'"),
        (lambda a: _structure(a, {"$": "tensor", "array": "__minitorch__"}), "missing array"),
        (lambda a: a.__setitem__("a0", np.array([object()])), "Python objects"),
    ],
)
def test_tampered_files_are_refused(tmp_path: Path, change: Any, words: str) -> None:
    path = tmp_path / "t.pt"
    minitorch.save({"w": Tensor([1.0, 2.0])}, path)
    _rewrite(path, change)
    with pytest.raises(CheckpointError, match=words):
        minitorch.load(path)


def test_load_of_a_training_checkpoint_gives_its_state_dicts(tmp_path: Path) -> None:
    from minitorch.apps.train import CHECKPOINT, build_model, default_config, fit

    config = default_config("mlp", hidden=8, epochs=1)
    fit(config, tmp_path, progress=False, log=None)
    ck = minitorch.load(tmp_path / CHECKPOINT)
    assert ck["meta"]["epoch"] == 1 and set(ck["optimizer"]["state"]) == {0, 1, 2, 3}
    model = build_model(config, (1, 8, 8), 10)
    model.load_state_dict(ck["model"])
    opt = Adam(model.parameters())
    opt.load_state_dict(ck["optimizer"])
    assert opt.state[0]["step"] == ck["optimizer"]["state"][0]["step"]


def test_torch_style_keywords() -> None:
    f = io.BytesIO()
    minitorch.save([1], f)
    f.seek(0)
    assert minitorch.load(f, map_location="cpu", weights_only=False) == [1]
    f.seek(0)
    assert minitorch.load(f, map_location="cuda") == [1]  # no tensors: nothing to place
    with pytest.raises(ValueError, match="Unknown device 'gpu'"):
        minitorch.load(f, map_location="gpu")
    with pytest.raises(TypeError, match=r"functions.*not supported"):
        minitorch.load(f, map_location=lambda s, loc: s)


def test_optimizer_load_state_dict_checks_before_changing(tmp_path: Path) -> None:
    m, opt = _trained()
    sd = opt.state_dict()
    sd["state"][1]["exp_avg"] = np.zeros(5)
    fresh = Adam(m.parameters())
    with pytest.raises(ValueError, match=r"state 1/exp_avg has shape \(5,\)"):
        fresh.load_state_dict(sd)
    assert fresh.state == {}
    with pytest.raises(ValueError, match="other parameters"):
        Adam(m.parameters()[:1]).load_state_dict(opt.state_dict())
    with pytest.raises(TypeError, match="'state' entry"):
        fresh.load_state_dict({"x": 1})
    sgd = minitorch.SGD(m.parameters(), lr=0.1, momentum=0.9)
    assert sgd.state_dict()["param_groups"][0]["momentum"] == 0.9

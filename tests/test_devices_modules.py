"""Modules, optimisers and checkpoints follow the parameters' device (issue 12).

``Module.to`` moves every Tensor parameter in place (same Parameter objects, fresh leaves
on the device, ``requires_grad``, names and gradients kept); optimisers keep their state
and scratch on each parameter's device and give host copies in ``state_dict``;
``minitorch.save``/``load`` and the checkpoints write host arrays and put them back where
``map_location`` says. Every test runs on ``fake_cupy`` and, where there is one, on a GPU
(the ``cuda`` fixture).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minitorch
from minitorch import Parameter, Scalar, Tensor, devices, layers, nn, optim
from minitorch.apps.models import mlp
from minitorch.checkpoint import load_checkpoint, restore, save_checkpoint
from minitorch.module import Module

TOL = 1e-10


def _model(seed: int = 3) -> layers.Sequential:
    """A small float64 MLP (Flatten, Linear + ReLU twice, Linear) with seeded weights."""
    m = mlp(6, 5, 2, 3)
    rng = np.random.default_rng(seed)
    for p in m.parameters():
        p.update(Tensor(rng.normal(0, 0.5, p.value.shape)))
    return m


def _batch(device: str = "cpu") -> tuple[Tensor, Tensor]:
    rng = np.random.default_rng(11)
    x = Tensor(rng.normal(size=(8, 6)), device=device)
    y = Tensor(rng.integers(0, 3, size=8).astype(np.float64), device=device)
    return x, y


def _host(t: Any) -> np.ndarray:
    return devices.to_host(t._tensor._array) if isinstance(t, Tensor) else devices.to_host(t)


def _gpu_xp() -> Any:
    return devices.cuda_namespace()


def _on_gpu(arr: Any) -> bool:
    return devices.is_device_array(arr) and devices.namespace(arr) is _gpu_xp()


# -- Module.to ---------------------------------------------------------------------------


def test_module_to_round_trip_keeps_parameters_values_and_flags(cuda: str) -> None:
    m = _model()
    params = m.parameters()
    names = [p.value.name for p in params]
    before = [_host(p.value).copy() for p in params]
    frozen = params[1].value.requires_grad_(False)
    assert not frozen.requires_grad
    assert m.to("cuda") is m
    assert m.parameters() == params and all(a is b for a, b in zip(m.parameters(), params))
    for p, want, name in zip(params, before, names):
        assert p.value.device == minitorch.device("cuda") and p.value.is_cuda
        assert _on_gpu(p.value._tensor._array)
        assert p.value.is_leaf() and p.value.name == name
        np.testing.assert_array_equal(_host(p.value), want)
    assert [bool(p.value.requires_grad) for p in params] == [True, False] + [True] * 4
    assert m.cpu() is m
    for p, want in zip(params, before):
        assert p.value.device == minitorch.device("cpu") and not p.value.is_cuda
        assert type(p.value._tensor._array) is np.ndarray
        np.testing.assert_array_equal(p.value.to_numpy(), want)
    assert m.cuda() is m and all(p.value.is_cuda for p in params)


def test_module_to_moves_gradients_and_keeps_a_value_already_there(cuda: str) -> None:
    m = _model()
    x, y = _batch()
    nn.cross_entropy(m(x), y).backward()
    grads = [p.value.grad.to_numpy() for p in m.parameters()]
    w = m.parameters()[0].value
    assert m.to("cpu").parameters()[0].value is w  # nothing to do: the same leaf
    m.to("cuda")
    for p, g in zip(m.parameters(), grads):
        assert p.value.grad is not None and p.value.grad.is_cuda
        np.testing.assert_array_equal(_host(p.value.grad), g)
    m.zero_grad()
    assert all(p.value.grad is None for p in m.parameters())


def test_module_dtype_forms(cuda: str) -> None:
    m = _model()
    w0 = m.parameters()[0].value.to_numpy()
    assert m.float() is m and all(p.value.dtype == np.float32 for p in m.parameters())
    assert all(p.value.requires_grad for p in m.parameters())
    m.double()
    assert all(p.value.dtype == np.float64 for p in m.parameters())
    np.testing.assert_allclose(m.parameters()[0].value.to_numpy(), w0, rtol=1e-7)
    m.to("cuda", minitorch.float32)
    assert all(p.value.is_cuda and p.value.dtype == np.float32 for p in m.parameters())
    m.to(dtype=np.float64, device="cpu")
    assert all(not p.value.is_cuda and p.value.dtype == np.float64 for p in m.parameters())
    m.to(minitorch.zeros(1, device="cuda", dtype=minitorch.float32))  # to(tensor)
    assert all(p.value.is_cuda and p.value.dtype == np.float32 for p in m.parameters())
    m.to(minitorch.device("cpu"), non_blocking=True)
    assert all(not p.value.is_cuda for p in m.parameters())


def test_module_to_errors(cuda: str) -> None:
    m = _model()
    with pytest.raises(TypeError, match="only accepts floating point dtypes"):
        m.to(np.int64)
    with pytest.raises(TypeError, match="only accepts floating point dtypes"):
        m.to("cuda", "not a dtype")
    with pytest.raises(TypeError, match=r"unexpected arguments.*memory_format"):
        m.to(memory_format=None)
    with pytest.raises(ValueError, match="Unknown device 'gpu'"):
        m.to(device="gpu")

    class Scalars(Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = Parameter(Scalar(1.5), "a")

    s = Scalars()
    assert s.to("cpu") is s and s.a.value.data == 1.5
    with pytest.raises(minitorch.DeviceError, match=r"\['a'\] are Scalars.*Tensor parameters"):
        s.to("cuda")
    assert isinstance(s.a.value, Scalar)


def test_module_to_cuda_without_cuda_says_what_is_missing() -> None:
    previous = devices.use_cuda(None)
    try:
        if devices.is_available():
            pytest.skip("CUDA is available here")
        m = _model()
        w = m.parameters()[0].value
        with pytest.raises(minitorch.DeviceError, match="CUDA is not available"):
            m.cuda()
        assert m.parameters()[0].value is w
    finally:
        devices.use_cuda(previous)


def test_mixing_devices_names_both(cuda: str) -> None:
    m = _model().to("cuda")
    x, _ = _batch("cpu")
    with pytest.raises(minitorch.DeviceError, match=r"cuda:0 and cpu|cpu and cuda:0"):
        m(x)
    lin = layers.Linear(6, 3).cuda()
    with pytest.raises(minitorch.DeviceError, match=r"cuda:0 and cpu|cpu and cuda:0"):
        lin(x)
    out = m(x.cuda())
    with pytest.raises(minitorch.DeviceError, match=r"cuda:0.*cpu|cpu.*cuda:0"):
        nn.cross_entropy(out, Tensor(np.ones((8, 3)) / 3))  # CPU probabilities, GPU logits


# -- state_dict / load_state_dict / Parameter.update --------------------------------------


def test_state_dict_on_the_device_and_loads_copy_onto_it(cuda: str) -> None:
    src = _model(seed=7)
    host = {k: v.to_numpy() for k, v in src.state_dict().items()}
    m = _model().to("cuda")
    assert all(v.is_cuda for v in m.state_dict().values())
    for state in (host, src.state_dict(), {k: v.tolist() for k, v in host.items()}):
        _model(seed=9)  # (other weights in between)
        m.load_state_dict(state)
        for k, v in m.state_dict().items():
            assert v.is_cuda and v.requires_grad and v.dtype == np.float64
            np.testing.assert_array_equal(_host(v), host[k])
    m.float().load_state_dict(host)  # takes the parameter's dtype on the device
    assert all(v.is_cuda and v.dtype == np.float32 for v in m.state_dict().values())
    cpu = _model()
    cpu.load_state_dict(_model(seed=7).to("cuda").state_dict())  # GPU tensors -> CPU model
    assert all(not v.is_cuda for v in cpu.state_dict().values())
    cpu.load_state_dict({k: _gpu_xp().asarray(v) for k, v in host.items()})  # CuPy arrays
    for k, v in cpu.state_dict().items():
        np.testing.assert_array_equal(v.to_numpy(), host[k])


def test_parameter_update_with_a_device_tensor(cuda: str) -> None:
    p = Parameter(Tensor([1.0, 2.0], device="cuda"), "w")
    assert p.value.is_cuda and p.value.requires_grad and p.value.name == "w"
    p.update(Tensor([3.0, 4.0], device="cuda") * 2)  # a non-leaf: made a fresh leaf
    assert p.value.is_cuda and p.value.is_leaf() and p.value.name == "w"
    np.testing.assert_array_equal(_host(p.value), [6.0, 8.0])


# -- optimisers ----------------------------------------------------------------------------

OPTIMISERS: list[tuple[type[optim.Optimizer], dict[str, Any]]] = [
    (optim.SGD, dict(lr=0.1, momentum=0.9)),
    (optim.SGD, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    (optim.SGD, dict(lr=0.05, momentum=0.5, dampening=0.2)),
    (optim.Adam, dict(lr=0.01, weight_decay=0.05)),
    (optim.AdamW, dict(lr=0.01)),
]


def _train(m: Module, opt: optim.Optimizer, device: str, steps: int = 3) -> None:
    x, y = _batch(device)
    for _ in range(steps):
        opt.zero_grad()
        nn.cross_entropy(m(x), y).backward()
        opt.step()


@pytest.mark.parametrize(("cls", "kw"), OPTIMISERS, ids=lambda v: getattr(v, "__name__", ""))
def test_training_on_the_device_equals_the_cpu(
    cuda: str, cls: type[optim.Optimizer], kw: dict[str, Any]
) -> None:
    cpu = _model()
    _train(cpu, cls(cpu.parameters(), **kw), "cpu")
    gpu = _model()
    opt = cls(gpu.parameters(), **kw)  # built before the move: holds the same Parameters
    gpu.to("cuda")
    _train(gpu, opt, "cuda")
    for p, q in zip(gpu.parameters(), cpu.parameters()):
        assert p.value.is_cuda and p.value.is_leaf()
        np.testing.assert_allclose(_host(p.value), q.value.to_numpy(), rtol=TOL, atol=TOL)
    for st in opt.state.values():  # state lives on the device
        arrays = [v for v in st.values() if not isinstance(v, int | float)]
        assert arrays and all(_on_gpu(a) for a in arrays)
    assert opt._pools and all(_on_gpu(pool) for pool in opt._pools.values())


def test_updates_stay_in_place_on_the_device(cuda: str) -> None:
    m = _model().to("cuda")
    opt = optim.Adam(m.parameters(), lr=0.01)
    leaves = [p.value for p in m.parameters()]
    arrays = [v._tensor._array for v in leaves]
    _train(m, opt, "cuda", steps=2)
    assert [p.value for p in m.parameters()] == leaves
    assert all(v._tensor._array is a for v, a in zip(leaves, arrays))


def test_state_follows_the_parameters_when_the_model_moves(cuda: str) -> None:
    cpu, moved = _model(), _model()
    o1 = optim.SGD(cpu.parameters(), lr=0.1, momentum=0.9)
    o2 = optim.SGD(moved.parameters(), lr=0.1, momentum=0.9)
    _train(cpu, o1, "cpu", steps=2)
    _train(moved, o2, "cpu", steps=2)
    moved.to("cuda")  # state still on the host: moved once, at the next step
    _train(cpu, o1, "cpu", steps=1)
    _train(moved, o2, "cuda", steps=1)
    assert all(_on_gpu(st["momentum_buffer"]) for st in o2.state.values())
    moved.cpu()
    _train(cpu, o1, "cpu", steps=1)
    _train(moved, o2, "cpu", steps=1)
    assert all(type(st["momentum_buffer"]) is np.ndarray for st in o2.state.values())
    for p, q in zip(moved.parameters(), cpu.parameters()):
        np.testing.assert_allclose(p.value.to_numpy(), q.value.to_numpy(), rtol=TOL, atol=TOL)


def test_optimizer_state_dict_is_on_the_host_and_loads_onto_the_device(cuda: str) -> None:
    m = _model().to("cuda")
    opt = optim.Adam(m.parameters(), lr=0.01)
    _train(m, opt, "cuda", steps=2)
    sd = opt.state_dict()
    for st in sd["state"].values():
        assert st["step"] == 2
        assert type(st["exp_avg"]) is np.ndarray and type(st["exp_avg_sq"]) is np.ndarray
    fresh = optim.Adam(_model().to("cuda").parameters())
    fresh.load_state_dict(sd)
    for i, st in fresh.state.items():
        assert _on_gpu(st["exp_avg"]) and st["step"] == 2
        np.testing.assert_array_equal(_host(st["exp_avg"]), sd["state"][i]["exp_avg"])
    gpu_state = {"state": {i: dict(st) for i, st in opt.state.items()}}
    cpu_opt = optim.Adam(_model().parameters())
    cpu_opt.load_state_dict(gpu_state)  # GPU buffers into a CPU optimiser: host copies
    assert all(type(st["exp_avg"]) is np.ndarray for st in cpu_opt.state.values())


# -- minitorch.save / load -------------------------------------------------------------


def test_save_on_the_device_load_anywhere(cuda: str, tmp_path: Path) -> None:
    m = _model().to("cuda")
    opt = optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    _train(m, opt, "cuda", steps=1)
    want = {k: _host(v) for k, v in m.state_dict().items()}
    raw = _gpu_xp().asarray(np.arange(3.0))
    path = tmp_path / "m.npz"
    minitorch.save({"model": m.state_dict(), "optim": opt.state_dict(), "raw": raw}, path)
    with np.load(path, allow_pickle=False) as z:  # host arrays in the file
        assert all(z[k].dtype.kind in "fU" for k in z.files)

    back = minitorch.load(path)  # default: where it was saved from
    assert all(v.is_cuda and not v.requires_grad for v in back["model"].values())
    assert _on_gpu(back["raw"])
    assert all(type(st["momentum_buffer"]) is np.ndarray for st in back["optim"]["state"].values())
    for where in ("cpu", minitorch.device("cpu"), {"cuda:0": "cpu"}, {"cuda": "cpu"}):
        host = minitorch.load(path, map_location=where)
        assert all(not v.is_cuda for v in host["model"].values())
        assert type(host["raw"]) is np.ndarray
        cpu = _model()
        cpu.load_state_dict(host["model"])
        for k, v in cpu.state_dict().items():
            np.testing.assert_array_equal(v.to_numpy(), want[k])
    fresh = _model().to("cuda")
    fresh.load_state_dict(back["model"])
    assert all(v.is_cuda for v in fresh.state_dict().values())


def test_save_on_the_cpu_load_on_the_device(cuda: str) -> None:
    m = _model()
    f = io.BytesIO()
    minitorch.save({"model": m.state_dict(), "n": np.float64(2.0)}, f)
    for where in ("cuda", "cuda:0", minitorch.device("cuda"), {"cpu": "cuda"}):
        f.seek(0)
        back = minitorch.load(f, map_location=where)
        assert all(v.is_cuda for v in back["model"].values())
        assert back["n"] == 2.0
        for k, v in back["model"].items():
            np.testing.assert_array_equal(_host(v), m.state_dict()[k].to_numpy())
    f.seek(0)
    assert all(not v.is_cuda for v in minitorch.load(f)["model"].values())


def test_load_of_gpu_tensors_without_cuda_names_the_fix(tmp_path: Path) -> None:
    import fake_cupy

    previous = devices.use_cuda(fake_cupy)
    try:
        path = tmp_path / "g.npz"
        minitorch.save({"w": Tensor([1.0, 2.0], device="cuda")}, path)
    finally:
        devices.use_cuda(previous)
    previous = devices.use_cuda(None)
    try:
        if devices.is_available():
            pytest.skip("CUDA is available here")
        with pytest.raises(minitorch.DeviceError, match=r"saved on cuda:0.*map_location='cpu'"):
            minitorch.load(path)
        with pytest.raises(minitorch.DeviceError, match="CUDA is not available"):
            minitorch.load(path, map_location="cuda")
        w = minitorch.load(path, map_location="cpu")["w"]
        np.testing.assert_array_equal(w.to_numpy(), [1.0, 2.0])
    finally:
        devices.use_cuda(previous)


def test_load_refuses_a_damaged_device_name(tmp_path: Path) -> None:
    import json

    path = tmp_path / "d.npz"
    root = {"$": "tensor", "array": "a0", "device": "tpu"}
    text = json.dumps({"format": minitorch.serialization.FORMAT, "root": root})
    np.savez(path, __minitorch__=np.array(text), a0=np.zeros(2))
    with pytest.raises(minitorch.checkpoint.CheckpointError, match="unknown device 'tpu'"):
        minitorch.load(path)


# -- checkpoints ---------------------------------------------------------------------------


def test_checkpoint_between_devices(cuda: str, tmp_path: Path) -> None:
    m = _model().to("cuda")
    opt = optim.Adam(m.parameters(), lr=0.01)
    _train(m, opt, "cuda", steps=2)
    path = tmp_path / "ck.npz"
    save_checkpoint(path, m, opt, {"epoch": 1})
    ck = load_checkpoint(path)
    assert all(type(v) is np.ndarray for v in [*ck.params.values(), *ck.optim.values()])

    cpu = _model()
    cpu_opt = optim.Adam(cpu.parameters(), lr=0.01)
    restore(ck, cpu, cpu_opt)
    gpu = _model().to("cuda")
    gpu_opt = optim.Adam(gpu.parameters(), lr=0.01)
    restore(load_checkpoint(path), gpu, gpu_opt)
    assert all(v.is_cuda for v in gpu.state_dict().values())
    assert all(_on_gpu(st["exp_avg"]) for st in gpu_opt.state.values())
    assert all(type(st["exp_avg"]) is np.ndarray for st in cpu_opt.state.values())
    _train(m, opt, "cuda", steps=1)  # the three continue alike
    _train(cpu, cpu_opt, "cpu", steps=1)
    _train(gpu, gpu_opt, "cuda", steps=1)
    for a, b, c in zip(m.parameters(), cpu.parameters(), gpu.parameters()):
        np.testing.assert_allclose(b.value.to_numpy(), _host(a.value), rtol=TOL, atol=TOL)
        np.testing.assert_allclose(_host(c.value), _host(a.value), rtol=TOL, atol=TOL)
    loaded = minitorch.load(path, map_location="cuda")  # a train checkpoint via load
    assert all(v.is_cuda for v in loaded["model"].values())

"""Tensors on a GPU (issue 12): the op table, forward and backward, on ``cuda`` against the CPU.

Every row of the differential table (``test_torch_differential.CASES``) runs on the CPU and
on the ``cuda`` device from the same inputs; outputs and the gradients of a weighted sum
must agree (same dtype, shape and values, to the dtype's tolerance; the device results are
read back with ``.cpu()``). The ``cuda`` fixture (``conftest.py``) runs each case on
``fake_cupy`` everywhere and on a real GPU where there is one (marker ``gpu``).

The rows' own constants (targets, weights, index tensors) are made on the device too: the
module's ``Tensor`` and ``minitorch`` are swapped, for the device run only, for versions
whose creation functions default to ``device="cuda"`` (as ``torch.set_default_device``
would). Library code that made a CPU tensor in the middle of a GPU computation would
still fail here, with minitorch's mixed-device error.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import types
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitorch
from minitorch import Tensor, devices

diff = pytest.importorskip("test_torch_differential")

EXAMPLES = 6

_CREATORS = [
    "tensor",
    "zeros",
    "ones",
    "full",
    "empty",
    "eye",
    "arange",
    "linspace",
    "rand",
    "randn",
    "zeros_like",
    "ones_like",
    "full_like",
    "rand_like",
    "randn_like",
    "from_numpy",
]


class _DeviceTensorMeta(type):
    def __instancecheck__(cls, x: Any) -> bool:
        return isinstance(x, Tensor)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if "backend" not in kwargs:
            kwargs.setdefault("device", "cuda")
        return Tensor(*args, **kwargs)


class _DeviceTensor(metaclass=_DeviceTensorMeta):
    """``Tensor(...)`` made on the device; ``isinstance(t, _DeviceTensor)`` for any Tensor."""


def _on_device_namespace() -> types.SimpleNamespace:
    """``minitorch`` with its creation functions defaulting to ``device="cuda"``."""
    ns = types.SimpleNamespace(**{k: getattr(minitorch, k) for k in dir(minitorch)})
    for name in _CREATORS:
        f = getattr(minitorch, name)

        def made_on_device(*a: Any, _f: Any = f, **k: Any) -> Any:
            if "backend" not in k:
                k.setdefault("device", "cuda")
            return _f(*a, **k)

        setattr(ns, name, made_on_device)
    ns.Tensor = _DeviceTensor
    return ns


def _outputs(out: Any) -> list[Any]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _host(x: Any) -> Any:
    """A result as NumPy (Tensors) or as it is (numbers, shapes ...)."""
    if isinstance(x, Tensor):
        return x.cpu().to_numpy()
    return x


def _same(what: str, ours: Any, cpu: Any, rtol: float, atol: float) -> None:
    if isinstance(cpu, Tensor):
        assert isinstance(ours, Tensor), f"{what}: {type(ours).__name__}, CPU gave a Tensor"
        assert ours.device == minitorch.device("cuda"), f"{what}: result on {ours.device}"
        assert ours.dtype == cpu.dtype, f"{what}: dtype {ours.dtype}, CPU {cpu.dtype}"
        assert ours.shape == cpu.shape, f"{what}: shape {ours.shape}, CPU {cpu.shape}"
        np.testing.assert_allclose(_host(ours), _host(cpu), rtol=rtol, atol=atol, err_msg=what)
    else:
        assert ours == cpu, f"{what}: {ours!r}, CPU {cpu!r}"


def _run_case(case: Any, xs: list[Tensor], params: dict[str, Any], device: bool) -> list[Any]:
    saved = (diff.Tensor, diff.minitorch)
    if device:
        diff.Tensor, diff.minitorch = _DeviceTensor, _on_device_namespace()
    try:
        return _outputs(case.mt(*xs, **params))
    finally:
        diff.Tensor, diff.minitorch = saved


def _params_on_device(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v.to("cuda") if isinstance(v, Tensor) else v for k, v in params.items()}


@pytest.mark.parametrize("name", list(diff.CASES_BY_NAME))
@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_op_table_on_the_device_matches_the_cpu(cuda: str, name: str, data: st.DataObject) -> None:
    """Forward values, dtypes, shapes and gradients on ``cuda`` equal the CPU's."""
    case = diff.CASES_BY_NAME[name]
    arrays, layouts, params, dtype = diff._draw_case(data, case)
    tol = diff.TOLS[dtype]
    scale = max([1.0, *(float(np.abs(a).max()) for a in arrays if a.size)])
    cpu_xs = [diff._minitorch_input(a, lay, dtype, False) for a, lay in zip(arrays, layouts)]
    dev_xs = [x.to("cuda") for x in cpu_xs]
    assert all(x.is_cuda and not c.is_cuda for x, c in zip(dev_xs, cpu_xs))
    if case.grad:
        for x in (*cpu_xs, *dev_xs):
            x.requires_grad_(True)
    cpu_out = _run_case(case, cpu_xs, params, device=False)
    dev_out = _run_case(case, dev_xs, _params_on_device(params), device=True)
    assert len(dev_out) == len(cpu_out)
    for i, (o, c) in enumerate(zip(dev_out, cpu_out)):
        _same(f"{name} output {i}", o, c, tol.rtol, tol.atol * scale)
    if not case.grad or not any(isinstance(c, Tensor) and c.requires_grad() for c in cpu_out):
        return
    rng = np.random.default_rng(len(name))
    ws = [rng.uniform(-1.0, 1.0, size=c.shape) for c in cpu_out]
    sum(((c * Tensor(w, dtype=c.dtype)).sum() for c, w in zip(cpu_out, ws)), Tensor(0.0)).backward()
    dev_loss = sum(
        ((o * Tensor(w, dtype=o.dtype, device="cuda")).sum() for o, w in zip(dev_out, ws)),
        Tensor(0.0, device="cuda"),
    )
    dev_loss.backward()
    for i, (x, c) in enumerate(zip(dev_xs, cpu_xs)):
        if c.grad is None:
            assert x.grad is None, f"{name}: input {i} has a gradient on the device only"
            continue
        assert x.grad is not None, f"{name}: input {i} got no gradient on the device"
        _same(f"{name} grad {i}", x.grad, c.grad, tol.grad_rtol, tol.grad_atol * scale)


# ---------------------------------------------------------------------------
# Moving tensors; the device API
# ---------------------------------------------------------------------------


def test_tensors_move_between_devices_and_keep_their_values(cuda: str) -> None:
    x = minitorch.tensor([[1.0, -2.0], [3.0, 4.5]], dtype=np.float32)
    g = x.to("cuda")
    assert g.device == minitorch.device("cuda") == "cuda:0" and g.is_cuda and not x.is_cuda
    assert str(g.device) == "cuda:0" and g.dtype == np.float32 and g.shape == (2, 2)
    assert g.cuda() is g and x.cpu() is x and g.to("cuda:0") is g
    assert "device='cuda:0'" in repr(g) and "device=" not in repr(x)
    back = g.cpu()
    assert back.device == minitorch.device("cpu") and back.tolist() == x.tolist()
    assert g.tolist() == x.tolist() and g[1, 1] == 4.5 and g.sum().item() == 6.5
    assert x.to(minitorch.device("cuda"), dtype=np.float64).dtype == np.float64
    y = minitorch.tensor([1.0, 2.0], device="cuda")
    assert y.is_cuda and minitorch.zeros(2, 3, device="cuda").is_cuda
    assert minitorch.rand(3, device="cuda").is_cuda and minitorch.ones_like(y).is_cuda
    assert minitorch.zeros_like(y, device="cpu").device == "cpu"
    assert minitorch.Tensor(g).is_cuda  # data already on the GPU stays there


def test_random_draws_are_the_same_on_either_device(cuda: str) -> None:
    minitorch.manual_seed(3)
    a = minitorch.randn(4, 5)
    minitorch.manual_seed(3)
    b = minitorch.randn(4, 5, device="cuda")
    assert b.is_cuda and b.cpu().tolist() == a.tolist()


def test_gradients_flow_back_across_a_move(cuda: str) -> None:
    """``to`` is differentiable: the gradient comes back to the CPU leaf, and the reverse."""
    x = minitorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x.to("cuda") * x.to("cuda")).sum()
    assert y.is_cuda
    y.backward()
    assert x.grad is not None and not x.grad.is_cuda and x.grad.tolist() == [2.0, 4.0, 6.0]
    w = minitorch.tensor([1.0, -1.0], device="cuda", requires_grad=True)
    (w.cpu() * 3.0).sum().backward()
    assert w.grad is not None and w.grad.is_cuda and w.grad.tolist() == [3.0, 3.0]


def test_in_place_ops_and_indexing_on_the_device(cuda: str) -> None:
    t = minitorch.arange(6, device="cuda").view(2, 3)
    t[0, 1] = 10.0
    t[1, ...] = t[1, ...] + 1.0
    t.mul_(2.0)
    idx = minitorch.tensor([1.0, 1.0, 0.0], device="cuda")  # indices (a 0/1 of shape (2,): a mask)
    assert t.is_cuda and t.tolist() == [[0.0, 20.0, 4.0], [8.0, 10.0, 12.0]]
    assert t[idx].tolist() == [[8.0, 10.0, 12.0], [8.0, 10.0, 12.0], [0.0, 20.0, 4.0]]
    assert t[t > 5.0].tolist() == [20.0, 8.0, 10.0, 12.0]
    assert t.argmax(1).tolist() == [1.0, 2.0]


def test_mixing_devices_names_both(cuda: str) -> None:
    g = minitorch.tensor([1.0, 2.0], device="cuda")
    c = minitorch.tensor([1.0, 2.0])
    for op in (lambda: g + c, lambda: c * g, lambda: g.add_(c), lambda: minitorch.cat([g, c])):
        with pytest.raises(minitorch.DeviceError, match=r"cuda:0 and cpu|cpu and cuda:0"):
            op()
    with pytest.raises(minitorch.DeviceError, match="same device"):
        g.view(1, 2) @ c.view(2, 1)


def test_numpy_of_a_gpu_tensor_says_to_call_cpu(cuda: str) -> None:
    g = minitorch.tensor([1.0, 2.0], device="cuda")
    for read in (g.numpy, g.to_numpy, lambda: np.asarray(g)):
        with pytest.raises(TypeError, match=r"\.cpu\(\)"):
            read()
    assert g.cpu().numpy().tolist() == [1.0, 2.0]


def test_the_course_builds_the_gpu_backend_itself(cuda: str) -> None:
    backend = minitorch.TensorBackend(minitorch.CudaOps)
    assert backend.cuda and backend.device == "cuda"
    t = minitorch.tensor([[1.0, 2.0], [3.0, 4.0]], backend=backend)
    assert t.is_cuda and t.backend is backend
    assert (t @ t).tolist() == [[7.0, 10.0], [15.0, 22.0]]
    assert backend.add_reduce(t, 0).tolist() == [[4.0, 6.0]]
    assert minitorch.FastBackend.device == "cpu" and not minitorch.FastBackend.cuda


def test_lambdas_run_on_the_device_through_the_host(cuda: str) -> None:
    """A Python float function (no vectorised twin) still works on GPU data."""
    backend = minitorch.TensorBackend(minitorch.CudaOps)
    t = minitorch.tensor([1.0, 2.0, 3.0], backend=backend)
    square = minitorch.CudaOps.map(lambda v: v * v)
    add = minitorch.CudaOps.zip(lambda a, b: a + 2 * b)
    fold = minitorch.CudaOps.reduce(lambda a, b: a * 10 + b, 0.0)
    assert square(t).is_cuda and square(t).tolist() == [1.0, 4.0, 9.0]
    assert add(t, t).tolist() == [3.0, 6.0, 9.0]
    assert fold(t, 0).tolist() == [123.0]


def _step_state(device: str) -> tuple[list[Tensor], Any]:
    minitorch.manual_seed(0)
    w1 = minitorch.randn(4, 8, dtype=np.float32, device=device).requires_grad_()
    w2 = minitorch.randn(8, 3, dtype=np.float32, device=device).requires_grad_()
    params = [w1, w2]
    opt = minitorch.SGD([minitorch.Parameter(p) for p in params], lr=0.1)

    def step(x: Tensor, y: Tensor) -> Tensor:
        opt.zero_grad()
        logits = (x @ w1).relu() @ w2
        loss = minitorch.cross_entropy(logits, y)
        loss.backward()
        opt.step()
        return loss

    return params, step


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_a_training_step_on_the_device_equals_the_cpu(cuda: str, compiled: bool) -> None:
    """Eager and ``minitorch.compile``d steps on ``cuda`` give the CPU's losses and weights."""
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((6, 5, 4)).astype(np.float32)
    ys = rng.integers(0, 3, size=(6, 5)).astype(np.float64)
    results = {}
    for device in ("cpu", "cuda"):
        params, step = _step_state(device)
        run = minitorch.compile(step) if compiled else step
        losses = [
            run(minitorch.tensor(x, device=device), minitorch.tensor(y, device=device)).item()
            for x, y in zip(xs, ys)
        ]
        assert all(p.device == device for p in params)
        results[device] = (losses, [p.cpu().to_numpy() for p in params])
    (cl, cp), (gl, gp) = results["cpu"], results["cuda"]
    np.testing.assert_allclose(gl, cl, rtol=1e-5)
    for a, b in zip(gp, cp):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------
# Without CuPy or a GPU
# ---------------------------------------------------------------------------


def test_import_minitorch_needs_no_cupy() -> None:
    code = (
        "import sys, minitorch; t = minitorch.tensor([1.0]) + 1; "
        "print('cupy' in sys.modules, minitorch.cuda.is_available() in (True, False))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_asking_for_cuda_without_cupy_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    previous = devices.use_cuda(None)
    real_import = importlib.import_module

    def no_cupy(name: str, *a: Any) -> Any:
        if name == "cupy":
            raise ImportError("No module named 'cupy'")
        return real_import(name, *a)

    monkeypatch.setattr(devices.importlib, "import_module", no_cupy)
    try:
        assert not minitorch.cuda.is_available() and minitorch.cuda.device_count() == 0
        minitorch.cuda.synchronize()  # nothing to wait for: no error
        for ask in (
            lambda: minitorch.tensor([1.0], device="cuda"),
            lambda: minitorch.tensor([1.0]).cuda(),
            lambda: minitorch.TensorBackend(minitorch.CudaOps),
            lambda: minitorch.zeros(2, device="cuda"),
        ):
            with pytest.raises(minitorch.DeviceError, match=r"CuPy is not installed.*gpu"):
                ask()
    finally:
        devices.use_cuda(previous)


def test_device_names_follow_pytorch() -> None:
    d = minitorch.device("cuda", 0)
    assert d == minitorch.device("cuda:0") == minitorch.device("cuda") == "cuda"
    assert d.type == "cuda" and d.index == 0 and repr(d) == "device(type='cuda', index=0)"
    assert minitorch.device("cpu").index is None and str(minitorch.device("cpu")) == "cpu"
    assert hash(d) == hash(minitorch.device("cuda:0")) and d != minitorch.device("cpu")
    with pytest.raises(ValueError, match="Unknown device 'tpu'"):
        minitorch.device("tpu")
    with pytest.raises(minitorch.DeviceError, match="one GPU"):
        minitorch.device("cuda:1")
    assert minitorch.tensor([1.0]).device == "cpu"


def test_the_course_practice_kernels(cuda: str) -> None:
    backend = minitorch.TensorBackend(minitorch.CudaOps)
    xs = [float(i) for i in range(40)]
    out = minitorch.sum_practice(minitorch.tensor(xs, backend=backend))
    assert out.shape == (2,) and float(out._storage[0]) == sum(xs[:32])
    assert float(out._storage[1]) == sum(xs[32:])
    a = minitorch.rand(4, 4)
    b = minitorch.rand(4, 4)
    mm = minitorch.mm_practice(a.to(backend), b.to(backend))
    np.testing.assert_allclose(devices.to_host(mm._array), (a @ b).to_numpy())
    with pytest.raises(ValueError, match="square"):
        minitorch.mm_practice(minitorch.rand(2, 3), minitorch.rand(3, 2))


def test_gradcheck_and_functional_transforms_on_the_device(cuda: str) -> None:
    x = minitorch.tensor([[0.5, -1.0], [2.0, 0.25]], device="cuda")
    assert minitorch.gradcheck(lambda t: (t * t).sigmoid() @ t, x)
    g = minitorch.grad(lambda t: (t.exp() * t).sum())(x)
    assert g.is_cuda
    np.testing.assert_allclose(g.cpu().to_numpy(), (x.exp() * (x + 1.0)).cpu().to_numpy())
    jac = minitorch.jacrev(lambda t: t * 2.0)(minitorch.tensor([1.0, 2.0], device="cuda"))
    assert jac.is_cuda and jac.cpu().tolist() == [[2.0, 0.0], [0.0, 2.0]]
    minitorch.grad_check(lambda t: t.relu() * 3.0, minitorch.tensor([1.0, -2.0], device="cuda"))


def test_in_place_writes_on_the_device_are_caught_by_autograd(cuda: str) -> None:
    """The version counters see a GPU array's views as the CPU's: modifying a tensor that
    backward needs raises the same error on both devices."""
    errors = []
    for device in ("cpu", "cuda"):
        x = minitorch.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
        y = x.exp()  # backward reads y (its output)
        z = y.view(3, 1).sum()
        y.detach()[0] = 5.0  # a write through another tensor over the same memory
        with pytest.raises(RuntimeError, match="modified") as e:
            (z + y.sum()).backward()
        errors.append(str(e.value))
    assert errors[0] == errors[1]


def test_tensor_data_moves_to_the_gpu_in_place_keeping_its_strides(cuda: str) -> None:
    td = minitorch.TensorData([float(i) for i in range(6)], (2, 3)).permute(1, 0)
    td.to_cuda_()
    assert devices.is_device_array(td._array) and td.shape == (3, 2) and td.strides == (1, 3)
    assert td.get((2, 1)) == 5.0 and "5.00" in td.to_string()


def test_a_one_element_cpu_tensor_does_not_mix_into_a_gpu_op(cuda: str) -> None:
    """Shape-(1,) operands are read as scalars (fast path): one from the other device must
    still be refused, whichever side it is on."""
    g = minitorch.tensor([1.0, 2.0], device="cuda")
    one = minitorch.tensor([3.0])
    for op in (lambda: one * g, lambda: g - one, lambda: minitorch.where(one, g, g)):
        with pytest.raises(minitorch.DeviceError, match="same device"):
            op()

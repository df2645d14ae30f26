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

import types
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitorch
from minitorch import Tensor

diff = pytest.importorskip("test_torch_differential")

EXAMPLES = 3

_CREATORS = (
    "tensor zeros ones full empty eye arange linspace rand randn zeros_like ones_like "
    "full_like rand_like randn_like from_numpy"
).split()


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

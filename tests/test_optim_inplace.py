"""Optimisers update Tensor parameters in place (issue 11).

``p.value`` stays the same leaf and its NumPy array the same array; the values are bit for
bit those of the out-of-place formulas the optimisers used before (transcribed below), and
close to ``torch.optim`` over many steps; the write bumps the storage's version; a step
allocates nothing parameter-sized.
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import numpy as np
import pytest

import minitorch
from minitorch import Parameter, Scalar, Tensor, _versions
from minitorch.optim import SGD, Adam, AdamW, CosineAnnealingLR, Optimizer, StepLR

STEPS = 40
SHAPES = [(3, 4), (4,), (2, 3, 2)]

SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.8, dampening=0.3),
    dict(lr=0.1, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.01),
    dict(lr=0.05, momentum=0.5, weight_decay=0.1, nesterov=True),
    dict(lr=0.05, momentum=0.7, dampening=0.1, weight_decay=0.2),
]
ADAM_CASES: list[tuple[type[Adam], dict[str, Any]]] = [
    (Adam, dict(lr=0.01)),
    (Adam, dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    (AdamW, dict(lr=0.01)),
    (AdamW, dict(lr=0.05, betas=(0.5, 0.9), weight_decay=0.3)),
]
CASES: list[tuple[type[Optimizer], dict[str, Any]]] = [(SGD, kw) for kw in SGD_CASES] + list(
    ADAM_CASES
)
IDS = [f"{c.__name__}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for c, kw in CASES]


def _grad(theta: np.ndarray, k: int) -> np.ndarray:
    """A fixed, state-dependent gradient, in theta's dtype."""
    ramp = np.cos(np.arange(theta.size)).reshape(theta.shape)
    return (theta**3 - theta + 0.1 * (k + 1) * ramp).astype(theta.dtype)


def _theta0(dtype: Any) -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    return [rng.uniform(-1.5, 1.5, s).astype(dtype) for s in SHAPES]


# -- the out-of-place formulas the optimisers used before issue 11, verbatim -------------


def _old_sgd(opt: Any, state: dict[int, Any], i: int, x: np.ndarray, g: np.ndarray) -> Any:
    mu, wd = opt["momentum"], opt["weight_decay"]
    if mu == 0 and wd == 0:
        return x - opt["lr"] * g
    if wd:
        g = g + wd * x
    if mu:
        st = state.setdefault(i, {})
        buf = st.get("momentum_buffer")
        buf = np.array(g, copy=True) if buf is None else mu * buf + (1 - opt["dampening"]) * g
        st["momentum_buffer"] = buf
        g = g + mu * buf if opt["nesterov"] else buf
    return x - opt["lr"] * g


def _old_adam(opt: Any, state: dict[int, Any], i: int, x: np.ndarray, g: np.ndarray) -> Any:
    b1, b2 = opt["betas"]
    lr, wd = opt["lr"], opt["weight_decay"]
    if wd and opt["decoupled"]:
        x = x * (1 - lr * wd)
    elif wd:
        g = g + wd * x
    st = state.setdefault(i, {"step": 0, "exp_avg": 0.0, "exp_avg_sq": 0.0})
    st["step"] += 1
    t = st["step"]
    m = st["exp_avg"] = b1 * st["exp_avg"] + (1 - b1) * g
    v = st["exp_avg_sq"] = b2 * st["exp_avg_sq"] + (1 - b2) * (g * g)
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    return x - lr * m_hat / (np.sqrt(v_hat) + opt["eps"])


def _old_settings(cls: type[Optimizer], kw: dict[str, Any]) -> dict[str, Any]:
    if cls is SGD:
        return dict(momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False) | kw
    wd = 0.01 if cls is AdamW else 0.0
    return dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=wd, decoupled=cls is AdamW) | kw


def _lr_at(step: int, lr: float) -> float:
    """A schedule that changes lr between steps (read live by the optimiser)."""
    return lr * (0.5 if step % 7 >= 4 else 1.0)


def _run_old(cls: type[Optimizer], kw: dict[str, Any], dtype: Any) -> list[np.ndarray]:
    rule = _old_sgd if cls is SGD else _old_adam
    settings = _old_settings(cls, kw)
    xs, state = _theta0(dtype), {}
    for k in range(STEPS):
        settings["lr"] = _lr_at(k, kw["lr"])
        for i, x in enumerate(xs):
            if k % 5 == 3 and i == 1:
                continue  # no gradient this step: left alone
            new = rule(settings, state, i, x, _grad(x, k))
            xs[i] = np.asarray(new, dtype=dtype)
    return xs


def _run_new(cls: type[Optimizer], kw: dict[str, Any], dtype: Any) -> list[Parameter]:
    ps = [Parameter(Tensor(x, dtype=dtype), f"p{i}") for i, x in enumerate(_theta0(dtype))]
    opt: Any = cls(ps, **kw)
    for k in range(STEPS):
        opt.lr = _lr_at(k, kw["lr"])
        opt.zero_grad()
        for i, p in enumerate(ps):
            if not (k % 5 == 3 and i == 1):
                p.value.grad = Tensor(_grad(p.value.to_numpy(), k), dtype=dtype)
        opt.step()
    return ps


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("cls", "kw"), CASES, ids=IDS)
def test_bit_for_bit_the_out_of_place_formulas(
    cls: type[Optimizer], kw: dict[str, Any], dtype: Any
) -> None:
    expected = _run_old(cls, kw, dtype)
    for p, x in zip(_run_new(cls, kw, dtype), expected, strict=True):
        assert p.value.dtype == dtype
        np.testing.assert_array_equal(p.value.to_numpy(), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("cls", "kw"), CASES, ids=IDS)
def test_matches_torch_over_many_steps(
    cls: type[Optimizer], kw: dict[str, Any], dtype: Any
) -> None:
    torch = pytest.importorskip("torch")
    tcls = {SGD: torch.optim.SGD, Adam: torch.optim.Adam, AdamW: torch.optim.AdamW}[cls]
    ts = [torch.tensor(x, requires_grad=True) for x in _theta0(dtype)]
    topt = tcls(ts, **kw)
    for k in range(STEPS):
        topt.param_groups[0]["lr"] = _lr_at(k, kw["lr"])
        topt.zero_grad()
        for i, t in enumerate(ts):
            if not (k % 5 == 3 and i == 1):
                t.grad = torch.tensor(_grad(t.detach().numpy(), k))
        topt.step()
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)
    for p, t in zip(_run_new(cls, kw, dtype), ts, strict=True):
        np.testing.assert_allclose(p.value.to_numpy(), t.detach().numpy(), **tol)


@pytest.mark.parametrize(("cls", "kw"), CASES, ids=IDS)
def test_the_value_and_its_array_stay_the_same_objects(
    cls: type[Optimizer], kw: dict[str, Any]
) -> None:
    model = minitorch.Linear(3, 2)
    params = model.parameters()
    held = [p.value for p in params]  # a leaf that something else holds
    arrays = [v._tensor._array for v in held]
    before = [v.to_numpy() for v in held]
    opt: Any = cls(params, **kw)
    x = minitorch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]])
    for _ in range(3):
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
    for p, v, arr, old in zip(params, held, arrays, before, strict=True):
        assert p.value is v and v._tensor._array is arr
        assert v.is_leaf() and v.requires_grad and v.grad is not None  # grads stay, as torch
        assert not np.array_equal(v.to_numpy(), old)  # the holder sees the step
    opt.zero_grad()
    assert all(p.value.grad is None for p in params)


def test_views_of_a_parameter_see_the_step() -> None:
    w = Parameter(Tensor(np.ones((2, 3))))
    view = w.value.detach()  # shares the storage
    w.value.grad = Tensor(np.full((2, 3), 2.0))
    SGD([w], lr=0.25).step()
    np.testing.assert_array_equal(view.to_numpy(), np.full((2, 3), 0.5))


@pytest.mark.parametrize(("cls", "kw"), CASES, ids=IDS)
def test_a_step_allocates_nothing_parameter_sized(cls: type[Optimizer], kw: dict[str, Any]) -> None:
    n = 250_000  # 2 MB of float64 per parameter
    ps = [Parameter(Tensor(np.linspace(-1, 1, n))), Parameter(Tensor(np.ones(n // 2)))]
    for p in ps:
        p.value.grad = Tensor(np.full(p.value.shape, 0.5))
    opt: Any = cls(ps, **kw)
    opt.step()  # the first step makes the state buffers and the scratch pool
    opt.step()
    tracemalloc.start()
    try:
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100_000, f"a step allocated {peak} bytes"


def test_an_in_place_step_bumps_the_version_so_a_saved_graph_refuses() -> None:
    _versions.switch_on()
    w = Parameter(Tensor([1.0, 2.0, 3.0]), "w")
    loss = (w.value * w.value).sum()  # Mul saves w
    w.value.grad = Tensor([1.0, 1.0, 1.0])
    v0 = _versions.version(w.value._tensor._array)
    SGD([w], lr=0.1, momentum=0.9).step()
    assert _versions.version(w.value._tensor._array) == v0 + 1
    with pytest.raises(RuntimeError, match="modified"):
        loss.backward()


def test_the_step_does_not_switch_the_version_counters_on(monkeypatch: Any) -> None:
    monkeypatch.setattr(_versions, "on", False)
    w = Parameter(Tensor([1.0, 2.0]))
    w.value.grad = Tensor([1.0, 1.0])
    Adam([w]).step()
    assert _versions.on is False


def test_course_style_update_loops_still_work() -> None:
    """``p.update(p.value - lr * p.value.grad)``: a fresh leaf, as the course writes it."""
    model = minitorch.Linear(2, 1)
    x = minitorch.tensor([[1.0, 2.0]])
    model(x).sum().backward()
    for p in model.parameters():
        old = p.value
        p.update(p.value - 0.1 * p.value.grad)
        assert p.value is not old and p.value.is_leaf() and p.value.requires_grad
        np.testing.assert_allclose(
            p.value.to_numpy(), old.to_numpy() - 0.1 * old.grad.to_numpy(), rtol=1e-15
        )
    model(x).sum().backward()  # the fresh leaves train on
    assert all(p.value.grad is not None for p in model.parameters())


@pytest.mark.parametrize(("cls", "kw"), CASES, ids=IDS)
def test_scalars_still_get_fresh_leaves(cls: type[Optimizer], kw: dict[str, Any]) -> None:
    s = Parameter(Scalar(1.5), "s")
    opt: Any = cls([s], **kw)
    x: Any = np.float64(1.5)
    state: dict[int, Any] = {}
    settings = _old_settings(cls, kw)
    rule = _old_sgd if cls is SGD else _old_adam
    for k in range(5):
        old = s.value
        s.value.derivative = float(k) - 1.7
        opt.step()
        x = rule(settings, state, 0, x, np.float64(k - 1.7))
        assert s.value is not old and isinstance(s.value, Scalar) and s.value.is_leaf()
        assert s.value.data == float(x)


def test_a_read_only_or_non_leaf_value_gets_a_fresh_leaf() -> None:
    ro = Parameter(Tensor([1.0, 2.0]))
    ro.value._tensor._array.flags.writeable = False
    ro.value.grad = Tensor([1.0, 1.0])
    old = ro.value
    SGD([ro], lr=0.5, momentum=0.5).step()
    assert ro.value is not old and ro.value.is_leaf()
    np.testing.assert_array_equal(ro.value.to_numpy(), [0.5, 1.5])
    np.testing.assert_array_equal(old.to_numpy(), [1.0, 2.0])  # read-only memory kept


def test_a_gradient_of_another_dtype_is_cast() -> None:
    w = Parameter(Tensor([1.0, 2.0], dtype=np.float32))
    w.value.grad = Tensor([0.1, 0.2], dtype=np.float64)
    SGD([w], lr=1.0).step()
    assert w.value.dtype == np.float32
    np.testing.assert_array_equal(
        w.value.to_numpy(), np.float32([1.0, 2.0]) - np.float32([0.1, 0.2])
    )


@pytest.mark.parametrize(("cls", "kw"), CASES, ids=IDS)
def test_state_dict_round_trip_resumes_exactly(cls: type[Optimizer], kw: dict[str, Any]) -> None:
    def make() -> tuple[list[Parameter], Any]:
        ps = [Parameter(Tensor(x)) for x in _theta0(np.float64)]
        return ps, cls(ps, **kw)

    def run(ps: list[Parameter], opt: Any, ks: range) -> None:
        for k in ks:
            for p in ps:
                p.value.grad = Tensor(_grad(p.value.to_numpy(), k))
            opt.step()

    ps, opt = make()
    run(ps, opt, range(6))
    saved = opt.state_dict()
    snapshot = {i: {k: np.copy(v) for k, v in st.items()} for i, st in saved["state"].items()}
    values = [p.value.to_numpy() for p in ps]
    run(ps, opt, range(6, 12))
    for i, st in saved["state"].items():  # copies: later in-place steps leave them alone
        for k, v in st.items():
            np.testing.assert_array_equal(v, snapshot[i][k])
    qs, opt2 = make()
    for q, v in zip(qs, values, strict=True):
        q.value._tensor._array[...] = v
    opt2.load_state_dict(saved)
    run(qs, opt2, range(6, 12))
    for p, q in zip(ps, qs, strict=True):
        np.testing.assert_array_equal(p.value.to_numpy(), q.value.to_numpy())


def test_loaded_buffers_take_the_parameters_dtype() -> None:
    w = Parameter(Tensor(np.ones(3), dtype=np.float32))
    opt = Adam([w], lr=0.1)
    opt.load_state_dict({"state": {0: {"step": 2, "exp_avg": np.full(3, 0.5), "exp_avg_sq": 0.25}}})
    w.value.grad = Tensor(np.ones(3), dtype=np.float32)
    opt.step()
    st = opt.state[0]
    assert st["step"] == 3
    assert st["exp_avg"].dtype == np.float32 and st["exp_avg"].shape == (3,)
    assert st["exp_avg_sq"].dtype == np.float32 and st["exp_avg_sq"].shape == (3,)
    assert w.value.dtype == np.float32


def test_schedulers_act_between_in_place_steps() -> None:
    for make in (lambda o: StepLR(o, step_size=2, gamma=0.5), lambda o: CosineAnnealingLR(o, 4)):
        w = Parameter(Tensor([0.0]))
        opt = SGD([w], lr=1.0)
        sched = make(opt)
        expected = 0.0
        for _ in range(5):
            lr = opt.lr
            w.value.grad = Tensor([1.0])
            opt.step()
            sched.step()
            expected -= lr
            assert w.value.to_numpy()[0] == pytest.approx(expected, rel=1e-15, abs=1e-15)


def test_plain_sgd_moves_other_values_with_grad_and_momentum_refuses_them() -> None:
    class Value:
        def __init__(self, x: float, grad: float | None = None) -> None:
            self.x, self.grad = x, grad

        def __sub__(self, other: float) -> Value:
            return Value(self.x - other)

    p = Parameter(Value(1.0, 0.5))
    SGD([p], lr=0.1).step()
    assert p.value.x == pytest.approx(0.95) and p.value.grad is None
    q = Parameter(Value(1.0, 0.5))
    with pytest.raises(TypeError, match="updates Scalars and Tensors"):
        SGD([q], lr=0.1, momentum=0.9).step()


def test_non_finite_values_still_reach_the_parameters() -> None:
    """The training app's divergence check reads ``p.value`` and the state after a step."""
    w = Parameter(Tensor(np.ones(2), dtype=np.float32))
    w.value.grad = Tensor(np.float32([3e20, 1.0]), dtype=np.float32)
    opt = Adam([w], lr=0.1)
    with np.errstate(over="ignore", invalid="ignore"):
        opt.step()
    assert not np.isfinite(opt.state[0]["exp_avg_sq"]).all()  # g² overflowed float32
    assert np.isfinite(w.value.to_numpy()[1])

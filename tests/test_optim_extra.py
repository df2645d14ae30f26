"""Optimisers beyond plain SGD: momentum, Nesterov, weight decay, Adam, AdamW, LR schedules.

Each rule is checked against a direct NumPy transcription of its published update and,
when PyTorch is installed, against ``torch.optim`` fed the same gradients.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from minitorch import Parameter, Scalar, Tensor
from minitorch.optim import SGD, Adam, AdamW, CosineAnnealingLR, Optimizer, StepLR

STEPS = 8


def _grad(theta: np.ndarray, k: int) -> np.ndarray:
    """A fixed, state-dependent gradient (the same for every implementation)."""
    return theta**3 - theta + 0.1 * (k + 1) * np.cos(np.arange(theta.size)).reshape(theta.shape)


def _run_minitorch(make: Callable[[list[Parameter]], Any], theta0: np.ndarray) -> np.ndarray:
    p = Parameter(Tensor(theta0.copy()))
    opt = make([p])
    for k in range(STEPS):
        p.value.grad = Tensor(_grad(p.value.to_numpy(), k))
        opt.step()
    return p.value.to_numpy()


def _run_reference(
    rule: Callable[[np.ndarray, np.ndarray, dict[str, Any], int], np.ndarray], theta0: np.ndarray
) -> np.ndarray:
    theta, state = theta0.copy(), {}
    for k in range(STEPS):
        theta = rule(theta, _grad(theta, k), state, k + 1)
    return theta


def _sgd_rule(lr: float, mu: float, damp: float, wd: float, nesterov: bool) -> Any:
    def rule(theta: np.ndarray, g: np.ndarray, st: dict[str, Any], t: int) -> np.ndarray:
        g = g + wd * theta
        if mu:
            st["b"] = g.copy() if t == 1 else mu * st["b"] + (1 - damp) * g
            g = g + mu * st["b"] if nesterov else st["b"]
        return theta - lr * g

    return rule


def _adam_rule(lr: float, b1: float, b2: float, eps: float, wd: float, decoupled: bool) -> Any:
    def rule(theta: np.ndarray, g: np.ndarray, st: dict[str, Any], t: int) -> np.ndarray:
        if decoupled:
            theta = theta * (1 - lr * wd)
        else:
            g = g + wd * theta
        st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
        st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g * g
        m_hat, v_hat = st["m"] / (1 - b1**t), st["v"] / (1 - b2**t)
        return theta - lr * m_hat / (np.sqrt(v_hat) + eps)

    return rule


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.8, dampening=0.3),
    dict(lr=0.1, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.01),
    dict(lr=0.1, momentum=0.5, weight_decay=0.1, nesterov=True),
]
ADAM_CASES = [
    (Adam, dict(lr=0.01)),
    (Adam, dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    (AdamW, dict(lr=0.01)),
    (AdamW, dict(lr=0.05, betas=(0.5, 0.9), weight_decay=0.3)),
]
THETA0 = np.linspace(-1.5, 1.2, 6).reshape(2, 3)


@pytest.mark.parametrize("kw", SGD_CASES)
def test_sgd_matches_the_published_rule(kw: dict[str, Any]) -> None:
    got = _run_minitorch(lambda ps: SGD(ps, **kw), THETA0)
    rule = _sgd_rule(
        kw["lr"],
        kw.get("momentum", 0.0),
        kw.get("dampening", 0.0),
        kw.get("weight_decay", 0.0),
        kw.get("nesterov", False),
    )
    np.testing.assert_allclose(got, _run_reference(rule, THETA0), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("cls", "kw"), ADAM_CASES)
def test_adam_matches_the_published_rule(cls: type[Adam], kw: dict[str, Any]) -> None:
    got = _run_minitorch(lambda ps: cls(ps, **kw), THETA0)
    b1, b2 = kw.get("betas", (0.9, 0.999))
    wd = kw.get("weight_decay", 0.01 if cls is AdamW else 0.0)
    rule = _adam_rule(kw["lr"], b1, b2, kw.get("eps", 1e-8), wd, cls is AdamW)
    np.testing.assert_allclose(got, _run_reference(rule, THETA0), rtol=1e-12, atol=1e-14)


def _run_torch(make: Callable[[list[Any]], Any], theta0: np.ndarray) -> np.ndarray:
    torch = pytest.importorskip("torch")
    p = torch.tensor(theta0.copy(), requires_grad=True)
    opt = make([p])
    for k in range(STEPS):
        p.grad = torch.tensor(_grad(p.detach().numpy(), k))
        opt.step()
    return p.detach().numpy()


@pytest.mark.parametrize("kw", SGD_CASES)
def test_sgd_matches_torch(kw: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    expected = _run_torch(lambda ps: torch.optim.SGD(ps, **kw), THETA0)
    np.testing.assert_allclose(
        _run_minitorch(lambda ps: SGD(ps, **kw), THETA0), expected, rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize(("cls", "kw"), ADAM_CASES)
def test_adam_matches_torch(cls: type[Adam], kw: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    tcls = torch.optim.Adam if cls is Adam else torch.optim.AdamW
    expected = _run_torch(lambda ps: tcls(ps, **kw), THETA0)
    np.testing.assert_allclose(
        _run_minitorch(lambda ps: cls(ps, **kw), THETA0), expected, rtol=1e-10, atol=1e-12
    )


def test_scalars_follow_the_same_rules() -> None:
    for make in (
        lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
        lambda ps: Adam(ps, lr=0.1),
        lambda ps: AdamW(ps, lr=0.1, weight_decay=0.2),
    ):
        s = Parameter(Scalar(0.7))
        t = Parameter(Tensor([0.7]))
        os_, ot = make([s]), make([t])
        for k in range(STEPS):
            s.value.derivative = float(_grad(np.array([s.value.data]), k)[0])
            t.value.grad = Tensor(_grad(t.value.to_numpy(), k))
            os_.step()
            ot.step()
        assert isinstance(s.value, Scalar) and s.value.is_leaf()
        assert s.value.data == pytest.approx(t.value.item(), rel=1e-12)


def test_step_updates_in_place_and_skips_parameters_without_grad() -> None:
    a = Parameter(Tensor(np.ones((2, 2)), dtype=np.float32), "a")
    b = Parameter(Tensor([1.0, 2.0]), "b")
    old_a, old_b = a.value, b.value
    a.value.grad = Tensor(np.ones((2, 2)), dtype=np.float32)
    opt = Adam([a, b], lr=0.1)
    opt.step()
    assert b.value is old_b  # no gradient: untouched
    assert a.value is old_a and a.value.is_leaf() and a.value.grad is not None  # as torch
    assert a.value.dtype == np.float32 and a.value.backend is old_a.backend
    assert a.value.name == "a"
    np.testing.assert_allclose(a.value.to_numpy(), 0.9, rtol=1e-6)
    opt.zero_grad()
    assert a.value.grad is None


def test_argument_errors() -> None:
    p = [Parameter(Tensor([1.0]))]
    with pytest.raises(ValueError, match="nesterov"):
        SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        Adam(p, betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="lr"):
        SGD(p, lr=-1.0)
    with pytest.raises(NotImplementedError):
        Optimizer(p).step()

    class Duck:
        grad = 1.0

    with pytest.raises(TypeError, match="Duck"):
        Adam([Parameter(Duck())]).step()


def test_adam_minimises_a_quadratic() -> None:
    p = Parameter(Tensor([3.0, -2.0], requires_grad=True))
    opt = Adam([p], lr=0.1)
    for _ in range(300):
        opt.zero_grad()
        x = p.value
        ((x - 1.0) * (x - 1.0)).sum().backward()
        opt.step()
    np.testing.assert_allclose(p.value.to_numpy(), [1.0, 1.0], atol=1e-3)


# ---------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------


def test_step_lr_and_cosine_closed_forms() -> None:
    opt = SGD([Parameter(Tensor([0.0]))], lr=1.0)
    sched = StepLR(opt, step_size=3, gamma=0.5)
    lrs = []
    for _ in range(7):
        lrs.append(sched.get_last_lr()[0])
        sched.step()
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    opt2 = Adam([Parameter(Tensor([0.0]))], lr=0.1)
    cos = CosineAnnealingLR(opt2, T_max=4, eta_min=0.01)
    seen = []
    for _ in range(5):
        seen.append(opt2.lr)
        cos.step()
    expected = [0.01 + 0.09 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(5)]
    np.testing.assert_allclose(seen, expected)
    assert seen[-1] == pytest.approx(0.01)
    with pytest.raises(ValueError):
        StepLR(opt, step_size=0)


@pytest.mark.parametrize("which", ["step", "cosine"])
def test_schedules_match_torch(which: str) -> None:
    torch = pytest.importorskip("torch")
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3)
    opt = SGD([Parameter(Tensor([0.0]))], lr=0.3)
    if which == "step":
        tsched: Any = torch.optim.lr_scheduler.StepLR(topt, step_size=2, gamma=0.3)
        sched: Any = StepLR(opt, step_size=2, gamma=0.3)
    else:
        tsched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=6, eta_min=0.02)
        sched = CosineAnnealingLR(opt, T_max=6, eta_min=0.02)
    for _ in range(10):
        assert sched.get_last_lr()[0] == pytest.approx(tsched.get_last_lr()[0], rel=1e-9)
        topt.step()
        tsched.step()
        sched.step()

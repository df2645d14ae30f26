"""Contract §11: Optimizer and SGD on Scalar parameters."""

from __future__ import annotations

import pytest

import minitorch
from minitorch import SGD, Module, Optimizer, Parameter, Scalar


class Model(Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = Parameter(Scalar(2.0))
        self.b = Parameter(Scalar(-1.0))
        self.unused = Parameter(Scalar(7.0))

    def forward(self, x: float) -> Scalar:
        return self.w.value * x + self.b.value


def test_optimizer_stores_parameters() -> None:
    m = Model()
    opt = Optimizer(m.parameters())
    assert list(opt.parameters) == list(m.parameters())
    sgd = SGD(m.parameters(), lr=0.5)
    assert sgd.lr == 0.5
    assert SGD(m.parameters()).lr == 1.0
    assert isinstance(sgd, Optimizer)


def test_zero_grad_sets_derivative_to_none() -> None:
    m = Model()
    m(3.0).backward()
    assert m.w.value.derivative == 3.0
    SGD(m.parameters()).zero_grad()
    assert all(p.value.derivative is None for p in m.parameters())


def test_step_makes_fresh_leaves() -> None:
    m = Model()
    old_w, old_b, old_unused = m.w.value, m.b.value, m.unused.value
    loss = m(3.0)  # w * 3 + b
    loss.backward()
    lr = 0.1
    SGD(m.parameters(), lr=lr).step()
    new_w, new_b = m.w.value, m.b.value
    assert new_w is not old_w and new_b is not old_b
    assert new_w.data == 2.0 - lr * 3.0
    assert new_b.data == -1.0 - lr * 1.0
    for v in (new_w, new_b):
        assert isinstance(v, Scalar)
        assert v.is_leaf()
        assert v.derivative is None
    # A parameter without a derivative is left alone (the very same object).
    assert m.unused.value is old_unused
    assert old_unused.derivative is None


def test_step_without_any_backward_changes_nothing() -> None:
    m = Model()
    before = [p.value for p in m.parameters()]
    SGD(m.parameters(), lr=0.1).step()
    assert all(p.value is v for p, v in zip(m.parameters(), before))


def test_zero_grad_then_step_changes_nothing() -> None:
    m = Model()
    m(1.0).backward()
    opt = SGD(m.parameters(), lr=0.1)
    opt.zero_grad()
    before = [p.value for p in m.parameters()]
    opt.step()
    assert all(p.value is v for p, v in zip(m.parameters(), before))


def test_sgd_minimises_a_quadratic() -> None:
    m = Model()
    opt = SGD(m.parameters(), lr=0.05)
    # Fit w * x + b to y = 3x + 0.5 on two points.
    data = [(0.0, 0.5), (1.0, 3.5), (2.0, 6.5)]
    for _ in range(500):
        opt.zero_grad()
        loss = Scalar(0.0)
        for x, y in data:
            loss = loss + (m(x) - y) ** 2
        loss.backward()
        opt.step()
    assert m.w.value.data == pytest.approx(3.0, abs=1e-3)
    assert m.b.value.data == pytest.approx(0.5, abs=1e-3)


def test_step_keeps_the_parameter_object() -> None:
    m = Model()
    p = m.w
    m(1.0).backward()
    SGD(m.parameters(), lr=1.0).step()
    assert m.w is p
    assert m.named_parameters()[0][1] is p


class GradValue:
    """A Tensor-like value: has .grad, no .derivative (the §11 distinction)."""

    def __init__(self, data: float, grad: float | None = None) -> None:
        self.data = data
        self.grad = grad
        self.requires_grad_calls = 0

    def requires_grad_(self, flag: bool = True) -> None:
        self.requires_grad_calls += 1

    def __sub__(self, other: float) -> GradValue:
        return GradValue(self.data - other)


def test_grad_values_use_grad() -> None:
    p = Parameter(GradValue(1.0, grad=4.0))
    q = Parameter(GradValue(5.0))  # no grad: left alone
    q_value = q.value
    opt = SGD([p, q], lr=0.25)
    opt.step()
    assert p.value.data == 0.0
    assert p.value.requires_grad_calls == 1  # installed via Parameter.update
    assert q.value is q_value
    p.value.grad = 2.0
    opt.zero_grad()
    assert p.value.grad is None
    assert not hasattr(p.value, "derivative")


def test_exports() -> None:
    assert minitorch.SGD is SGD
    assert minitorch.Optimizer is Optimizer

"""Contract §2 (Module, Parameter) and §14's zero_grad / state_dict / named_modules."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import numpy as np
import pytest

import minitorch
from minitorch import Module, Parameter, Scalar

# ---------------------------------------------------------------------------
# Models used below: p1 on the root, a.p2, b.c.p3
# ---------------------------------------------------------------------------


class C(Module):
    def __init__(self) -> None:
        super().__init__()
        self.p3 = Parameter(Scalar(3.0))


class A(Module):
    def __init__(self) -> None:
        super().__init__()
        self.p2 = Parameter(Scalar(2.0))


class B(Module):
    def __init__(self) -> None:
        super().__init__()
        self.c = C()


class Root(Module):
    def __init__(self) -> None:
        super().__init__()
        self.p1 = Parameter(Scalar(1.0))
        self.a = A()
        self.b = B()
        self.plain = 5  # not registered


class Inner(Module):
    pass


class Outer(Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = Inner()


class Deep(Module):
    def __init__(self) -> None:
        super().__init__()
        self.left = Outer()
        self.right = Inner()


class Sum(Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = Parameter(Scalar(2.0))

    def forward(self, x: Scalar, scale: float = 1.0) -> Scalar:
        return x * self.w.value * scale


# ---------------------------------------------------------------------------
# Registration and lookup
# ---------------------------------------------------------------------------


def test_fresh_module_state() -> None:
    m = Module()
    assert m._modules == {}
    assert m._parameters == {}
    assert m.training is True


def test_registration() -> None:
    r = Root()
    assert list(r._parameters) == ["p1"]
    assert list(r._modules) == ["a", "b"]
    assert "plain" not in r._parameters and "plain" not in r._modules
    assert r.plain == 5
    assert isinstance(r.p1, Parameter)
    assert isinstance(r.a, A)
    assert r.p1.value.data == 1.0


def test_list_of_parameters_is_a_plain_attribute() -> None:
    m = Module()
    ps = [Parameter(Scalar(1.0)), Parameter(Scalar(2.0))]
    m.ps = ps
    assert m.ps is ps
    assert m._parameters == {}
    assert m.parameters() == []


def test_lookup_falls_back_to_none() -> None:
    m = Root()
    assert m.does_not_exist is None
    with pytest.raises(AttributeError):
        m.__does_not_exist__  # dunder lookups may raise (for copy/pickle)


def test_reassignment_moves_between_kinds() -> None:
    m = Module()
    m.x = Parameter(Scalar(1.0))
    assert "x" in m._parameters
    m.x = Inner()
    assert "x" not in m._parameters and "x" in m._modules
    m.x = 3
    assert "x" not in m._modules and m.x == 3


def test_module_can_be_deep_copied() -> None:
    r = Root()
    r2 = copy.deepcopy(r)
    assert [n for n, _ in r2.named_parameters()] == ["p1", "a.p2", "b.c.p3"]
    assert r2.p1 is not r.p1


def test_module_can_be_pickled() -> None:
    r2 = pickle.loads(pickle.dumps(Root()))
    assert [n for n, _ in r2.named_parameters()] == ["p1", "a.p2", "b.c.p3"]
    assert r2.b.c.p3.value.data == 3.0
    assert r2.does_not_exist is None


# ---------------------------------------------------------------------------
# Traversal
# ---------------------------------------------------------------------------


def test_modules_are_direct_children() -> None:
    r = Root()
    kids = r.modules()
    assert len(kids) == 2
    assert kids[0] is r.a and kids[1] is r.b
    assert all(k is not r.b.c for k in kids)


def test_named_parameters_order() -> None:
    r = Root()
    named = r.named_parameters()
    assert [n for n, _ in named] == ["p1", "a.p2", "b.c.p3"]
    assert [p.value.data for _, p in named] == [1.0, 2.0, 3.0]
    assert all(isinstance(p, Parameter) for _, p in named)
    params = r.parameters()
    assert len(params) == 3
    assert all(p is q for p, (_, q) in zip(params, named))


def test_own_parameters_come_before_children() -> None:
    class M(Module):
        def __init__(self) -> None:
            super().__init__()
            self.child = A()
            self.late = Parameter(Scalar(0.0))

    assert [n for n, _ in M().named_parameters()] == ["late", "child.p2"]


def test_named_modules() -> None:
    r = Root()
    named = r.named_modules()
    assert [n for n, _ in named] == ["", "a", "b", "b.c"]
    assert named[0][1] is r
    assert named[3][1] is r.b.c


def test_add_parameter() -> None:
    m = Module()
    s = Scalar(4.0)
    p = m.add_parameter("w", s)
    assert isinstance(p, Parameter)
    assert p.name == "w"
    assert p.value is s
    assert m.w is p
    assert m._parameters["w"] is p
    assert [n for n, _ in m.named_parameters()] == ["w"]


# ---------------------------------------------------------------------------
# Modes and calling
# ---------------------------------------------------------------------------


def test_train_and_eval_are_recursive() -> None:
    r = Root()
    r.eval()
    assert [m.training for _, m in r.named_modules()] == [False] * 4
    r.train()
    assert [m.training for _, m in r.named_modules()] == [True] * 4
    r.b.eval()  # only a subtree
    assert r.training and r.a.training
    assert not r.b.training and not r.b.c.training


def test_call_forwards_arguments() -> None:
    m = Sum()
    out = m(Scalar(3.0), scale=2.0)
    assert out.data == 12.0


def test_bare_module_call_raises() -> None:
    with pytest.raises(Exception) as info:
        Module()()
    assert "forward" in str(info.value)


# ---------------------------------------------------------------------------
# repr
# ---------------------------------------------------------------------------


def test_repr() -> None:
    assert repr(Module()) == "Module()"
    assert repr(Inner()) == "Inner()"
    assert repr(Outer()) == "Outer(\n  (inner): Inner()\n)"
    assert repr(Deep()) == (
        "Deep(\n  (left): Outer(\n    (inner): Inner()\n  )\n  (right): Inner()\n)"
    )


# ---------------------------------------------------------------------------
# Parameter
# ---------------------------------------------------------------------------


class GradLike:
    """A value with requires_grad_ (as Tensors have): records what Parameter does."""

    def __init__(self) -> None:
        self.calls: list[bool] = []
        self.name = "original"

    def requires_grad_(self, flag: bool = True) -> None:
        self.calls.append(flag)

    def __repr__(self) -> str:
        return "GradLike!"


def test_parameter_with_requires_grad() -> None:
    v = GradLike()
    p = Parameter(v, "weight")
    assert p.value is v
    assert p.name == "weight"
    assert v.calls == [True]
    assert v.name == "weight"


def test_parameter_without_name_keeps_value_name() -> None:
    v = GradLike()
    p = Parameter(v)
    assert p.name is None
    assert v.calls == [True]
    assert v.name == "original"


def test_parameter_update_applies_the_same_treatment() -> None:
    p = Parameter(GradLike(), "w")
    new = GradLike()
    p.update(new)
    assert p.value is new
    assert new.calls == [True]
    assert new.name == "w"


def test_parameter_without_requires_grad() -> None:
    for value in [3.0, "anything", None, [1, 2]]:
        p = Parameter(value, "v")
        assert p.value == value
        assert p.name == "v"
    s = Scalar(1.5)
    p = Parameter(s)
    assert p.value is s
    p.update(Scalar(2.5))
    assert p.value.data == 2.5


def test_parameter_repr_and_str_delegate() -> None:
    assert repr(Parameter(Scalar(1.5))) == "Scalar(1.500000)"
    assert str(Parameter(Scalar(1.5))) == str(Scalar(1.5))
    assert repr(Parameter(GradLike())) == "GradLike!"
    assert str(Parameter(7)) == "7"


# ---------------------------------------------------------------------------
# §14: zero_grad, state_dict, load_state_dict
# ---------------------------------------------------------------------------


def test_zero_grad_resets_every_parameter() -> None:
    r = Root()
    out = r.p1.value * r.a.p2.value * r.b.c.p3.value
    out.backward()
    assert [p.value.derivative for p in r.parameters()] == [6.0, 3.0, 2.0]
    r.zero_grad()
    assert [p.value.derivative for p in r.parameters()] == [None, None, None]


def test_state_dict() -> None:
    r = Root()
    state = r.state_dict()
    assert list(state) == ["p1", "a.p2", "b.c.p3"]
    assert state["a.p2"] is r.a.p2.value


def test_load_state_dict_round_trip() -> None:
    src, dst = Root(), Root()
    src.p1.update(Scalar(10.0))
    src.b.c.p3.update(Scalar(30.0))
    dst.load_state_dict(src.state_dict())
    assert [p.value.data for p in dst.parameters()] == [10.0, 2.0, 30.0]
    assert all(p.value.is_leaf() for p in dst.parameters())


def test_load_state_dict_missing_key() -> None:
    r = Root()
    state: dict[str, Any] = r.state_dict()
    del state["a.p2"]
    with pytest.raises(KeyError) as info:
        r.load_state_dict(state)
    assert "a.p2" in str(info.value)
    assert "missing" in str(info.value)


def test_load_state_dict_unexpected_key_changes_nothing() -> None:
    r = Root()
    state: dict[str, Any] = {k: Scalar(0.0) for k in r.state_dict()}
    state["extra.w"] = Scalar(1.0)
    with pytest.raises(KeyError) as info:
        r.load_state_dict(state)
    assert "extra.w" in str(info.value)
    assert "unexpected" in str(info.value)
    assert [p.value.data for p in r.parameters()] == [1.0, 2.0, 3.0]


def test_load_state_dict_shape_mismatch() -> None:
    class Shaped:
        def __init__(self, shape: tuple[int, ...]) -> None:
            self.shape = shape

    m = Module()
    m.w = Parameter(Shaped((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        m.load_state_dict({"w": Shaped((3, 2))})
    m.load_state_dict({"w": Shaped((2, 3))})


def test_exports() -> None:
    assert minitorch.Module is Module
    assert minitorch.Parameter is Parameter


# ---------------------------------------------------------------------------
# load_state_dict: what it accepts for a Tensor / Scalar parameter (issue 10)
# ---------------------------------------------------------------------------


def _linear() -> minitorch.Linear:
    import random

    random.seed(0)
    m = minitorch.Linear(3, 2)
    for p in m.parameters():
        p.update(minitorch.Tensor(np.asarray(p.value, dtype=np.float32)))
    return m


@pytest.mark.parametrize("convert", [np.asarray, lambda v: np.asarray(v).tolist(), lambda v: v])
def test_load_state_dict_converts_arrays_and_lists_to_the_parameter_dtype(convert: Any) -> None:
    src, dst = _linear(), _linear()
    state = {k: convert(np.asarray(v, dtype=np.float64) + 1.0) for k, v in src.state_dict().items()}
    assert dst.load_state_dict(state) == minitorch.IncompatibleKeys([], [])
    for k, p in dst.named_parameters():
        v = p.value
        assert isinstance(v, minitorch.Tensor) and v.dtype == np.float32
        assert v.backend is src.state_dict()[k].backend and v.is_leaf()
        np.testing.assert_array_equal(np.asarray(v), np.asarray(src.state_dict()[k]) + 1.0)
    dst(minitorch.rand((4, 3))).sum().backward()  # usable at once, gradients included
    assert all(p.value.grad is not None for p in dst.parameters())


def test_load_state_dict_copies_the_tensors_it_is_given() -> None:
    src, dst = _linear(), _linear()
    dst.load_state_dict(src.state_dict())
    assert dst.weight.value is not src.weight.value
    np.testing.assert_array_equal(np.asarray(dst.weight.value), np.asarray(src.weight.value))


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("weights", "got str, not a Tensor"),
        (None, "got NoneType"),
        (3.0, "got float"),
        (np.array(["a", "b"]), "not real numbers"),
        ([[1.0, 2.0], [3.0]], "not rectangular"),
    ],
)
def test_load_state_dict_rejects_other_values_at_once(value: Any, words: str) -> None:
    m = _linear()
    before = {k: np.asarray(v).copy() for k, v in m.state_dict().items()}
    state: dict[str, Any] = {"weight": np.zeros((2, 3)), "bias": value}
    with pytest.raises(TypeError) as info:
        m.load_state_dict(state)
    msg = str(info.value)
    assert "'bias'" in msg and words in msg and "pass a minitorch Tensor" in msg
    assert "float32" in msg
    for k, v in m.state_dict().items():  # nothing changed, not even the valid 'weight'
        np.testing.assert_array_equal(np.asarray(v), before[k])


def test_load_state_dict_shape_mismatch_of_an_array_changes_nothing() -> None:
    m = _linear()
    before = np.asarray(m.bias.value).copy()
    with pytest.raises(ValueError, match=r"weight: expected shape \(2, 3\), got \(3, 2\)"):
        m.load_state_dict({"weight": np.zeros((3, 2)), "bias": np.zeros(2)})
    np.testing.assert_array_equal(np.asarray(m.bias.value), before)


def test_load_state_dict_scalars_take_numbers_and_refuse_the_rest() -> None:
    r = Root()
    r.load_state_dict({"p1": 10, "a.p2": np.float64(20.0), "b.c.p3": Scalar(30.0)})
    assert [p.value.data for p in r.parameters()] == [10.0, 20.0, 30.0]
    with pytest.raises(TypeError, match=r"'p1': got str, not a Scalar; pass a minitorch Scalar"):
        r.load_state_dict({"p1": "1", "a.p2": 0.0, "b.c.p3": 0.0})
    assert r.p1.value.data == 10.0


def test_load_state_dict_non_strict_reports_what_it_skipped() -> None:
    r = Root()
    keys = r.load_state_dict({"p1": 5.0, "other": 1.0}, strict=False)
    assert keys.missing_keys == ["a.p2", "b.c.p3"] and keys.unexpected_keys == ["other"]
    assert r.p1.value.data == 5.0
    with pytest.raises(TypeError, match="expects a dict"):
        r.load_state_dict([("p1", 1.0)])  # type: ignore[arg-type]

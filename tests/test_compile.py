"""minitorch.compile: a traced step replays exactly what eager runs, and refuses what it
cannot capture (issue 11)."""

from __future__ import annotations

import random
import threading
import types
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import minitorch
from minitorch import layers as L
from minitorch import nn
from minitorch.apps import models
from minitorch.compile import CompileError

STEPS = 12


def _twins(make: Callable[[], minitorch.Module]) -> tuple[minitorch.Module, minitorch.Module]:
    a = make()
    b = make()
    b.load_state_dict({k: v.to_numpy() for k, v in a.state_dict().items()})
    return a, b


def _same(x: Any, y: Any, what: str) -> None:
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-12, atol=1e-300, err_msg=what)


def _check_state(ma: minitorch.Module, mb: minitorch.Module, oa: Any, ob: Any, i: int) -> None:
    for (name, pa), (_, pb) in zip(ma.named_parameters(), mb.named_parameters()):
        _same(pa.value.to_numpy(), pb.value.to_numpy(), f"step {i}: {name}")
        ga, gb = pa.value.grad, pb.value.grad
        assert (ga is None) == (gb is None), f"step {i}: {name}.grad"
        if ga is not None:
            _same(ga.to_numpy(), gb.to_numpy(), f"step {i}: {name}.grad")
    sa, sb = oa.state_dict()["state"], ob.state_dict()["state"]
    assert sa.keys() == sb.keys()
    for k in sa:
        for key in sa[k]:
            _same(sa[k][key], sb[k][key], f"step {i}: optimiser state {k}/{key}")


def _mlp() -> minitorch.Module:
    return models.mlp(12, 16, 2, 4)


def _cnn() -> minitorch.Module:
    return models.cnn((1, 8, 8), 3, 4)


def _lecture() -> minitorch.Module:
    return models.TensorNetwork(6, seed=3)


def _dropout_mlp() -> minitorch.Module:
    return L.Sequential(L.Flatten(), L.Linear(12, 16), L.ReLU(), L.Dropout(0.3), L.Linear(16, 4))


def _classify(model: minitorch.Module, x: minitorch.Tensor, y: minitorch.Tensor) -> Any:
    return nn.cross_entropy(model(x), y)


def _lecture_loss(model: Any, x: minitorch.Tensor, s: minitorch.Tensor) -> Any:
    return -(model.score(x) * s).sigmoid().log().mean()


def _train_step(
    model: minitorch.Module, opt: Any, loss_fn: Callable[..., Any] = _classify
) -> Callable[[Any, Any], Any]:
    """The issue's training step: zero_grad, loss, backward, step; returns the loss."""

    def step(x: Any, y: Any) -> Any:
        opt.zero_grad()
        loss = loss_fn(model, x, y)
        loss.backward()
        opt.step()
        return loss

    return step


def _batches(kind: str, rng: np.random.Generator, n: int = 6) -> list[tuple[Any, Any]]:
    out = []
    for _ in range(n):
        if kind == "lecture":
            x = rng.normal(size=(10, 2))
            s = np.where(rng.random((10, 1)) < 0.5, -1.0, 1.0)
            out.append((minitorch.tensor(x.tolist()), minitorch.tensor(s.tolist())))
        else:
            shape = (5, 1, 8, 8) if kind == "cnn" else (5, 12)
            x = rng.normal(size=shape)
            y = rng.integers(0, 4, size=5).astype(float)
            out.append((minitorch.Tensor(x), minitorch.tensor(y.tolist())))
    return out


OPTIMISERS: dict[str, Callable[[Any], Any]] = {
    "sgd-momentum": lambda ps: minitorch.SGD(ps, lr=0.05, momentum=0.9),
    "sgd-nesterov-wd": lambda ps: minitorch.SGD(
        ps, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01
    ),
    "adam": lambda ps: minitorch.Adam(ps, lr=0.01),
    "adamw": lambda ps: minitorch.AdamW(ps, lr=0.01, weight_decay=0.1),
}
MODELS: dict[str, tuple[Callable[[], minitorch.Module], Callable[..., Any], str]] = {
    "mlp": (_mlp, _classify, "mlp"),
    "cnn": (_cnn, _classify, "cnn"),
    "lecture": (_lecture, _lecture_loss, "lecture"),
    "dropout": (_dropout_mlp, _classify, "mlp"),
}


@pytest.mark.parametrize("opt_name", list(OPTIMISERS))
@pytest.mark.parametrize("model_name", list(MODELS))
def test_replay_equals_eager_step_by_step(model_name: str, opt_name: str) -> None:
    make, loss_fn, kind = MODELS[model_name]
    ma, mb = _twins(make)
    oa, ob = OPTIMISERS[opt_name](ma.parameters()), OPTIMISERS[opt_name](mb.parameters())

    eager = _train_step(ma, oa, loss_fn)
    compiled = minitorch.compile(_train_step(mb, ob, loss_fn))

    batches = _batches(kind, np.random.default_rng(0))
    values_b = [p.value for p in mb.parameters()]
    for i in range(STEPS):
        x, y = batches[i % len(batches)]
        seed = random.getrandbits(32)
        random.seed(seed)
        la = eager(x, y)
        random.seed(seed)
        lb = compiled(x, y)
        _same(la.to_numpy(), lb.to_numpy(), f"step {i}: loss")
        _check_state(ma, mb, oa, ob, i)
    assert compiled.cache_info() == {"traces": 1, "replays": STEPS - 1, "cached": 1}
    assert all(a is b for a, b in zip([p.value for p in mb.parameters()], values_b))


def test_new_signatures_trace_again_and_the_cache_is_bounded() -> None:
    w = minitorch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)

    @minitorch.compile(cache_size=2)
    def f(x: minitorch.Tensor, scale: float) -> minitorch.Tensor:
        return (x @ w * scale).detach()

    def eager(x: minitorch.Tensor, scale: float) -> np.ndarray:
        return (x @ w * scale).to_numpy()

    for shape in [(1, 2), (1, 2), (3, 2), (1, 2)]:
        x = minitorch.rand(*shape)
        _same(f(x, 2.0).to_numpy(), eager(x, 2.0), str(shape))
    assert f.cache_info() == {"traces": 2, "replays": 2, "cached": 2}
    f(minitorch.rand(1, 2), 3.0)  # a new Python value: a new signature
    f(minitorch.rand(1, 2, dtype=np.float32), 3.0)  # a new dtype
    assert f.cache_info()["traces"] == 4 and f.cache_info()["cached"] == 2
    f(minitorch.rand(1, 2, requires_grad=True), 3.0)  # requires_grad is part of it too
    assert f.cache_info()["traces"] == 5


def test_train_and_eval_modes_are_separate_traces() -> None:
    model = _dropout_mlp()

    @minitorch.compile
    def predict(x: minitorch.Tensor) -> minitorch.Tensor:
        with minitorch.no_grad():
            return model(x)

    x = minitorch.rand(3, 12)
    predict(x)
    model.eval()
    a = predict(x)
    b = predict(x)
    _same(a.to_numpy(), b.to_numpy(), "eval mode: no dropout")
    with minitorch.no_grad():
        _same(a.to_numpy(), model(x).to_numpy(), "eval mode equals eager")
    assert predict.cache_info()["traces"] == 2


def test_learning_rate_changes_between_replays_take_effect() -> None:
    ma, mb = _twins(_mlp)
    oa, ob = minitorch.SGD(ma.parameters(), lr=0.1), minitorch.SGD(mb.parameters(), lr=0.1)
    sa, sb = minitorch.StepLR(oa, step_size=1, gamma=0.5), minitorch.StepLR(ob, 1, gamma=0.5)
    x, y = _batches("mlp", np.random.default_rng(1), 1)[0]

    step_b = minitorch.compile(_train_step(mb, ob))

    for i in range(4):
        oa.zero_grad()
        _classify(ma, x, y).backward()
        oa.step()
        step_b(x, y)
        sa.step()
        sb.step()
        _check_state(ma, mb, oa, ob, i)


def test_gradients_of_arguments_and_closure_constants() -> None:
    c = minitorch.tensor([1.0, -2.0, 3.0])

    @minitorch.compile
    def f(x: minitorch.Tensor) -> minitorch.Tensor:
        loss = ((x * c).exp() * x).sum()
        loss.backward()
        return loss

    for k in range(3):
        x = minitorch.rand(3, requires_grad=True)
        loss = f(x)
        ref = minitorch.tensor(x.to_numpy().tolist(), requires_grad=True)
        ref_loss = ((ref * c).exp() * ref).sum()
        ref_loss.backward()
        _same(loss.to_numpy(), ref_loss.to_numpy(), f"call {k}")
        _same(x.grad.to_numpy(), ref.grad.to_numpy(), f"call {k}: grad")
        c.add_(1.0)  # a closure constant is read by reference: its new values are used


def test_replayed_results_are_constants_of_their_own() -> None:
    w = minitorch.tensor([2.0], requires_grad=True)

    @minitorch.compile
    def f(x: minitorch.Tensor) -> tuple[minitorch.Tensor, dict[str, Any]]:
        y = (x * w).sum()
        y.backward()
        return y, {"n": 3, "y2": y.detach() * 2}

    x = minitorch.tensor([1.0, 2.0])
    a, _ = f(x)
    b, extra = f(x)
    assert b is not a and b.history is None
    assert extra["n"] == 3 and extra["y2"].item() == 12.0
    assert w.grad.item() == 6.0  # no zero_grad in f: each call adds, as eager calls would
    w.grad = None
    f(x)
    assert w.grad.item() == 3.0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (lambda x: (x * 2).sum().item(), "item()"),
        (lambda x: float((x * 2).sum()), "item()"),
        (lambda x: 1.0 if (x.sum() > 0) else 0.0, "item()"),
        (lambda x: (x * 2).to_numpy(), "to_numpy()"),
        (lambda x: np.asarray(x * 2), "np.asarray"),
        (lambda x: (x * 2)[0], "Python float"),
    ],
)
def test_reading_values_while_tracing_is_refused(body: Callable[..., Any], words: str) -> None:
    f = minitorch.compile(body)
    with pytest.raises(CompileError, match="frozen") as err:
        f(minitorch.tensor([1.0, 2.0]))
    assert words in str(err.value)


def test_what_a_replay_cannot_do_is_refused() -> None:
    w = minitorch.tensor([2.0, 1.0], requires_grad=True)

    def graph_out(x: minitorch.Tensor) -> minitorch.Tensor:
        return (x * w).sum()

    with pytest.raises(CompileError, match="still carries a graph"):
        minitorch.compile(graph_out)(minitorch.tensor([1.0, 2.0]))

    def retain(x: minitorch.Tensor) -> minitorch.Tensor:
        y = x * w
        y.retain_grad()
        return y.detach()

    with pytest.raises(CompileError, match="retain_grad"):
        minitorch.compile(retain)(minitorch.tensor([1.0, 2.0]))

    def double(x: minitorch.Tensor) -> None:
        (x * w * w).sum().backward(create_graph=True)

    with pytest.raises(CompileError, match="create_graph"):
        minitorch.compile(double)(minitorch.tensor([1.0, 2.0]))

    outside = (w * 3).sum()

    def backward_outside() -> None:
        outside.backward()

    with pytest.raises(CompileError, match="built before"):
        minitorch.compile(backward_outside)()


def test_bad_arguments_are_refused() -> None:
    f = minitorch.compile(lambda x, opts: x * 2)
    with pytest.raises(TypeError, match="hashable"):
        f(minitorch.tensor([1.0]), {"a": 1})
    with pytest.raises(TypeError, match="its own argument"):
        f([minitorch.tensor([1.0])], 1)
    with pytest.raises(TypeError, match="Scalar"):
        f(minitorch.Scalar(1.0), 1)
    with pytest.raises(TypeError, match="expects a function"):
        minitorch.compile(3)


def test_a_python_side_effect_runs_at_trace_time_only() -> None:
    seen: list[int] = []

    @minitorch.compile
    def f(x: minitorch.Tensor) -> minitorch.Tensor:
        seen.append(1)
        return x + 1

    for _ in range(3):
        f(minitorch.tensor([1.0]))
    assert seen == [1]


def test_a_trace_records_its_own_thread_only() -> None:
    """While one thread traces, another computes eagerly as usual: its operations build
    their own graph and are not recorded into the trace (nor its kernels into the trace's)."""
    entered, resume = threading.Event(), threading.Event()

    def body(x: minitorch.Tensor) -> minitorch.Tensor:
        y = (x * 2.0).exp()
        if not resume.is_set():  # the first trace pauses here, halfway through
            entered.set()
            resume.wait(10)
        return (y + x).sum()

    f = minitorch.compile(body)
    x = minitorch.tensor([0.5, -1.0])
    results: list[minitorch.Tensor] = []
    tracing = threading.Thread(target=lambda: results.append(f(x)))
    tracing.start()
    try:
        assert entered.wait(10)
        w = minitorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        loss = (w * w).sum() + w.log().sum()
        loss.backward()
        assert loss.history is not None
        assert w.grad is not None
        np.testing.assert_allclose(w.grad.to_numpy(), [3.0, 4.5, 6.0 + 1 / 3], rtol=1e-5)
    finally:
        resume.set()
        tracing.join(10)
    alone = minitorch.compile(body)  # the same function traced with nothing else running
    alone(x)
    (traced,), (clean,) = f._cache.values(), alone._cache.values()
    assert len(traced.steps) == len(clean.steps)
    for _ in range(2):  # replays compute what eager does
        np.testing.assert_allclose(f(x).item(), body(x).item())
    assert results[0].item() == pytest.approx(body(x).item())


def test_a_replayed_mlp_step_builds_no_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _mlp()
    step = minitorch.compile(_train_step(model, minitorch.Adam(model.parameters(), lr=0.01)))

    x, y = _batches("mlp", np.random.default_rng(2), 1)[0]
    step(x, y)
    applied: list[str] = []
    original = minitorch.Function.apply.__func__  # type: ignore[attr-defined]

    def counting(cls: Any, *vals: Any) -> Any:
        applied.append(cls.__name__)
        return original(cls, *vals)

    monkeypatch.setattr(minitorch.Function, "apply", classmethod(counting))
    loss = step(x, y)
    assert applied == []  # every operation replayed as its NumPy kernels
    assert loss.history is None and step.cache_info()["replays"] == 1


def test_a_hand_written_update_reads_the_live_gradients() -> None:
    ma, mb = _twins(_mlp)
    x, y = _batches("mlp", np.random.default_rng(3), 1)[0]

    def step(model: minitorch.Module, x: Any, y: Any) -> Any:
        model.zero_grad()
        loss = _classify(model, x, y)
        loss.backward()
        with minitorch.no_grad():
            for p in model.parameters():
                p.update(p.value - 0.1 * p.value.grad)  # the course's loop
        return loss.detach()

    compiled = minitorch.compile(lambda x, y: step(mb, x, y))
    for i in range(5):
        _same(step(ma, x, y).to_numpy(), compiled(x, y).to_numpy(), f"step {i}")
        for pa, pb in zip(ma.parameters(), mb.parameters()):
            _same(pa.value.to_numpy(), pb.value.to_numpy(), f"step {i}")
    assert compiled.cache_info()["replays"] == 4


def test_parameters_the_closure_scan_misses_are_still_read_live() -> None:
    ma, mb = _twins(_mlp)
    holder = types.SimpleNamespace(model=mb)  # an attribute of an object: not scanned
    x, y = _batches("mlp", np.random.default_rng(4), 1)[0]

    def step(model: Any, x: Any, y: Any) -> Any:
        model.zero_grad()
        loss = _classify(model, x, y)
        loss.backward()
        with minitorch.no_grad():
            for p in model.parameters():
                p.update(p.value - 0.1 * p.value.grad)
        return loss.detach()

    compiled = minitorch.compile(lambda x, y: step(holder.model, x, y))
    for i in range(4):
        _same(step(ma, x, y).to_numpy(), compiled(x, y).to_numpy(), f"step {i}")


def test_results_and_gradients_of_one_call_survive_the_next() -> None:
    w = minitorch.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)

    @minitorch.compile
    def f(x: minitorch.Tensor) -> tuple[minitorch.Tensor, minitorch.Tensor]:
        w.grad = None
        h = (x @ w).relu() * 2.0  # intermediates: replayed into reusable buffers
        loss = (h * h).sum()
        loss.backward()
        return loss.detach(), h.detach()

    kept = []
    for k in range(4):
        x = minitorch.tensor([[1.0 + k, 2.0], [0.5, -1.0 - k]])
        loss, h = f(x)
        kept.append((loss.to_numpy().copy(), h, w.grad))
    for k, (loss_k, h, g) in enumerate(kept):
        x = minitorch.tensor([[1.0 + k, 2.0], [0.5, -1.0 - k]])
        ref_w = minitorch.tensor(w.to_numpy().tolist(), requires_grad=True)
        ref_h = (x @ ref_w).relu() * 2.0
        (ref_h * ref_h).sum().backward()
        _same(h.to_numpy(), ref_h.to_numpy(), f"call {k}: h")
        _same(g.to_numpy(), ref_w.grad.to_numpy(), f"call {k}: w.grad")
        _same(loss_k, (ref_h * ref_h).sum().to_numpy(), f"call {k}: loss")

"""Tensor speed: minitorch's Tensors against PyTorch (CPU), same maths, same process.

Workloads (each library runs exactly the same operations from the same numbers):

* ``mlp128`` / ``mlp16``: one SGD training step of a 784-256-10 ReLU MLP on a float32 batch
  of 128 / 16 (forward, loss, backward, update);
* ``tiny``: the same step for a 2-32-2 MLP, batch 64;
* ``elementwise``: 1000 elementwise ops (mul, add, sigmoid, exp, sub, relu, in turn) on a
  10x10 float64 tensor, then ``sum().backward()``: time per op;
* ``chain``: 100,000 ops (``* 1.00001``, ``+ 1e-5`` in turn) on a one-element tensor,
  then ``backward()``: time per op.

The loss is the numerically stable softmax cross-entropy written with plain tensor ops, the
same ops on both sides::

    m    = max_j z_ij (detached)        s = z - m
    lse  = log Σ_j exp(s_ij)            L = -mean_i Σ_j onehot_ij (s_ij - lse_i)

minitorch runs as its users write it (a ``Module`` of ``Parameter`` s and
``minitorch.SGD``); PyTorch as its users write it (``requires_grad`` leaves and
``torch.optim.SGD``). Both start from the same weights and data, and every loss (or
gradient) is compared: a disagreement beyond float tolerance stops the benchmark.

Each workload also runs, where it can, as:

* ``minitorch compiled``: the same step (or op sequence with its backward) traced once by
  ``minitorch.compile`` and replayed; its numbers must equal eager minitorch's
  (``eager_rtol``). On a minitorch without ``compile``, or if it raises, the row says why;
* ``jax.jit``: the same maths as one jitted JAX function (value, gradients, SGD update),
  where JAX is installed (float64 enabled for the float64 workloads; the chain is not run:
  XLA would compile 100,000 unrolled ops);
* ``numpy``: the floor, a plain NumPy script of the same step (``bench_numpy_baseline.py``).

A variant that disagrees with its reference gets a note instead of a time.

BLAS, PyTorch and XLA run on one thread (set before NumPy is imported; XLA by
``--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1``). Timing is
interleaved: each repeat times a block of steps for each variant in turn, the order rotating
from repeat to repeat. Reported: the median time per step (or per op) and its ratio to
torch's, with the issue's target where there is one.

Run ``python benchmarks/bench_tensor.py [--repeats R] [--workloads mlp128,chain ...]
[--libs "minitorch compiled,jax.jit,numpy"]``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
_XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
if _XLA_ONE_THREAD not in os.environ.get("XLA_FLAGS", ""):  # JAX's documented way to one thread
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_XLA_ONE_THREAD}".strip()

import argparse  # noqa: E402
import gc  # noqa: E402
import importlib.util  # noqa: E402
import itertools  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import minitorch  # noqa: E402
from minitorch import SGD, Module, Parameter, Tensor  # noqa: E402

Run = Callable[[], list[float]]
"""Runs one unit of work (a training step, or a whole op sequence with its backward) and
returns numbers to compare between the libraries (a loss, gradient values)."""


def _torch() -> Any:
    import torch

    torch.set_num_threads(1)
    return torch


class Unavailable(Exception):
    """A peer or variant that cannot run here (not installed, not built yet): its row
    shows the reason and the benchmark goes on."""


def _compile() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``minitorch.compile``, or Unavailable on a minitorch that predates it."""
    fn = getattr(minitorch, "compile", None)
    if fn is None:
        raise Unavailable("minitorch.compile does not exist in this minitorch")
    return fn  # type: ignore[no-any-return]


def _jax() -> Any:
    """JAX on one CPU thread with float64 enabled (float32 arrays stay float32), or
    Unavailable when it is not installed."""
    try:
        import jax
    except ImportError:
        raise Unavailable("jax is not installed (pip install 'jax[cpu]' to add this row)") from None
    jax.config.update("jax_enable_x64", True)
    return jax


def _numpy_baseline() -> ModuleType:
    """``bench_numpy_baseline.py``, next to this file (loaded by path: no sys.path change)."""
    name = "bench_numpy_baseline"
    if name not in sys.modules:
        path = Path(__file__).resolve().with_name(f"{name}.py")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


# ---------------------------------------------------------------------------
# MLP training step
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MLPData:
    """Initial weights (``ws[k]`` of shape (fan_in, fan_out), ``bs[k]``) and one batch."""

    ws: list[np.ndarray]
    bs: list[np.ndarray]
    x: np.ndarray
    onehot: np.ndarray
    lr: float


def make_mlp(sizes: tuple[int, ...], batch: int, seed: int, lr: float = 0.05) -> MLPData:
    """float32 weights uniform in ±1/sqrt(fan_in), normal inputs, random labels."""
    rng = np.random.default_rng(seed)
    ws, bs = [], []
    for n_in, n_out in itertools.pairwise(sizes):
        bound = 1.0 / np.sqrt(n_in)
        ws.append(rng.uniform(-bound, bound, (n_in, n_out)).astype(np.float32))
        bs.append(rng.uniform(-bound, bound, (n_out,)).astype(np.float32))
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    labels = rng.integers(0, sizes[-1], batch)
    onehot = np.zeros((batch, sizes[-1]), dtype=np.float32)
    onehot[np.arange(batch), labels] = 1.0
    return MLPData(ws, bs, x, onehot, lr)


def cross_entropy(z: Any, onehot: Any) -> Any:
    """Mean softmax cross-entropy of logits ``z`` (B, C), written with elementary ops.

    The same code runs on minitorch and PyTorch tensors (PyTorch's ``max(dim)`` also
    returns indices, so it takes ``amax``).
    """
    m = z.max(1, keepdim=True) if isinstance(z, Tensor) else z.amax(1, keepdim=True)
    s = z - m.detach()
    lse = s.exp().sum(1, keepdim=True).log()
    return -((s - lse) * onehot).sum(1, keepdim=True).mean()


class MLP(Module):
    """ReLU MLP built from Parameters: ``h = relu(h @ W_k + b_k)``, no ReLU at the end."""

    def __init__(self, d: MLPData) -> None:
        super().__init__()
        self.layers = len(d.ws)
        for k, (w, b) in enumerate(zip(d.ws, d.bs)):
            setattr(self, f"w{k}", Parameter(minitorch.from_numpy(w.copy())))
            setattr(self, f"b{k}", Parameter(minitorch.from_numpy(b.copy())))

    def forward(self, x: Tensor) -> Tensor:
        h = x
        for k in range(self.layers):
            h = h @ getattr(self, f"w{k}").value + getattr(self, f"b{k}").value
            if k < self.layers - 1:
                h = h.relu()
        return h


def mlp_minitorch(d: MLPData) -> Run:
    """One SGD step of minitorch's MLP (returns the loss before the update)."""
    model = MLP(d)
    opt = SGD(model.parameters(), lr=d.lr)
    x = minitorch.from_numpy(d.x)
    onehot = minitorch.from_numpy(d.onehot)

    def step() -> list[float]:
        opt.zero_grad()
        loss = cross_entropy(model(x), onehot)
        loss.backward()
        opt.step()
        return [loss.item()]

    return step


def mlp_torch(d: MLPData) -> Run:
    """The same step in PyTorch."""
    torch = _torch()
    params = []
    for w, b in zip(d.ws, d.bs):
        params += [torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)]
    opt = torch.optim.SGD(params, lr=d.lr)
    x = torch.tensor(d.x)
    onehot = torch.tensor(d.onehot)
    n = len(d.ws)

    def step() -> list[float]:
        opt.zero_grad()
        h = x
        for k in range(n):
            h = h @ params[2 * k] + params[2 * k + 1]
            if k < n - 1:
                h = h.relu()
        loss = cross_entropy(h, onehot)
        loss.backward()
        opt.step()
        return [loss.item()]

    return step


def mlp_compiled(d: MLPData) -> Run:
    """minitorch's step traced once by ``minitorch.compile`` and replayed."""
    compile_ = _compile()
    model = MLP(d)
    opt = SGD(model.parameters(), lr=d.lr)
    x = minitorch.from_numpy(d.x)
    onehot = minitorch.from_numpy(d.onehot)

    def train_step(x: Tensor, onehot: Tensor) -> Tensor:
        opt.zero_grad()
        loss = cross_entropy(model(x), onehot)
        loss.backward()
        opt.step()
        return loss

    step = compile_(train_step)

    def run() -> list[float]:
        return [step(x, onehot).item()]

    return run


def mlp_jax(d: MLPData) -> Run:
    """The same step as one ``jax.jit`` function (loss, gradients and SGD update)."""
    jax = _jax()
    jnp = jax.numpy
    n, lr = len(d.ws), d.lr

    def loss_fn(params: list[Any], x: Any, onehot: Any) -> Any:
        h = x
        for k in range(n):
            h = h @ params[2 * k] + params[2 * k + 1]
            if k < n - 1:
                h = jax.nn.relu(h)
        s = h - jax.lax.stop_gradient(h.max(1, keepdims=True))
        lse = jnp.log(jnp.exp(s).sum(1, keepdims=True))
        return -((s - lse) * onehot).sum(1, keepdims=True).mean()

    @jax.jit
    def step(params: list[Any], x: Any, onehot: Any) -> tuple[Any, list[Any]]:
        loss, grads = jax.value_and_grad(loss_fn)(params, x, onehot)
        return loss, [p - lr * g for p, g in zip(params, grads, strict=True)]

    params = [jnp.asarray(a) for wb in zip(d.ws, d.bs, strict=True) for a in wb]
    x, onehot = jnp.asarray(d.x), jnp.asarray(d.onehot)

    def run() -> list[float]:
        nonlocal params
        loss, params = step(params, x, onehot)
        return [float(loss)]

    return run


# ---------------------------------------------------------------------------
# Many small ops
# ---------------------------------------------------------------------------


def _elementwise_ops(y: Any, w: Any, b: Any, n: int) -> Any:
    for i in range(n):
        k = i % 6
        if k == 0:
            y = y * w
        elif k == 1:
            y = y + b
        elif k == 2:
            y = y.sigmoid()
        elif k == 3:
            y = y.exp()
        elif k == 4:
            y = y - b
        else:
            y = y.relu()
    return y


@dataclass(frozen=True)
class Elementwise:
    """``n`` ops on ``shape`` from fixed x, w, b (float64)."""

    x: np.ndarray
    w: np.ndarray
    b: np.ndarray
    n: int


def make_elementwise(n: int, shape: tuple[int, ...], seed: int) -> Elementwise:
    rng = np.random.default_rng(seed)
    return Elementwise(
        rng.uniform(-1, 1, shape), rng.uniform(0.5, 1, shape), rng.uniform(-0.5, 0.5, shape), n
    )


def elementwise_minitorch(e: Elementwise) -> Run:
    x, w, b = (Tensor(a, requires_grad=True) for a in (e.x, e.w, e.b))

    def run() -> list[float]:
        for t in (x, w, b):
            t.grad = None
        loss = _elementwise_ops(x, w, b, e.n).sum()
        loss.backward()
        assert x.grad is not None and w.grad is not None
        return [loss.item(), float(x.grad[0, 0]), float(w.grad[0, 0])]

    return run


def elementwise_torch(e: Elementwise) -> Run:
    torch = _torch()
    x, w, b = (torch.tensor(a, requires_grad=True) for a in (e.x, e.w, e.b))

    def run() -> list[float]:
        for t in (x, w, b):
            t.grad = None
        loss = _elementwise_ops(x, w, b, e.n).sum()
        loss.backward()
        return [loss.item(), float(x.grad[0, 0]), float(w.grad[0, 0])]

    return run


def elementwise_compiled(e: Elementwise) -> Run:
    """The op sequence and its backward traced by ``minitorch.compile``, replayed."""
    compile_ = _compile()
    x, w, b = (Tensor(a, requires_grad=True) for a in (e.x, e.w, e.b))

    def ops(x: Tensor, w: Tensor, b: Tensor) -> Tensor:
        loss = _elementwise_ops(x, w, b, e.n).sum()
        loss.backward()
        return loss

    step = compile_(ops)

    def run() -> list[float]:
        for t in (x, w, b):
            t.grad = None
        loss = step(x, w, b)
        assert x.grad is not None and w.grad is not None
        return [loss.item(), float(x.grad[0, 0]), float(w.grad[0, 0])]

    return run


def elementwise_jax(e: Elementwise) -> Run:
    """The op sequence's value and gradient as one ``jax.jit`` function (float64)."""
    jax = _jax()
    jnp = jax.numpy

    def f(y: Any, w: Any, b: Any) -> Any:
        for i in range(e.n):
            k = i % 6
            if k == 0:
                y = y * w
            elif k == 1:
                y = y + b
            elif k == 2:
                y = jax.nn.sigmoid(y)
            elif k == 3:
                y = jnp.exp(y)
            elif k == 4:
                y = y - b
            else:
                y = jax.nn.relu(y)
        return y.sum()

    grad = jax.jit(jax.value_and_grad(f, argnums=(0, 1)))
    x, w, b = (jnp.asarray(a, dtype=jnp.float64) for a in (e.x, e.w, e.b))

    def run() -> list[float]:
        loss, (gx, gw) = grad(x, w, b)
        return [float(loss), float(gx[0, 0]), float(gw[0, 0])]

    return run


def _chain_ops(y: Any, n: int) -> Any:
    for i in range(n):
        y = y * 1.00001 if i % 2 == 0 else y + 1e-5
    return y


def chain_minitorch(n: int) -> Run:
    x = Tensor([0.5], requires_grad=True)

    def run() -> list[float]:
        x.grad = None
        y = _chain_ops(x, n)
        y.backward()
        assert x.grad is not None
        return [y.item(), x.grad.item()]

    return run


def chain_torch(n: int) -> Run:
    torch = _torch()
    x = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)

    def run() -> list[float]:
        x.grad = None
        y = _chain_ops(x, n)
        y.backward()
        return [y.item(), x.grad.item()]

    return run


def chain_compiled(n: int) -> Run:
    """The chain and its backward traced by ``minitorch.compile``, replayed."""
    compile_ = _compile()
    x = Tensor([0.5], requires_grad=True)

    def ops(x: Tensor) -> Tensor:
        y = _chain_ops(x, n)
        y.backward()
        return y

    step = compile_(ops)

    def run() -> list[float]:
        x.grad = None
        y = step(x)
        assert x.grad is not None
        return [y.item(), x.grad.item()]

    return run


def chain_jax(n: int) -> Run:
    """Not run: ``jax.jit`` unrolls the Python loop, and XLA compiling a program of
    100,000 ops (twice that with the backward) takes far longer than the benchmark."""
    _jax()
    raise Unavailable(f"not run: jax.jit would compile {n} unrolled ops (and their backward)")


# ---------------------------------------------------------------------------
# Workloads and timing
# ---------------------------------------------------------------------------

LIBS = ("minitorch", "minitorch compiled", "torch", "jax.jit", "numpy")
"""Every variant a workload may time, in the order of the report; ratios are to torch."""
CORE = ("minitorch", "torch")
"""The variants that must run (any other that cannot run shows why in its row)."""

Makers = dict[str, Callable[[], Run]]


@dataclass(frozen=True)
class Workload:
    """Runs to compare (``make`` gives a maker per variant in ``LIBS``); ``units`` ops (or 1
    step) per run; ``block`` runs per timing; ``rtol`` against torch, ``eager_rtol`` between
    compiled and eager minitorch; ``targets``: the issue's ratio to torch per variant."""

    name: str
    title: str
    unit: str
    units: int
    block: int
    repeats: int
    rtol: float
    eager_rtol: float
    make: Callable[[], Makers]
    targets: dict[str, float]


def workloads(scale: float = 1.0) -> dict[str, Workload]:
    """The benchmark's workloads; ``scale`` < 1 shrinks them (for a quick check)."""
    nb = _numpy_baseline()

    def mlp(sizes: tuple[int, ...], batch: int) -> Callable[[], Makers]:
        def make() -> Makers:
            d = make_mlp(sizes, batch, seed=0)
            return {
                "minitorch": lambda: mlp_minitorch(d),
                "minitorch compiled": lambda: mlp_compiled(d),
                "torch": lambda: mlp_torch(d),
                "jax.jit": lambda: mlp_jax(d),
                "numpy": lambda: nb.mlp_numpy(d),
            }

        return make

    n_el = max(6, int(1000 * scale))
    n_chain = max(2, int(100_000 * scale))

    def el() -> Makers:
        e = make_elementwise(n_el, (10, 10), seed=1)
        return {
            "minitorch": lambda: elementwise_minitorch(e),
            "minitorch compiled": lambda: elementwise_compiled(e),
            "torch": lambda: elementwise_torch(e),
            "jax.jit": lambda: elementwise_jax(e),
            "numpy": lambda: nb.elementwise_numpy(e),
        }

    def chain() -> Makers:
        return {
            "minitorch": lambda: chain_minitorch(n_chain),
            "minitorch compiled": lambda: chain_compiled(n_chain),
            "torch": lambda: chain_torch(n_chain),
            "jax.jit": lambda: chain_jax(n_chain),
            "numpy": lambda: nb.chain_numpy(n_chain),
        }

    def blk(n: int) -> int:
        return max(1, int(n * scale))

    def t(eager: float, compiled: float | None = None) -> dict[str, float]:
        return {"minitorch": eager} | ({} if compiled is None else {"minitorch compiled": compiled})

    return {
        "mlp128": Workload(
            "mlp128", "MLP 784-256-10, batch 128, f32", "step", 1, blk(20), 15, 1e-3, 1e-5,
            mlp((784, 256, 10), 128), t(0.8, 0.7),
        ),
        "mlp16": Workload(
            "mlp16", "MLP 784-256-10, batch 16, f32", "step", 1, blk(50), 15, 1e-3, 1e-5,
            mlp((784, 256, 10), 16), t(0.9, 0.5),
        ),
        "tiny": Workload(
            "tiny", "MLP 2-32-2, batch 64, f32", "step", 1, blk(200), 15, 1e-3, 1e-5,
            mlp((2, 32, 2), 64), t(1.0, 0.3),
        ),
        "elementwise": Workload(
            "elementwise", f"{n_el} elementwise ops on 10x10, fwd+bwd", "op", n_el, blk(5), 15,
            1e-9, 1e-12, el, t(0.9, 0.3),
        ),
        "chain": Workload(
            "chain", f"chain of {n_chain} ops on 1 element, fwd+bwd", "op", n_chain, 1, 5,
            1e-9, 1e-12, chain, t(1.0),
        ),
    }  # fmt: skip


@dataclass
class Result:
    """Seconds per unit (step or op) and the values each run returned, per variant that
    ran; ``notes``: why each other variant has no time (not available, failed, disagreed)."""

    workload: Workload
    seconds: dict[str, list[float]]
    values: dict[str, list[list[float]]]
    notes: dict[str, str] = field(default_factory=dict)

    def median(self, lib: str) -> float:
        return statistics.median(self.seconds[lib])

    def ratio(self, lib: str = "minitorch") -> float:
        """``lib``'s median time over torch's."""
        return self.median(lib) / self.median("torch")


def disagreement(
    name: str, rtol: float, ours: list[list[float]], theirs: list[list[float]], who: str
) -> str | None:
    """None if every returned number agrees to ``rtol``, else what differs."""
    a = np.array(ours, dtype=np.float64)
    b = np.array(theirs, dtype=np.float64)
    if a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=rtol * 1e-2):
        return None
    worst = np.max(np.abs(a - b)) if a.shape == b.shape else float("nan")
    return (
        f"{name}: {who} disagree (max |diff| {worst:.3g}):\n"
        f"  {a.reshape(-1)[:6]} ...\n  {b.reshape(-1)[:6]} ..."
    )


def check_agreement(w: Workload, ours: list[list[float]], theirs: list[list[float]]) -> None:
    """Raise AssertionError unless every returned number agrees to ``w.rtol``."""
    msg = disagreement(w.name, w.rtol, ours, theirs, "minitorch and torch")
    if msg:
        raise AssertionError(msg)


def _describe(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    first = text[0] if text else ""
    return first if isinstance(err, Unavailable) else f"{type(err).__name__}: {first}"


def measure(
    w: Workload,
    repeats: int | None = None,
    block: int | None = None,
    libs: tuple[str, ...] | None = None,
) -> Result:
    """Time ``repeats`` blocks of ``block`` runs per variant, interleaved, the order
    rotating each repeat.

    Every variant runs the same number of units from the same start, so the values they
    return are compared one for one (the MLPs' loss curves, step by step): minitorch
    against torch (a disagreement raises), compiled minitorch against eager minitorch
    (``eager_rtol``), JAX and NumPy against torch. A variant other than minitorch and
    torch that cannot be made, fails or disagrees gets a note instead of a time.
    """
    repeats = w.repeats if repeats is None else repeats
    block = w.block if block is None else block
    wanted = [lib for lib in LIBS if libs is None or lib in libs or lib in CORE]
    makers = w.make()
    runs: dict[str, Run] = {}
    notes: dict[str, str] = {}

    def attempt(lib: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as err:
            if lib in CORE:
                raise
            notes[lib] = _describe(err)
            runs.pop(lib, None)
            return None

    for lib in wanted:
        run = attempt(lib, makers[lib])
        if run is not None:
            runs[lib] = run
    res = Result(w, {k: [] for k in runs}, {k: [] for k in runs}, notes)
    for lib in list(runs):  # warm up (first-call costs: imports, tracing, caches): not compared
        attempt(lib, runs[lib])
    for lib in list(runs):  # second call: compared (same state)
        v = attempt(lib, runs[lib])
        if lib in runs:
            res.values[lib].append(v)
    # The process holds every library's modules (torch alone: ~150k objects that each full
    # collection a Python graph triggers would rescan); frozen, each library is timed as
    # in a process of its own.
    gc.collect()
    gc.freeze()
    try:
        for r in range(repeats):
            order = list(runs)
            order = order[r % len(order) :] + order[: r % len(order)]
            for lib in order:
                if lib not in runs:
                    continue
                run = runs[lib]
                gc.collect()

                def timed(lib: str = lib, run: Run = run) -> float:
                    t0 = time.perf_counter()
                    for _ in range(block):
                        res.values[lib].append(run())
                    return time.perf_counter() - t0

                took = attempt(lib, timed)
                if took is not None:
                    res.seconds[lib].append(took / (block * w.units))
    finally:
        gc.unfreeze()
    check_agreement(w, res.values["minitorch"], res.values["torch"])
    for lib, ref, rtol in (
        ("minitorch compiled", "minitorch", w.eager_rtol),
        ("jax.jit", "torch", w.rtol),
        ("numpy", "torch", w.rtol),
    ):
        if lib in runs:
            msg = disagreement(w.name, rtol, res.values[lib], res.values[ref], f"{lib} and {ref}")
            if msg:
                notes[lib] = "DISAGREES " + msg
                runs.pop(lib)
    for lib in list(res.seconds):
        if lib not in runs:
            del res.seconds[lib], res.values[lib]
    return res


def machine() -> str:
    """One line: CPU, cores, OS, Python, NumPy, torch (and JAX) versions."""
    torch = _torch()
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        jax = f", jax {_jax().__version__}"
    except Unavailable:
        jax = ", no jax"
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, NumPy {np.__version__}, torch {torch.__version__}"
        f"{jax} (1 thread)"
    )


def _fmt(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:8.3f} ms"
    return f"{seconds * 1e6:8.2f} us"


def report(r: Result) -> list[str]:
    """The rows of one workload: each variant's median and its ratio to torch."""
    w = r.workload
    lines = [f"{w.title} (per {w.unit})"]
    for lib in LIBS:
        name = f"  {lib}"
        if lib in r.seconds:
            target = w.targets.get(lib)
            mark = "" if target is None else ("ok" if r.ratio(lib) <= target else "MISS")
            goal = "" if target is None else f"<= {target}"
            lines.append(
                f"{name:30} {_fmt(r.median(lib)):>12} {r.ratio(lib):6.2f} {goal:>7} {mark}".rstrip()
            )
        elif lib in r.notes:
            lines.append(f"{name:30} -- {r.notes[lib]}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the chosen workloads and print the medians and ratios."""
    table = workloads()
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--workloads",
        default=",".join(table),
        help=f"comma-separated subset of {','.join(table)} (default: all)",
    )
    parser.add_argument(
        "--libs",
        default=",".join(LIBS),
        help=f"comma-separated variants among {','.join(LIBS)} (minitorch and torch always run)",
    )
    parser.add_argument("--repeats", type=int, default=None, help="timed blocks per variant")
    parser.add_argument("--block", type=int, default=None, help="runs per timed block")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    unknown = [n for n in names if n not in table]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {list(table)}")
    libs = tuple(n.strip() for n in args.libs.split(",") if n.strip())
    unknown = [n for n in libs if n not in LIBS]
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; choose from {list(LIBS)}")

    print(machine())
    print(f"{'workload / variant':30} {'time':>12} {'ratio':>6} {'target':>7}  (ratio: to torch)")
    for name in names:
        r = measure(table[name], args.repeats, args.block, libs)
        print("\n".join(report(r)))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

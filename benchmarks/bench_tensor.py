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

BLAS and PyTorch run on one thread (set before NumPy is imported). Timing is interleaved:
each repeat times a block of steps for one library, then for the other, alternating which
goes first. Reported: the median time per step (or per op) and the ratio minitorch/torch.

Run ``python benchmarks/bench_tensor.py [--repeats R] [--workloads mlp128,chain ...]``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import itertools  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
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


# ---------------------------------------------------------------------------
# Workloads and timing
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """A pair of runs to compare; ``units`` ops (or 1 step) per run; ``block`` runs per timing."""

    name: str
    title: str
    unit: str
    units: int
    block: int
    repeats: int
    rtol: float
    make: Callable[[], tuple[Run, Run]]
    target: float


def workloads(scale: float = 1.0) -> dict[str, Workload]:
    """The benchmark's workloads; ``scale`` < 1 shrinks them (for a quick check)."""

    def mlp(sizes: tuple[int, ...], batch: int) -> Callable[[], tuple[Run, Run]]:
        def make() -> tuple[Run, Run]:
            d = make_mlp(sizes, batch, seed=0)
            return mlp_minitorch(d), mlp_torch(d)

        return make

    n_el = max(6, int(1000 * scale))
    n_chain = max(2, int(100_000 * scale))

    def el() -> tuple[Run, Run]:
        e = make_elementwise(n_el, (10, 10), seed=1)
        return elementwise_minitorch(e), elementwise_torch(e)

    def chain() -> tuple[Run, Run]:
        return chain_minitorch(n_chain), chain_torch(n_chain)

    def blk(n: int) -> int:
        return max(1, int(n * scale))

    return {
        "mlp128": Workload(
            "mlp128", "MLP 784-256-10, batch 128, f32", "step", 1, blk(20), 15, 1e-3,
            mlp((784, 256, 10), 128), 0.85,
        ),
        "mlp16": Workload(
            "mlp16", "MLP 784-256-10, batch 16, f32", "step", 1, blk(50), 15, 1e-3,
            mlp((784, 256, 10), 16), 0.9,
        ),
        "tiny": Workload(
            "tiny", "MLP 2-32-2, batch 64, f32", "step", 1, blk(200), 15, 1e-3,
            mlp((2, 32, 2), 64), 0.4,
        ),
        "elementwise": Workload(
            "elementwise", f"{n_el} elementwise ops on 10x10, fwd+bwd", "op", n_el, blk(5), 15,
            1e-9, el, 0.5,
        ),
        "chain": Workload(
            "chain", f"chain of {n_chain} ops on 1 element, fwd+bwd", "op", n_chain, 1, 5,
            1e-9, chain, 1.0,
        ),
    }  # fmt: skip


@dataclass
class Result:
    """Seconds per unit (step or op) for each library, and the values each run returned."""

    workload: Workload
    seconds: dict[str, list[float]]
    values: dict[str, list[list[float]]]

    def median(self, lib: str) -> float:
        return statistics.median(self.seconds[lib])

    def ratio(self) -> float:
        return self.median("minitorch") / self.median("torch")


def check_agreement(w: Workload, ours: list[list[float]], theirs: list[list[float]]) -> None:
    """Raise AssertionError unless every returned number agrees to ``w.rtol``."""
    a = np.array(ours, dtype=np.float64)
    b = np.array(theirs, dtype=np.float64)
    if a.shape != b.shape or not np.allclose(a, b, rtol=w.rtol, atol=w.rtol * 1e-2):
        worst = np.max(np.abs(a - b)) if a.shape == b.shape else float("nan")
        raise AssertionError(
            f"{w.name}: minitorch and torch disagree (max |diff| {worst:.3g}):\n"
            f"  minitorch {a.reshape(-1)[:6]} ...\n  torch     {b.reshape(-1)[:6]} ..."
        )


def measure(w: Workload, repeats: int | None = None, block: int | None = None) -> Result:
    """Time ``repeats`` blocks of ``block`` runs per library, interleaved, order alternating.

    Both libraries run the same number of units from the same start, so their returned
    values are compared one for one (the MLPs' loss curves, step by step).
    """
    repeats = w.repeats if repeats is None else repeats
    block = w.block if block is None else block
    ours, theirs = w.make()
    runs = {"minitorch": ours, "torch": theirs}
    res = Result(w, {k: [] for k in runs}, {k: [] for k in runs})
    ours()  # warm up (first-call costs: imports, allocator, caches); not compared
    theirs()
    res_warm = {k: r() for k, r in runs.items()}  # second call: compared (same state)
    for k, v in res_warm.items():
        res.values[k].append(v)
    for r in range(repeats):
        order = ["minitorch", "torch"] if r % 2 == 0 else ["torch", "minitorch"]
        for lib in order:
            run = runs[lib]
            gc.collect()
            t0 = time.perf_counter()
            for _ in range(block):
                res.values[lib].append(run())
            res.seconds[lib].append((time.perf_counter() - t0) / (block * w.units))
    check_agreement(w, res.values["minitorch"], res.values["torch"])
    return res


def machine() -> str:
    """One line: CPU, cores, OS, Python, NumPy, torch versions."""
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
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, NumPy {np.__version__}, torch {torch.__version__} "
        f"(1 thread)"
    )


def _fmt(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:8.3f} ms"
    return f"{seconds * 1e6:8.2f} us"


def main(argv: list[str] | None = None) -> int:
    """Run the chosen workloads and print the medians and ratios."""
    table = workloads()
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--workloads",
        default=",".join(table),
        help=f"comma-separated subset of {','.join(table)} (default: all)",
    )
    parser.add_argument("--repeats", type=int, default=None, help="timed blocks per library")
    parser.add_argument("--block", type=int, default=None, help="runs per timed block")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    unknown = [n for n in names if n not in table]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {list(table)}")

    print(machine())
    print(f"{'workload':44} {'minitorch':>12} {'torch':>12} {'ratio':>6} {'target':>7}")
    for name in names:
        w = table[name]
        r = measure(w, args.repeats, args.block)
        ours, theirs = r.median("minitorch"), r.median("torch")
        mark = "ok" if r.ratio() <= w.target else "MISS"
        print(
            f"{w.title + ' (per ' + w.unit + ')':44} {_fmt(ours):>12} {_fmt(theirs):>12} "
            f"{r.ratio():6.2f} {'<= ' + str(w.target):>7} {mark}"
        )
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Training steps on a GPU: minitorch on CUDA (eager and compiled) against PyTorch CUDA, and
against minitorch on the CPU, in one process from the same numbers (float32).

Workloads (one step = forward, softmax cross-entropy (mean), backward, plain SGD update):

* ``mlp``: an MLP 784-4096-4096-10 (ReLU) at batch 1024;
* ``lenet``: ``bench_lenet.py``'s LeNet (the same model and data maker) at batch 256, 1x28x28;
* ``elementwise``: ``bench_tensor.py``'s 1000 elementwise ops (mul, add, sigmoid, exp, sub,
  relu in turn) on 10x10, then ``sum().backward()``: per op, bound by the time to launch a
  kernel; ``elementwise-1m``: the same ops on 1000x1000, bound by memory bandwidth.

Rows: ``minitorch cuda``, ``minitorch cuda compiled`` (the step traced once by
``minitorch.compile``, replayed), ``torch cuda`` and ``minitorch cpu`` (fewer repeats: slow
at these sizes; BLAS with its default threads). Before any timing, each variant runs two
steps from the same start and its losses are checked: minitorch cuda and cpu against torch
(float32 tolerance), compiled against eager minitorch cuda. A variant that fails or disagrees
prints a note instead of a time (and the exit status is 1). TF32 is off on both sides
(PyTorch's cuDNN allows it by default; CuPy's cuBLAS does not use it unless CUPY_TF32=1).

Timing: ``cuda.synchronize()`` (minitorch's or torch's) before and after each block of
steps; the GPU variants interleaved, the order rotating each repeat; the median per step.
Reported: absolute ms, minitorch cuda / torch cuda, and minitorch cpu / minitorch cuda (the
speed-up), next to the issue's targets (large MLP <= 1.3x torch and >= 20x faster than the
CPU; LeNet <= 1.5x torch).

``python3 benchmarks/bench_gpu.py [--quick] [--workloads mlp,lenet] [--repeats R]``. Without
a GPU (or CuPy, or torch with CUDA) it prints why and exits 0. ``--fake`` runs the whole
script on ``tests/fake_cupy.py`` (NumPy behind CuPy's rules) with tiny sizes and torch on
the CPU: a check that the script works, not a measurement.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

import minitorch
from minitorch import Tensor, devices, layers, nn
from minitorch.optim import SGD

HERE = Path(__file__).resolve().parent
LR = 0.01
F32 = np.float32

Probe = Callable[[], list[float]]
"""Reads a finished step's numbers (loss, a gradient entry) into Python: synchronises."""
Run = Callable[[], Probe]
"""One step; returns its probe without reading anything (the timing never synchronises)."""


def _sibling(name: str) -> ModuleType:
    """The benchmark ``benchmarks/<name>.py``, loaded by path. Those scripts pin BLAS and
    OpenMP to one thread in ``os.environ`` when imported; that is undone here (NumPy is
    already loaded, and torch reads it at import), so the CPU row has its default threads."""
    if name in sys.modules:
        return sys.modules[name]
    saved = dict(os.environ)
    try:
        spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up by name
        spec.loader.exec_module(module)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return module


# ---------------------------------------------------------------------------
# Where things run
# ---------------------------------------------------------------------------


@dataclass
class Machine:
    """torch and its device, and how to wait for each library's GPU work."""

    torch: Any
    torch_device: str
    fake: bool

    def sync_minitorch(self) -> None:
        minitorch.cuda.synchronize()

    def sync_torch(self) -> None:
        if self.torch_device == "cuda":
            self.torch.cuda.synchronize()


def why_no_gpu() -> str | None:
    """None when minitorch (CuPy) and torch both reach a GPU, else why not."""
    reasons = []
    try:
        devices.cuda_namespace()
    except devices.DeviceError as err:
        reasons.append(f"minitorch: {err}")
    try:
        import torch
    except ImportError:
        reasons.append("torch is not installed")
    else:
        if not torch.cuda.is_available():
            reasons.append(f"torch {torch.__version__} sees no CUDA device")
    return "; ".join(r.rstrip(".") for r in reasons) or None


def _fake_cupy() -> ModuleType:
    """``tests/fake_cupy.py`` (the one already imported, as under pytest, if any)."""
    if "fake_cupy" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "fake_cupy", HERE.parent / "tests" / "fake_cupy.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["fake_cupy"] = module
        spec.loader.exec_module(module)
    return sys.modules["fake_cupy"]


# ---------------------------------------------------------------------------
# Workloads: each library's step from the same numbers
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """Initial weights (PyTorch's layout and names, float32) and one batch."""

    weights: dict[str, np.ndarray]
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    unit: str  # "step" or "op"
    per_run: int  # units in one run
    minitorch_model: Callable[[], layers.Module] | None  # None: the elementwise ops
    torch_model: Callable[[Any], Any] | None
    setup: Setup | None = None
    n_ops: int = 0
    data: Any = None  # the elementwise workload's numbers
    targets: dict[str, float] = field(default_factory=dict)


def _mlp_model(sizes: tuple[int, ...]) -> layers.Sequential:
    mods: list[layers.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        mods.append(layers.Linear(a, b))
        if i < len(sizes) - 2:
            mods.append(layers.ReLU())
    return layers.Sequential(*mods)


def _torch_mlp(sizes: tuple[int, ...]) -> Callable[[Any], Any]:
    def make(torch: Any) -> Any:
        mods: list[Any] = []
        for i, (a, b) in enumerate(itertools.pairwise(sizes)):
            mods.append(torch.nn.Linear(a, b))
            if i < len(sizes) - 2:
                mods.append(torch.nn.ReLU())
        return torch.nn.Sequential(*mods)

    return make


def _torch_lenet(size: int) -> Callable[[Any], Any]:
    """``bench_lenet``'s model in torch.nn (the same parameter names)."""

    def make(torch: Any) -> Any:
        n = torch.nn
        return n.Sequential(
            n.Conv2d(1, 8, 3, padding=1),
            n.ReLU(),
            n.MaxPool2d(2),
            n.Conv2d(8, 16, 3, padding=1),
            n.ReLU(),
            n.MaxPool2d(2),
            n.Flatten(),
            n.Linear(16 * (size // 4) ** 2, 10),
        )

    return make


def mlp_workload(sizes: tuple[int, ...], batch: int, seed: int = 0) -> Workload:
    model = _mlp_model(sizes)  # its initial weights (minitorch's Kaiming-uniform draw)
    weights = {k: v.to_numpy().astype(F32) for k, v in model.state_dict().items()}
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(F32)
    y = rng.integers(0, sizes[-1], batch)
    arch = "-".join(map(str, sizes))
    return Workload(
        "mlp",
        f"MLP {arch}, batch {batch}, f32, SGD step",
        "step",
        1,
        lambda: _mlp_model(sizes),
        _torch_mlp(sizes),
        Setup(weights, x, y),
        targets={"torch": 1.3, "speedup": 20.0},
    )


def lenet_workload(batch: int, size: int) -> Workload:
    lenet = _sibling("bench_lenet")
    s = lenet.make_setup(batch, size)
    return Workload(
        "lenet",
        f"LeNet ({lenet.__name__}.py), batch {batch}, 1x{size}x{size}, f32, SGD step",
        "step",
        1,
        lambda: lenet._minitorch_model(size),
        _torch_lenet(size),
        Setup(s.weights, s.x, s.y),
        targets={"torch": 1.5},
    )


def elementwise_workload(name: str, n: int, shape: tuple[int, ...]) -> Workload:
    e = _sibling("bench_tensor").make_elementwise(n, shape, seed=1)
    dims = "x".join(map(str, shape))
    return Workload(
        name,
        f"{n} elementwise ops on {dims}, f32, fwd+bwd",
        "op",
        n,
        None,
        None,
        n_ops=n,
        data=tuple(a.astype(F32) for a in (e.x, e.w, e.b)),
    )


def workloads(kind: str) -> list[Workload]:
    """The issue's sizes (``full``), a short run on a GPU (``quick``), tiny ones (``fake``)."""
    if kind == "full":
        return [
            mlp_workload((784, 4096, 4096, 10), 1024),
            lenet_workload(256, 28),
            elementwise_workload("elementwise", 1000, (10, 10)),
            elementwise_workload("elementwise-1m", 1000, (1000, 1000)),
        ]
    if kind == "quick":
        return [
            mlp_workload((784, 512, 512, 10), 128),
            lenet_workload(32, 28),
            elementwise_workload("elementwise", 60, (10, 10)),
            elementwise_workload("elementwise-1m", 60, (1000, 1000)),
        ]
    return [
        mlp_workload((12, 16, 16, 10), 8),
        lenet_workload(2, 8),
        elementwise_workload("elementwise", 12, (3, 3)),
        elementwise_workload("elementwise-1m", 12, (4, 5)),
    ]


def minitorch_run(w: Workload, device: str, compiled: bool) -> Run:
    """minitorch's step on ``device``, eager or through ``minitorch.compile``."""
    if w.minitorch_model is None:
        return _minitorch_elementwise(w, device, compiled)
    assert w.setup is not None
    model = w.minitorch_model()
    for name, p in model.named_parameters():
        p.update(Tensor(w.setup.weights[name], device=device))
    opt = SGD(model.parameters(), lr=LR)
    x, y = Tensor(w.setup.x, device=device), w.setup.y

    def step(x: Tensor) -> Tensor:
        loss = nn.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    fn = minitorch.compile(step) if compiled else step

    def run() -> Probe:
        loss = fn(x)
        return lambda: [loss.item()]

    return run


def _minitorch_elementwise(w: Workload, device: str, compiled: bool) -> Run:
    ops = _sibling("bench_tensor")._elementwise_ops
    x, wt, b = (Tensor(a, device=device, requires_grad=True) for a in w.data)

    def fwd_bwd(x: Tensor, w_: Tensor, b: Tensor) -> Tensor:
        loss = ops(x, w_, b, w.n_ops).sum()
        loss.backward()
        return loss

    fn = minitorch.compile(fwd_bwd) if compiled else fwd_bwd

    def run() -> Probe:
        for t in (x, wt, b):
            t.grad = None
        loss = fn(x, wt, b)
        return lambda: [loss.item(), float(x.grad[0, 0]), float(wt.grad[0, 0])]  # type: ignore[index]

    return run


def torch_run(w: Workload, m: Machine) -> Run:
    """The same step in PyTorch on ``m.torch_device``."""
    torch, dev = m.torch, m.torch_device
    if w.torch_model is None:
        ops = _sibling("bench_tensor")._elementwise_ops
        x, wt, b = (torch.tensor(a, device=dev, requires_grad=True) for a in w.data)

        def run_ops() -> Probe:
            for t in (x, wt, b):
                t.grad = None
            loss = ops(x, wt, b, w.n_ops).sum()
            loss.backward()
            return lambda: [loss.item(), x.grad[0, 0].item(), wt.grad[0, 0].item()]

        return run_ops
    assert w.setup is not None
    model = w.torch_model(torch).to(dev)
    model.load_state_dict({k: torch.tensor(v) for k, v in w.setup.weights.items()})
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    x = torch.tensor(w.setup.x, device=dev)
    y = torch.tensor(w.setup.y, device=dev)
    cross_entropy = torch.nn.functional.cross_entropy

    def run() -> Probe:
        loss = cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return lambda: [loss.item()]

    return run


# ---------------------------------------------------------------------------
# Checking and timing
# ---------------------------------------------------------------------------

CUDA, COMPILED, TORCH, CPU = (
    "minitorch cuda",
    "minitorch cuda compiled",
    "torch cuda",
    "minitorch cpu",
)
VARIANTS = {CUDA: (TORCH, 1e-3), COMPILED: (CUDA, 1e-5), TORCH: (TORCH, 0.0), CPU: (TORCH, 1e-3)}
"""variant -> (the variant its numbers are checked against, rtol)."""


@dataclass
class Result:
    """Median seconds per run of each variant that ran, and a note for each that did not."""

    workload: Workload
    seconds: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, list[list[float]]] = field(default_factory=dict)


def _make(w: Workload, m: Machine, name: str) -> Run:
    if name == TORCH:
        return torch_run(w, m)
    return minitorch_run(w, "cpu" if name == CPU else "cuda", compiled=name == COMPILED)


def _describe(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}"


def measure(w: Workload, m: Machine, repeats: int, block: int, cpu_repeats: int) -> Result:
    """Check every variant's first two steps against its reference, then time the GPU
    variants interleaved (``repeats`` blocks of ``block`` runs) and the CPU one alone."""
    res = Result(w)
    runs: dict[str, Run] = {}
    for name in VARIANTS:
        try:
            check = _make(w, m, name)
            res.numbers[name] = [check()() for _ in range(2)]
            runs[name] = _make(w, m, name)
            runs[name]()  # warm up (and trace, compiled)
        except Exception as err:  # a variant that fails gets a note, the others go on
            res.notes[name] = _describe(err)
            runs.pop(name, None)
    for name, (ref, rtol) in VARIANTS.items():
        if name in runs and name != ref and ref in res.numbers:
            a, b = np.array(res.numbers[name]), np.array(res.numbers[ref])
            if not np.allclose(a, b, rtol=rtol, atol=1e-5):
                res.notes[name] = f"DISAGREES with {ref}: {a.tolist()} vs {b.tolist()}"
                del runs[name]
    sync = {CUDA: m.sync_minitorch, COMPILED: m.sync_minitorch, TORCH: m.sync_torch}
    gpu = [k for k in runs if k != CPU]
    times: dict[str, list[float]] = {k: [] for k in runs}
    for r in range(repeats):
        for name in gpu[r % len(gpu) :] + gpu[: r % len(gpu)] if gpu else []:
            sync[name]()
            start = time.perf_counter()
            for _ in range(block):
                runs[name]()
            sync[name]()
            times[name].append((time.perf_counter() - start) / block)
    if CPU in runs:
        for _ in range(cpu_repeats):
            start = time.perf_counter()
            runs[CPU]()()  # the probe: wait for the result (NumPy is synchronous anyway)
            times[CPU].append(time.perf_counter() - start)
    res.seconds = {k: statistics.median(v) for k, v in times.items() if v}
    return res


def _mark(value: float, target: float | None, at_least: bool = False) -> str:
    if target is None:
        return ""
    ok = value >= target if at_least else value <= target
    return f"(target {'>=' if at_least else '<='} {target:g}x: {'ok' if ok else 'MISS'})"


def report(res: Result) -> list[str]:
    """The workload's lines: each variant's time, its ratio to torch cuda, the speed-up."""
    w, s = res.workload, res.seconds
    per = f"per {w.unit}"
    lines = [f"{w.title} ({per})"]
    for name in VARIANTS:
        if name not in s:
            lines.append(f"  {name:24} -- {res.notes.get(name, 'not timed')}")
            continue
        ms = 1e3 * s[name] / w.per_run
        text = f"  {name:24} {ms:10.4f} ms"
        if name in (CUDA, COMPILED) and TORCH in s:
            ratio = s[name] / s[TORCH]
            target = w.targets.get("torch") if name == CUDA else None
            text += f"   {ratio:6.2f}x torch cuda {_mark(ratio, target)}".rstrip()
        if name == CPU:
            for gpu_row in (CUDA, COMPILED):
                if gpu_row in s:
                    speedup = s[CPU] / s[gpu_row]
                    target = w.targets.get("speedup") if gpu_row == CUDA else None
                    short = "cuda" if gpu_row == CUDA else "compiled"
                    mark = _mark(speedup, target, True)
                    text += f"   speed-up of {short} {speedup:7.1f}x {mark}".rstrip()
        lines.append(text.rstrip())
    return lines


def summary(results: list[Result]) -> list[str]:
    """One line per target of the issue: the figure and ok/MISS (or why there is none)."""
    lines = []
    for res in results:
        w, s = res.workload, res.seconds
        for key, target in w.targets.items():
            if key == "torch":
                what, pair, at_least = "minitorch cuda / torch cuda", (CUDA, TORCH), False
            else:
                what, pair, at_least = "minitorch cpu / minitorch cuda", (CPU, CUDA), True
            if all(p in s for p in pair):
                value = s[pair[0]] / s[pair[1]]
                lines.append(f"  {w.name}: {what} = {value:.2f}x {_mark(value, target, at_least)}")
            else:
                lines.append(f"  {w.name}: {what}: not measured")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print each workload's table; 0 when every variant ran and agreed (or no GPU)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, few repeats (smoke test)")
    ap.add_argument("--fake", action="store_true", help="fake_cupy and torch on the CPU, tiny")
    ap.add_argument("--workloads", default="mlp,lenet,elementwise,elementwise-1m")
    ap.add_argument("--repeats", type=int, default=None, help="timed blocks per GPU variant")
    ap.add_argument("--cpu-repeats", type=int, default=None, help="timed minitorch cpu steps")
    args = ap.parse_args(argv)
    previous = devices.use_cuda(_fake_cupy()) if args.fake else None
    try:
        if not args.fake:
            why = why_no_gpu()
            if why is not None:
                print(f"bench_gpu: skipped, no GPU to benchmark on: {why}")
                return 0
        return _main(args)
    finally:
        if args.fake:
            devices.use_cuda(previous)


def _main(args: argparse.Namespace) -> int:
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    m = Machine(torch, "cpu" if args.fake else "cuda", args.fake)
    kind = "fake" if args.fake else "quick" if args.quick else "full"
    repeats = args.repeats or {"full": 15, "quick": 3, "fake": 1}[kind]
    cpu_repeats = args.cpu_repeats or {"full": 3, "quick": 1, "fake": 1}[kind]
    xp = devices.cuda_namespace()
    card = minitorch.cuda.get_device_name()
    print(
        f"GPU: {card}; minitorch on CuPy {getattr(xp, '__version__', '(fake)')}, torch "
        f"{torch.__version__} on {m.torch_device}, numpy {np.__version__}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs; float32, TF32 off"
    )
    if args.fake:
        print("--fake: fake_cupy (NumPy) as the GPU, torch on the CPU, tiny sizes: not timings")
    wanted = [n.strip() for n in args.workloads.split(",") if n.strip()]
    chosen = [w for w in workloads(kind) if w.name in wanted]
    unknown = set(wanted) - {w.name for w in chosen}
    if unknown:
        print(f"bench_gpu: unknown workloads {sorted(unknown)}", file=sys.stderr)
        return 2
    results = []
    for w in chosen:
        block = 1 if w.unit == "op" or kind == "fake" else 5
        results.append(measure(w, m, repeats, block, cpu_repeats))
        print("\n".join(report(results[-1])), flush=True)
    print("targets:\n" + "\n".join(summary(results)))
    return 1 if any(r.notes for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())

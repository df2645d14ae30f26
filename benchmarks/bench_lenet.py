"""LeNet-style CNN training step: minitorch against PyTorch (CPU), same maths, same process.

Model (float32, input 1x28x28, batch 64 by default)::

    conv 1->8 3x3 (padding 1), ReLU, maxpool 2, conv 8->16 3x3 (padding 1), ReLU, maxpool 2,
    flatten, linear -> 10

One step = forward, softmax cross-entropy (mean), backward, plain SGD update. Both
libraries compute the same function (``Conv2d(..., padding=1)`` is PyTorch's symmetric
padding in both) from the same weights and data; the losses of every step are compared
(float32 tolerance), and a disagreement stops the benchmark.

One thread each: ``OMP/OPENBLAS/MKL_NUM_THREADS=1`` before NumPy is imported and
``torch.set_num_threads(1)``. Timing is interleaved (each repeat times a block of steps of
one library, then of the other, alternating which goes first); reported: the median time
per step and the ratio minitorch/torch.

``main`` also times, where they run, ``minitorch compiled`` (the same step traced once by
``minitorch.compile`` and replayed; its losses must equal eager minitorch's) and
``jax.jit`` (the same step as one jitted JAX function, XLA on one thread), each as a ratio
to torch in the same interleaved run; a variant that cannot run says why in its row.

Run ``python benchmarks/bench_lenet.py [--batch 64] [--size 28] [--repeats 15]``;
``--profile`` prints cProfile's top entries for minitorch's step.
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
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import minitorch  # noqa: E402
from minitorch import layers, nn  # noqa: E402
from minitorch.optim import SGD  # noqa: E402

LR = 0.05


def _torch() -> Any:
    import torch

    torch.set_num_threads(1)
    return torch


@dataclass(frozen=True)
class Setup:
    """Initial weights (PyTorch layout, float32) and one batch."""

    weights: dict[str, np.ndarray]
    x: np.ndarray
    y: np.ndarray


def make_setup(batch: int = 64, size: int = 28, seed: int = 0) -> Setup:
    """Weights drawn as minitorch's layers draw them, and a random batch of ``size`` images."""
    if size % 4:
        raise ValueError(f"size must be a multiple of 4 (two 2x2 pools), got {size}.")
    random.seed(seed)
    model = _minitorch_model(size)
    weights = {k: np.asarray(v, dtype=np.float32) for k, v in model.state_dict().items()}
    rng = np.random.default_rng(seed)
    x = rng.random((batch, 1, size, size), dtype=np.float32)
    y = rng.integers(0, 10, size=batch)
    return Setup(weights, x, y)


def _minitorch_model(size: int) -> layers.Sequential:
    return layers.Sequential(
        layers.Conv2d(1, 8, 3, padding=1),
        layers.ReLU(),
        layers.MaxPool2d(2),
        layers.Conv2d(8, 16, 3, padding=1),
        layers.ReLU(),
        layers.MaxPool2d(2),
        layers.Flatten(),
        layers.Linear(16 * (size // 4) ** 2, 10),
    )


def _to_float32(model: layers.Sequential) -> None:
    """Make every parameter float32, as torch's model is (``load_state_dict`` keeps the
    parameters' float64 dtype): both libraries then compute in the same precision."""
    for p in model.parameters():
        p.update(minitorch.Tensor(np.asarray(p.value.to_numpy(), dtype=np.float32)))


def _minitorch_training(setup: Setup) -> tuple[Callable[[Any], Any], Any]:
    """minitorch's LeNet with the setup's weights (float32), its SGD, and the training step
    on a batch (forward, loss, backward, step; returns the loss), with the batch itself."""
    model = _minitorch_model(setup.x.shape[-1])
    model.load_state_dict({k: minitorch.Tensor(v) for k, v in setup.weights.items()})
    _to_float32(model)
    opt = SGD(model.parameters(), lr=LR)
    y = setup.y

    def train_step(x: minitorch.Tensor) -> minitorch.Tensor:
        loss = nn.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return train_step, minitorch.Tensor(setup.x)


def minitorch_step(setup: Setup) -> Callable[[], float]:
    """A closure running one minitorch training step and returning its loss."""
    step, x = _minitorch_training(setup)
    return lambda: float(step(x).item())


def torch_step(setup: Setup) -> Callable[[], float]:
    """The same step in PyTorch."""
    torch = _torch()
    F = torch.nn.functional
    w = {k: torch.tensor(v, requires_grad=True) for k, v in setup.weights.items()}
    params = list(w.values())
    opt = torch.optim.SGD(params, lr=LR)
    x = torch.tensor(setup.x)
    y = torch.tensor(setup.y)

    def forward(x: Any) -> Any:
        h = F.conv2d(x, w["0.weight"], w["0.bias"], padding=1)
        h = F.max_pool2d(F.relu(h), 2)
        h = F.conv2d(h, w["3.weight"], w["3.bias"], padding=1)
        h = F.max_pool2d(F.relu(h), 2)
        return F.linear(h.flatten(1), w["7.weight"], w["7.bias"])

    def step() -> float:
        loss = F.cross_entropy(forward(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.item())

    return step


def check_agreement(setup: Setup, steps: int = 3, rtol: float = 1e-4) -> list[tuple[float, float]]:
    """Run ``steps`` steps in both libraries from the same start; the losses must agree."""
    ours, theirs = minitorch_step(setup), torch_step(setup)
    pairs = []
    for i in range(steps):
        a, b = ours(), theirs()
        if not abs(a - b) <= rtol * abs(b) + 1e-6:
            raise AssertionError(f"step {i}: minitorch loss {a!r} != torch loss {b!r}")
        pairs.append((a, b))
    return pairs


def measure(setup: Setup, repeats: int = 15, block: int = 3) -> dict[str, float]:
    """Median seconds per step for each library (interleaved blocks of ``block`` steps)."""
    check_agreement(setup)
    runs = {"minitorch": minitorch_step(setup), "torch": torch_step(setup)}
    for run in runs.values():  # warm up
        run()
    times: dict[str, list[float]] = {k: [] for k in runs}
    gc.collect()
    for r in range(repeats):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))
        for name in order:
            start = time.perf_counter()
            for _ in range(block):
                runs[name]()
            times[name].append((time.perf_counter() - start) / block)
    ours = statistics.median(times["minitorch"])
    theirs = statistics.median(times["torch"])
    return {"minitorch": ours, "torch": theirs, "ratio": ours / theirs}


class Unavailable(Exception):
    """A variant that cannot run here (not installed, not built yet): its row says why."""


def compiled_step(setup: Setup) -> Callable[[], float]:
    """minitorch's step traced once by ``minitorch.compile`` and replayed (Unavailable on
    a minitorch without it)."""
    compile_ = getattr(minitorch, "compile", None)
    if compile_ is None:
        raise Unavailable("minitorch.compile does not exist in this minitorch")
    train_step, x = _minitorch_training(setup)
    step = compile_(train_step)
    return lambda: float(step(x).item())


def jax_step(setup: Setup) -> Callable[[], float]:
    """The same step as one ``jax.jit`` function (Unavailable when JAX is not installed)."""
    try:
        import jax
    except ImportError:
        raise Unavailable("jax is not installed (pip install 'jax[cpu]' to add this row)") from None
    jnp, lax = jax.numpy, jax.lax

    def conv(h: Any, w: Any, b: Any) -> Any:
        dims = ("NCHW", "OIHW", "NCHW")
        return (
            lax.conv_general_dilated(h, w, (1, 1), ((1, 1), (1, 1)), dimension_numbers=dims)
            + b[None, :, None, None]
        )

    def pool(h: Any) -> Any:
        return lax.reduce_window(h, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def loss_fn(p: dict[str, Any], x: Any, y: Any) -> Any:
        h = pool(jax.nn.relu(conv(x, p["0.weight"], p["0.bias"])))
        h = pool(jax.nn.relu(conv(h, p["3.weight"], p["3.bias"])))
        z = h.reshape(h.shape[0], -1) @ p["7.weight"].T + p["7.bias"]
        return -jnp.take_along_axis(jax.nn.log_softmax(z), y[:, None], 1).mean()

    @jax.jit
    def step(p: dict[str, Any], x: Any, y: Any) -> tuple[Any, dict[str, Any]]:
        loss, g = jax.value_and_grad(loss_fn)(p, x, y)
        return loss, {k: p[k] - LR * g[k] for k in p}

    params = {k: jnp.asarray(v) for k, v in setup.weights.items()}
    x, y = jnp.asarray(setup.x), jnp.asarray(setup.y)

    def run() -> float:
        nonlocal params
        loss, params = step(params, x, y)
        return float(loss)

    return run


VARIANTS: dict[str, tuple[Callable[[Setup], Callable[[], float]], str, float]] = {
    "minitorch": (minitorch_step, "torch", 1e-4),
    "minitorch compiled": (compiled_step, "minitorch", 1e-5),
    "torch": (torch_step, "torch", 0.0),
    "jax.jit": (jax_step, "torch", 1e-4),
}
"""variant -> (maker, the variant its losses are checked against, rtol)."""

TARGETS = {"minitorch": 1.2}
"""The issue's ratio to torch per variant."""


def measure_all(
    setup: Setup, repeats: int = 15, block: int = 3, steps: int = 3
) -> tuple[dict[str, float], dict[str, str]]:
    """Median seconds per step of every variant that runs (interleaved blocks, the order
    rotating), and a note for each that does not (unavailable, failed, disagreed).

    First each variant runs ``steps`` steps from the same start and its losses are
    checked against its reference (compiled against eager minitorch, the others against
    torch); minitorch disagreeing with torch raises."""
    check_agreement(setup)
    notes: dict[str, str] = {}
    runs: dict[str, Callable[[], float]] = {}
    losses: dict[str, list[float]] = {}
    for name, (make, _, _) in VARIANTS.items():
        try:
            run = make(setup)
            losses[name] = [run() for _ in range(steps)]
            runs[name] = make(setup)
            runs[name]()  # warm up
        except Exception as err:
            if name in ("minitorch", "torch"):
                raise
            lines = str(err).strip().splitlines()
            first = lines[0] if lines else ""
            notes[name] = (
                first if isinstance(err, Unavailable) else f"{type(err).__name__}: {first}"
            )
            runs.pop(name, None)
    for name, (_, ref, rtol) in VARIANTS.items():
        if name in runs and name != ref:
            a, b = np.array(losses[name]), np.array(losses[ref])
            if not np.allclose(a, b, rtol=rtol, atol=1e-6):
                notes[name] = f"DISAGREES with {ref}: losses {a} vs {b}"
                del runs[name]
    times: dict[str, list[float]] = {k: [] for k in runs}
    gc.collect()
    for r in range(repeats):
        order = list(runs)
        order = order[r % len(order) :] + order[: r % len(order)]
        for name in order:
            start = time.perf_counter()
            for _ in range(block):
                runs[name]()
            times[name].append((time.perf_counter() - start) / block)
    return {k: statistics.median(v) for k, v in times.items()}, notes


def _profile(setup: Setup, steps: int) -> None:
    import cProfile
    import pstats

    step = minitorch_step(setup)
    step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        step()
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(15)


def main(argv: list[str] | None = None) -> int:
    """Print the median step times and their ratio (checks agreement first)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=28)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--block", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    setup = make_setup(args.batch, args.size)
    if args.profile:
        _profile(setup, 20)
        return 0
    torch = _torch()
    pairs = check_agreement(setup)
    print(
        f"LeNet-like step, batch {args.batch}, 1x{args.size}x{args.size}, float32, one thread; "
        f"torch {torch.__version__}, numpy {np.__version__}, {platform.processor() or 'cpu'}"
    )
    print("losses agree: " + ", ".join(f"{a:.6f}/{b:.6f}" for a, b in pairs))
    medians, notes = measure_all(setup, args.repeats, args.block)
    print(
        f"median per step: minitorch {1e3 * medians['minitorch']:.2f} ms, "
        f"torch {1e3 * medians['torch']:.2f} ms, "
        f"ratio ours/torch {medians['minitorch'] / medians['torch']:.2f}x"
    )
    print(f"{'variant':22} {'per step':>10} {'ratio':>6} {'target':>7}  (ratio: to torch)")
    for name in VARIANTS:
        if name in medians:
            ratio = medians[name] / medians["torch"]
            target = TARGETS.get(name)
            goal = "" if target is None else f"<= {target}"
            mark = "" if target is None else ("ok" if ratio <= target else "MISS")
            print(f"{name:22} {1e3 * medians[name]:7.2f} ms {ratio:6.2f} {goal:>7} {mark}".rstrip())
        else:
            print(f"{name:22} -- {notes[name]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

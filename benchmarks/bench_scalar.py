"""Scalar training speed: minitorch's Scalars against micrograd's Values, same maths.

The workload is the ``run_scalar`` training epoch: a 2-H-1 network on N Xor points, one
epoch = forward over all points, one backward, an SGD update and zeroed gradients.
micrograd's ``Value`` has only ``+ * ** relu - /``, so both libraries run the same ops::

    h_i     = relu(W1ᵀ x_i + b1)                       (H hidden units)
    s_i     = w2 · h_i + b2                             (score)
    L       = (1/N) Σ_i relu(1 - y_i s_i),  y_i ∈ {-1, +1}   (hinge loss, micrograd's demo)
    θ       ← θ - lr ∂L/∂θ

Both start from the same seeded numbers, so they compute the same losses; the benchmark
checks that they agree to 1e-9 after the timed epochs. minitorch runs as its users write
it (``ScalarLinear`` layers and ``minitorch.SGD``); the micrograd side uses
``micrograd.engine.Value`` directly, summing in the same order.

Run ``python benchmarks/bench_scalar.py [--epochs E] [--repeats R]``. Each run trains for
``E`` epochs from a clean heap. It reports, per library, the seconds per epoch of a whole run
(total / E: what a user waits for, garbage-collection pauses included) and the median epoch,
and the ratios minitorch/micrograd, with Python's cyclic garbage collector on (as users run
it) and off (``gc.disable()``, collecting between runs, outside the timing).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import minitorch
from minitorch import SGD, Module, Scalar
from minitorch.apps.models import ScalarLinear

Epoch = Callable[[], float]
"""Runs one training epoch and returns its loss (computed before the update)."""


@dataclass(frozen=True)
class Weights:
    """Initial parameters: ``w1[i][j]`` (input i -> hidden j), ``b1[j]``, ``w2[j]``, ``b2``."""

    w1: list[list[float]]
    b1: list[float]
    w2: list[float]
    b2: float


def make_data(points: int, seed: int) -> tuple[list[tuple[float, float]], list[float]]:
    """``points`` Xor points (minitorch's dataset, seeded) with labels mapped to ±1."""
    random.seed(seed)
    graph = minitorch.datasets["Xor"](points)
    return graph.X, [1.0 if label == 1 else -1.0 for label in graph.y]


def make_weights(hidden: int, seed: int) -> Weights:
    """Weights uniform in [-1, 1) from ``random.Random(seed)``, shared by both libraries."""
    rng = random.Random(seed)

    def u() -> float:
        return 2.0 * rng.random() - 1.0

    return Weights(
        w1=[[u() for _ in range(hidden)] for _ in range(2)],
        b1=[u() for _ in range(hidden)],
        w2=[u() for _ in range(hidden)],
        b2=u(),
    )


# ---------------------------------------------------------------------------
# minitorch
# ---------------------------------------------------------------------------


class HingeNet(Module):
    """2 -> H (ReLU) -> 1 score, as two ``ScalarLinear`` layers."""

    def __init__(self, w: Weights) -> None:
        super().__init__()
        hidden = len(w.b1)
        self.layer1 = ScalarLinear(2, hidden)
        self.layer2 = ScalarLinear(hidden, 1)
        for j in range(hidden):
            for i in range(2):
                self.layer1.weights[i][j].update(Scalar(w.w1[i][j]))
            self.layer1.bias[j].update(Scalar(w.b1[j]))
            self.layer2.weights[j][0].update(Scalar(w.w2[j]))
        self.layer2.bias[0].update(Scalar(w.b2))

    def forward(self, x: list[Scalar]) -> Scalar:
        """s = w2 · relu(W1ᵀ x + b1) + b2."""
        h = [v.relu() for v in self.layer1(x)]
        score: Scalar = self.layer2(h)[0]
        return score


def minitorch_epoch(X: list[tuple[float, float]], y: list[float], w: Weights, lr: float) -> Epoch:
    """A minitorch training epoch over (X, y), starting from ``w``."""
    model = HingeNet(w)
    optimizer = SGD(model.parameters(), lr=lr)
    scale = 1.0 / len(X)

    def epoch() -> float:
        total: Scalar | None = None
        for (x1, x2), label in zip(X, y):
            score = model([Scalar(x1, None), Scalar(x2, None)])
            term = (1.0 - label * score).relu()
            total = term if total is None else total + term
        assert total is not None
        loss = total * scale
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss.data

    return epoch


# ---------------------------------------------------------------------------
# micrograd
# ---------------------------------------------------------------------------


def micrograd_epoch(X: list[tuple[float, float]], y: list[float], w: Weights, lr: float) -> Epoch:
    """The same epoch with ``micrograd.engine.Value``, summing in the same order."""
    from micrograd.engine import Value

    hidden = len(w.b1)
    w1 = [[Value(v) for v in row] for row in w.w1]
    b1 = [Value(v) for v in w.b1]
    w2 = [Value(v) for v in w.w2]
    b2 = Value(w.b2)
    params = [p for row in w1 for p in row] + b1 + w2 + [b2]
    scale = 1.0 / len(X)

    def epoch() -> float:
        total = None
        for (x1, x2), label in zip(X, y):
            x = [Value(x1), Value(x2)]
            h = []
            for j in range(hidden):
                acc = b1[j]
                for i in range(2):
                    acc = acc + x[i] * w1[i][j]
                h.append(acc.relu())
            score = b2
            for j in range(hidden):
                score = score + h[j] * w2[j]
            term = (1.0 - label * score).relu()
            total = term if total is None else total + term
        assert total is not None
        loss = total * scale
        loss.backward()
        for p in params:
            p.data -= lr * p.grad
            p.grad = 0
        return float(loss.data)

    return epoch


LIBRARIES: dict[str, Callable[[list[tuple[float, float]], list[float], Weights, float], Epoch]]
LIBRARIES = {"minitorch": minitorch_epoch, "micrograd": micrograd_epoch}


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------


@dataclass
class Timing:
    """Seconds per epoch of each library, and the losses each run ended with."""

    seconds: dict[str, list[float]]
    final_losses: dict[str, list[float]]

    def median(self, name: str) -> float:
        """Median seconds per epoch of ``name``."""
        return statistics.median(self.seconds[name])

    def mean(self, name: str) -> float:
        """Seconds per epoch of ``name`` over whole runs (total time / epochs)."""
        return statistics.fmean(self.seconds[name])


def measure(
    *,
    epochs: int,
    repeats: int,
    points: int,
    hidden: int,
    lr: float,
    seed: int,
    gc_enabled: bool,
) -> Timing:
    """Time ``epochs`` epochs per library, ``repeats`` times, alternating the order.

    Each repeat starts both libraries from the same weights; their final losses must agree
    to 1e-9. The collector runs between measurements, never inside one with it disabled.
    """
    X, y = make_data(points, seed)
    w = make_weights(hidden, seed)
    timing = Timing({n: [] for n in LIBRARIES}, {n: [] for n in LIBRARIES})
    was_enabled = gc.isenabled()
    try:
        for r in range(repeats):
            names = list(LIBRARIES) if r % 2 == 0 else list(reversed(LIBRARIES))
            for name in names:
                epoch = LIBRARIES[name](X, y, w, lr)
                gc.collect()
                if gc_enabled:
                    gc.enable()
                else:
                    gc.disable()
                loss = float("nan")
                for _ in range(epochs):
                    t0 = time.perf_counter()
                    loss = epoch()
                    timing.seconds[name].append(time.perf_counter() - t0)
                gc.enable()
                del epoch
                gc.collect()
                timing.final_losses[name].append(loss)
            a, b = (timing.final_losses[n][-1] for n in LIBRARIES)
            if abs(a - b) > 1e-9:
                raise AssertionError(
                    f"the libraries disagree after {epochs} epochs: losses {a!r} and {b!r}"
                )
    finally:
        if was_enabled:
            gc.enable()
        else:
            gc.disable()
    return timing


def machine() -> str:
    """One line: CPU, core count, OS, Python, library versions."""
    import micrograd

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
        f"{platform.python_implementation()} {platform.python_version()}; "
        f"minitorch {minitorch.version}, micrograd {getattr(micrograd, '__version__', '0.1.0')}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=100, help="timed epochs per run (100)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per library (3)")
    parser.add_argument("--points", type=int, default=50, help="Xor points (50)")
    parser.add_argument("--hidden", type=int, default=10, help="hidden units (10)")
    parser.add_argument("--lr", type=float, default=0.1, help="SGD learning rate (0.1)")
    parser.add_argument("--seed", type=int, default=0, help="data and weight seed (0)")
    args = parser.parse_args(argv)

    print(machine())
    print(
        f"workload: 2-{args.hidden}-1 ReLU network, {args.points} Xor points, hinge loss, "
        f"full batch; {args.repeats} runs x {args.epochs} epochs per library"
    )
    for gc_enabled in (True, False):
        t = measure(
            epochs=args.epochs,
            repeats=args.repeats,
            points=args.points,
            hidden=args.hidden,
            lr=args.lr,
            seed=args.seed,
            gc_enabled=gc_enabled,
        )
        label = "gc on " if gc_enabled else "gc off"
        for stat in ("mean", "median"):
            ours = getattr(t, stat)("minitorch")
            theirs = getattr(t, stat)("micrograd")
            print(
                f"{label} {stat:6s}: minitorch {ours * 1e3:7.2f} ms/epoch   micrograd "
                f"{theirs * 1e3:7.2f} ms/epoch   ratio minitorch/micrograd {ours / theirs:.2f}"
            )
        print(f"  (final loss {t.final_losses['minitorch'][-1]:.6f} in both: libraries agree)")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The NumPy floor: ``bench_tensor.py``'s workloads written as plain NumPy scripts.

No autodiff, no graph, no objects per op: the forward pass keeps what the hand-written
backward needs, the backward applies each derivative once, the SGD update writes the
weights in place. This is what any Python library built on NumPy pays at least, so it
bounds what tracing (``minitorch.compile``, ``jax.jit``) can buy over eager mode.

Each ``*_numpy`` function takes the same setup object as the minitorch and PyTorch runs
(``bench_tensor.MLPData`` / ``Elementwise``, or the chain's length) and returns a
closure that runs one unit of work and returns the same numbers they return (a loss;
the loss and two gradient entries), so ``bench_tensor.py`` times and checks it as a peer.

Derivatives (g = ∂L/∂output of the op):

* ``z = h @ W + b``: ∂L/∂W = hᵀ g, ∂L/∂b = Σ_rows g, ∂L/∂h = g Wᵀ;
* ``relu``: g · [z > 0]; ``sigmoid`` s: g · s(1 − s); ``exp`` e: g · e;
* ``y * w``: ∂/∂y = g · w, ∂/∂w = g · y; ``y ± b``: ∂/∂y = g, ∂/∂b = ± g;
* cross-entropy ``L = −mean_i Σ_j onehot_ij (s_ij − lse_i)`` (one-hot rows):
  ∂L/∂z = (softmax(z) − onehot) / B.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Run = Callable[[], list[float]]


def mlp_numpy(d: Any) -> Run:
    """One SGD step of the ReLU MLP of ``d`` (``MLPData``); returns the loss before it."""
    ws = [w.copy() for w in d.ws]
    bs = [b.copy() for b in d.bs]
    x, onehot, lr, n = d.x, d.onehot, d.lr, len(d.ws)
    batch = x.shape[0]

    def step() -> list[float]:
        hs = [x]  # each layer's input
        z = x
        for k in range(n):
            z = hs[-1] @ ws[k]
            z += bs[k]
            if k < n - 1:
                np.maximum(z, 0, out=z)
                hs.append(z)
        s = z - z.max(1, keepdims=True)
        e = np.exp(s)
        se = e.sum(1, keepdims=True)
        loss = -((s - np.log(se)) * onehot).sum(1).mean()
        e /= se
        e -= onehot
        e /= batch
        g = e  # ∂L/∂z of the last layer
        for k in reversed(range(n)):
            gw = hs[k].T @ g
            gb = g.sum(0)
            if k > 0:
                g = g @ ws[k].T
                g *= hs[k] > 0
            gw *= lr
            ws[k] -= gw
            gb *= lr
            bs[k] -= gb
        return [float(loss)]

    return step


def elementwise_numpy(e: Any) -> Run:
    """The op sequence of ``e`` (``Elementwise``) and its backward; the loss and
    ∂L/∂x, ∂L/∂w at [0, 0]."""
    x, w, b, n = e.x, e.w, e.b, e.n

    def run() -> list[float]:
        tape: list[np.ndarray] = []
        y = x
        for i in range(n):
            k = i % 6
            if k == 0:
                tape.append(y)
                y = y * w
            elif k == 1:
                y = y + b
            elif k == 2:
                y = 1.0 / (1.0 + np.exp(-y))
                tape.append(y)
            elif k == 3:
                y = np.exp(y)
                tape.append(y)
            elif k == 4:
                y = y - b
            else:
                tape.append(y > 0)
                y = np.maximum(y, 0.0)
        loss = y.sum()
        g = np.ones_like(y)
        gw = np.zeros_like(w)
        gb = np.zeros_like(b)
        for i in reversed(range(n)):
            k = i % 6
            if k == 0:
                gw += g * tape.pop()
                g = g * w
            elif k == 1:
                gb += g
            elif k == 2:
                s = tape.pop()
                g = g * s * (1.0 - s)
            elif k in (3, 5):
                g = g * tape.pop()
            else:
                gb -= g
        return [float(loss), float(g[0, 0]), float(gw[0, 0])]

    return run


def chain_numpy(n: int) -> Run:
    """``n`` ops (``* 1.00001``, ``+ 1e-5`` in turn) on a one-element array and the
    derivative; the result and ∂y/∂x."""
    x = np.array([0.5])

    def run() -> list[float]:
        y = x
        for i in range(n):
            y = y * 1.00001 if i % 2 == 0 else y + 1e-5
        g = np.ones(1)
        for i in reversed(range(n)):
            if i % 2 == 0:
                g = g * 1.00001
        return [float(y[0]), float(g[0])]

    return run

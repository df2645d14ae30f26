"""The six 2-D toy datasets of the course: points in the unit square with 0/1 labels.

``minitorch.datasets`` is a dict from name to generator, ``"Simple" "Diag" "Split" "Xor"
"Circle" "Spiral"``; each generator takes ``N`` and returns a ``Graph(N, X, y)``. Points come
from Python's ``random``, so ``random.seed(n)`` makes them reproducible.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "Graph",
    "circle",
    "datasets",
    "diag",
    "make_pts",
    "simple",
    "spiral",
    "split",
    "xor",
]


@dataclass
class Graph:
    """A dataset: ``N`` points ``X`` (a list of ``(x1, x2)``) with labels ``y`` (0 or 1)."""

    N: int
    X: list[tuple[float, float]]
    y: list[int]


def make_pts(N: int) -> list[tuple[float, float]]:
    """N points drawn uniformly from [0, 1)²."""
    return [(random.random(), random.random()) for _ in range(N)]


def _labelled(N: int, rule: Callable[[float, float], bool]) -> Graph:
    X = make_pts(N)
    return Graph(N, X, [1 if rule(x1, x2) else 0 for x1, x2 in X])


def simple(N: int) -> Graph:
    """Label 1 left of the vertical line x1 = 0.5."""
    return _labelled(N, lambda x1, x2: x1 < 0.5)


def diag(N: int) -> Graph:
    """Label 1 below the diagonal x1 + x2 = 0.5."""
    return _labelled(N, lambda x1, x2: x1 + x2 < 0.5)


def split(N: int) -> Graph:
    """Label 1 in the two outer bands x1 < 0.2 and x1 > 0.8."""
    return _labelled(N, lambda x1, x2: x1 < 0.2 or x1 > 0.8)


def xor(N: int) -> Graph:
    """Label 1 in the top-left and bottom-right quadrants."""
    return _labelled(N, lambda x1, x2: (x1 < 0.5 and x2 > 0.5) or (x1 > 0.5 and x2 < 0.5))


def circle(N: int) -> Graph:
    """Label 1 outside the circle of squared radius 0.1 around the centre."""
    return _labelled(N, lambda x1, x2: (x1 - 0.5) ** 2 + (x2 - 0.5) ** 2 > 0.1)


def spiral(N: int) -> Graph:
    """Two interleaved spirals, N//2 points each (class 0 first); deterministic."""
    half = N // 2

    def x(t: float) -> float:
        return t * math.cos(t) / 20.0

    def y(t: float) -> float:
        return t * math.sin(t) / 20.0

    ts = [10.0 * (i / half) for i in range(5, 5 + half)]
    X = [(x(t) + 0.5, y(t) + 0.5) for t in ts]
    X += [(y(t) + 0.5, -x(t) + 0.5) for t in ts]
    return Graph(N, X, [0] * half + [1] * half)


datasets: dict[str, Callable[[int], Graph]] = {
    "Simple": simple,
    "Diag": diag,
    "Split": split,
    "Xor": xor,
    "Circle": circle,
    "Spiral": spiral,
}

"""Contract §12: the six toy datasets."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import pytest

import minitorch
from minitorch.datasets import Graph, circle, diag, make_pts, simple, spiral, split, xor

NAMES = ["Simple", "Diag", "Split", "Xor", "Circle", "Spiral"]

RULES: dict[str, Callable[[float, float], bool]] = {
    "Simple": lambda x1, x2: x1 < 0.5,
    "Diag": lambda x1, x2: x1 + x2 < 0.5,
    "Split": lambda x1, x2: x1 < 0.2 or x1 > 0.8,
    "Xor": lambda x1, x2: (x1 < 0.5 and x2 > 0.5) or (x1 > 0.5 and x2 < 0.5),
    "Circle": lambda x1, x2: (x1 - 0.5) ** 2 + (x2 - 0.5) ** 2 > 0.1,
}


def test_registry() -> None:
    assert isinstance(minitorch.datasets, dict)
    assert list(minitorch.datasets) == NAMES
    fns = [simple, diag, split, xor, circle, spiral]
    assert [minitorch.datasets[n] for n in NAMES] == fns


def test_make_pts() -> None:
    pts = make_pts(100)
    assert len(pts) == 100
    for x1, x2 in pts:
        assert type(x1) is float and type(x2) is float
        assert 0.0 <= x1 < 1.0 and 0.0 <= x2 < 1.0


def test_make_pts_uses_python_random() -> None:
    random.seed(3)
    expected = [(random.random(), random.random()) for _ in range(5)]
    random.seed(3)
    assert make_pts(5) == expected


@pytest.mark.parametrize("name", list(RULES))
def test_labels_follow_the_rule(name: str) -> None:
    g = minitorch.datasets[name](200)
    assert isinstance(g, Graph)
    assert g.N == 200
    assert len(g.X) == 200 and len(g.y) == 200
    rule = RULES[name]
    for (x1, x2), label in zip(g.X, g.y):
        assert type(label) is int
        assert label == (1 if rule(x1, x2) else 0)
    assert set(g.y) == {0, 1}  # 200 points: both classes appear


@pytest.mark.parametrize("name", NAMES)
def test_reproducible_after_seed(name: str) -> None:
    random.seed(7)
    g1 = minitorch.datasets[name](30)
    random.seed(7)
    g2 = minitorch.datasets[name](30)
    assert g1 == g2


@pytest.mark.parametrize("name", list(RULES))
def test_different_seeds_give_different_points(name: str) -> None:
    random.seed(1)
    g1 = minitorch.datasets[name](10)
    random.seed(2)
    g2 = minitorch.datasets[name](10)
    assert g1.X != g2.X


def _spiral_expected(N: int) -> list[tuple[float, float]]:
    half = N // 2
    ts = [10 * i / half for i in range(5, half + 5)]
    class0 = [(t * math.cos(t) / 20 + 0.5, t * math.sin(t) / 20 + 0.5) for t in ts]
    class1 = [(t * math.sin(t) / 20 + 0.5, -t * math.cos(t) / 20 + 0.5) for t in ts]
    return class0 + class1


@pytest.mark.parametrize("N", [2, 10, 50, 100])
def test_spiral_formula(N: int) -> None:
    g = spiral(N)
    assert g.N == N
    assert g.y == [0] * (N // 2) + [1] * (N // 2)
    expected = _spiral_expected(N)
    assert len(g.X) == len(expected) == N
    for (x1, x2), (e1, e2) in zip(g.X, expected):
        assert x1 == pytest.approx(e1, abs=1e-12)
        assert x2 == pytest.approx(e2, abs=1e-12)


def test_spiral_first_point() -> None:
    # N = 10: t = 10 * 5 / 5 = 10 for the first point of each class.
    g = spiral(10)
    assert g.X[0] == pytest.approx((10 * math.cos(10) / 20 + 0.5, 10 * math.sin(10) / 20 + 0.5))
    assert g.X[5] == pytest.approx((10 * math.sin(10) / 20 + 0.5, -10 * math.cos(10) / 20 + 0.5))


def test_spiral_is_deterministic() -> None:
    random.seed(1)
    g1 = spiral(40)
    random.seed(2)
    g2 = spiral(40)
    assert g1 == g2


@pytest.mark.parametrize("N", [1, 7, 51])
def test_spiral_odd_n(N: int) -> None:
    g = spiral(N)
    assert g.N == N
    assert len(g.X) == len(g.y) == N - 1
    assert g.y == [0] * (N // 2) + [1] * (N // 2)
    expected = _spiral_expected(N)
    assert all(
        a == pytest.approx(e, abs=1e-12) for p, q in zip(g.X, expected) for a, e in zip(p, q)
    )


def test_graph_dataclass() -> None:
    g = Graph(2, [(0.1, 0.2), (0.3, 0.4)], [0, 1])
    assert (g.N, g.X, g.y) == (2, [(0.1, 0.2), (0.3, 0.4)], [0, 1])

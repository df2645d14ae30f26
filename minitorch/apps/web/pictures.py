"""Pictures the pages draw with NumPy alone: a 2-D classifier's regions with its points, and
digit images scaled up. Arrays are RGB ``uint8`` of shape ``(H, W, 3)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["CLASS_COLOURS", "boundary_image", "enlarge"]

Array = npt.NDArray[Any]
Image = npt.NDArray[np.uint8]

CLASS_COLOURS = ((178, 24, 43), (33, 102, 172))
"""Class 0 red, class 1 blue (the regions are the same hues, lighter)."""
_LIGHT = np.array([[244, 165, 130], [146, 197, 222]], dtype=np.float64)


def boundary_image(
    predict: Callable[[Array], Array],
    x: Array,
    y: Array,
    size: int = 320,
    extent: float = 1.1,
    grid: int = 80,
) -> Image:
    """The plane ``[-extent, extent]²`` coloured by P(class 1) with the points on top.

    ``predict`` maps ``(M, 2)`` points to ``(M,)`` probabilities of class 1; it is asked on a
    ``grid × grid`` lattice (each cell ``size / grid`` pixels; the 0.5 contour in white).
    Row 0 of the image is the top (largest x2).
    """
    ticks = np.linspace(-extent, extent, grid)
    gx, gy = np.meshgrid(ticks, ticks[::-1])
    p = np.clip(np.asarray(predict(np.column_stack([gx.ravel(), gy.ravel()]))), 0.0, 1.0)
    p = p.reshape(grid, grid)
    colour = (1.0 - p)[..., None] * _LIGHT[0] + p[..., None] * _LIGHT[1]
    edge = np.zeros((grid, grid), dtype=bool)
    side = p > 0.5
    edge[:, 1:] |= side[:, 1:] != side[:, :-1]
    edge[1:, :] |= side[1:, :] != side[:-1, :]
    colour[edge] = 255.0
    scale = max(1, size // grid)
    image = np.repeat(np.repeat(colour, scale, axis=0), scale, axis=1)
    h, w = image.shape[:2]
    r = 6  # a disc of radius 4 in its class colour, ringed white, in a (2r+1)² window
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    for (x1, x2), label in zip(np.asarray(x, dtype=np.float64), np.asarray(y)):
        cx = round((x1 + extent) / (2 * extent) * (w - 1))
        cy = round((extent - x2) / (2 * extent) * (h - 1))
        rows, cols = cy + dy, cx + dx
        inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
        d2 = dx**2 + dy**2
        ring, disc = inside & (d2 <= 5.5**2), inside & (d2 <= 4.0**2)
        image[rows[ring], cols[ring]] = 255.0
        image[rows[disc], cols[disc]] = CLASS_COLOURS[int(label) % 2]
    return image.astype(np.uint8)


def enlarge(image: Array, scale: int = 8) -> Image:
    """A grey image ``(H, W)`` (any range) as RGB, each pixel ``scale × scale``, ink dark."""
    a = np.asarray(image, dtype=np.float64)
    lo, hi = float(a.min()), float(a.max())
    grey = 255.0 * (1.0 - (a - lo) / (hi - lo if hi > lo else 1.0))
    big = np.repeat(np.repeat(grey, scale, axis=0), scale, axis=1)
    return np.repeat(big[..., None], 3, axis=2).astype(np.uint8)

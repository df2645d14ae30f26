"""Training plots as PNG files: loss/accuracy curves, confusion matrix, decision boundary.

Drawn with matplotlib's object-oriented API on an Agg canvas (no display, and pyplot's
global backend is left alone), and written atomically (``checkpoint.atomic_write``).
matplotlib (the ``plots`` extra) is imported only when a plot is drawn; without it each
function raises an ImportError that says how to install it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..checkpoint import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "confusion_counts",
    "plot_confusion_matrix",
    "plot_decision_boundary",
    "plot_loss_curves",
]

Array = npt.NDArray[Any]


def _figure(width: float, height: float) -> Figure:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            'plots need matplotlib: pip install "minitorch[plots]" brings it'
        ) from None

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | Path) -> Path:
    p = Path(path)
    with atomic_write(p) as f:
        fig.savefig(f, format="png")
    return p


def plot_loss_curves(
    history: Sequence[Mapping[str, float]], path: str | Path, title: str = ""
) -> Path:
    """Loss (left) and accuracy in % (right) per epoch, train and test, from ``metrics``
    records with keys ``epoch``, ``train_loss``, ``test_loss``, ``train_accuracy``,
    ``test_accuracy``."""
    epochs = [int(r["epoch"]) for r in history]
    fig = _figure(9.0, 3.6)
    loss_ax, acc_ax = fig.subplots(1, 2)
    for split, style in (("train", "-"), ("test", "--")):
        loss_ax.plot(epochs, [r[f"{split}_loss"] for r in history], style, marker=".", label=split)
        acc = [100.0 * r[f"{split}_accuracy"] for r in history]
        acc_ax.plot(epochs, acc, style, marker=".", label=split)
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss", ylim=(0, None))
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def confusion_counts(y_true: Array, y_pred: Array, classes: int) -> npt.NDArray[np.int64]:
    """``cm[t, p]`` = number of samples of true class t predicted as p."""
    cm = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, dtype=np.intp), np.asarray(y_pred, dtype=np.intp)), 1)
    return cm


def plot_confusion_matrix(
    cm: Array, path: str | Path, title: str = "", labels: Sequence[str] | None = None
) -> Path:
    """The confusion matrix as a heat map (rows: true class, columns: predicted), with counts."""
    n = cm.shape[0]
    names = list(labels) if labels is not None else [str(i) for i in range(n)]
    fig = _figure(5.6, 5.0)
    ax = fig.subplots()
    image = ax.imshow(cm, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    top = cm.max() if cm.size else 0
    if n <= 30:
        for t in range(n):
            for p in range(n):
                if cm[t, p]:
                    colour = "white" if cm[t, p] > top / 2 else "black"
                    ax.text(p, t, str(int(cm[t, p])), ha="center", va="center", color=colour)
    ax.set_xticks(range(n), names)
    ax.set_yticks(range(n), names)
    ax.set(xlabel="predicted class", ylabel="true class")
    correct = int(np.trace(cm))
    total = int(cm.sum())
    acc = f"{100.0 * correct / total:.1f}% ({correct}/{total})" if total else "no samples"
    ax.set_title(f"{title}\naccuracy {acc}" if title else f"accuracy {acc}")
    return _save(fig, path)


def plot_decision_boundary(
    predict: Callable[[Array], Array],
    x: Array,
    y: Array,
    path: str | Path,
    title: str = "",
    resolution: int = 200,
) -> Path:
    """Class regions of a 2-D classifier with the points on top.

    ``predict`` maps an ``(M, 2)`` array of points to ``(M, C)`` class probabilities; for
    two classes the colour shows P(class 1), with the 0.5 contour drawn.
    """
    lo = x.min(axis=0)
    hi = x.max(axis=0)
    pad = 0.05 * np.maximum(hi - lo, 1e-6)
    gx, gy = np.meshgrid(
        np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution),
        np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution),
    )
    probs = predict(np.column_stack([gx.ravel(), gy.ravel()]))
    fig = _figure(5.2, 4.6)
    ax = fig.subplots()
    if probs.shape[1] == 2:
        z = probs[:, 1].reshape(gx.shape)
        filled = ax.contourf(gx, gy, z, levels=np.linspace(0.0, 1.0, 11), cmap="RdBu", alpha=0.7)
        ax.contour(gx, gy, z, levels=[0.5], colors="black", linewidths=1.0)
        fig.colorbar(filled, ax=ax, label="P(class 1)")
    else:
        z = probs.argmax(axis=1).reshape(gx.shape)
        ax.contourf(gx, gy, z, levels=np.arange(probs.shape[1] + 1) - 0.5, cmap="tab10", alpha=0.5)
    classes = np.unique(y)
    colours = ["#b2182b", "#2166ac", "#1b7837", "#762a83", "#e08214"]
    for k in classes:
        pts = x[y == k]
        ax.scatter(
            pts[:, 0],
            pts[:, 1],
            s=22,
            color=colours[int(k) % len(colours)],
            edgecolors="white",
            linewidths=0.6,
            label=f"class {int(k)}",
        )
    ax.set(xlabel="x1", ylabel="x2", title=title or "decision boundary")
    ax.legend(loc="upper right", fontsize="small")
    return _save(fig, path)

"""Page "Tensors": a tensor's storage, shape and strides drawn; what ``permute``, ``view``
and slicing do to them; and how two shapes broadcast.

The tensor is ``arange(n).view(shape)``, so each element's value is the storage position
it reads: any view of it shows where its elements live. Position of index ``(i0, i1, ...)``
is ``offset + Σ i_k · stride_k``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from itertools import product

import numpy as np
import numpy.typing as npt
import streamlit as st

from ...creation import arange
from ...tensor import Tensor
from ...tensor_data import IndexingError, shape_broadcast
from . import PAGES
from .widgets import show_svg

__all__ = [
    "OPERATIONS",
    "Layout",
    "apply",
    "broadcast_rows",
    "layout_svg",
    "parse_index",
    "parse_shape",
    "render",
]

OPERATIONS = ("none", "permute", "view", "slice")
MAX_ELEMENTS = 120
"""The largest tensor drawn (every element is a box)."""
Array = npt.NDArray[np.int64]


def parse_shape(text: str) -> tuple[int, ...]:
    """``"2, 3, 4"`` -> ``(2, 3, 4)``; ``""`` -> ``()``; ``ValueError`` naming the bad part."""
    parts = [p.strip() for p in text.replace("(", "").replace(")", "").split(",")]
    dims = []
    for p in filter(None, parts):
        if not p.lstrip("-").isdigit():
            raise ValueError(f"{p!r} is not a whole number (write a shape as 2, 3, 4).")
        dims.append(int(p))
    return tuple(dims)


def _slice_part(p: str) -> int | slice:
    if ":" not in p:
        return int(p)
    bits = p.split(":")
    if len(bits) > 3:
        raise ValueError(f"{p!r}: a slice is start:stop:step.")
    nums = [int(b) if b.strip() else None for b in bits]
    return slice(*nums)


def parse_index(text: str) -> tuple[int | slice, ...]:
    """``"0, 1:3, ::2"`` -> ``(0, slice(1, 3), slice(None, None, 2))``."""
    try:
        return tuple(_slice_part(p.strip()) for p in text.split(",") if p.strip())
    except ValueError as err:
        raise ValueError(f"index {text!r}: {err} (write it as 0, 1:3, ::2)") from None


@dataclass(frozen=True)
class Layout:
    """A view of the storage: its shape, strides and offset, and the storage position of
    every element (``positions``, shaped like the view)."""

    shape: tuple[int, ...]
    strides: tuple[int, ...]
    offset: int
    positions: Array
    storage_size: int

    @property
    def contiguous(self) -> bool:
        """Whether the elements lie in storage in order, without gaps, from the offset."""
        flat = self.positions.reshape(-1)
        return bool(np.array_equal(flat, self.offset + np.arange(flat.size)))

    @classmethod
    def of(cls, t: Tensor | float, storage_size: int) -> Layout:
        """The layout of ``t``, a view of ``arange(storage_size)`` (a float: one element)."""
        if not isinstance(t, Tensor):
            pos = np.array(int(t))
            return cls((), (), int(t), pos, storage_size)
        pos = t.to_numpy().astype(np.int64)
        offset = int(pos.reshape(-1)[0]) if pos.size else 0
        strides = []
        for k, n in enumerate(pos.shape):  # read each stride off the positions
            if n > 1:
                step = [0] * pos.ndim
                step[k] = 1
                strides.append(int(pos[tuple(step)]) - offset)
            else:
                strides.append(int(t._tensor.strides[k]))
        return cls(tuple(pos.shape), tuple(strides), offset, pos, storage_size)


def apply(shape: tuple[int, ...], operation: str, argument: str) -> tuple[Layout, Layout, str]:
    """(the tensor's layout, the result's, the call shown) for ``operation`` on
    ``arange(n).view(shape)``; ``ValueError``/``IndexError``/``RuntimeError`` as minitorch
    raises them for a bad argument."""
    n = int(np.prod(shape)) if shape else 1
    if any(d < 1 for d in shape):
        raise ValueError(f"shape {shape}: every size must be at least 1 here.")
    if n > MAX_ELEMENTS:
        raise ValueError(f"shape {shape} has {n} elements; this page draws up to {MAX_ELEMENTS}.")
    t = arange(n).view(*shape) if shape else arange(1).view(())
    base = Layout.of(t, n)
    if operation == "permute":
        order = parse_shape(argument)
        return base, Layout.of(t.permute(*order), n), f"t.permute({', '.join(map(str, order))})"
    if operation == "view":
        new = parse_shape(argument)
        return base, Layout.of(t.view(*new), n), f"t.view({', '.join(map(str, new))})"
    if operation == "slice":
        index = parse_index(argument)
        shown = ", ".join(_show_part(i) for i in index)
        return base, Layout.of(t[index if len(index) != 1 else index[0]], n), f"t[{shown}]"
    return base, base, "t"


def _show_part(i: int | slice) -> str:
    if isinstance(i, int):
        return str(i)
    bits = ["" if b is None else str(b) for b in (i.start, i.stop, i.step)]
    return ":".join(bits[:2]) + (f":{bits[2]}" if i.step is not None else "")


def broadcast_rows(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[list[dict[str, str]], str]:
    """The two shapes right-aligned, with the result (or why they do not broadcast):
    (table rows, a one-line verdict)."""
    width = max(len(a), len(b))

    def row(name: str, shape: tuple[int, ...]) -> dict[str, str]:
        cells = [""] * (width - len(shape)) + [str(d) for d in shape]
        return {"": name, **{f"dim {k - width}": c for k, c in enumerate(cells)}}

    rows = [row("a", a), row("b", b)]
    try:
        out = tuple(shape_broadcast(a, b))
    except IndexingError as err:
        return rows, f"they do not broadcast: {err}"
    rows.append(row("a + b", out))
    return rows, (
        f"a {a} and b {b} broadcast to {out}: sizes are compared from the right; a missing "
        "size counts as 1, and a size 1 is repeated to match the other."
    )


_CELL = 34


def _cells(layout: Layout) -> list[tuple[tuple[int, ...], int]]:
    return [(idx, int(layout.positions[idx])) for idx in product(*map(range, layout.shape))]


def layout_svg(layout: Layout, title: str) -> str:
    """The storage as a row of boxes (the view's in colour) and the view's elements as
    grids (last dimension across, the one before down, the rest side by side), each box
    holding the storage position it reads."""
    n = layout.storage_size
    used = {int(p) for p in layout.positions.reshape(-1)}
    parts: list[str] = []

    def box(x: float, y: float, text: str, fill: str, tip: str) -> None:
        parts.append(
            f'<g><title>{html.escape(tip)}</title><rect x="{x}" y="{y}" width="{_CELL}" '
            f'height="{_CELL}" fill="{fill}" stroke="#555"/><text x="{x + _CELL / 2}" '
            f'y="{y + _CELL / 2 + 4}" font-size="12" text-anchor="middle">{text}</text></g>'
        )

    def label(x: float, y: float, text: str) -> None:
        parts.append(f'<text x="{x}" y="{y}" font-size="13">{html.escape(text)}</text>')

    label(0, 14, f"storage ({n} numbers); coloured: read by {title}")
    per_row = 24
    for p in range(n):
        r, c = divmod(p, per_row)
        box(c * _CELL, 22 + r * _CELL, str(p), "#f4a582" if p in used else "#f7f7f7", f"[{p}]")
    top = 22 + ((n - 1) // per_row + 1) * _CELL + 30
    strides = ", ".join(map(str, layout.strides))
    view = f"shape {layout.shape}, strides ({strides}), offset {layout.offset}"
    label(0, top - 10, f"{title}: {view}")
    shape = layout.shape
    rows = shape[-2] if len(shape) >= 2 else 1
    cols = shape[-1] if len(shape) >= 1 else 1
    x = 0.0
    for idx, pos in _cells(layout):
        lead = idx[:-2] if len(shape) > 2 else ()
        block = int(np.ravel_multi_index(lead, shape[:-2])) if lead else 0
        r = idx[-2] if len(shape) >= 2 else 0
        c = idx[-1] if len(shape) >= 1 else 0
        bx = block * (cols * _CELL + 24) + c * _CELL
        by = top + 18 + r * _CELL
        x = max(x, bx + _CELL)
        terms = " + ".join(f"{i}·{s}" for i, s in zip(idx, layout.strides)) or "0"
        box(bx, by, str(pos), "#92c5de", f"t{list(idx)}: {layout.offset} + {terms} = {pos}")
        if len(shape) > 2 and r == 0 and c == 0:
            label(bx, top + 12, f"t[{', '.join(map(str, lead))}]")
    width = max(per_row * _CELL if n > per_row else n * _CELL, x, 420) + 10
    height = top + 18 + rows * _CELL + 10
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="-1 -1 {width} {height}" font-family="sans-serif">{"".join(parts)}</svg>'
    )


def render() -> None:
    """Lay out the page."""
    st.title(PAGES["tensors"])
    st.write(
        "A tensor is one flat **storage** and a **view** of it: a shape, one stride per "
        "dimension and an offset. Element t[i0, i1, …] lives at offset + Σ i_k · stride_k. "
        "Here t = arange(n).view(shape), so each box shows the storage position it reads."
    )
    c1, c2, c3 = st.columns([2, 2, 3])
    shape_text = c1.text_input("Shape of t", "2, 3, 4", key="tn_shape")
    operation = str(c2.selectbox("Then", OPERATIONS, index=1, key="tn_op"))
    hints = {"permute": "2, 0, 1", "view": "4, 6", "slice": "0, 1:3", "none": ""}
    argument = str(
        c3.text_input(
            "With",
            hints[operation],
            key=f"tn_arg_{operation}",
            disabled=operation == "none",
            help="permute: the new order of dims; view: the new shape; slice: 0, 1:3, ::2",
        )
    )
    try:
        layouts: tuple[Layout, Layout, str] | None = apply(
            parse_shape(shape_text), operation, argument
        )
    except (ValueError, IndexError, IndexingError, RuntimeError, TypeError) as err:
        st.error(f"{type(err).__name__}: {err}")
        layouts = None
    if layouts is not None:
        base, result, call = layouts
        show_svg(layout_svg(base, "t"))
        if operation != "none":
            same = "a view: the same storage, nothing copied"
            order = "contiguous" if result.contiguous else "not contiguous (view needs a copy)"
            st.markdown(f"**{call}** is {same}; it is {order}.")
            show_svg(layout_svg(result, call))
    st.subheader("Broadcasting")
    b1, b2 = st.columns(2)
    a_text = b1.text_input("Shape of a", "4, 1, 3", key="tn_a")
    b_text = b2.text_input("Shape of b", "5, 1", key="tn_b")
    try:
        rows, verdict = broadcast_rows(parse_shape(a_text), parse_shape(b_text))
    except ValueError as err:
        st.error(str(err))
        return
    st.dataframe(rows, hide_index=True)
    (st.success if "do not" not in verdict else st.warning)(verdict)

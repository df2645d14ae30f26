"""SVG of a scene: Graphviz's layout when ``dot`` is installed, else a small built-in one.

The built-in layout puts each node in the column of its longest path from the inputs
(left to right, like ``dot``'s ``rankdir=LR``), orders a column by where its inputs sit,
and joins nodes with curves. It needs nothing beyond the standard library.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

from .dot import digraph, graphviz_available, pipe
from .scene import Scene

__all__ = ["builtin_svg", "inline", "svg", "write"]

_CHAR_W, _LINE_H = 7.3, 16.0  # a monospace character's width, a line's height
_GAP_X, _GAP_Y, _MARGIN, _ARROW = 56.0, 22.0, 16.0, 8.0
_HALO: dict[str, Any] = {"stroke": "white", "stroke_width": 3.0, "paint_order": "stroke"}


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: Any) -> ET.Element:
    """A child element; ``stroke_width=2.0`` becomes ``stroke-width="2.0"``."""
    el = ET.SubElement(
        parent,
        tag,
        {k.replace("_", "-"): v if isinstance(v, str) else f"{v:.1f}" for k, v in attrs.items()},
    )
    el.text = text
    return el


def _box(x: float, y: float, width: float, height: float, rx: float) -> dict[str, Any]:
    return {"x": x, "y": y, "width": width, "height": height, "rx": rx}


def builtin_svg(scene: Scene) -> str:
    """``scene`` laid out in columns by longest path from the inputs, as SVG text."""
    preds: dict[str, list[str]] = {n.key: [] for n in scene.nodes}
    for e in scene.edges:
        preds[e.head].append(e.tail)
    rank: dict[str, int] = {}
    for key in TopologicalSorter(preds).static_order():  # inputs before their users
        rank[key] = 1 + max((rank[p] for p in preds[key]), default=-1)
    columns: dict[int, list[str]] = {}
    for n in scene.nodes:
        columns.setdefault(rank[n.key], []).append(n.key)
    row: dict[str, float] = {}
    for r in sorted(columns):  # a column follows the mean row of its inputs
        if r:
            columns[r].sort(key=lambda k: sum(row[p] for p in preds[k]) / len(preds[k]))
        row.update((k, i) for i, k in enumerate(columns[r]))

    nodes = {n.key: n for n in scene.nodes}
    size = {
        k: (max(map(len, n.lines)) * _CHAR_W + 26, len(n.lines) * _LINE_H + 14)
        for k, n in nodes.items()
    }
    top = _MARGIN + (26.0 if scene.caption else 0.0)
    heights = {
        r: sum(size[k][1] for k in col) + _GAP_Y * (len(col) - 1) for r, col in columns.items()
    }
    total_h = max(heights.values(), default=0.0)
    place: dict[str, tuple[float, float]] = {}
    x = _MARGIN
    for r in sorted(columns):
        width = max(size[k][0] for k in columns[r])
        y = top + (total_h - heights[r]) / 2
        for k in columns[r]:
            place[k] = (x + (width - size[k][0]) / 2, y)
            y += size[k][1] + _GAP_Y
        x += width + _GAP_X
    w, h = f"{x - _GAP_X + _MARGIN:.0f}", f"{top + total_h + _MARGIN:.0f}"

    root = ET.Element("svg", xmlns="http://www.w3.org/2000/svg", width=w, height=h)
    root.set("viewBox", f"0 0 {w} {h}")
    root.set("font-family", "DejaVu Sans Mono, monospace")
    root.set("font-size", "12")
    _add(root, "rect", width=w, height=h, fill="white")
    if scene.caption:
        _add(root, "text", scene.caption, x=float(w) / 2, y=_MARGIN + 12, text_anchor="middle")
    same: dict[tuple[str, str], int] = {}
    for e in scene.edges:
        nth = same[e.tail, e.head] = same.get((e.tail, e.head), -1) + 1  # x * x: two edges
        offset = 7.0 * nth * (1 if nth % 2 else -1)
        (tx, ty), (tw, th) = place[e.tail], size[e.tail]
        (hx, hy), hh = place[e.head], size[e.head][1]
        x1, y1, x2, y2 = tx + tw, ty + th / 2 + offset, hx - _ARROW, hy + hh / 2 + offset
        dx = max((x2 - x1) / 2, 20.0)
        curve = (
            f"M{x1:.1f},{y1:.1f} C{x1 + dx:.1f},{y1:.1f} {x2 - dx:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
        )
        _add(root, "path", d=curve, fill="none", stroke=e.color, stroke_width=e.penwidth)
        head = f"{x2:.1f},{y2 - 4:.1f} {hx:.1f},{y2:.1f} {x2:.1f},{y2 + 4:.1f}"
        _add(root, "polygon", points=head, fill=e.color)  # the curve ends level: so does the tip
        if e.label:  # a white halo keeps it readable over the curves
            lx, ly = (x1 + x2) / 2, (y1 + y2) / 2 - 5 - 13 * nth
            _add(root, "text", e.label, x=lx, y=ly, fill=e.color, text_anchor="middle", **_HALO)
    for n in scene.nodes:
        (nx, ny), (nw, nh) = place[n.key], size[n.key]
        rx = nh / 2 if n.shape == "ellipse" else 3.0
        group = _add(root, "g")
        _add(group, "title", n.tooltip)
        if n.peripheries > 1:  # the output's double border
            outline = _box(nx - 3, ny - 3, nw + 6, nh + 6, rx + 3)
            _add(group, "rect", **outline, fill="none", stroke=n.color)
        style: dict[str, Any] = {"fill": n.fill, "stroke": n.color, "stroke_width": n.penwidth}
        if n.dashed:
            style["stroke_dasharray"] = "5,3"
        _add(group, "rect", **_box(nx, ny, nw, nh, rx), **style)
        for i, line in enumerate(n.lines):
            at = {"x": nx + nw / 2, "y": ny + 7 + _LINE_H * (i + 0.75)}
            _add(group, "text", line, **at, text_anchor="middle")
    return ET.tostring(root, encoding="unicode")


def svg(scene: Scene) -> str:
    """``scene`` as SVG text: Graphviz's layout when installed, else the built-in one."""
    if graphviz_available():
        return pipe(digraph(scene), "svg").decode("utf-8")
    return builtin_svg(scene)


def inline(svg_text: str) -> str:
    """SVG ready to inline in HTML: without the XML declaration, DOCTYPE and comments."""
    return svg_text[svg_text.find("<svg") :]


def write(scene: Scene, path: str | Path) -> Path:
    """Write ``scene`` to ``path``; its suffix picks the format.

    ``.dot``/``.gv``: the DOT text (needs the ``graphviz`` package); ``.svg``: as ``svg``
    (no extra needed); anything else (``.png``, ``.pdf``) is rendered by ``dot``.
    """
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("dot", "gv"):
        path.write_text(digraph(scene).source, encoding="utf-8")
    elif suffix in ("svg", ""):
        path.write_text(svg(scene), encoding="utf-8")
    else:
        path.write_bytes(pipe(digraph(scene), suffix))
    return path

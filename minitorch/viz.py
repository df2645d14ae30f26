"""See the graph: drawings of the computation graph behind a Scalar or a Tensor.

As in the Backprop lecture, Functions are boxes and Variables are the values flowing
between them (drawn as rounded nodes carrying name, value and derivative):

* ``draw(output)`` returns a ``graphviz.Digraph`` of the graph that produced ``output``;
* ``backprop_frames(output)`` replays backpropagation one step at a time (the engine's
  ``topological_sort`` and each node's ``chain_rule``), one drawing per step, and saves
  them as numbered SVG/PNG files, an animated GIF or a self-contained HTML page;
* ``forward_derivatives`` / ``draw_modes`` show forward mode next to reverse mode.

Leaves are green, constants grey and dashed, the output orange with a double border.
The ``graphviz`` Python package (``pip install minitorch[viz]``) is imported only when a
drawing is requested, and Graphviz's ``dot`` program only when one is rendered. Without
them, HTML pages and notebook previews fall back to a small built-in SVG layout.
"""

from __future__ import annotations

import html
import io
import itertools
import math
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

from .autodiff import GraphFreedError, Variable, no_grad, topological_sort
from .scalar import Scalar

__all__ = [
    "INSTALL_GRAPHVIZ",
    "BackpropFrame",
    "BackpropFrames",
    "GraphvizNotFoundError",
    "backprop_frames",
    "draw",
    "draw_modes",
    "forward_derivatives",
    "graphviz_available",
    "render",
    "reverse_derivatives",
    "to_svg",
]

INSTALL_GRAPHVIZ = (
    "Rendering needs Graphviz's `dot` program: install it with `apt-get install graphviz` "
    "(Debian/Ubuntu), `brew install graphviz` (macOS), `conda install graphviz` or from "
    "https://graphviz.org/download/. The DOT source is still available as `.source`."
)
"""How to get ``dot``; part of every error raised when it is missing."""

_INSTALL_PACKAGE = (
    "Drawing graphs needs the `graphviz` Python package: `pip install graphviz` "
    "(or `pip install minitorch[viz]`)."
)

Renderer = Literal["auto", "dot", "builtin"]

# Colours: leaves green, constants grey, output orange, Functions blue, current step red.
_FILL = {
    "leaf": "#d8f0d2",
    "constant": "#eeeeee",
    "internal": "#ffffff",
    "output": "#ffe0b3",
    "function": "#dbe7f7",
}
_HIGHLIGHT_FILL = "#fff2a8"
_HIGHLIGHT = "#d62728"
_DONE = "#7f7f7f"
_EDGE = "#555555"
_KIND_TEXT = {
    "leaf": "leaf: a Variable made by the user; its derivative accumulates",
    "constant": "constant: no derivative flows here",
    "internal": "a Variable computed by a Function",
    "output": "the output",
}


class GraphvizNotFoundError(RuntimeError):
    """Rendering needs Graphviz's ``dot`` program and it is not installed."""


# ---------------------------------------------------------------------------
# Optional dependencies, imported lazily
# ---------------------------------------------------------------------------


def _graphviz() -> Any:
    try:
        import graphviz
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(_INSTALL_PACKAGE) from err
    return graphviz


def graphviz_available() -> bool:
    """True when both the ``graphviz`` package and the ``dot`` program are installed."""
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return False
    return shutil.which("dot") is not None


# ---------------------------------------------------------------------------
# Reading the graph
# ---------------------------------------------------------------------------


def _is_tensor(v: Any) -> bool:
    return not isinstance(v, Scalar) and hasattr(v, "shape")


def _is_value(v: Any) -> bool:
    """Scalars and Tensors (not the stand-ins for a Tensor Function's parameter arguments)."""
    return isinstance(v, Scalar) or (hasattr(v, "shape") and hasattr(v, "unique_id"))


def _given_name(v: Any) -> str | None:
    name = getattr(v, "_name", None)
    return name if isinstance(name, str) else None


def _num(x: float) -> str:
    if x == 0:
        return "0"
    if math.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return format(x, ".4g")


def _fmt(value: Any) -> str:
    """A derivative or value, short: numbers with 4 significant digits, small tensors listed."""
    if isinstance(value, Scalar):
        return _num(value.data)
    if isinstance(value, int | float):
        return _num(float(value))
    if hasattr(value, "to_numpy"):
        arr = value.to_numpy()
        if arr.size == 1:
            return _num(float(arr.reshape(-1)[0]))
        if arr.size <= 4:
            return "[" + ", ".join(_num(float(a)) for a in arr.reshape(-1)) + "]"
        return f"tensor{tuple(arr.shape)}"
    return str(value)


def _value_lines(v: Any) -> list[str]:
    """Name and value of a Variable: ``x = 2`` for Scalars, ``w: (3, 2) float64`` for Tensors."""
    name = _given_name(v)
    if _is_tensor(v):
        shape = tuple(v.shape)
        dtype = str(getattr(v, "dtype", ""))
        head = f"{name}: {shape} {dtype}" if name else f"{shape} {dtype}"
        lines = [head.strip()]
        if v.size <= 4:
            lines.append("= " + _fmt(v))
        return lines
    value = _num(v.data)
    return [f"{name} = {value}" if name else value]


def _known_derivative(v: Any) -> Any:
    """What backward left on a leaf: ``.derivative`` (Scalar) or ``.grad`` (Tensor)."""
    if isinstance(v, Scalar):
        return v.derivative
    return getattr(v, "grad", None)


def _fn_name(v: Any) -> str:
    h = v.history
    fn = None if h is None else h.last_fn
    return "?" if fn is None else str(fn.__name__)


@dataclass
class _Graph:
    """The graph behind ``output``: its Variables (inputs first) and Function applications."""

    output: Any
    variables: dict[int, Any]  # uid -> Variable, inputs before the Variables computed from them
    inputs: dict[int, list[int]]  # internal uid -> uids of its Function's inputs (in order)

    @staticmethod
    def of(output: Any) -> _Graph:
        order = topological_sort(output)  # output first; constants are not in it
        variables: dict[int, Any] = {}
        inputs: dict[int, list[int]] = {}
        for node in reversed(order):
            for parent in node.parents:  # constants only appear here
                if _is_value(parent) and parent.is_constant():
                    variables.setdefault(parent.unique_id, parent)
            variables[node.unique_id] = node
            if not node.is_leaf():
                inputs[node.unique_id] = [p.unique_id for p in node.parents if _is_value(p)]
        if not order:  # a constant output
            variables[output.unique_id] = output
        return _Graph(output, variables, inputs)

    def kind(self, uid: int) -> str:
        v = self.variables[uid]
        if uid == self.output.unique_id:
            return "output"
        if v.is_constant():
            return "constant"
        return "leaf" if v.is_leaf() else "internal"

    def consumers(self) -> dict[int, int]:
        count: dict[int, int] = {}
        for ins in self.inputs.values():
            for i in ins:
                count[i] = count.get(i, 0) + 1
        return count

    def chains(self, collapse: int | None) -> dict[int, list[int]]:
        """Chains of at least ``collapse`` one-input Functions, keyed by their last node.

        Each chain lists the internal uids along it, first to last; every Variable inside
        the chain has that chain as its only use, so folding it into one box hides nothing
        else.
        """
        if not collapse or collapse < 2:
            return {}
        uses = self.consumers()
        out_uid = self.output.unique_id
        next_of: dict[int, int] = {}
        for uid, ins in self.inputs.items():
            if len(ins) == 1:
                (src,) = ins
                one_input = src in self.inputs and len(self.inputs[src]) == 1
                if one_input and uses.get(src) == 1 and src != out_uid:
                    next_of[src] = uid
        followers = set(next_of.values())
        starts = [u for u, ins in self.inputs.items() if len(ins) == 1 and u not in followers]
        found: dict[int, list[int]] = {}
        for start in starts:
            chain = [start]
            while chain[-1] in next_of:
                chain.append(next_of[chain[-1]])
            if len(chain) >= collapse:
                found[chain[-1]] = chain
        return found


# ---------------------------------------------------------------------------
# A drawing, independent of how it is rendered
# ---------------------------------------------------------------------------


@dataclass
class _Node:
    key: str
    lines: list[str]
    shape: str  # "ellipse" (Variables) or "box" (Functions)
    fill: str
    color: str = "#333333"
    dashed: bool = False
    peripheries: int = 1
    penwidth: float = 1.0
    tooltip: str = ""


@dataclass
class _Edge:
    tail: str
    head: str
    label: str = ""
    color: str = _EDGE
    penwidth: float = 1.0


@dataclass
class _Scene:
    nodes: list[_Node] = field(default_factory=list)
    edges: list[_Edge] = field(default_factory=list)
    caption: str = ""


Annotate = Callable[[int, Any], list[str]]


def _scene(
    graph: _Graph,
    *,
    collapse: int | None = None,
    annotate: Annotate | None = None,
    highlight: int | None = None,
    done: frozenset[int] = frozenset(),
    flows: Mapping[int, tuple[Any, ...]] | None = None,
    caption: str = "",
) -> _Scene:
    """Nodes and edges for ``graph``.

    ``annotate(uid, variable)`` gives extra label lines (derivatives); ``highlight`` is the
    uid of the Variable being processed; ``done`` the uids already processed; ``flows``
    maps an input uid to the derivatives sent to it in this step, one per use (drawn on
    its edges).
    """
    chains = graph.chains(collapse)
    hidden_vars: set[int] = set()
    hidden_fns: set[int] = set()
    box_of: dict[int, int] = {}  # internal uid -> uid of the box that shows its Function
    for last, chain in chains.items():
        hidden_vars.update(chain[:-1])
        hidden_fns.update(chain[:-1])
        for uid in chain:
            box_of[uid] = last
    scene = _Scene(caption=caption)
    current_box = box_of.get(highlight, highlight) if highlight is not None else None

    for uid, v in graph.variables.items():
        if uid in hidden_vars:
            continue
        kind = graph.kind(uid)
        lines = _value_lines(v)
        if annotate is not None:
            lines += annotate(uid, v)
        node = _Node(f"v{uid}", lines, "ellipse", _FILL[kind], tooltip=_KIND_TEXT[kind])
        if kind == "constant":
            node.dashed = True
            node.color = "#888888"
        elif kind == "output":
            node.peripheries = 2
            node.penwidth = 1.5
        if uid in done:
            node.color = _DONE
        if uid == highlight:
            node.fill, node.color, node.penwidth = _HIGHLIGHT_FILL, _HIGHLIGHT, 3.0
        scene.nodes.append(node)

    for uid in graph.inputs:
        if uid in hidden_fns:
            continue
        chain = chains.get(uid, [uid])
        names = [_fn_name(graph.variables[u]) for u in chain]
        if len(names) > 4:
            label = f"{' → '.join(names[:2])} → … → {names[-1]}"
        else:
            label = " → ".join(names)
        lines = [label] if len(chain) == 1 else [label, f"({len(chain)} Functions)"]
        fn = _Node(f"f{uid}", lines, "box", _FILL["function"], tooltip="Function")
        if uid == current_box and uid in graph.inputs:
            fn.color, fn.penwidth = _HIGHLIGHT, 3.0
        scene.nodes.append(fn)
        first_inputs = graph.inputs[chain[0]]
        sent = flows or {}
        used: dict[int, int] = {}
        for i in first_inputs:
            edge = _Edge(f"v{i}", f"f{uid}")
            k = used.get(i, 0)
            used[i] = k + 1
            if uid == current_box and k < len(sent.get(i, ())):
                edge.label = "+" + _fmt(sent[i][k])
                edge.color, edge.penwidth = _HIGHLIGHT, 2.0
            scene.edges.append(edge)
        scene.edges.append(_Edge(f"f{uid}", f"v{uid}"))
    return scene


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot_body(scene: _Scene, prefix: str = "") -> list[str]:
    """DOT statements (one per line, graphviz-package style) for ``scene``."""
    body = []
    for n in scene.nodes:
        style = "filled,dashed" if n.dashed else "filled"
        if n.shape == "ellipse":
            style += ",rounded"
        attrs = {
            "label": "\n".join(n.lines),
            "shape": n.shape,
            "style": style,
            "fillcolor": n.fill,
            "color": n.color,
            "penwidth": _num(n.penwidth),
            "peripheries": str(n.peripheries),
            "tooltip": n.tooltip,
        }
        text = " ".join(f"{k}={_dot_quote(v)}" for k, v in attrs.items())
        body.append(f"\t{_dot_quote(prefix + n.key)} [{text}]\n")
    for e in scene.edges:
        attrs = {"color": e.color, "penwidth": _num(e.penwidth)}
        if e.label:
            attrs["label"] = e.label
            attrs["fontcolor"] = e.color
        text = " ".join(f"{k}={_dot_quote(v)}" for k, v in attrs.items())
        body.append(f"\t{_dot_quote(prefix + e.tail)} -> {_dot_quote(prefix + e.head)} [{text}]\n")
    return body


_GRAPH_ATTR = {"rankdir": "LR", "fontname": "DejaVu Sans", "nodesep": "0.3", "ranksep": "0.45"}
_NODE_ATTR = {"fontname": "DejaVu Sans", "fontsize": "12"}
_EDGE_ATTR = {"fontname": "DejaVu Sans", "fontsize": "11", "arrowsize": "0.7"}


def _dot_source(body: list[str], caption: str = "", rankdir: str = "LR") -> str:
    """The DOT text for ``body``, without needing the graphviz package."""
    head = ["digraph minitorch {\n"]
    attrs = dict(_GRAPH_ATTR, rankdir=rankdir)
    if caption:
        attrs.update(label=caption, labelloc="t", fontsize="13")
    head.append("\tgraph [" + " ".join(f"{k}={_dot_quote(v)}" for k, v in attrs.items()) + "]\n")
    head.append(
        "\tnode [" + " ".join(f"{k}={_dot_quote(v)}" for k, v in _NODE_ATTR.items()) + "]\n"
    )
    head.append(
        "\tedge [" + " ".join(f"{k}={_dot_quote(v)}" for k, v in _EDGE_ATTR.items()) + "]\n"
    )
    return "".join(head + body) + "}\n"


_DRAWING_CLASS: Any = None


def _drawing_class() -> Any:
    """``graphviz.Digraph`` whose rendering errors say how to install ``dot``."""
    global _DRAWING_CLASS
    if _DRAWING_CLASS is not None:
        return _DRAWING_CLASS
    graphviz = _graphviz()
    base: Any = graphviz.Digraph

    class Drawing(base):  # type: ignore[misc]
        """A ``graphviz.Digraph`` of a minitorch graph (``.source`` is its DOT text).

        Rendering without ``dot`` raises ``GraphvizNotFoundError`` with install hints; in
        a notebook it then falls back to the built-in SVG layout.
        """

        _minitorch_scene: _Scene | None = None

        def pipe(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().pipe(*args, **kwargs)
            except graphviz.ExecutableNotFound as err:
                raise GraphvizNotFoundError(INSTALL_GRAPHVIZ) from err

        def render(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().render(*args, **kwargs)
            except graphviz.ExecutableNotFound as err:
                raise GraphvizNotFoundError(INSTALL_GRAPHVIZ) from err

        def _repr_mimebundle_(
            self, include: Any = None, exclude: Any = None, **kwargs: Any
        ) -> dict[str, Any]:
            try:
                return dict(super()._repr_mimebundle_(include, exclude, **kwargs))
            except GraphvizNotFoundError:
                scene = self._minitorch_scene
                if scene is None:
                    return {"text/plain": self.source}
                return {"image/svg+xml": _builtin_svg(scene)}

    _DRAWING_CLASS = Drawing
    return Drawing


def _digraph(body: list[str], scene: _Scene | None, caption: str = "", rankdir: str = "LR") -> Any:
    graph_attr = dict(_GRAPH_ATTR, rankdir=rankdir)
    if caption:
        graph_attr.update(label=caption, labelloc="t", fontsize="13")
    g = _drawing_class()(
        name="minitorch",
        graph_attr=graph_attr,
        node_attr=dict(_NODE_ATTR),
        edge_attr=dict(_EDGE_ATTR),
        body=body,
    )
    g._minitorch_scene = scene
    return g


# ---------------------------------------------------------------------------
# A small built-in SVG layout (no graphviz needed): left to right, one column per rank
# ---------------------------------------------------------------------------

_svg_ids = itertools.count()
_CHAR_W = 7.3
_LINE_H = 16.0


def _builtin_svg(scene: _Scene) -> str:
    """Lay ``scene`` out in columns by longest path from the inputs and draw it as SVG."""
    keys = [n.key for n in scene.nodes]
    nodes = {n.key: n for n in scene.nodes}
    tag = f"mt{next(_svg_ids)}-arrow"  # unique per drawing: pages inline several SVGs
    preds: dict[str, list[str]] = {k: [] for k in keys}
    for e in scene.edges:
        if e.tail in nodes and e.head in nodes:
            preds[e.head].append(e.tail)
    rank: dict[str, int] = {}
    pending = list(keys)
    while pending:  # scene nodes come inputs-first, so this settles in a few sweeps
        left = []
        for k in pending:
            if all(p in rank for p in preds[k]):
                rank[k] = 1 + max((rank[p] for p in preds[k]), default=-1)
            else:
                left.append(k)
        if len(left) == len(pending):  # pragma: no cover - graphs are acyclic
            for k in left:
                rank[k] = 0
            break
        pending = left
    columns: dict[int, list[str]] = {}
    for k in keys:
        columns.setdefault(rank[k], []).append(k)
    for r in sorted(columns)[1:]:  # order each column by where its inputs sit
        pos = {k: i for col in columns.values() for i, k in enumerate(col)}
        columns[r].sort(key=lambda k: sum(pos[p] for p in preds[k]) / max(len(preds[k]), 1))

    size = {
        k: (max(len(s) for s in n.lines) * _CHAR_W + 26, len(n.lines) * _LINE_H + 14)
        for k, n in nodes.items()
    }
    gap_x, gap_y, margin = 56.0, 22.0, 16.0
    top = margin + (26.0 if scene.caption else 0.0)
    heights = {
        r: sum(size[k][1] for k in col) + gap_y * (len(col) - 1) for r, col in columns.items()
    }
    total_h = max(heights.values(), default=0.0)
    place: dict[str, tuple[float, float]] = {}
    x = margin
    for r in sorted(columns):
        col = columns[r]
        width = max(size[k][0] for k in col)
        y = top + (total_h - heights[r]) / 2
        for k in col:
            place[k] = (x + (width - size[k][0]) / 2, y)
            y += size[k][1] + gap_y
        x += width + gap_x
    w_total = x - gap_x + margin
    h_total = top + total_h + margin
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w_total:.0f}" height="{h_total:.0f}" '
        f'viewBox="0 0 {w_total:.0f} {h_total:.0f}" font-family="DejaVu Sans Mono, monospace" '
        'font-size="12">',
        "<defs>"
        + "".join(
            f'<marker id="{tag}-{i}" viewBox="0 0 10 10" refX="10" refY="5" '
            f'markerWidth="8" markerHeight="8" markerUnits="userSpaceOnUse" orient="auto">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>'
            for i, c in enumerate((_EDGE, _HIGHLIGHT))
        )
        + "</defs>",
        f'<rect width="{w_total:.0f}" height="{h_total:.0f}" fill="white"/>',
    ]
    if scene.caption:
        out.append(
            f'<text x="{w_total / 2:.0f}" y="{margin + 12:.0f}" text-anchor="middle" '
            'font-family="DejaVu Sans, sans-serif" font-size="13">'
            f"{html.escape(scene.caption)}</text>"
        )
    seen_pairs: dict[tuple[str, str], int] = {}
    for e in scene.edges:
        if e.tail not in place or e.head not in place:
            continue
        n_same = seen_pairs.get((e.tail, e.head), 0)
        seen_pairs[(e.tail, e.head)] = n_same + 1
        offset = 7.0 * n_same * (1 if n_same % 2 else -1)
        (tx, ty), (tw, th) = place[e.tail], size[e.tail]
        (hx, hy), (_, hh) = place[e.head], size[e.head]
        x1, y1 = tx + tw, ty + th / 2 + offset
        x2, y2 = hx, hy + hh / 2 + offset
        dx = max((x2 - x1) / 2, 20.0)
        out.append(
            f'<path d="M{x1:.1f},{y1:.1f} C{x1 + dx:.1f},{y1:.1f} {x2 - dx:.1f},{y2:.1f} '
            f'{x2:.1f},{y2:.1f}" fill="none" stroke="{e.color}" stroke-width="{e.penwidth}" '
            f'marker-end="url(#{tag}-{int(e.color == _HIGHLIGHT)})"/>'
        )
        if e.label:
            out.append(
                f'<text x="{(x1 + x2) / 2:.1f}" y="{(y1 + y2) / 2 - 5 - 13 * n_same:.1f}" '
                'text-anchor="middle" '
                f'fill="{e.color}" stroke="white" stroke-width="3" paint-order="stroke">'
                f"{html.escape(e.label)}</text>"
            )
    for k in keys:
        n, (nx, ny), (nw, nh) = nodes[k], place[k], size[k]
        rx = nh / 2 if n.shape == "ellipse" else 3.0
        dash = ' stroke-dasharray="5,3"' if n.dashed else ""
        out.append(f"<g><title>{html.escape(n.tooltip)}</title>")
        if n.peripheries > 1:
            out.append(
                f'<rect x="{nx - 3:.1f}" y="{ny - 3:.1f}" width="{nw + 6:.1f}" '
                f'height="{nh + 6:.1f}" rx="{rx + 3:.1f}" fill="none" stroke="{n.color}"/>'
            )
        out.append(
            f'<rect x="{nx:.1f}" y="{ny:.1f}" width="{nw:.1f}" height="{nh:.1f}" rx="{rx:.1f}" '
            f'fill="{n.fill}" stroke="{n.color}" stroke-width="{n.penwidth}"{dash}/>'
        )
        for i, line in enumerate(n.lines):
            ly = ny + 7 + _LINE_H * (i + 0.75)
            out.append(
                f'<text x="{nx + nw / 2:.1f}" y="{ly:.1f}" text-anchor="middle">'
                f"{html.escape(line)}</text>"
            )
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def _svg_of(scene: _Scene, body: list[str], renderer: Renderer) -> str:
    """SVG text: Graphviz's layout when ``renderer`` allows and it is installed, else ours."""
    if renderer == "builtin" or (renderer == "auto" and not graphviz_available()):
        return _builtin_svg(scene)
    data = _digraph(body, scene, scene.caption).pipe(format="svg", encoding="utf-8")
    return str(data)


# ---------------------------------------------------------------------------
# Public drawing API
# ---------------------------------------------------------------------------


def _check_retained(err: GraphFreedError) -> GraphFreedError:
    return GraphFreedError(
        f"{err} To draw derivatives, draw before backward() or call backward(retain_graph=True)."
    )


def _d_label(graph: _Graph, uid: int) -> str:
    """``∂h/∂x`` for the output ``h`` and the Variable ``x`` (``v`` when unnamed)."""
    out = _given_name(graph.output) or "out"
    return f"∂{out}/∂{_given_name(graph.variables[uid]) or 'v'}"


def _reverse_annotate(
    graph: _Graph, totals: Mapping[int, Any], terms: Mapping[int, Sequence[Any]]
) -> Annotate:
    def annotate(uid: int, v: Any) -> list[str]:
        parts = terms.get(uid)
        if not parts:
            return []
        head = _d_label(graph, uid)
        if len(parts) == 1:
            return [f"{head} = {_fmt(parts[0])}"]
        return [f"{head} = {' + '.join(_fmt(p) for p in parts)}", f"= {_fmt(totals[uid])}"]

    return annotate


def draw(
    output: Variable,
    *,
    collapse: int | None = None,
    derivatives: bool = True,
    reverse: bool = False,
    forward: Variable | None = None,
    rankdir: str = "LR",
) -> Any:
    """A ``graphviz.Digraph`` of the graph that produced ``output``.

    Functions are boxes; Variables are rounded nodes with their name and value (shape and
    dtype for Tensors). ``derivatives`` shows what backward left on leaves (``.derivative``
    or ``.grad``); ``reverse=True`` instead shows ∂output/∂v on every Variable, computed
    step by step like ``backward`` but without touching the leaves; ``forward=x`` (Scalars)
    adds the forward-mode derivative ∂v/∂x. ``collapse=n`` folds chains of ``n`` or more
    one-input Functions into one box. The DOT text is ``.source``; rendering needs ``dot``.
    """
    body, scene = _draw_parts(output, collapse, derivatives, reverse, forward)
    return _digraph(body, scene, rankdir=rankdir)


def _draw_parts(
    output: Variable,
    collapse: int | None,
    derivatives: bool,
    reverse: bool,
    forward: Variable | None,
    prefix: str = "",
) -> tuple[list[str], _Scene]:
    graph = _Graph.of(output)
    annotators: list[Annotate] = []
    if reverse:
        frames = _steps(graph, None)
        last = frames[-1]
        annotators.append(_reverse_annotate(graph, last.totals, last.terms))
    elif derivatives:

        def known(uid: int, v: Any) -> list[str]:
            d = _known_derivative(v) if v.is_leaf() else None
            return [] if d is None else [f"{_d_label(graph, uid)} = {_fmt(d)}"]

        annotators.append(known)
    if forward is not None:
        if not isinstance(output, Scalar) or not isinstance(forward, Scalar):
            raise TypeError("forward= (forward-mode derivatives) works on Scalars.")
        tangents = forward_derivatives(output, forward)
        wrt = _given_name(forward) or "input"

        def fwd(uid: int, v: Any) -> list[str]:
            t = tangents.get(uid)
            return [] if t is None else [f"∂/∂{wrt} = {_num(t)}"]

        annotators.append(fwd)

    def annotate(uid: int, v: Any) -> list[str]:
        return [line for a in annotators for line in a(uid, v)]

    scene = _scene(graph, collapse=collapse, annotate=annotate)
    return _dot_body(scene, prefix), scene


def to_svg(output: Variable, *, renderer: Renderer = "auto", **options: Any) -> str:
    """The drawing of ``output`` as SVG text (``draw``'s options; built-in layout if no ``dot``)."""
    body, scene = _draw_parts(
        output,
        options.get("collapse"),
        options.get("derivatives", True),
        options.get("reverse", False),
        options.get("forward"),
    )
    return _svg_of(scene, body, renderer)


def render(drawing: Any, path: str | Path) -> Path:
    """Write ``drawing`` (from ``draw``) to ``path``; the suffix picks the format.

    ``.dot``/``.gv`` write the DOT text (no ``dot`` needed); ``.svg``, ``.png``, ``.pdf``
    render with Graphviz and raise ``GraphvizNotFoundError`` when it is missing.
    """
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("dot", "gv"):
        path.write_text(drawing.source, encoding="utf-8")
        return path
    if shutil.which("dot") is None:
        raise GraphvizNotFoundError(INSTALL_GRAPHVIZ)
    data = drawing.pipe(format=suffix or "svg")
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------------------
# Forward mode and reverse mode, node by node
# ---------------------------------------------------------------------------


def forward_derivatives(output: Scalar, wrt: Scalar) -> dict[int, float]:
    """∂v/∂wrt for every Variable v of ``output``'s graph, keyed by ``unique_id``.

    A forward sweep in topological order (inputs first): a leaf starts at 1 if it is
    ``wrt`` and 0 otherwise; every other Variable sums, over its Function's inputs, the
    local derivative (its ``chain_rule(1.0)``, the same one backward uses) times that
    input's forward derivative. Scalars only; the graph must not have been freed.
    """
    if not isinstance(output, Scalar) or not isinstance(wrt, Scalar):
        raise TypeError("forward_derivatives works on Scalars (one number per Variable).")
    order = topological_sort(output)
    if not any(v.unique_id == wrt.unique_id and v.is_leaf() for v in order):
        raise ValueError(f"{wrt.name} is not a leaf of the graph that produced {output.name}.")
    tangent: dict[int, float] = {}
    for node in reversed(order):
        uid = node.unique_id
        if node.is_leaf():
            tangent[uid] = 1.0 if uid == wrt.unique_id else 0.0
            continue
        total = 0.0
        try:
            local = node.chain_rule(1.0)
        except GraphFreedError as err:
            raise _check_retained(err) from err
        for inp, d in local:
            total += d * tangent.get(inp.unique_id, 0.0)
        tangent[uid] = total
    return tangent


def reverse_derivatives(output: Variable, d_output: Any = None) -> dict[int, Any]:
    """∂output/∂v for every Variable v reached by backpropagation, keyed by ``unique_id``.

    The same sums ``backward`` forms (same order, so the same floats), leaves untouched.
    """
    return dict(_steps(_Graph.of(output), d_output)[-1].totals)


def draw_modes(output: Scalar, wrt: Scalar, *, collapse: int | None = None) -> Any:
    """Forward mode and reverse mode side by side, on the same graph of ``output``.

    Left: each Variable's forward derivative ∂v/∂wrt (computed inputs → output). Right:
    each Variable's reverse derivative ∂output/∂v (output → inputs). Both meet at
    ∂output/∂wrt.
    """
    return _digraph(_modes_body(output, wrt, collapse), None, rankdir="LR")


def _modes_body(output: Scalar, wrt: Scalar, collapse: int | None) -> list[str]:
    fwd_body, _ = _draw_parts(output, collapse, False, False, wrt, prefix="F")
    rev_body, _ = _draw_parts(output, collapse, False, True, None, prefix="R")
    out_name = _given_name(output) or "output"
    wrt_name = _given_name(wrt) or "input"
    body = [
        "\tsubgraph cluster_forward {\n",
        f"\t\tlabel={_dot_quote(f'forward mode: ∂v/∂{wrt_name}, inputs → output')}\n",
        '\t\tcolor="#8fa6bf"\n',
        *fwd_body,
        "\t}\n",
        "\tsubgraph cluster_reverse {\n",
        f"\t\tlabel={_dot_quote(f'reverse mode: ∂{out_name}/∂v, output → inputs')}\n",
        '\t\tcolor="#bf8f8f"\n',
        *rev_body,
        "\t}\n",
    ]
    return body


# ---------------------------------------------------------------------------
# Backpropagation, frame by frame
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    caption: str
    current: int | None
    totals: Mapping[int, Any]
    terms: Mapping[int, tuple[Any, ...]]
    sent: Mapping[int, tuple[Any, ...]]
    done: frozenset[int]


def _seed(output: Any, d_output: Any) -> Any:
    if d_output is not None:
        return d_output
    if isinstance(output, Scalar):
        return 1.0
    import numpy as np

    return output._new(type(output._tensor)._from_array(np.ones(output.shape, dtype=output.dtype)))


def _steps(graph: _Graph, d_output: Any) -> list[_Step]:
    """Backpropagate ``graph`` as the engine does, recording the state after each step.

    ``topological_sort`` orders the graph; each Variable, in that order, either is a leaf
    (its derivative is final) or calls its ``chain_rule`` and adds each result to its
    input's pending sum, exactly as ``autodiff.backpropagate``.
    """
    output = graph.output
    if output.is_constant():
        raise RuntimeError("This value is a constant: no derivative flows through it.")
    order = topological_sort(output)
    out_uid = output.unique_id
    seed = _seed(output, d_output)
    totals: dict[int, Any] = {out_uid: seed}
    terms: dict[int, tuple[Any, ...]] = {out_uid: (seed,)}
    done: set[int] = set()
    label = _given_name(output) or "output"
    steps = [
        _Step(
            f"start: ∂{label}/∂{label} = {_fmt(seed)}",
            out_uid,
            dict(totals),
            dict(terms),
            {},
            frozenset(),
        )
    ]
    with no_grad():
        for node in order:
            uid = node.unique_id
            d = totals.get(uid)
            if d is None:  # nothing flowed here (as in backpropagate)
                continue
            name = _given_name(node) or _fmt(node)
            sent: dict[int, tuple[Any, ...]] = {}
            if node.is_leaf():
                caption = f"leaf {name}: its derivative {_fmt(d)} is final (accumulate_derivative)"
            else:
                try:
                    pairs = list(node.chain_rule(d))
                except GraphFreedError as err:
                    raise _check_retained(err) from err
                for parent, d_parent in pairs:
                    if not _is_value(parent) or parent.is_constant():
                        continue
                    puid = parent.unique_id
                    before = totals.get(puid)
                    totals[puid] = d_parent if before is None else before + d_parent
                    terms[puid] = (*terms.get(puid, ()), d_parent)
                    sent[puid] = (*sent.get(puid, ()), d_parent)
                given = ", ".join(
                    f"{_given_name(graph.variables[u]) or 'v'} += {_fmt(x)}"
                    for u, xs in sent.items()
                    for x in xs
                )
                caption = f"{_fn_name(node)}.chain_rule(d = {_fmt(d)}): {given}"
            done.add(uid)
            steps.append(_Step(caption, uid, dict(totals), dict(terms), sent, frozenset(done)))
    return steps


@dataclass(frozen=True)
class BackpropFrame:
    """One step of backpropagation: what was processed and every derivative so far.

    ``totals`` (by ``unique_id``) are the engine's pending sums after this step; ``terms``
    the individual contributions that make them up. ``digraph()`` draws the frame,
    ``source`` is its DOT text and ``svg()`` its SVG.
    """

    index: int
    count: int
    caption: str
    current: Any
    totals: Mapping[int, Any]
    terms: Mapping[int, tuple[Any, ...]]
    sent: Mapping[int, tuple[Any, ...]]
    done: frozenset[int]
    _graph: _Graph = field(repr=False)
    _collapse: int | None = field(repr=False, default=None)

    def derivative(self, variable: Any) -> Any:
        """∂output/∂variable as accumulated so far (None before anything reached it)."""
        return self.totals.get(variable.unique_id)

    def _parts(self) -> tuple[list[str], _Scene]:
        scene = _scene(
            self._graph,
            collapse=self._collapse,
            annotate=_reverse_annotate(self._graph, self.totals, self.terms),
            highlight=None if self.current is None else self.current.unique_id,
            done=self.done,
            flows=self.sent,
            caption=f"step {self.index}/{self.count - 1}: {self.caption}",
        )
        return _dot_body(scene), scene

    def digraph(self) -> Any:
        """This frame as a ``graphviz.Digraph`` (current node in red, derivatives so far)."""
        body, scene = self._parts()
        return _digraph(body, scene, scene.caption)

    @property
    def source(self) -> str:
        """The DOT text of this frame (needs neither graphviz nor ``dot``)."""
        body, scene = self._parts()
        return _dot_source(body, scene.caption)

    def svg(self, renderer: Renderer = "auto") -> str:
        """This frame as SVG text (Graphviz's layout, or the built-in one)."""
        body, scene = self._parts()
        return _svg_of(scene, body, renderer)

    def _repr_svg_(self) -> str:
        return self.svg()


class BackpropFrames(Sequence[BackpropFrame]):
    """The frames of one backward pass; save them as files, a GIF or an HTML page."""

    def __init__(self, frames: list[BackpropFrame]) -> None:
        self._frames = frames

    @overload
    def __getitem__(self, i: int) -> BackpropFrame: ...

    @overload
    def __getitem__(self, i: slice) -> list[BackpropFrame]: ...

    def __getitem__(self, i: int | slice) -> BackpropFrame | list[BackpropFrame]:
        return self._frames[i]

    def __len__(self) -> int:
        return len(self._frames)

    def __iter__(self) -> Iterator[BackpropFrame]:
        return iter(self._frames)

    def __repr__(self) -> str:
        return f"<BackpropFrames: {len(self)} steps>"

    def save(self, directory: str | Path, format: str = "svg", prefix: str = "step") -> list[Path]:
        """Write ``step_000.svg``, ``step_001.svg``, … (``format``: svg, png, pdf or dot)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        width = max(3, len(str(len(self) - 1)))
        paths = []
        for f in self._frames:
            path = out / f"{prefix}_{f.index:0{width}d}.{format}"
            if format in ("dot", "gv"):
                path.write_text(f.source, encoding="utf-8")
            else:
                render(f.digraph(), path)
            paths.append(path)
        return paths

    def save_gif(self, path: str | Path, duration_ms: int = 1200) -> Path:
        """One animated GIF of all frames (needs ``dot`` and Pillow)."""
        try:
            from PIL import Image
        except ImportError as err:
            raise ImportError(
                "Animated GIFs need Pillow: `pip install Pillow` (or `minitorch[viz]`). "
                "save_html() needs no extra package."
            ) from err
        if shutil.which("dot") is None:
            raise GraphvizNotFoundError(INSTALL_GRAPHVIZ)
        images = [
            Image.open(io.BytesIO(f.digraph().pipe(format="png"))).convert("RGB")
            for f in self._frames
        ]
        w = max(im.width for im in images)
        h = max(im.height for im in images)
        frames = []
        for im in images:
            canvas = Image.new("RGB", (w, h), "white")
            canvas.paste(im, ((w - im.width) // 2, (h - im.height) // 2))
            frames.append(canvas)
        path = Path(path)
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=duration_ms, loop=0)
        return path

    def to_html(
        self, title: str = "Backpropagation, step by step", renderer: Renderer = "auto"
    ) -> str:
        """One self-contained HTML page (inline SVG, CSS and script; no external assets)."""
        return _html_page(
            title,
            [
                (f"step {f.index}/{len(self) - 1}: {f.caption}", _inline_svg(f.svg(renderer)))
                for f in self
            ],
        )

    def save_html(self, path: str | Path, **options: Any) -> Path:
        """Write ``to_html()`` to ``path``."""
        path = Path(path)
        path.write_text(self.to_html(**options), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        return self.to_html()


def backprop_frames(
    output: Variable, d_output: Any = None, *, collapse: int | None = None
) -> BackpropFrames:
    """Backpropagation from ``output``, one frame per step, in the engine's order.

    Frame 0 seeds ∂output/∂output (1 by default, or ``d_output``); each next frame is one
    step of ``backpropagate``: the Variable processed (highlighted) is a leaf whose
    derivative is final, or a Function's output whose ``chain_rule`` sends derivatives to
    its inputs (shown on the edges), where they add up: a Variable used twice shows
    ``a + b``. The frames' derivatives are exactly those ``backward()`` computes; the
    leaves' ``.derivative``/``.grad`` are not touched, and the graph must still hold its
    saved values (draw before backward, or use ``backward(retain_graph=True)``).
    """
    graph = _Graph.of(output)
    steps = _steps(graph, d_output)
    n = len(steps)
    return BackpropFrames(
        [
            BackpropFrame(
                i,
                n,
                s.caption,
                None if s.current is None else graph.variables[s.current],
                s.totals,
                s.terms,
                s.sent,
                s.done,
                graph,
                collapse,
            )
            for i, s in enumerate(steps)
        ]
    )


# ---------------------------------------------------------------------------
# HTML page and notebook previews
# ---------------------------------------------------------------------------


def _inline_svg(svg: str) -> str:
    """SVG ready to inline in HTML: no XML declaration, DOCTYPE or comments."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


_PAGE_CSS = """
body { font-family: DejaVu Sans, Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }
#controls { display: flex; gap: .5em; align-items: center; margin-bottom: .5em; }
#controls input[type=range] { flex: 1; max-width: 30em; }
#caption { font-size: 1.05em; min-height: 1.5em; }
.frame { display: none; overflow: auto; }
.frame.shown { display: block; }
.frame svg { max-width: 100%; height: auto; }
"""

_PAGE_SCRIPT = """
(function () {
  var frames = document.querySelectorAll('.frame');
  var slider = document.getElementById('slider');
  var caption = document.getElementById('caption');
  var counter = document.getElementById('counter');
  var play = document.getElementById('play');
  var i = 0, timer = null;
  function show(k) {
    i = Math.max(0, Math.min(frames.length - 1, k));
    frames.forEach(function (f, j) { f.classList.toggle('shown', j === i); });
    slider.value = i;
    caption.textContent = frames[i].dataset.caption;
    counter.textContent = (i + 1) + ' / ' + frames.length;
  }
  function stop() { clearInterval(timer); timer = null; play.textContent = 'play'; }
  document.getElementById('prev').onclick = function () { stop(); show(i - 1); };
  document.getElementById('next').onclick = function () { stop(); show(i + 1); };
  slider.oninput = function () { stop(); show(+slider.value); };
  play.onclick = function () {
    if (timer) { stop(); return; }
    if (i === frames.length - 1) { show(0); }
    play.textContent = 'pause';
    timer = setInterval(function () {
      if (i === frames.length - 1) { stop(); } else { show(i + 1); }
    }, 1200);
  };
  document.addEventListener('keydown', function (e) {
    if (e.key === 'ArrowRight') { stop(); show(i + 1); }
    if (e.key === 'ArrowLeft') { stop(); show(i - 1); }
  });
  show(0);
})();
"""


def _html_page(title: str, frames: Sequence[tuple[str, str]]) -> str:
    divs = "\n".join(
        f'<div class="frame" data-caption="{html.escape(caption, quote=True)}">\n{svg}\n</div>'
        for caption, svg in frames
    )
    n = len(frames)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_PAGE_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        '<div id="controls"><button id="prev">&#9664; prev</button>'
        f'<input id="slider" type="range" min="0" max="{n - 1}" value="0">'
        '<button id="next">next &#9654;</button><button id="play">play</button>'
        '<span id="counter"></span></div>\n'
        '<p id="caption"></p>\n'
        f"{divs}\n<script>{_PAGE_SCRIPT}</script>\n</body>\n</html>\n"
    )


_REPR_LIMIT = 300


def _small_graph(output: Any, limit: int) -> bool:
    """True when ``output``'s graph has at most ``limit`` Variables (stops counting early)."""
    seen = {output.unique_id}
    stack = [output]
    while stack:
        for p in stack.pop().parents:
            if _is_value(p) and p.unique_id not in seen:
                seen.add(p.unique_id)
                if len(seen) > limit:
                    return False
                stack.append(p)
    return True


def repr_svg(value: Any) -> str | None:
    """Notebook preview of a Scalar or Tensor's graph (None when too big or on error)."""
    try:
        if not _small_graph(value, _REPR_LIMIT):
            return None
        return _inline_svg(to_svg(value))
    except Exception:  # a display hook must never raise
        return None

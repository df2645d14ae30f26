"""DOT: a scene as a ``graphviz.Digraph``, laid out and rendered by Graphviz's ``dot``.

The ``graphviz`` Python package writes the DOT text and runs ``dot``. Both are optional
(``pip install "minitorch[viz]"`` and ``apt-get install graphviz``) and looked up only when
a drawing is made.
"""

from __future__ import annotations

import shutil
from typing import Any

from .scene import Scene

__all__ = [
    "INSTALL_DOT",
    "INSTALL_EXTRA",
    "GraphvizNotFoundError",
    "add_scene",
    "digraph",
    "graphviz_available",
    "graphviz_missing",
    "graphviz_module",
    "pipe",
]

INSTALL_EXTRA = 'Drawing with Graphviz needs the `graphviz` package: pip install "minitorch[viz]"'
INSTALL_DOT = (
    "Rendering needs Graphviz's `dot` program: install it with `apt-get install graphviz` "
    "(Debian/Ubuntu), `brew install graphviz` (macOS), `conda install graphviz` or from "
    "https://graphviz.org/download/."
)

_FONT = "DejaVu Sans"
_GRAPH = {"rankdir": "LR", "fontname": _FONT, "nodesep": "0.3", "ranksep": "0.45"}
_NODE = {"fontname": _FONT, "fontsize": "12"}
_EDGE = {"fontname": _FONT, "fontsize": "11", "arrowsize": "0.7"}


class GraphvizNotFoundError(RuntimeError):
    """Rendering needs Graphviz's ``dot`` program and it is not installed."""


def graphviz_module() -> Any:
    """The ``graphviz`` package, or an ImportError naming the install command."""
    try:
        import graphviz
    except ImportError as err:
        raise ImportError(INSTALL_EXTRA) from err
    return graphviz


def graphviz_missing() -> str | None:
    """What rendering with Graphviz lacks, as the command that installs it (None: nothing)."""
    try:
        graphviz_module()
    except ImportError:
        return INSTALL_EXTRA
    return None if shutil.which("dot") else INSTALL_DOT


def graphviz_available() -> bool:
    """True when both the ``graphviz`` package and the ``dot`` program are installed."""
    return graphviz_missing() is None


def add_scene(graph: Any, scene: Scene, prefix: str = "") -> None:
    """Add ``scene``'s nodes and edges to ``graph`` (a Digraph), their keys prefixed."""
    escape = graphviz_module().escape
    for n in scene.nodes:
        graph.node(
            prefix + n.key,
            "\\n".join(escape(line) for line in n.lines),  # \n: a line break in DOT
            shape=n.shape,
            style="filled,dashed" if n.dashed else "filled",
            fillcolor=n.fill,
            color=n.color,
            penwidth=str(n.penwidth),
            peripheries=str(n.peripheries),
            tooltip=n.tooltip,
        )
    for e in scene.edges:
        label = {"label": e.label, "fontcolor": e.color} if e.label else {}
        graph.edge(
            prefix + e.tail, prefix + e.head, color=e.color, penwidth=str(e.penwidth), **label
        )


def digraph(scene: Scene | None = None, caption: str = "") -> Any:
    """A ``graphviz.Digraph`` (left to right) of ``scene``, titled by its caption."""
    graphviz = graphviz_module()
    title = caption or (scene.caption if scene else "")
    attrs = (
        dict(_GRAPH, label=graphviz.escape(title), labelloc="t", fontsize="13") if title else _GRAPH
    )
    graph = graphviz.Digraph("minitorch", graph_attr=attrs, node_attr=_NODE, edge_attr=_EDGE)
    if scene is not None:
        add_scene(graph, scene)
    return graph


def pipe(graph: Any, format: str) -> bytes:
    """``graph`` rendered by ``dot`` (``svg``, ``png``, ``pdf``, ...)."""
    if shutil.which("dot") is None:
        raise GraphvizNotFoundError(INSTALL_DOT)
    data: bytes = graph.pipe(format=format)
    return data

"""Drawings of the graph behind a value: ``draw`` (Graphviz), ``to_svg``, forward mode.

Every drawing is a scene (``scene_of``) rendered by Graphviz or by the built-in layout;
its Variables carry what is known of their derivatives: what ``backward()`` left on the
leaves, or (``reverse=True``) ∂output/∂v everywhere, or (``forward=x``) ∂v/∂x.
"""

from __future__ import annotations

from typing import Any

from ..autodiff import Variable, topological_sort
from .dot import add_scene, digraph, graphviz_module
from .frames import chain_rule, d_label, frames_of, reverse_labels
from .render import inline, svg
from .scene import Graph, Labels, Scene, build_scene, fmt, given_name, is_tensor

__all__ = ["draw", "draw_modes", "forward_derivatives", "repr_svg", "scene_of", "to_svg"]

_REPR_LIMIT = 300
"""Notebook previews skip graphs with more Variables than this."""


def forward_derivatives(output: Variable, wrt: Variable) -> dict[int, float]:
    """∂v/∂wrt for every Variable v of ``output``'s graph, keyed by ``unique_id``.

    A forward sweep, inputs first: a leaf starts at 1 if it is ``wrt`` and 0 otherwise;
    any other v sums, over its Function's inputs u, ∂v/∂u · ∂u/∂wrt, where ∂v/∂u is what
    its ``chain_rule(1.0)`` sends u (the local derivative backward uses). Scalars only.
    """
    if is_tensor(output) or is_tensor(wrt):
        raise TypeError("forward_derivatives works on Scalars (one number per Variable).")
    order = topological_sort(output)
    if not any(v.unique_id == wrt.unique_id and v.is_leaf() for v in order):
        raise ValueError(f"{given_name(wrt) or 'wrt'} is not a leaf of the graph of the output.")
    tangent: dict[int, float] = {}
    for node in reversed(order):
        uid = node.unique_id
        if node.is_leaf():
            tangent[uid] = 1.0 if uid == wrt.unique_id else 0.0
        else:
            local = chain_rule(node, 1.0)
            tangent[uid] = sum((d * tangent.get(u.unique_id, 0.0) for u, d in local), 0.0)
    return tangent


def _known_labels(graph: Graph) -> Labels:
    """What ``backward()`` left on a leaf: ``.derivative`` (Scalar) or ``.grad`` (Tensor)."""

    def labels(v: Any) -> list[str]:
        d = (v.grad if is_tensor(v) else v.derivative) if v.is_leaf() else None
        return [] if d is None else [f"{d_label(graph, v)} = {fmt(d)}"]

    return labels


def _forward_labels(output: Variable, wrt: Variable) -> Labels:
    """``∂z/∂x = 3``: each Variable's forward derivative."""
    tangents = forward_derivatives(output, wrt)
    x = given_name(wrt) or "x"

    def labels(v: Any) -> list[str]:
        t = tangents.get(v.unique_id)
        return [] if t is None else [f"∂{given_name(v) or 'v'}/∂{x} = {fmt(t)}"]

    return labels


def scene_of(
    output: Variable,
    *,
    collapse: int | None = None,
    reverse: bool = False,
    forward: Variable | None = None,
) -> Scene:
    """The scene of ``output``'s graph (see ``draw`` for the options)."""
    graph = Graph.of(output)
    if reverse:
        last = frames_of(graph)[-1]
        parts = [reverse_labels(graph, last.totals, last.terms)]
    else:
        parts = [_known_labels(graph)]
    if forward is not None:
        parts.append(_forward_labels(output, forward))
    return build_scene(graph, lambda v: [line for p in parts for line in p(v)], collapse=collapse)


def draw(
    output: Variable,
    *,
    collapse: int | None = None,
    reverse: bool = False,
    forward: Variable | None = None,
) -> Any:
    """A ``graphviz.Digraph`` of the graph that produced ``output``.

    Functions are boxes; Variables are ellipses with their name and value (shape and dtype
    for Tensors) and what backward left on the leaves (``.derivative`` or ``.grad``).
    ``reverse=True`` shows ∂output/∂v on every Variable instead, computed like backward
    but without touching the leaves; ``forward=x`` (Scalars) adds ∂v/∂x. ``collapse=n``
    folds chains of ``n`` or more one-input Functions into one box. The DOT text is
    ``.source``; rendering it needs Graphviz's ``dot``.
    """
    return digraph(scene_of(output, collapse=collapse, reverse=reverse, forward=forward))


def draw_modes(output: Variable, wrt: Variable, *, collapse: int | None = None) -> Any:
    """Forward mode and reverse mode side by side, on the same graph of ``output``.

    Left: each Variable's forward derivative ∂v/∂wrt (computed inputs → output). Right:
    its reverse derivative ∂output/∂v (output → inputs). Both meet at ∂output/∂wrt.
    """
    graphviz = graphviz_module()
    out, x = given_name(output) or "output", given_name(wrt) or "x"
    forward = build_scene(Graph.of(output), _forward_labels(output, wrt), collapse=collapse)
    reverse = scene_of(output, collapse=collapse, reverse=True)
    drawing = digraph()
    for name, scene, title, color in (
        ("forward", forward, f"forward mode: ∂v/∂{x}, inputs → output", "#8fa6bf"),
        ("reverse", reverse, f"reverse mode: ∂{out}/∂v, output → inputs", "#bf8f8f"),
    ):
        cluster = graphviz.Digraph(f"cluster_{name}", graph_attr={"label": title, "color": color})
        add_scene(cluster, scene, prefix=name[0].upper())
        drawing.subgraph(cluster)
    return drawing


def to_svg(
    output: Variable,
    *,
    collapse: int | None = None,
    reverse: bool = False,
    forward: Variable | None = None,
) -> str:
    """``draw``'s drawing as SVG text: Graphviz's layout, or the built-in one without ``dot``."""
    return svg(scene_of(output, collapse=collapse, reverse=reverse, forward=forward))


def repr_svg(value: Variable) -> str | None:
    """Notebook preview of a Scalar's or Tensor's graph (None when too big, or on error)."""
    try:
        if len(topological_sort(value)) > _REPR_LIMIT:
            return None
        return inline(to_svg(value))
    except Exception:  # a display hook must never raise
        return None

"""The scene: what a drawing of the graph behind a value shows, before any layout.

As in the Backprop lecture, Functions are boxes and Variables the values flowing between
them, drawn as ellipses carrying name, value and any derivative lines. Leaves are green,
constants grey and dashed, the output orange with a double border; the Variable being
processed (in a backprop frame) is red.

The graph is read through the ``Variable`` protocol alone (``unique_id``, ``is_leaf()``,
``is_constant()``, ``parents``, ``history.last_fn``, ``name``), so Scalars and Tensors are
drawn alike and this package imports neither.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..autodiff import FreedValuesError, topological_sort

__all__ = ["Edge", "Graph", "Labels", "Node", "Scene", "build_scene", "fmt", "given_name"]

FILL = {
    "leaf": "#d8f0d2",
    "constant": "#eeeeee",
    "internal": "#ffffff",
    "output": "#ffe0b3",
    "function": "#dbe7f7",
}
HIGHLIGHT = "#d62728"
HIGHLIGHT_FILL = "#fff2a8"
DONE = "#7f7f7f"
EDGE = "#555555"
KIND_TEXT = {
    "leaf": "leaf: a Variable made by the user; its derivative accumulates",
    "constant": "constant: no derivative flows here",
    "internal": "a Variable computed by a Function",
    "output": "the output",
}


# -- reading values ----------------------------------------------------------------------------


def is_tensor(v: Any) -> bool:
    """A Tensor has a shape; a Scalar does not."""
    return hasattr(v, "shape")


def has_value(v: Any) -> bool:
    """Scalars (``.data``) and Tensors, not a Function's non-tensor arguments (a dim)."""
    return hasattr(v, "data") or is_tensor(v)


def given_name(v: Any) -> str | None:
    """The name the user gave ``v`` (``name`` falls back to the unique id: that is none)."""
    name = getattr(v, "name", None)
    return name if isinstance(name, str) and name != str(v.unique_id) else None


def fn_name(v: Any) -> str:
    """The name of the Function that computed ``v``."""
    return str(v.history.last_fn.__name__)


def _number(x: float) -> str:
    if math.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return format(x, ".4g")


def fmt(value: Any) -> str:
    """A value or derivative, short: 4 significant digits; tensors of up to 4 numbers listed."""
    if is_tensor(value):
        try:
            on_host = value.detach().cpu() if getattr(value, "is_cuda", False) else value
            flat = on_host.to_numpy().reshape(-1)
        except FreedValuesError:  # an intermediate no one holds: the graph kept its shape
            return f"tensor{tuple(value.shape)}"
        if flat.size > 4:
            return f"tensor{tuple(value.shape)}"
        numbers = [_number(float(a)) for a in flat]
        return numbers[0] if flat.size == 1 else "[" + ", ".join(numbers) + "]"
    return _number(float(value.data if hasattr(value, "unique_id") else value))  # Scalar


def value_lines(v: Any) -> list[str]:
    """``x = 2`` for a Scalar; ``w: (3, 2) float64`` (and its values when few) for a Tensor."""
    name = given_name(v)
    if not is_tensor(v):
        return [f"{name} = {fmt(v)}" if name else fmt(v)]
    head = f"{tuple(v.shape)} {v.dtype}"
    return [f"{name}: {head}" if name else head] + (["= " + fmt(v)] if v.size <= 4 else [])


# -- the graph -----------------------------------------------------------------------------------


@dataclass
class Graph:
    """The graph behind ``output``: its Variables (inputs first) and Function applications."""

    output: Any
    variables: dict[int, Any]  # unique_id -> Variable, inputs before what is computed from them
    inputs: dict[int, list[int]]  # computed Variable -> its Function's inputs, in order

    @staticmethod
    def of(output: Any) -> Graph:
        """Walk ``output``'s graph with the engine's ``topological_sort``."""
        variables: dict[int, Any] = {}
        inputs: dict[int, list[int]] = {}
        for node in reversed(topological_sort(output)):
            values = [p for p in node.parents if has_value(p)]
            for p in values:  # constants are only found here: the sort skips them
                variables.setdefault(p.unique_id, p)
            variables[node.unique_id] = node
            if not node.is_leaf():
                inputs[node.unique_id] = [p.unique_id for p in values]
        variables.setdefault(output.unique_id, output)  # a constant output
        return Graph(output, variables, inputs)

    def kind(self, uid: int) -> str:
        """``output``, ``constant``, ``leaf`` or ``internal``."""
        v = self.variables[uid]
        if uid == self.output.unique_id:
            return "output"
        if v.is_constant():
            return "constant"
        return "leaf" if v.is_leaf() else "internal"

    def chains(self, collapse: int | None) -> dict[int, list[int]]:
        """Chains of at least ``collapse`` one-input Functions, keyed by their last Variable.

        Each lists the computed Variables along it, first to last; each Variable inside a
        chain is used by the next Function only, so folding the chain into one box hides
        nothing else.
        """
        if not collapse or collapse < 2:
            return {}
        uses: dict[int, int] = {}
        for ins in self.inputs.values():
            for i in ins:
                uses[i] = uses.get(i, 0) + 1
        one_input = {uid: ins[0] for uid, ins in self.inputs.items() if len(ins) == 1}
        next_of = {
            src: uid
            for uid, src in one_input.items()
            if src in one_input and uses[src] == 1 and src != self.output.unique_id
        }
        found: dict[int, list[int]] = {}
        followers = set(next_of.values())
        for start in [uid for uid in one_input if uid not in followers]:
            chain = [start]
            while chain[-1] in next_of:
                chain.append(next_of[chain[-1]])
            if len(chain) >= collapse:
                found[chain[-1]] = chain
        return found


# -- the scene -----------------------------------------------------------------------------------


@dataclass
class Node:
    """A box (Function) or ellipse (Variable) with its lines of text and style."""

    key: str
    lines: list[str]
    shape: str  # "ellipse" or "box"
    fill: str
    color: str = "#333333"
    dashed: bool = False
    peripheries: int = 1
    penwidth: float = 1.0
    tooltip: str = ""


@dataclass
class Edge:
    """An arrow ``tail -> head``, labelled with the derivative it carries in a frame."""

    tail: str
    head: str
    label: str = ""
    color: str = EDGE
    penwidth: float = 1.0


@dataclass
class Scene:
    """Nodes and edges, inputs first, and a caption: what every renderer draws."""

    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    caption: str = ""


Labels = Callable[[Any], list[str]]
"""Extra lines (derivatives) for a Variable's node."""


def _function_lines(names: list[str]) -> list[str]:
    if len(names) == 1:
        return names
    shown = names if len(names) <= 4 else [*names[:2], "…", names[-1]]
    return [" → ".join(shown), f"({len(names)} Functions)"]


def build_scene(
    graph: Graph,
    labels: Labels | None = None,
    *,
    collapse: int | None = None,
    current: int | None = None,
    done: frozenset[int] = frozenset(),
    sent: Mapping[int, tuple[Any, ...]] | None = None,
    flowed: Mapping[int, Mapping[int, tuple[Any, ...]]] | None = None,
    caption: str = "",
) -> Scene:
    """The scene of ``graph``, each Variable's node carrying ``labels(variable)``.

    ``collapse=n`` folds chains of ``n`` or more one-input Functions into one box. For a
    backprop frame: ``current`` is the Variable being processed (red), ``done`` those
    processed before (grey border), and ``sent`` maps an input to the derivatives its
    Function sent it in this step, one per use, drawn on the edges in red. ``flowed`` maps a
    Function's output to the ``sent`` of the step that processed it: those edges keep their
    derivatives, in the edge colour.
    """
    chains = graph.chains(collapse)
    box_of = {uid: last for last, chain in chains.items() for uid in chain}
    hidden = {uid for chain in chains.values() for uid in chain[:-1]}
    current_box = box_of.get(current, current) if current is not None else None
    scene = Scene(caption=caption)
    for uid, v in graph.variables.items():
        if uid in hidden:
            continue
        kind = graph.kind(uid)
        lines = value_lines(v) + (labels(v) if labels else [])
        node = Node(f"v{uid}", lines, "ellipse", FILL[kind], tooltip=KIND_TEXT[kind])
        if kind == "constant":
            node.dashed, node.color = True, "#888888"
        elif kind == "output":
            node.peripheries, node.penwidth = 2, 1.5
        if uid in done:
            node.color = DONE
        if uid == current:
            node.fill, node.color, node.penwidth = HIGHLIGHT_FILL, HIGHLIGHT, 3.0
        scene.nodes.append(node)
    for uid in graph.inputs:
        if uid in hidden:
            continue
        chain = chains.get(uid, [uid])
        names = [fn_name(graph.variables[u]) for u in chain]
        box = Node(f"f{uid}", _function_lines(names), "box", FILL["function"], tooltip="Function")
        flows = (sent or {}) if uid == current_box else {}
        earlier = (flowed or {}).get(chain[0], {})
        if uid == current_box:
            box.color, box.penwidth = HIGHLIGHT, 3.0
        uses: dict[int, int] = {}
        scene.nodes.append(box)
        for i in graph.inputs[chain[0]]:
            k = uses[i] = uses.get(i, -1) + 1
            edge = Edge(f"v{i}", f"f{uid}")
            if k < len(flows.get(i, ())):
                edge.label, edge.color, edge.penwidth = "+" + fmt(flows[i][k]), HIGHLIGHT, 2.0
            elif k < len(earlier.get(i, ())):
                edge.label = "+" + fmt(earlier[i][k])
            scene.edges.append(edge)
        scene.edges.append(Edge(f"f{uid}", f"v{uid}"))
    return scene

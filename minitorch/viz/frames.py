"""Backpropagation step by step: one frame per step of the engine, played in HTML or a GIF.

Frame 0 seeds ∂out/∂out; each next frame is one step of ``autodiff.backpropagate``: the
Variable processed (red) is a leaf, whose derivative is then final, or a Function's output,
whose ``chain_rule`` sends derivatives to the Function's inputs (on the edges), where they
add up. The frames compute with the Variables' own ``chain_rule``, in the engine's order,
so their derivatives are the very floats ``backward()`` leaves on the leaves.
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..autodiff import GraphFreedError, Variable, no_grad, topological_sort
from .dot import digraph, pipe
from .render import inline, svg, write
from .scene import Graph, Labels, Scene, build_scene, fmt, fn_name, given_name, is_tensor

__all__ = [
    "BackpropFrame",
    "BackpropFrames",
    "backprop_frames",
    "chain_rule",
    "d_label",
    "frames_of",
    "html_page",
    "reverse_derivatives",
    "reverse_labels",
]


def chain_rule(node: Any, d: Any) -> list[tuple[Any, Any]]:
    """``node.chain_rule(d)``, saying how to keep a graph that backward has freed."""
    try:
        return list(node.chain_rule(d))
    except GraphFreedError as err:
        raise GraphFreedError(
            f"{err} To draw derivatives, draw before backward() or call "
            "backward(retain_graph=True)."
        ) from err


def d_label(graph: Graph, v: Any) -> str:
    """``∂h/∂x`` for the output ``h`` and the Variable ``x`` (``out`` and ``v`` if unnamed)."""
    return f"∂{given_name(graph.output) or 'out'}/∂{given_name(v) or 'v'}"


def reverse_labels(
    graph: Graph, totals: Mapping[int, Any], terms: Mapping[int, tuple[Any, ...]]
) -> Labels:
    """``∂h/∂z = 403.4 + 0.1667`` and ``= 403.6``: a sum shows its terms, one per use."""

    def labels(v: Any) -> list[str]:
        parts = terms.get(v.unique_id)
        if not parts:
            return []
        line = f"{d_label(graph, v)} = {' + '.join(fmt(p) for p in parts)}"
        return [line] if len(parts) == 1 else [line, f"= {fmt(totals[v.unique_id])}"]

    return labels


@dataclass(frozen=True)
class BackpropFrame:
    """One step of backpropagation: what was processed and every derivative so far.

    ``totals`` (by ``unique_id``) are the engine's pending sums after this step, ``terms``
    the contributions that make them up, ``sent`` those sent in this step and ``flowed``
    those sent so far, by the Function output whose step sent them (the edges' labels).
    ``svg()`` draws the frame (``digraph()`` and ``source`` with Graphviz).
    """

    index: int
    count: int
    caption: str
    current: Any
    totals: Mapping[int, Any]
    terms: Mapping[int, tuple[Any, ...]]
    sent: Mapping[int, tuple[Any, ...]]
    flowed: Mapping[int, Mapping[int, tuple[Any, ...]]]
    done: frozenset[int]
    graph: Graph = field(repr=False)
    collapse: int | None = field(default=None, repr=False)

    def derivative(self, variable: Any) -> Any:
        """∂output/∂variable as accumulated so far (None before anything reached it)."""
        return self.totals.get(variable.unique_id)

    def scene(self) -> Scene:
        """This frame's scene: the current node in red, the derivatives so far."""
        return build_scene(
            self.graph,
            reverse_labels(self.graph, self.totals, self.terms),
            collapse=self.collapse,
            current=self.current.unique_id,
            done=self.done,
            sent=self.sent,
            flowed=self.flowed,
            caption=f"step {self.index}/{self.count - 1}: {self.caption}",
        )

    def digraph(self) -> Any:
        """This frame as a ``graphviz.Digraph``."""
        return digraph(self.scene())

    @property
    def source(self) -> str:
        """This frame's DOT text."""
        return str(self.digraph().source)

    def svg(self) -> str:
        """This frame as SVG text (Graphviz's layout, or the built-in one without ``dot``)."""
        return svg(self.scene())

    def _repr_svg_(self) -> str:
        return self.svg()


def frames_of(
    graph: Graph, d_output: Any = None, collapse: int | None = None
) -> list[BackpropFrame]:
    """Backpropagate ``graph`` as ``autodiff.backpropagate`` does, one frame per step."""
    output = graph.output
    if output.is_constant():
        raise RuntimeError("This value is a constant: no derivative flows through it.")
    totals: dict[int, Any] = {}  # the engine's pending sums
    terms: dict[int, tuple[Any, ...]] = {}
    done: set[int] = set()
    flowed: dict[int, dict[int, tuple[Any, ...]]] = {}
    steps: list[dict[str, Any]] = []

    def record(caption: str, node: Any, sent: dict[int, tuple[Any, ...]]) -> None:
        state = {"totals": dict(totals), "terms": dict(terms), "done": frozenset(done)}
        state["flowed"] = dict(flowed)
        steps.append({"caption": caption, "current": node, "sent": sent, **state})

    with no_grad():
        if d_output is None:  # backward()'s default: ones
            d_output = output.zeros() + 1.0 if is_tensor(output) else 1.0
        totals[output.unique_id], terms[output.unique_id] = d_output, (d_output,)
        out = given_name(output) or "output"
        record(f"start: ∂{out}/∂{out} = {fmt(d_output)}", output, {})
        for node in topological_sort(output):
            d = totals.get(node.unique_id)
            if d is None:  # nothing flowed here
                continue
            done.add(node.unique_id)
            if node.is_leaf():
                name = given_name(node) or fmt(node)
                caption = f"leaf {name}: its derivative {fmt(d)} is final (accumulate_derivative)"
                record(caption, node, {})
                continue
            sent: dict[int, tuple[Any, ...]] = {}
            for parent, d_parent in chain_rule(node, d):
                if not parent.is_constant():
                    uid = parent.unique_id
                    before = totals.get(uid)
                    totals[uid] = d_parent if before is None else before + d_parent
                    terms[uid] = (*terms.get(uid, ()), d_parent)
                    sent[uid] = (*sent.get(uid, ()), d_parent)
            flowed[node.unique_id] = sent
            given = ", ".join(
                f"{given_name(graph.variables[u]) or 'v'} += {fmt(x)}"
                for u, xs in sent.items()
                for x in xs
            )
            record(f"{fn_name(node)}.chain_rule(d = {fmt(d)}): {given}", node, sent)
    count = len(steps)
    return [
        BackpropFrame(index=i, count=count, graph=graph, collapse=collapse, **step)
        for i, step in enumerate(steps)
    ]


class BackpropFrames(tuple[BackpropFrame, ...]):
    """The frames of one backward pass; save them as files, a GIF or an HTML page."""

    def __repr__(self) -> str:
        return f"<BackpropFrames: {len(self)} steps>"

    def save(self, directory: str | Path, format: str = "svg") -> list[Path]:
        """Write ``step_000.svg``, ``step_001.svg``, ... (``format``: as ``svg.write``)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        width = max(3, len(str(len(self) - 1)))
        return [write(f.scene(), out / f"step_{f.index:0{width}d}.{format}") for f in self]

    def save_gif(self, path: str | Path, duration_ms: int = 1200) -> Path:
        """One animated GIF of all frames (needs Graphviz's ``dot`` and Pillow)."""
        try:
            from PIL import Image
        except ImportError as err:
            raise ImportError(
                'Animated GIFs need Pillow: pip install "minitorch[viz]" (save_html() needs '
                "no extra package)."
            ) from err
        images = [Image.open(io.BytesIO(pipe(f.digraph(), "png"))).convert("RGB") for f in self]
        w, h = max(im.width for im in images), max(im.height for im in images)
        canvases = []
        for im in images:  # every frame the same size, the drawing centred
            canvas = Image.new("RGB", (w, h), "white")
            canvas.paste(im, ((w - im.width) // 2, (h - im.height) // 2))
            canvases.append(canvas)
        path = Path(path)
        canvases[0].save(
            path, save_all=True, append_images=canvases[1:], duration=duration_ms, loop=0
        )
        return path

    def to_html(self, title: str = "Backpropagation, step by step") -> str:
        """One self-contained HTML page (inline SVG, CSS and script; no external assets)."""
        frames = [(f"step {f.index}/{len(self) - 1}: {f.caption}", f.svg()) for f in self]
        return html_page(title, frames)

    def save_html(self, path: str | Path, title: str = "Backpropagation, step by step") -> Path:
        """Write ``to_html(title)`` to ``path``."""
        path = Path(path)
        path.write_text(self.to_html(title), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        return self.to_html()


def backprop_frames(
    output: Variable, d_output: Any = None, *, collapse: int | None = None
) -> BackpropFrames:
    """Backpropagation from ``output``, one frame per step, in the engine's order.

    Frame 0 seeds ∂output/∂output (ones, or ``d_output``); each next frame is one step of
    ``backpropagate``. A Variable used twice shows the sum of its two terms ``a + b``. The
    leaves' ``.derivative``/``.grad`` are not touched; the graph must still hold its saved
    values (draw before backward, or use ``backward(retain_graph=True)``). ``collapse=n``
    folds chains of ``n`` or more one-input Functions into one box.
    """
    return BackpropFrames(frames_of(Graph.of(output), d_output, collapse))


def reverse_derivatives(output: Variable, d_output: Any = None) -> dict[int, Any]:
    """∂output/∂v for every Variable v reached by backpropagation, keyed by ``unique_id``.

    The sums ``backward`` forms, in its order (so the same floats); leaves untouched.
    """
    return dict(frames_of(Graph.of(output), d_output)[-1].totals)


_PAGE_CSS = """
body { font-family: DejaVu Sans, Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }
#controls { display: flex; gap: .5em; align-items: center; margin-bottom: .5em; }
#controls input { flex: 1; max-width: 30em; }
#caption { font-size: 1.05em; min-height: 1.5em; }
.frame { display: none; overflow: auto; }
.frame.shown { display: block; }
.frame svg { max-width: 100%; height: auto; }
"""

_PAGE_SCRIPT = """
(function () {
  var frames = document.querySelectorAll('.frame'), last = frames.length - 1;
  var slider = document.getElementById('slider'), play = document.getElementById('play');
  var i = 0, timer = null;
  function show(k) {
    i = Math.max(0, Math.min(last, k));
    frames.forEach(function (f, j) { f.classList.toggle('shown', j === i); });
    slider.value = i;
    document.getElementById('caption').textContent = frames[i].dataset.caption;
    document.getElementById('counter').textContent = (i + 1) + ' / ' + frames.length;
  }
  function stop() { clearInterval(timer); timer = null; play.textContent = 'play'; }
  function step(k) { stop(); show(k); }
  document.getElementById('prev').onclick = function () { step(i - 1); };
  document.getElementById('next').onclick = function () { step(i + 1); };
  slider.oninput = function () { step(+slider.value); };
  play.onclick = function () {
    if (timer) { stop(); return; }
    if (i === last) { show(0); }
    play.textContent = 'pause';
    timer = setInterval(function () { if (i === last) { stop(); } else { show(i + 1); } }, 1200);
  };
  document.addEventListener('keydown', function (e) {
    if (e.key === 'ArrowRight') { step(i + 1); }
    if (e.key === 'ArrowLeft') { step(i - 1); }
  });
  show(0);
})();
"""


def html_page(title: str, frames: Sequence[tuple[str, str]]) -> str:
    """A self-contained page playing ``frames`` (caption, SVG text): slider, prev/next, play."""
    divs = "\n".join(
        f'<div class="frame" data-caption="{html.escape(caption)}">\n{inline(svg_text)}\n</div>'
        for caption, svg_text in frames
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_PAGE_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        '<div id="controls"><button id="prev">&#9664; prev</button>'
        f'<input id="slider" type="range" min="0" max="{len(frames) - 1}" value="0">'
        '<button id="next">next &#9654;</button><button id="play">play</button>'
        '<span id="counter"></span></div>\n<p id="caption"></p>\n'
        f"{divs}\n<script>{_PAGE_SCRIPT}</script>\n</body>\n</html>\n"
    )

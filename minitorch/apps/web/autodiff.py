"""Page "Autodiff": an expression's graph, backpropagation frame by frame, and forward mode
beside reverse mode, with the lectures' worked examples as presets.

The expression language is ``minitorch graph``'s (``graph.parse_program``: checked against
a whitelist, never ``eval``-ed); values are typed as ``x = 1, y = 2``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import streamlit as st

from ... import viz
from ...scalar import Scalar
from ..graph import FUNCTIONS, ExpressionError, evaluate, parse_program
from . import PAGES
from .widgets import show_svg

__all__ = ["PRESETS", "Preset", "Worked", "parse_values", "render", "work"]


@dataclass(frozen=True)
class Preset:
    """A lecture's worked example: the expression, its inputs, and the numbers the lecture
    gives (``expected``: the output's value under ``"value"``, each derivative under the
    input's name)."""

    title: str
    expression: str
    values: dict[str, float]
    expected: dict[str, float]
    note: str


PRESETS = (
    Preset(
        "log(xy) + exp(xy)",
        "z = x * y; h = log(z) + exp(z)",
        {"x": 1.0, "y": 2.0},
        {
            "value": math.log(2.0) + math.exp(2.0),
            "x": 2 * (0.5 + math.exp(2.0)),
            "y": 1 * (0.5 + math.exp(2.0)),
        },
        "Lecture 'Backpropagation', full graph: ∂h/∂z = 1/z + e^z, so ∂h/∂x = y(1/z + e^z). "
        "(minitorch's log is ln(z + 1e-6), so the 7th digit differs.)",
    ),
    Preset(
        "(a + b)(b + 1) at a = 2, b = 1",
        "c = a + b; d = b + 1; e = c * d",
        {"a": 2.0, "b": 1.0},
        {"value": 6.0, "a": 2.0, "b": 5.0},
        "Lecture 'Computational graphs': e = 6, ∂e/∂a = d = 2, ∂e/∂b = d + c = 5 "
        "(b reaches e along two paths, and the two terms add).",
    ),
    Preset(
        "1/(y + e^−x) at (0, 1)",
        "f = 1 / (y + exp(-x))",
        {"x": 0.0, "y": 1.0},
        {"value": 0.5, "x": 0.25, "y": -0.25},
        "Lecture exercise: f(0, 1) = 1/2, ∂f/∂x = e^−x/(y + e^−x)² = 1/4, "
        "∂f/∂y = −1/(y + e^−x)² = −1/4.",
    ),
    Preset(
        "(max(wx, 0) − y)² + z at (1, 0, −2), w = 3",
        "p = w * x; q = relu(p); r = q - y; f = r ** 2 + z",
        {"x": 1.0, "y": 0.0, "z": -2.0, "w": 3.0},
        {"value": 7.0, "x": 18.0, "y": -6.0, "z": 1.0, "w": 6.0},
        "Lecture exercise: f = 3² − 2 = 7; ∇x = 2r·w = 18, ∇y = −2r = −6, ∇z = 1 "
        "(and ∇w = 2r·x = 6).",
    ),
    Preset(
        "x² + 3x",
        "w = x * x + 3 * x",
        {"x": 2.0},
        {"value": 10.0, "x": 7.0},
        "Lecture exercise 3: x is used on two paths, ∇x = 2x + 3 = 7 at x = 2.",
    ),
)
"""The lectures' worked examples, in the order they are taught."""

_VALUE = re.compile(r"\s*([A-Za-z_]\w*)\s*=\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*")


def parse_values(text: str) -> dict[str, float]:
    """``"x = 1, y = -2.5"`` -> ``{"x": 1.0, "y": -2.5}`` (``ExpressionError`` if malformed)."""
    values: dict[str, float] = {}
    for part in filter(str.strip, re.split(r"[,;\n]", text)):
        match = _VALUE.fullmatch(part)
        if match is None:
            raise ExpressionError(f"values: {part.strip()!r} is not 'name = number'.")
        name, number = match.groups()
        if name in values:
            raise ExpressionError(f"values: {name} is given twice.")
        values[name] = float(number)
    if not values:
        raise ExpressionError("values: give each input a number, e.g. 'x = 1, y = 2'.")
    return values


@dataclass
class Worked:
    """An expression evaluated on Scalars: its output, inputs and backpropagation frames;
    ``derivatives`` ∂output/∂input by input name (0 where nothing flows)."""

    output: Scalar
    inputs: dict[str, Scalar]
    frames: viz.BackpropFrames
    derivatives: dict[str, float] = field(default_factory=dict)

    def forward_derivative(self, name: str) -> float:
        """∂output/∂name by forward mode (one sweep, inputs to output)."""
        return viz.forward_derivatives(self.output, self.inputs[name])[self.output.unique_id]


def work(expression: str, values_text: str) -> Worked:
    """Check and evaluate ``expression`` at ``values_text``; backpropagate frame by frame."""
    values = parse_values(values_text)
    out, inputs = evaluate(parse_program(expression, values), values)
    frames = viz.backprop_frames(out)
    last = frames[-1]
    derivatives = {n: float(last.derivative(x) or 0.0) for n, x in inputs.items()}
    return Worked(out, inputs, frames, derivatives)


def _values_text(values: dict[str, float]) -> str:
    return ", ".join(f"{k} = {v:g}" for k, v in values.items())


def _take_preset() -> None:
    chosen = st.session_state["ad_preset"]
    for preset in PRESETS:
        if preset.title == chosen:
            st.session_state["ad_expression"] = preset.expression
            st.session_state["ad_values"] = _values_text(preset.values)
    st.session_state["ad_step"] = 0


def _move(by: int, last: int) -> None:
    st.session_state["ad_step"] = min(max(st.session_state.get("ad_step", 0) + by, 0), last)


def render() -> None:
    """Lay out the page."""
    st.title(PAGES["autodiff"])
    first = PRESETS[0]
    st.session_state.setdefault("ad_expression", first.expression)
    st.session_state.setdefault("ad_values", _values_text(first.values))
    st.selectbox(
        "A lecture's worked example",
        [p.title for p in PRESETS],
        key="ad_preset",
        on_change=_take_preset,
    )
    left, right = st.columns([3, 2])
    left.text_input(
        "Expression",
        key="ad_expression",
        help="Inputs by name, numbers, + - * / **, unary -, parentheses, "
        + ", ".join(FUNCTIONS)
        + "; 'name = expr' lines separated by ';' name the nodes.",
    )
    right.text_input("Values", key="ad_values", help="Each input's value: x = 1, y = 2")
    try:
        worked = work(st.session_state["ad_expression"], st.session_state["ad_values"])
    except ExpressionError as err:
        st.error(str(err))
        return
    out = worked.output
    preset = next((p for p in PRESETS if p.expression == st.session_state["ad_expression"]), None)
    cells = st.columns(1 + len(worked.inputs))
    cells[0].metric(out.name or "f", f"{out.data:.6g}")
    for cell, (name, d) in zip(cells[1:], worked.derivatives.items()):
        cell.metric(f"∂{out.name}/∂{name}", f"{d:.6g}")
    if preset is not None:
        st.info(preset.note)

    backward, modes = st.tabs(["Backpropagation, step by step", "Forward mode and reverse mode"])
    with backward:
        last = len(worked.frames) - 1
        st.session_state["ad_step"] = min(st.session_state.get("ad_step", 0), last)
        back, slider, forth = st.columns([1, 6, 1])
        back.button("◀ back", on_click=_move, args=(-1, last), width="stretch")
        forth.button("next ▶", on_click=_move, args=(1, last), width="stretch")
        slider.slider("Step", 0, max(last, 1), key="ad_step", disabled=last == 0)
        frame = worked.frames[st.session_state["ad_step"]]
        st.caption(f"step {frame.index}/{last}: {frame.caption}")
        show_svg(frame.svg())
        st.caption(
            "Red: the node in hand and what its chain rule sends back. Each edge keeps the "
            "derivative sent along it; each node shows ∂output/∂node accumulated so far (a "
            "node used twice shows its two terms being added). Leaves keep their final one."
        )
    with modes:
        if st.session_state.get("ad_wrt") not in worked.inputs:  # the inputs changed
            st.session_state.pop("ad_wrt", None)
        wrt = str(st.selectbox("Forward mode seeds the input", list(worked.inputs), key="ad_wrt"))
        tangent = worked.forward_derivative(wrt)
        st.write(
            f"Forward mode: one sweep from the inputs gives ∂v/∂{wrt} on every node, "
            f"∂{out.name}/∂{wrt} = {tangent:.6g}. Reverse mode: one sweep from the output "
            f"gives ∂{out.name}/∂v on every node, all inputs at once."
        )
        fwd, rev = st.columns(2)
        with fwd:
            st.markdown(f"**Forward: ∂v/∂{wrt}**")
            show_svg(viz.svg(viz.scene_of(out, forward=worked.inputs[wrt])))
        with rev:
            st.markdown(f"**Reverse: ∂{out.name}/∂v**")
            show_svg(viz.svg(viz.scene_of(out, reverse=True)))

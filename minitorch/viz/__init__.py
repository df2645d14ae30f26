"""See the graph: drawings of the computation graph behind a Scalar or a Tensor.

* ``scene``: the graph read through the Variable protocol, as nodes, edges and labels;
* ``dot``: a scene as a ``graphviz.Digraph`` (Graphviz lays it out and renders it);
* ``render``: SVG and files, laid out by ``dot`` when installed, else by a built-in layout;
* ``frames``: backpropagation step by step, as SVG files, an HTML player or a GIF;
* ``drawing``: ``draw``, ``draw_modes``, ``to_svg`` and forward mode.

The ``graphviz`` package and Pillow (``pip install "minitorch[viz]"``) and Graphviz's
``dot`` are looked up only when a drawing needs them. Nothing here imports ``scalar`` or
``tensor``: Scalars and Tensors are read through the engine's Variable protocol.
"""

from .dot import (
    INSTALL_DOT,
    INSTALL_EXTRA,
    GraphvizNotFoundError,
    graphviz_available,
    graphviz_missing,
)
from .drawing import draw, draw_modes, forward_derivatives, repr_svg, scene_of, to_svg
from .frames import (
    BackpropFrame,
    BackpropFrames,
    backprop_frames,
    html_page,
    reverse_derivatives,
)
from .render import inline, svg, write

__all__ = [
    "INSTALL_DOT",
    "INSTALL_EXTRA",
    "BackpropFrame",
    "BackpropFrames",
    "GraphvizNotFoundError",
    "backprop_frames",
    "draw",
    "draw_modes",
    "forward_derivatives",
    "graphviz_available",
    "graphviz_missing",
    "html_page",
    "inline",
    "repr_svg",
    "reverse_derivatives",
    "scene_of",
    "svg",
    "to_svg",
    "write",
]

"""``minitorch app``: the lectures, interactive, as a local web app on streamlit.

Four pages (``?page=`` in the address picks one): ``autodiff`` (an expression's graph,
backpropagation frame by frame, forward mode beside reverse, the lectures' worked
examples), ``train`` (the lecture's network on a 2-D dataset, its decision boundary and
loss drawn while it trains), ``tensors`` (storage, shape and strides, and what ``permute``,
``view``, slicing and broadcasting do to them) and ``digits`` (the MLP or CNN on the
bundled digits, its confusion matrix and its mistakes).

``launch`` holds the command (no streamlit import); ``main`` is the script streamlit runs;
each page is one module with its logic in plain functions (tested without a browser) and
a ``render()`` that lays it out. Needs the ``app`` extra: ``pip install "minitorch[app]"``.
"""

from __future__ import annotations

PAGES = {
    "autodiff": "Autodiff",
    "train": "Train the lecture's network",
    "tensors": "Tensors",
    "digits": "Digits",
}
"""Each page's address (``?page=``) and title, in the order of the sidebar."""

__all__ = ["PAGES"]

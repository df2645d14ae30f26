"""Small pieces the pages share."""

from __future__ import annotations

import streamlit as st

__all__ = ["show_svg"]


def show_svg(svg: str) -> None:
    """Show SVG text inline in the page, shrunk to the column's width when wider.

    Through ``st.markdown``'s raw HTML: ``st.html`` sanitises its input and drops ``<svg>``.
    The SVG goes in as one line, so no blank or indented line inside it can end the HTML
    block and turn the rest into markdown.
    """
    start = svg.find("<svg")
    body = svg[start:] if start >= 0 else svg  # drop any XML prolog and doctype
    one_line = " ".join(body.split("\n"))
    fitted = one_line.replace("<svg", '<svg style="max-width:100%;height:auto"', 1)
    st.markdown(f"<div>{fitted}</div>", unsafe_allow_html=True)

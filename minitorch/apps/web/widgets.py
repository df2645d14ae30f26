"""Small pieces the pages share."""

from __future__ import annotations

import streamlit as st

__all__ = ["show_svg"]


def show_svg(svg: str) -> None:
    """Show SVG text inline, scaled to the column's width (scrolls when wider)."""
    start = svg.find("<svg")
    body = svg[start:] if start >= 0 else svg  # drop any XML prolog and doctype
    st.html(f'<div style="overflow-x:auto;max-width:100%">{body}</div>')

"""The script ``streamlit run`` executes for ``minitorch app``: pick the page, render it.

The page comes from the address (``?page=train``) or the sidebar; choosing in the sidebar
updates the address, so every page has a link of its own.
"""

from __future__ import annotations

import streamlit as st

from minitorch.apps.web import PAGES, autodiff, digits, tensors, training

RENDER = {
    "autodiff": autodiff.render,
    "train": training.render,
    "tensors": tensors.render,
    "digits": digits.render,
}
SLUG_OF = {title: slug for slug, title in PAGES.items()}


def _follow_sidebar() -> None:
    st.query_params["page"] = SLUG_OF[st.session_state["page"]]


def main() -> None:
    """Lay out the sidebar and the chosen page."""
    st.set_page_config(page_title="minitorch", page_icon="∂", layout="wide")
    if "page" not in st.session_state:
        asked = st.query_params.get("page", "autodiff")
        st.session_state["page"] = PAGES.get(asked, PAGES["autodiff"])
    st.sidebar.markdown("## minitorch\nthe lectures, interactive")
    st.sidebar.radio("Page", list(PAGES.values()), key="page", on_change=_follow_sidebar)
    st.sidebar.caption("Each page has its own address: ?page=" + " | ".join(PAGES))
    RENDER[SLUG_OF[st.session_state["page"]]]()


main()

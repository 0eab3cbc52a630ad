"""Process-wide resources for the pages, built once (the model and the store are expensive)."""

from __future__ import annotations

import streamlit as st

from kb.answer import Answerer
from kb.config import load_settings


@st.cache_resource(show_spinner="正在加载知识库与向量模型…")
def answerer() -> Answerer:
    """One Answerer (and so one Retriever, one embedding model, one store handle) per process."""
    return Answerer(load_settings())

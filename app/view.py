"""Small display helpers shared by pages (formatting only, no rules)."""

from __future__ import annotations

import html
from collections.abc import Callable

import streamlit as st

from kb.answer.model import Citation

_STATUS = {"current": "现行有效", "amended": "已被修订", "repealed": "已废止", "unknown": "效力未标注"}
TYPES_ZH = {"law": "法律", "regulation": "行政法规", "rule": "部门规章", "interpretation": "司法解释",
            "policy": "政策文件", "plan": "实施方案", "case": "典型案例", "scenario": "情景演练",
            "全部": "全部"}
ROLE_ZH = {"officer": "执法人员", "trainer": "教员", "coordinator": "学时管理员", "admin": "系统管理员"}


def status_zh(status: str) -> str:
    return _STATUS.get(status, status)


def zh(exc: BaseException) -> str:
    """The Chinese half of a core error message (they read「中文 / English」)."""
    text = str(exc)
    head, sep, _ = text.partition(" / ")
    return head if sep and any("\u4e00" <= ch <= "\u9fff" for ch in head) else text


def show_citation(c: Citation, expanded: bool = False, below: Callable[[], None] | None = None) -> None:
    """The citation with the whole provision, the quoted span highlighted; ``below`` draws
    more inside the same box (the 问答 page's 「在法规库中查看」)."""
    with st.expander(f"[{c.n}] {c.rendered} · {status_zh(c.status)}", expanded=expanded):
        text = html.escape(c.chunk_text)
        quote = html.escape(c.quote.strip())
        if quote and quote in text:
            text = text.replace(quote, f"<mark>{quote}</mark>", 1)
        st.markdown(text.replace("\n", "<br>"), unsafe_allow_html=True)
        if below is not None:
            below()

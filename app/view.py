"""Small display helpers shared by pages (formatting only, no rules)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import datetime

import streamlit as st

from kb.answer.model import Citation
from kb.records.ledger import LOCAL_TZ

_STATUS = {"current": "现行有效", "amended": "已被修订", "repealed": "已废止", "unknown": "效力未标注"}
TYPES_ZH = {"law": "法律", "regulation": "行政法规", "rule": "部门规章", "interpretation": "司法解释",
            "policy": "政策文件", "plan": "实施方案", "case": "典型案例", "scenario": "情景演练",
            "全部": "全部"}
_CJK = re.compile(r"[\u4e00-\u9fff]")
_SEP = re.compile(r" / ")
_GLOSS = re.compile(r" / [A-Za-z][A-Za-z0-9 _.'()-]*?(?= ?[\u4e00-\u9fff（])")
ROLE_ZH = {"officer": "执法人员", "trainer": "教员", "coordinator": "学时管理员", "admin": "系统管理员"}


def local_time(moment: datetime | None) -> str:
    """A stored (UTC) moment in the time officers live in (UTC+8, as the ledger counts days),
    whatever the server's own time zone."""
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if moment else "—"


def status_zh(status: str) -> str:
    return _STATUS.get(status, status)


def standing(doc_type: str, status: str, version: str = "") -> str:
    """「2021-01-22 · 现行有效」: a document's version and whether it is in force. A court case
    is not in force or repealed, it is a case (and its version is usually blank)."""
    return " · ".join([*([version] if version else []), "典型案例" if doc_type == "case" else status_zh(status)])


def headings_and_body(breadcrumb: str, path: str, text: str) -> tuple[str, str]:
    """What to show around a provision whose citation (《title》path) is already on screen: the
    headings above it that the citation does not say (「第四章 行政处罚的管辖和适用」), and its
    text without a first line that only repeats the citation (a case's 「裁判结果」, which would
    otherwise read three times: citation, breadcrumb, text)."""
    headings = re.sub(r"^《[^》]*》", "", breadcrumb).strip()
    if path and headings.endswith(path):
        headings = headings[: -len(path)].strip()
    first, _, rest = text.partition("\n")
    if headings == first.strip():
        headings = ""
    return headings, rest if rest and first.strip() == path else text


def zh(exc: BaseException) -> str:
    """The Chinese half of a core error message. They read「中文 / English」, and the subject
    may itself be bilingual (「证明材料 / evidence note 不能为空 / evidence note is required」):
    cut at the first「 / 」after which no Chinese follows, then drop the English glosses
    that sit between Chinese words."""
    text = str(exc)
    cut = next((m.start() for m in _SEP.finditer(text) if not _CJK.search(text[m.end():])), None)
    if cut is None or not _CJK.search(text[:cut]):
        return text
    return _GLOSS.sub("", text[:cut]).strip()


def show_citation(c: Citation, expanded: bool = False, below: Callable[[], None] | None = None) -> None:
    """The citation with the whole provision, the quoted span highlighted; ``below`` draws
    more inside the same box (the 问答 page's 「在法规库中查看」)."""
    with st.expander(f"[{c.n}] {c.rendered} · {standing(c.doc_type, c.status)}", expanded=expanded):
        text = html.escape(c.chunk_text)
        quote = html.escape(c.quote.strip())
        if quote and quote in text:
            text = text.replace(quote, f"<mark>{quote}</mark>", 1)
        st.markdown(text.replace("\n", "<br>"), unsafe_allow_html=True)
        if below is not None:
            below()


def flash(key: str, message: str) -> None:
    """Keep ``message`` for the next run: an action changes data, then reruns so every list on
    the page includes the change, and the message would otherwise be lost with the old run."""
    st.session_state[key] = message


def show_flash(key: str) -> None:
    """The message an action left for this run, once."""
    message = st.session_state.pop(key, "")
    if message:
        st.success(message)
